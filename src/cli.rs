//! The command tree, as argh structs. No I/O here: `main` parses, `cmd` acts.

use argh::FromArgs;

/// The binary's name, in one place (a distro that renames it stays consistent).
pub(crate) use mycli::BIN;

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
    Library(LibraryArgs),
    Source(SourceArgs),
    Completion(CompletionArgs),
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

/// install, find and sync command libraries (the catalog of a profile)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "library")]
pub(crate) struct LibraryArgs {
    #[argh(subcommand)]
    pub(crate) command: LibraryCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum LibraryCommand {
    Install(LibraryInstallArgs),
    Uninstall(LibraryUninstallArgs),
    List(LibraryListArgs),
    Search(LibrarySearchArgs),
    Info(LibraryInfoArgs),
    Sync(LibrarySyncArgs),
    Release(LibraryReleaseArgs),
}

/// install a registry library into a profile, then sync that profile
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "install")]
pub(crate) struct LibraryInstallArgs {
    /// the library: `slug` (system library) or `owner/slug`
    #[argh(positional)]
    pub(crate) name: String,
    /// the profile to install into (default: the active profile)
    #[argh(option)]
    pub(crate) profile: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// remove a library from a profile, then sync that profile
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "uninstall")]
pub(crate) struct LibraryUninstallArgs {
    /// the library: `slug` or `owner/slug`
    #[argh(positional)]
    pub(crate) name: String,
    /// the profile to remove it from (default: the active profile)
    #[argh(option)]
    pub(crate) profile: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// list the libraries installed in a profile
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct LibraryListArgs {
    /// the profile (default: the active profile)
    #[argh(option)]
    pub(crate) profile: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// search the library registry
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "search")]
pub(crate) struct LibrarySearchArgs {
    /// words to look for in names, slugs and descriptions
    #[argh(positional)]
    pub(crate) query: String,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// show a registry library: description, releases and commands
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "info")]
pub(crate) struct LibraryInfoArgs {
    /// the library: `slug` or `owner/slug`
    #[argh(positional)]
    pub(crate) name: String,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// validate a manifest folder and publish a release of each library it holds
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "release")]
pub(crate) struct LibraryReleaseArgs {
    /// the version to release, MAJOR.MINOR.PATCH (a leading v is dropped)
    #[argh(positional)]
    pub(crate) version: String,
    /// the folder holding the manifest (default: the current folder)
    #[argh(option)]
    pub(crate) dir: Option<String>,
    /// validate and show what would be released, upload nothing
    #[argh(switch)]
    pub(crate) dry_run: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// sync a profile's catalog and its command specs into the local cache
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "sync")]
pub(crate) struct LibrarySyncArgs {
    /// the profile to sync (default: the active profile)
    #[argh(option)]
    pub(crate) profile: Option<String>,
    /// sync every profile, continuing past failures
    #[argh(switch)]
    pub(crate) all: bool,
    /// print the result as JSON
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
    Profile(ProfileArgs),
    Push(PushArgs),
    Init(InitArgs),
    Run(RunArgs),
    History(HistoryArgs),
    Show(ShowArgs),
}

/// manage profiles: named sets of installed libraries
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "profile")]
pub(crate) struct ProfileArgs {
    #[argh(subcommand)]
    pub(crate) command: ProfileCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum ProfileCommand {
    Create(ProfileCreateArgs),
    List(ProfileListArgs),
    Show(ProfileShowArgs),
    Set(ProfileSetArgs),
    Delete(ProfileDeleteArgs),
}

/// create a profile
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "create")]
pub(crate) struct ProfileCreateArgs {
    /// the profile's slug: lower-case letters, digits and -, starting with a letter
    #[argh(positional)]
    pub(crate) slug: String,
    /// display name (default: the slug)
    #[argh(option)]
    pub(crate) name: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// list your profiles (the active one marked *; cached ones when offline)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct ProfileListArgs {
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// show a profile and its libraries (from the cache when offline)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
pub(crate) struct ProfileShowArgs {
    /// the profile (default: the active profile)
    #[argh(positional)]
    pub(crate) slug: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// make a profile the active one (works offline for a cached profile)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "set")]
pub(crate) struct ProfileSetArgs {
    /// the profile
    #[argh(positional)]
    pub(crate) slug: String,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// delete a profile (not `default`)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "delete")]
pub(crate) struct ProfileDeleteArgs {
    /// the profile
    #[argh(positional)]
    pub(crate) slug: String,
    /// also when API tokens are scoped to it (they are revoked)
    #[argh(switch)]
    pub(crate) force: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// publish personal commands: a spec file, or every spec in a folder
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "push")]
pub(crate) struct PushArgs {
    /// the spec file (default: command.yaml, command.yml or command.json)
    #[argh(option, short = 'f')]
    pub(crate) file: Option<String>,
    /// push every .yaml, .yml and .json spec under this folder
    #[argh(option)]
    pub(crate) dir: Option<String>,
    /// a message for the new version
    #[argh(option, short = 'm')]
    pub(crate) message: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// write a starter command spec to edit and push
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "init")]
pub(crate) struct InitArgs {
    /// the command's slug; the file is SLUG.yaml (default: command.yaml with slug hello)
    #[argh(positional)]
    pub(crate) name: Option<String>,
    /// overwrite the file if it exists
    #[argh(switch)]
    pub(crate) force: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
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

/// print the shell completion script for bash, zsh or fish
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "completion")]
pub(crate) struct CompletionArgs {
    /// the shell: bash, zsh or fish
    #[argh(positional)]
    pub(crate) shell: Option<String>,
    /// list the installed libraries (asked by the scripts at TAB time)
    #[argh(switch, hidden_help)]
    pub(crate) libraries: bool,
    /// list the commands of this library (asked by the scripts at TAB time)
    #[argh(option, hidden_help)]
    pub(crate) commands: Option<String>,
}

/// run a command from a local source (or a spec file with -f); its own arguments follow it
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "run")]
pub(crate) struct RunArgs {
    /// run without asking, even when the spec asks for confirmation
    #[argh(switch, short = 'y')]
    pub(crate) yes: bool,
    /// run this spec file (JSON or YAML); everything after FILE is the command's arguments
    #[argh(option, short = 'f')]
    pub(crate) file: Option<String>,
    /// print the rendered steps instead of running them
    #[argh(switch)]
    pub(crate) dry_run: bool,
    /// SLUG (or alias, or LIBRARY/SLUG; not with -f), then the command's own arguments
    #[argh(positional, greedy)]
    pub(crate) args: Vec<String>,
}

/// show the latest runs of commands
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "history")]
pub(crate) struct HistoryArgs {
    /// how many runs to show (default 20)
    #[argh(option, short = 'n', long = "limit", default = "20")]
    pub(crate) limit: usize,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// show a command's spec: its arguments, steps and policy
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
pub(crate) struct ShowArgs {
    /// the command: SLUG, alias or LIBRARY/SLUG
    #[argh(positional)]
    pub(crate) command: String,
    /// print the spec itself, as JSON
    #[argh(switch)]
    pub(crate) raw: bool,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// local sources of commands: library folders and git repositories (no account needed)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "source")]
pub(crate) struct SourceArgs {
    #[argh(subcommand)]
    pub(crate) command: SourceCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum SourceCommand {
    Add(SourceAddArgs),
    List(SourceListArgs),
    Update(SourceUpdateArgs),
    Remove(SourceRemoveArgs),
}

/// add a folder or git repository holding a manifest (mycli.yaml) and its libraries
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "add")]
pub(crate) struct SourceAddArgs {
    /// a folder (copied) or a git URL (cloned)
    #[argh(positional)]
    pub(crate) location: String,
    /// the branch or tag of a git source (default: its default branch)
    #[argh(option, long = "ref")]
    pub(crate) git_ref: Option<String>,
    /// the name to register it under (default: the manifest's name)
    #[argh(option)]
    pub(crate) name: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// list the sources and their libraries
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
pub(crate) struct SourceListArgs {
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// fetch a source (or all of them) again: git pull, or copy the folder again
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "update")]
pub(crate) struct SourceUpdateArgs {
    /// the source's name (default: every source)
    #[argh(positional)]
    pub(crate) name: Option<String>,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// forget a source and delete its copy
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "remove")]
pub(crate) struct SourceRemoveArgs {
    /// the source's name
    #[argh(positional)]
    pub(crate) name: String,
    /// print the result as JSON
    #[argh(switch)]
    pub(crate) json: bool,
}

/// What a command line asks for.
#[derive(Debug)]
pub(crate) enum Invocation {
    /// A built-in command.
    Builtin(Args),
    /// `my --help`: argh's text, to which the installed libraries are added.
    TopHelp(String),
    /// `my LIBRARY [COMMAND [ARGS…]]`: a first word that no built-in command has.
    Library(Vec<String>),
}

/// Whether `word` names a built-in command (which wins over a library of that name).
pub(crate) fn is_builtin(word: &str) -> bool {
    word == "help"
        || <Command as argh::SubCommands>::COMMANDS
            .iter()
            .any(|c| c.name == word)
}

/// Parses a whole command line. `my cli run` is parsed here rather than by argh, because
/// everything after its SLUG (or `-f FILE`) belongs to the command being run; a first word
/// that is no built-in command is left for the library commands.
pub(crate) fn parse_invocation(
    program: &str,
    args: &[&str],
) -> Result<Invocation, argh::EarlyExit> {
    match args {
        [first, ..] if !first.starts_with('-') && !is_builtin(first) => Ok(Invocation::Library(
            args.iter().map(|s| s.to_string()).collect(),
        )),
        ["cli", "run", rest @ ..] => {
            let run = parse_run(program, rest)?;
            Ok(Invocation::Builtin(Args {
                command: Command::Cli(CliArgs {
                    command: CliCommand::Run(run),
                }),
            }))
        }
        ["--help" | "help"] => match parse(program, args) {
            Err(e) if e.status.is_ok() => Ok(Invocation::TopHelp(e.output)),
            other => other.map(Invocation::Builtin),
        },
        _ => parse(program, args).map(Invocation::Builtin),
    }
}

/// `my cli run [-y] [--dry-run] (-f FILE | [--] SLUG) [ARGS…]`: `my`'s options come first;
/// `-f FILE` or SLUG ends them.
fn parse_run(program: &str, rest: &[&str]) -> Result<RunArgs, argh::EarlyExit> {
    let usage = |output: String| argh::EarlyExit {
        output,
        status: Err(()),
    };
    let mut run = RunArgs {
        yes: false,
        file: None,
        dry_run: false,
        args: Vec::new(),
    };
    let mut words = rest.iter().copied().peekable();
    while let Some(&word) = words.peek() {
        match word {
            "-y" | "--yes" => run.yes = true,
            "--dry-run" => run.dry_run = true,
            "-h" | "--help" => return RunArgs::from_args(&[program, "cli", "run"], &["--help"]),
            "-f" | "--file" => {
                words.next();
                let file = words
                    .next()
                    .ok_or_else(|| usage(format!("{word} needs a FILE")))?;
                run.file = Some(file.to_string());
                break;
            }
            "--" => {
                words.next();
                break;
            }
            w if w.starts_with('-') && w != "-" => {
                return Err(usage(format!(
                    "Unrecognized argument: {w}\n`{program} cli run` takes -y, --dry-run and -f FILE before the command; the command's own flags go after it"
                )))
            }
            _ => break,
        }
        words.next();
    }
    run.args = words.map(String::from).collect();
    if run.file.is_none() && run.args.is_empty() {
        return Err(usage(format!(
            "`{program} cli run` needs a command: {program} cli run SLUG [ARGS…], or {program} cli run -f FILE [ARGS…]"
        )));
    }
    Ok(run)
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

    fn run_args(args: &[&str]) -> Result<RunArgs, argh::EarlyExit> {
        match parse_invocation("my", args)? {
            Invocation::Builtin(Args {
                command:
                    Command::Cli(CliArgs {
                        command: CliCommand::Run(r),
                    }),
            }) => Ok(r),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn everything_after_the_slug_or_file_belongs_to_the_command() {
        let r = run_args(&["cli", "run", "-y", "deploy", "--env", "staging", "-y"]).unwrap();
        assert!(r.yes && !r.dry_run && r.file.is_none());
        assert_eq!(r.args, ["deploy", "--env", "staging", "-y"]);
        let r = run_args(&["cli", "run", "--dry-run", "-f", "x.yaml", "--env", "x"]).unwrap();
        assert_eq!((r.file.as_deref(), r.dry_run), (Some("x.yaml"), true));
        assert_eq!(r.args, ["--env", "x"]);
        let r = run_args(&["cli", "run", "--", "deploy", "--help"]).unwrap();
        assert_eq!(r.args, ["deploy", "--help"]);
        assert!(run_args(&["cli", "run", "--bogus", "deploy"])
            .unwrap_err()
            .status
            .is_err());
        assert!(run_args(&["cli", "run", "-y"]).unwrap_err().status.is_err());
        assert!(run_args(&["cli", "run", "-f"]).unwrap_err().status.is_err());
        let help = run_args(&["cli", "run", "--help"]).unwrap_err();
        assert!(
            help.status.is_ok() && help.output.contains("--dry-run"),
            "{}",
            help.output
        );
    }

    #[test]
    fn unknown_first_words_are_library_commands_and_builtins_win() {
        assert!(matches!(
            parse_invocation("my", &["ops", "deploy", "--env", "x"]).unwrap(),
            Invocation::Library(w) if w == ["ops", "deploy", "--env", "x"]
        ));
        assert!(is_builtin("cli") && is_builtin("source") && is_builtin("help"));
        assert!(!is_builtin("ops"));
        assert!(matches!(
            parse_invocation("my", &["--help"]).unwrap(),
            Invocation::TopHelp(t) if t.contains("source")
        ));
        assert!(parse_invocation("my", &["--bogus"])
            .unwrap_err()
            .status
            .is_err());
    }
}
