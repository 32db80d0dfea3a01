//! The command tree, as argh structs. No I/O here: `main` parses, `cmd` acts.

use argh::FromArgs;

/// my: sign in to the My Cloud API and manage credentials and context.
#[derive(FromArgs, Debug)]
pub(crate) struct Args {
    #[argh(subcommand)]
    pub(crate) command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum Command {
    Cli(CliArgs),
}

/// sign in and out, inspect the credential in use
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cli")]
pub(crate) struct CliArgs {
    #[argh(subcommand)]
    pub(crate) command: CliCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum CliCommand {
    Login(LoginArgs),
    Logout(LogoutArgs),
    Whoami(WhoamiArgs),
    Status(StatusArgs),
}

/// sign in with an email magic link (OAuth device flow) and store the credentials
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "login")]
pub(crate) struct LoginArgs {
    /// email address to send the sign-in link to (prompted for on a terminal)
    #[argh(option)]
    pub(crate) email: Option<String>,
    /// never open a browser; only print the URL
    #[argh(switch)]
    pub(crate) no_browser: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// revoke the session on the server and clear the stored credentials
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "logout")]
pub(crate) struct LogoutArgs {
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// show the signed-in user's ID and email
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "whoami")]
pub(crate) struct WhoamiArgs {
    /// print the result as JSON (with the kind of credential and its expiry)
    #[argh(switch)]
    pub(crate) json: bool,
}

/// show the API URL, login state, credential store and sync state (no network)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
pub(crate) struct StatusArgs {
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// Parses `args` (without the program name), turning `--help` and usage errors into an
/// early exit that `main` prints.
pub(crate) fn parse(program: &str, args: &[&str]) -> Result<Args, argh::EarlyExit> {
    Args::from_args(&[program], args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_login_flags() {
        let a = parse("my", &["cli", "login", "--email", "a@b.c", "--json"]).unwrap();
        let Command::Cli(CliArgs {
            command: CliCommand::Login(l),
        }) = a.command
        else {
            panic!("parsed as another command");
        };
        assert_eq!(l.email.as_deref(), Some("a@b.c"));
        assert!(l.json && !l.no_browser);
    }

    #[test]
    fn unknown_flag_is_an_error_not_help() {
        let e = parse("my", &["cli", "whoami", "--bogus"]).unwrap_err();
        assert!(e.status.is_err());
        let h = parse("my", &["cli", "--help"]).unwrap_err();
        assert!(h.status.is_ok());
    }
}
