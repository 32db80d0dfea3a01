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
    Use(UseArgs),
    Orgs(OrgsArgs),
    Projects(ProjectsArgs),
    Environments(EnvironmentsArgs),
    Logs(LogsArgs),
}

/// show or change the active context: organization, project, environment
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "use")]
pub(crate) struct UseArgs {
    /// organization ID (org_…) or slug; clears the project and environment
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// project ID (proj_…) or slug
    #[argh(option)]
    pub(crate) project: Option<String>,
    /// environment name, e.g. production
    #[argh(option)]
    pub(crate) environment: Option<String>,
    /// forget the active context
    #[argh(switch)]
    pub(crate) clear: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// organizations you belong to
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "orgs")]
pub(crate) struct OrgsArgs {
    #[argh(subcommand)]
    pub(crate) command: OrgsCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum OrgsCommand {
    List(OrgsListArgs),
}

/// list your organizations
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct OrgsListArgs {
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// projects of an organization
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "projects")]
pub(crate) struct ProjectsArgs {
    #[argh(subcommand)]
    pub(crate) command: ProjectsCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum ProjectsCommand {
    List(ProjectsListArgs),
}

/// list the projects of the organization
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct ProjectsListArgs {
    /// organization ID or slug (default: the active context)
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// environments of a project
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "environments")]
pub(crate) struct EnvironmentsArgs {
    #[argh(subcommand)]
    pub(crate) command: EnvironmentsCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum EnvironmentsCommand {
    List(EnvironmentsListArgs),
}

/// list the environments of the project
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct EnvironmentsListArgs {
    /// organization ID or slug (default: the active context)
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// project ID or slug (default: the active context)
    #[argh(option)]
    pub(crate) project: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// print an environment's logs
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "logs")]
pub(crate) struct LogsArgs {
    /// organization ID or slug (default: the active context)
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// project ID or slug (default: the active context)
    #[argh(option)]
    pub(crate) project: Option<String>,
    /// environment name (default: the active context)
    #[argh(option)]
    pub(crate) environment: Option<String>,
    /// keep printing new lines as they arrive, until Ctrl-C
    #[argh(switch)]
    pub(crate) follow: bool,
    /// print JSON (one object per line with --follow)
    #[argh(switch)]
    pub(crate) json: bool,
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
    Token(TokenArgs),
}

/// sign in with an email magic link (OAuth device flow) and store the credentials
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "login")]
pub(crate) struct LoginArgs {
    /// email address to send the sign-in link to (prompted for on a terminal)
    #[argh(option)]
    pub(crate) email: Option<String>,
    /// sign in in a browser (authorization code + PKCE) instead of by email link
    #[argh(switch)]
    pub(crate) web: bool,
    /// never open a browser; only print the URL
    #[argh(switch)]
    pub(crate) no_browser: bool,
    /// store this API token or access key instead of signing in (visible in `ps`: prefer
    /// --with-token)
    #[argh(option)]
    pub(crate) token: Option<String>,
    /// read an API token or access key from stdin and store it
    #[argh(switch)]
    pub(crate) with_token: bool,
    /// move the stored credentials from the plaintext file into the OS keyring (no sign-in)
    #[argh(switch)]
    pub(crate) migrate: bool,
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

/// manage API tokens (myc_…) and organization access keys (myo_…)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "token")]
pub(crate) struct TokenArgs {
    #[argh(subcommand)]
    pub(crate) command: TokenCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum TokenCommand {
    Create(TokenCreateArgs),
    List(TokenListArgs),
    Rename(TokenRenameArgs),
    Revoke(TokenRevokeArgs),
}

/// mint a new API token and print it once
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "create")]
pub(crate) struct TokenCreateArgs {
    /// a name that says what the token is for (at most 100 characters)
    #[argh(positional)]
    pub(crate) name: String,
    /// lifetime, e.g. 12h, 30d, 90d, 1y (omit for a token that never expires)
    #[argh(option)]
    pub(crate) expires_in: Option<String>,
    /// scope the token's catalog reads to this profile
    #[argh(option)]
    pub(crate) profile: Option<String>,
    /// make an organization access key (myo_…) for this organization (ID or slug)
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// list your tokens and your organizations' access keys (never the secret)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct TokenListArgs {
    /// only this organization's access keys (ID or slug)
    #[argh(option)]
    pub(crate) organization: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// rename a token
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "rename")]
pub(crate) struct TokenRenameArgs {
    /// the token's ID (tok_…) or current name
    #[argh(positional)]
    pub(crate) token: String,
    /// the new name
    #[argh(positional)]
    pub(crate) new_name: String,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// revoke a token (it stops working at once)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "revoke")]
pub(crate) struct TokenRevokeArgs {
    /// the token's ID (tok_…) or name
    #[argh(positional)]
    pub(crate) token: String,
    /// do not ask for confirmation
    #[argh(switch)]
    pub(crate) force: bool,
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
