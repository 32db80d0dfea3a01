//! The command line: argh structs, and `parse`, which turns arguments into a [`Mode`] —
//! resolved [`Settings`] to serve with, or one checked admin task.
//!
//! Parsing is kept apart from doing: no I/O here (the environment comes in as a lookup
//! function), so every flag can be unit-tested, and usage errors map to exit code 2.
//! Defaults and checks live in `settings`.
//!
//! Every server flag can also be set in the environment as `MY_SERVER_<FLAG>`
//! (`--mail-dir` → `MY_SERVER_MAIL_DIR`): the flags missing from the command line are
//! filled from it before argh parses, so a flag always wins and every value passes the
//! same parser and checks.

use crate::admin::Task;
use crate::settings::{
    normalize_public_url, parse_duration, parse_smtp_url, LogFormat, Password, Settings, DEFAULT_DB,
};
use crate::{mail, names};
use argh::FromArgs;
use std::path::PathBuf;

/// The program's name, as shown in usage text.
pub(crate) const BIN_NAME: &str = "my-server";

#[derive(FromArgs, Debug)]
/// The reference My Cloud API server: OAuth device flow and browser sign-in (PKCE) with
/// magic links, refresh-token rotation, and the REST API, on SQLite or PostgreSQL.
#[argh(
    note = "Every option can also be set in the environment as MY_SERVER_<OPTION> \
(--mail-dir: MY_SERVER_MAIL_DIR; a switch: 1 or 0; --trusted-proxy: a comma-separated \
list); an option on the command line wins. Secrets are never options: they are read only \
from files or the environment. The database also applies to `admin` commands; a \
PostgreSQL password is never in the URL: it comes from MY_SERVER_DB_PASSWORD or a pgpass \
file (PGPASSFILE)."
)]
struct Args {
    /// address to listen on (default 127.0.0.1:7780; port 0 picks a free port)
    #[argh(option)]
    listen: Option<String>,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
    /// folder where development mail is written as .eml files (default mail)
    #[argh(option)]
    mail_dir: Option<PathBuf>,
    /// URL clients reach this server at (default http://<bound address>)
    #[argh(option)]
    public_url: Option<String>,
    /// lifetime of access tokens (default 15m)
    #[argh(option, from_str_fn(parse_duration))]
    access_ttl: Option<u64>,
    /// device-flow polling interval (default 5s)
    #[argh(option, from_str_fn(parse_duration))]
    device_interval: Option<u64>,
    /// lifetime of magic links (default 15m)
    #[argh(option, from_str_fn(parse_duration))]
    link_ttl: Option<u64>,
    /// lifetime of device codes (default 15m)
    #[argh(option, from_str_fn(parse_duration))]
    device_ttl: Option<u64>,
    /// lifetime of browser-flow authorization codes (default 60s, at most 10m)
    #[argh(option, from_str_fn(parse_duration))]
    code_ttl: Option<u64>,
    /// idle lifetime of a session, renewed by each refresh (default 30d)
    #[argh(option, from_str_fn(parse_duration))]
    session_ttl: Option<u64>,
    /// absolute lifetime of a session (default 90d)
    #[argh(option, from_str_fn(parse_duration))]
    session_max: Option<u64>,
    /// how long a just-rotated refresh token still returns its successor (default 10s)
    #[argh(option, from_str_fn(parse_duration))]
    refresh_grace: Option<u64>,
    /// device authorization requests per client address per 10 minutes (default 30)
    #[argh(option)]
    rate_limit: Option<u32>,
    /// sign-in mails per email address per 10 minutes (default 5)
    #[argh(option)]
    mail_rate_limit: Option<u32>,
    /// sign-in mails per client address (IPv6: per /64) per 10 minutes (default 10)
    #[argh(option)]
    mail_client_limit: Option<u32>,
    /// sign-in mails of the whole server per 10 minutes (default 200)
    #[argh(option)]
    mail_global_limit: Option<u32>,
    /// shortest lifetime an API token may be created with (default 1h)
    #[argh(option, from_str_fn(parse_duration))]
    min_token_ttl: Option<u64>,
    /// how often an API token's last-used time is written at most (default 60s)
    #[argh(option, from_str_fn(parse_duration))]
    last_used_interval: Option<u64>,
    /// how long `GET /v1/logs?follow=1` waits for a new line (default 25s)
    #[argh(option, from_str_fn(parse_duration))]
    long_poll: Option<u64>,
    /// how often expired sign-in requests, links, codes and dead sessions are deleted
    /// (default 10m)
    #[argh(option, from_str_fn(parse_duration))]
    sweep_interval: Option<u64>,
    /// development only: also print each mailed sign-in link to the log (refused with an
    /// https --public-url: a link signs in whoever reads it)
    #[argh(switch)]
    print_links: bool,
    /// address of a reverse proxy whose X-Forwarded-For names the client (repeatable);
    /// without one the header is ignored
    #[argh(option)]
    trusted_proxy: Vec<String>,
    /// time a client has to send a request's line and headers, from connecting or from its
    /// previous response; also ends idle keep-alive connections (default 10s)
    #[argh(option, from_str_fn(parse_duration))]
    header_timeout: Option<u64>,
    /// time a client has to send a request's body once its headers are in (default 30s)
    #[argh(option, from_str_fn(parse_duration))]
    body_timeout: Option<u64>,
    /// open connections at most; past it, clients wait (default 1024, and always below
    /// the open-file limit)
    #[argh(option)]
    max_connections: Option<usize>,
    /// after SIGTERM or SIGINT, how long requests in flight may take to finish before the
    /// process exits (default 30s)
    #[argh(option, from_str_fn(parse_duration))]
    shutdown_timeout: Option<u64>,
    /// the log line of each request: text or json (one object per line: time, client,
    /// method, path, status, milliseconds; never a query string, header or body)
    /// (default text)
    #[argh(option, from_str_fn(LogFormat::parse))]
    log_format: Option<LogFormat>,
    /// send sign-in mail through this relay: smtp://[USER@]HOST[:PORT] (STARTTLS, port 587;
    /// plain only to a loopback relay) or smtps://[USER@]HOST[:PORT] (TLS, port 465);
    /// without it, mail is written to --mail-dir (development)
    #[argh(option)]
    smtp_url: Option<String>,
    /// file holding the SMTP password; or set MY_SERVER_SMTP_PASSWORD (never a flag)
    #[argh(option)]
    smtp_password_file: Option<PathBuf>,
    /// sender of sign-in mail, e.g. "My Cloud <no-reply@example.com>" (required with
    /// --smtp-url)
    #[argh(option)]
    mail_from: Option<String>,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Admin(AdminArgs),
}

#[derive(FromArgs, Debug)]
/// Inspect and set up the database (organizations, projects, environments, logs).
#[argh(subcommand, name = "admin")]
struct AdminArgs {
    #[argh(subcommand)]
    command: AdminCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum AdminCommand {
    Sessions(SessionsArgs),
    User(UserArgs),
    Org(OrgArgs),
    Project(ProjectArgs),
    Env(EnvArgs),
    Log(LogArgs),
    Seed(SeedArgs),
    RotateKey(RotateKeyArgs),
    Stats(StatsArgs),
    Library(LibraryArgs),
}

#[derive(FromArgs, Debug)]
/// Add a new JWT signing key and print {"kid","retired"}. New access tokens are signed with
/// it; tokens signed by the previous key stay valid until they expire; older keys are
/// deleted (so rotate at most once per access-token lifetime).
#[argh(subcommand, name = "rotate-key")]
struct RotateKeyArgs {
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Print the number of rows of the tables the periodic sweep keeps in check, as one JSON
/// object.
#[argh(subcommand, name = "stats")]
struct StatsArgs {
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Print every session as one JSON object per line.
#[argh(subcommand, name = "sessions")]
struct SessionsArgs {
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage users.
#[argh(subcommand, name = "user")]
struct UserArgs {
    #[argh(subcommand)]
    command: UserCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum UserCommand {
    Create(UserCreateArgs),
}

#[derive(FromArgs, Debug)]
/// Create a user (or find the existing one) and print {"id","email"}.
#[argh(subcommand, name = "create")]
struct UserCreateArgs {
    /// the user's email address
    #[argh(option)]
    email: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage organizations.
#[argh(subcommand, name = "org")]
struct OrgArgs {
    #[argh(subcommand)]
    command: OrgCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum OrgCommand {
    Create(OrgCreateArgs),
    AddMember(AddMemberArgs),
}

#[derive(FromArgs, Debug)]
/// Create an organization and print {"id","name","slug"}.
#[argh(subcommand, name = "create")]
struct OrgCreateArgs {
    /// display name
    #[argh(option)]
    name: String,
    /// unique slug: a-z, 0-9 and -
    #[argh(option)]
    slug: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Add a member (creating the user if needed); does nothing if they already are one.
#[argh(subcommand, name = "add-member")]
struct AddMemberArgs {
    /// organization id or slug
    #[argh(option)]
    org: String,
    /// the member's email address
    #[argh(option)]
    email: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage projects.
#[argh(subcommand, name = "project")]
struct ProjectArgs {
    #[argh(subcommand)]
    command: ProjectCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum ProjectCommand {
    Create(ProjectCreateArgs),
}

#[derive(FromArgs, Debug)]
/// Create a project and print {"id","organization","name","slug"}.
#[argh(subcommand, name = "create")]
struct ProjectCreateArgs {
    /// organization id or slug
    #[argh(option)]
    org: String,
    /// display name
    #[argh(option)]
    name: String,
    /// slug, unique within the organization: a-z, 0-9 and -
    #[argh(option)]
    slug: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage environments.
#[argh(subcommand, name = "env")]
struct EnvArgs {
    #[argh(subcommand)]
    command: EnvCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum EnvCommand {
    Create(EnvCreateArgs),
}

#[derive(FromArgs, Debug)]
/// Create an environment and print {"name","project"}.
#[argh(subcommand, name = "create")]
struct EnvCreateArgs {
    /// organization id or slug
    #[argh(option)]
    org: String,
    /// project id or slug
    #[argh(option)]
    project: String,
    /// environment name, unique within the project: a-z, 0-9 and -
    #[argh(option)]
    name: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage environment logs.
#[argh(subcommand, name = "log")]
struct LogArgs {
    #[argh(subcommand)]
    command: LogCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum LogCommand {
    Append(LogAppendArgs),
}

#[derive(FromArgs, Debug)]
/// Append log lines to an environment and print {"appended","next"}.
#[argh(subcommand, name = "append")]
struct LogAppendArgs {
    /// organization id or slug
    #[argh(option)]
    org: String,
    /// project id or slug
    #[argh(option)]
    project: String,
    /// environment name
    #[argh(option)]
    env: String,
    /// the line to append, or - to append every line read from stdin
    #[argh(option)]
    message: String,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Create what a JSON seed file describes (organizations, members, projects,
/// environments); running it again changes nothing.
#[argh(subcommand, name = "seed")]
struct SeedArgs {
    /// the seed file: {"organizations":[{"name","slug","members":[…],"projects":[…]}]}
    #[argh(option)]
    file: PathBuf,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

#[derive(FromArgs, Debug)]
/// Manage the library registry.
#[argh(subcommand, name = "library")]
struct LibraryArgs {
    #[argh(subcommand)]
    command: LibraryCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum LibraryCommand {
    Import(LibraryImportArgs),
}

#[derive(FromArgs, Debug)]
/// Publish each library of a folder (a mycli.yaml or mycli.json manifest and one spec file
/// per command) as a system library release; an unchanged folder publishes nothing.
#[argh(subcommand, name = "import")]
struct LibraryImportArgs {
    /// the folder holding the manifest
    #[argh(positional)]
    dir: PathBuf,
    /// the release version, MAJOR.MINOR.PATCH (default: the patch after the latest, or 1.0.0)
    #[argh(option)]
    version: Option<String>,
    /// SQLite file or postgres:// URL (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Mode {
    Serve(Box<Settings>),
    Admin { db: PathBuf, task: Task },
}

/// Text to print and the exit code, when parsing ends the program (help or usage error).
#[derive(Debug)]
pub(crate) struct EarlyExit {
    pub(crate) output: String,
    /// 0 for `--help`, 2 for a usage error.
    pub(crate) code: u8,
}

/// How a flag is written when it comes from the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum EnvValue {
    /// `--flag VALUE`.
    One,
    /// A switch: `1`/`true`/`yes` sets it, `0`/`false`/`no`/empty leaves it off.
    Switch,
    /// A repeatable option: a comma-separated list, one `--flag VALUE` each.
    List,
}

/// Every flag of the server (not of `admin`'s subcommands), for the environment. A unit
/// test keeps it equal to the flags `--help` lists.
const ENV_FLAGS: &[(&str, EnvValue)] = &[
    ("--listen", EnvValue::One),
    ("--db", EnvValue::One),
    ("--mail-dir", EnvValue::One),
    ("--public-url", EnvValue::One),
    ("--access-ttl", EnvValue::One),
    ("--device-interval", EnvValue::One),
    ("--link-ttl", EnvValue::One),
    ("--device-ttl", EnvValue::One),
    ("--code-ttl", EnvValue::One),
    ("--session-ttl", EnvValue::One),
    ("--session-max", EnvValue::One),
    ("--refresh-grace", EnvValue::One),
    ("--rate-limit", EnvValue::One),
    ("--mail-rate-limit", EnvValue::One),
    ("--mail-client-limit", EnvValue::One),
    ("--mail-global-limit", EnvValue::One),
    ("--min-token-ttl", EnvValue::One),
    ("--last-used-interval", EnvValue::One),
    ("--long-poll", EnvValue::One),
    ("--sweep-interval", EnvValue::One),
    ("--print-links", EnvValue::Switch),
    ("--trusted-proxy", EnvValue::List),
    ("--header-timeout", EnvValue::One),
    ("--body-timeout", EnvValue::One),
    ("--max-connections", EnvValue::One),
    ("--shutdown-timeout", EnvValue::One),
    ("--log-format", EnvValue::One),
    ("--smtp-url", EnvValue::One),
    ("--smtp-password-file", EnvValue::One),
    ("--mail-from", EnvValue::One),
];

/// The SMTP password, when it does not come from a file.
pub(crate) const SMTP_PASSWORD_ENV: &str = "MY_SERVER_SMTP_PASSWORD";

/// `MY_SERVER_MAIL_DIR` for `--mail-dir`.
pub(crate) fn env_name(flag: &str) -> String {
    format!(
        "MY_SERVER_{}",
        flag.trim_start_matches('-')
            .replace('-', "_")
            .to_uppercase()
    )
}

/// The flags `env` supplies that `args` lacks, to go before `args`, and the names of the
/// variables they came from. The error names a variable whose value is not a switch's.
fn from_environment(
    args: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut flags = Vec::new();
    let mut used = Vec::new();
    for &(flag, kind) in ENV_FLAGS {
        let name = env_name(flag);
        let Some(value) = env(&name).filter(|_| !args.contains(&flag)) else {
            continue;
        };
        match kind {
            EnvValue::One => flags.extend([flag.to_string(), value]),
            EnvValue::Switch => match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => flags.push(flag.to_string()),
                "0" | "false" | "no" | "" => {}
                _ => return Err(format!("{name} must be 1 or 0, not `{value}`")),
            },
            EnvValue::List => {
                for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    flags.extend([flag.to_string(), item.to_string()]);
                }
            }
        }
        used.push(name);
    }
    Ok((flags, used))
}

/// Parses `args` (the program name first) into a [`Mode`], filling the flags it lacks
/// from `env` (a lookup of environment variables).
pub(crate) fn parse(
    args: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Mode, EarlyExit> {
    let name = BIN_NAME;
    let usage = |message: String| EarlyExit {
        output: format!("{message}\nRun {name} --help for more information."),
        code: 2,
    };
    let rest = args.get(1..).unwrap_or_default();
    let (mut all, used) = from_environment(rest, env).map_err(usage)?;
    all.extend(rest.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let args = Args::from_args(&[name], &all).map_err(|exit| {
        let from_env = match (exit.status.is_ok(), used.is_empty()) {
            (false, false) => format!("\n(set in the environment: {})", used.join(", ")),
            _ => String::new(),
        };
        EarlyExit {
            output: format!("{}{from_env}", exit.output),
            code: if exit.status.is_ok() { 0 } else { 2 },
        }
    })?;
    if let Some(Command::Admin(admin)) = args.command {
        let (db, task) = admin_task(admin.command).map_err(usage)?;
        let db = db.or(args.db).unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
        return Ok(Mode::Admin { db, task });
    }
    let public_url = match args.public_url {
        Some(url) => Some(normalize_public_url(&url).map_err(usage)?),
        None => None,
    };
    let smtp = match args.smtp_url {
        None if args.smtp_password_file.is_some() => {
            return Err(usage("--smtp-password-file needs --smtp-url".into()));
        }
        None => None,
        Some(url) => {
            let mut relay = parse_smtp_url(&url).map_err(usage)?;
            relay.password_file = args.smtp_password_file;
            if relay.password_file.is_none() {
                relay.password = env(SMTP_PASSWORD_ENV).map(Password);
            }
            let has_password = relay.password_file.is_some() || relay.password.is_some();
            if has_password && relay.user.is_none() {
                return Err(usage(
                    "an SMTP password needs a user: --smtp-url smtp://USER@HOST:PORT".into(),
                ));
            }
            if args.mail_from.is_none() {
                return Err(usage(
                    "--smtp-url needs --mail-from \"Name <address@your.domain>\"".into(),
                ));
            }
            Some(relay)
        }
    };
    let d = Settings::default();
    let mail_from = match args.mail_from {
        Some(from) => mail::check_mailbox(&from).map_err(usage)?,
        None => d.mail_from,
    };
    let settings = Settings {
        listen: args.listen.unwrap_or(d.listen),
        db: args.db.unwrap_or(d.db),
        mail_dir: args.mail_dir.unwrap_or(d.mail_dir),
        public_url,
        access_ttl: args.access_ttl.unwrap_or(d.access_ttl),
        device_interval: args.device_interval.unwrap_or(d.device_interval),
        link_ttl: args.link_ttl.unwrap_or(d.link_ttl),
        device_ttl: args.device_ttl.unwrap_or(d.device_ttl),
        code_ttl: args.code_ttl.unwrap_or(d.code_ttl),
        session_ttl: args.session_ttl.unwrap_or(d.session_ttl),
        session_max: args.session_max.unwrap_or(d.session_max),
        refresh_grace: args.refresh_grace.unwrap_or(d.refresh_grace),
        rate_limit: args.rate_limit.unwrap_or(d.rate_limit),
        mail_rate_limit: args.mail_rate_limit.unwrap_or(d.mail_rate_limit),
        mail_client_limit: args.mail_client_limit.unwrap_or(d.mail_client_limit),
        mail_global_limit: args.mail_global_limit.unwrap_or(d.mail_global_limit),
        min_token_ttl: args.min_token_ttl.unwrap_or(d.min_token_ttl),
        last_used_interval: args.last_used_interval.unwrap_or(d.last_used_interval),
        long_poll: args.long_poll.unwrap_or(d.long_poll),
        sweep_interval: args.sweep_interval.unwrap_or(d.sweep_interval),
        print_links: args.print_links,
        trusted_proxies: args
            .trusted_proxy
            .iter()
            .map(|p| {
                p.parse().map_err(|_| {
                    usage(format!(
                        "invalid --trusted-proxy `{p}`: expected an IP address"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        header_timeout: args.header_timeout.unwrap_or(d.header_timeout),
        body_timeout: args.body_timeout.unwrap_or(d.body_timeout),
        max_connections: args.max_connections.unwrap_or(d.max_connections),
        shutdown_timeout: args.shutdown_timeout.unwrap_or(d.shutdown_timeout),
        log_format: args.log_format.unwrap_or(d.log_format),
        smtp,
        mail_from,
    };
    settings.check().map_err(usage)?;
    Ok(Mode::Serve(Box::new(settings)))
}

/// Checks an admin command's arguments; the error is a usage message.
fn admin_task(command: AdminCommand) -> Result<(Option<PathBuf>, Task), String> {
    let email = |email: String| {
        let email = email.trim().to_string();
        if mail::valid_address(&email) {
            Ok(email)
        } else {
            Err(format!(
                "\"{}\" is not a valid email address",
                email.escape_debug()
            ))
        }
    };
    Ok(match command {
        AdminCommand::Sessions(a) => (a.db, Task::Sessions),
        AdminCommand::User(UserArgs {
            command: UserCommand::Create(a),
        }) => (
            a.db,
            Task::UserCreate {
                email: email(a.email)?,
            },
        ),
        AdminCommand::Org(OrgArgs {
            command: OrgCommand::Create(a),
        }) => (
            a.db,
            Task::OrgCreate {
                name: names::display_name("the organization name", &a.name)?,
                slug: names::slug("the organization slug", &a.slug)?,
            },
        ),
        AdminCommand::Org(OrgArgs {
            command: OrgCommand::AddMember(a),
        }) => (
            a.db,
            Task::OrgAddMember {
                org: a.org,
                email: email(a.email)?,
            },
        ),
        AdminCommand::Project(ProjectArgs {
            command: ProjectCommand::Create(a),
        }) => (
            a.db,
            Task::ProjectCreate {
                org: a.org,
                name: names::display_name("the project name", &a.name)?,
                slug: names::slug("the project slug", &a.slug)?,
            },
        ),
        AdminCommand::Env(EnvArgs {
            command: EnvCommand::Create(a),
        }) => (
            a.db,
            Task::EnvCreate {
                org: a.org,
                project: a.project,
                name: names::slug("the environment name", &a.name)?,
            },
        ),
        AdminCommand::Log(LogArgs {
            command: LogCommand::Append(a),
        }) => {
            let message = match a.message.as_str() {
                "-" => None,
                line => Some(names::log_line(line)?.to_string()),
            };
            (
                a.db,
                Task::LogAppend {
                    org: a.org,
                    project: a.project,
                    env: a.env,
                    message,
                },
            )
        }
        AdminCommand::Seed(a) => (a.db, Task::Seed { file: a.file }),
        AdminCommand::RotateKey(a) => (a.db, Task::RotateKey),
        AdminCommand::Stats(a) => (a.db, Task::Stats),
        AdminCommand::Library(LibraryArgs {
            command: LibraryCommand::Import(a),
        }) => (
            a.db,
            Task::LibraryImport {
                dir: a.dir,
                version: a.version,
            },
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// An environment holding `vars`.
    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn serve_env(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, EarlyExit> {
        let mut all = vec!["my-server"];
        all.extend_from_slice(args);
        match parse(&all, &env_of(vars))? {
            Mode::Serve(settings) => Ok(*settings),
            other => panic!("expected serve mode, got {other:?}"),
        }
    }

    #[test]
    fn every_flag_reads_the_environment_and_a_flag_wins() {
        let vars = [
            ("MY_SERVER_LISTEN", "127.0.0.1:9"),
            ("MY_SERVER_MAIL_DIR", "/var/mail/my"),
            ("MY_SERVER_ACCESS_TTL", "2m"),
            ("MY_SERVER_PRINT_LINKS", "1"),
            ("MY_SERVER_TRUSTED_PROXY", "10.0.0.1, ::1"),
            ("MY_SERVER_SHUTDOWN_TIMEOUT", "5s"),
            ("MY_SERVER_RATE_LIMIT", "7"),
        ];
        let s = serve_env(&["--rate-limit", "8"], &vars).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9");
        assert_eq!(s.mail_dir, PathBuf::from("/var/mail/my"));
        assert_eq!(s.access_ttl, 120);
        assert!(s.print_links);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.shutdown_timeout, 5);
        assert_eq!(s.rate_limit, 8, "the flag wins over MY_SERVER_RATE_LIMIT");

        let off = serve_env(&[], &[("MY_SERVER_PRINT_LINKS", "0")]).unwrap();
        assert!(!off.print_links);

        // A bad value is a usage error that says where it came from.
        let err = serve_env(&[], &[("MY_SERVER_ACCESS_TTL", "fast")]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.output.contains("MY_SERVER_ACCESS_TTL"),
            "{}",
            err.output
        );
        let err = serve_env(&[], &[("MY_SERVER_PRINT_LINKS", "maybe")]).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(err
            .output
            .starts_with("MY_SERVER_PRINT_LINKS must be 1 or 0"));
        let err = serve_env(&[], &[("MY_SERVER_CODE_TTL", "1h")]).unwrap_err();
        assert!(err.output.starts_with("--code-ttl must be at most 10m"));

        // Admin commands take the database from it too; their own --db wins.
        let db = [("MY_SERVER_DB", "/srv/my.db")];
        let admin = |args: &[&str]| match parse(args, &env_of(&db)) {
            Ok(Mode::Admin { db, .. }) => db,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            admin(&["my-server", "admin", "stats"]),
            PathBuf::from("/srv/my.db")
        );
        assert_eq!(
            admin(&["my-server", "admin", "stats", "--db", "x.db"]),
            PathBuf::from("x.db")
        );
    }

    #[test]
    fn smtp_settings() {
        use crate::settings::SmtpSecurity;
        let from = ["--mail-from", "Ops <ops@example.com>"];
        let relay = |url: &str, vars: &[(&str, &str)]| {
            let mut args = vec!["--smtp-url", url];
            args.extend(from);
            serve_env(&args, vars).map(|s| s.smtp.unwrap())
        };
        let r = relay("smtp://mail.example.com", &[]).unwrap();
        assert_eq!((r.port, r.security), (587, SmtpSecurity::StartTls));
        let r = relay("smtps://mail.example.com", &[]).unwrap();
        assert_eq!((r.port, r.security), (465, SmtpSecurity::Implicit));
        let r = relay("smtp://mail.example.com:465", &[]).unwrap();
        assert_eq!(r.security, SmtpSecurity::Implicit);
        let r = relay("smtp://127.0.0.1:2525", &[]).unwrap();
        assert_eq!(
            (r.port, r.security),
            (2525, SmtpSecurity::LoopbackPlainAllowed)
        );
        let r = relay("smtp://[::1]:25/", &[]).unwrap();
        assert_eq!(
            (r.host.as_str(), r.security),
            ("::1", SmtpSecurity::LoopbackPlainAllowed)
        );
        // The password comes from the environment, and never shows in Debug output.
        let r = relay(
            "smtp://ops@mail.example.com",
            &[("MY_SERVER_SMTP_PASSWORD", "hunter2")],
        );
        let r = r.unwrap();
        assert_eq!(r.user.as_deref(), Some("ops"));
        assert_eq!(r.password.as_ref().map(|p| p.0.as_str()), Some("hunter2"));
        assert!(!format!("{r:?}").contains("hunter2"));

        for (args, message) in [
            (
                vec!["--smtp-url", "smtp://ops:hunter2@mail.example.com"],
                "a password never goes in the URL",
            ),
            (vec!["--smtp-url", "http://mail.example.com"], "use smtp://"),
            (
                vec!["--smtp-url", "smtp://mail.example.com:99999"],
                "the port",
            ),
            (
                vec!["--smtp-url", "smtp://mail.example.com"],
                "--smtp-url needs --mail-from",
            ),
            (
                vec!["--smtp-password-file", "/x"],
                "--smtp-password-file needs --smtp-url",
            ),
            (
                vec!["--mail-from", "Ops <ops@example.com>\r\nBcc: x@y.z"],
                "invalid --mail-from",
            ),
        ] {
            let err = serve_env(&args, &[]).unwrap_err();
            assert_eq!(err.code, 2, "{args:?}");
            assert!(err.output.contains(message), "{args:?}: {}", err.output);
            assert!(!err.output.contains("hunter2"), "{}", err.output);
        }
        let err = serve_env(
            &[
                "--smtp-url",
                "smtp://mail.example.com",
                "--mail-from",
                "a@example.com",
            ],
            &[("MY_SERVER_SMTP_PASSWORD", "x")],
        )
        .unwrap_err();
        assert!(err.output.contains("needs a user"), "{}", err.output);
        assert_eq!(serve_env(&[], &[]).unwrap().smtp, None);
    }

    #[test]
    fn the_environment_list_is_every_flag_help_shows() {
        let help = parse(&["my-server", "--help"], &no_env).unwrap_err().output;
        let shown: Vec<&str> = help
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("--"))
            .filter_map(|line| line.split_whitespace().next())
            .filter(|flag| !flag.starts_with("help"))
            .collect();
        let listed: Vec<&str> = ENV_FLAGS.iter().map(|(f, _)| &f[2..]).collect();
        assert_eq!(shown, listed);
        assert!(help.contains("MY_SERVER_<OPTION>"), "{help}");
        assert!(help.contains("Secrets are never options"), "{help}");
    }

    fn serve(args: &[&str]) -> Settings {
        let mut all = vec!["my-server"];
        all.extend_from_slice(args);
        match parse(&all, &no_env) {
            Ok(Mode::Serve(settings)) => *settings,
            other => panic!("expected serve mode, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = serve(&[]);
        assert_eq!(s.listen, "127.0.0.1:7780");
        assert_eq!(s.db, PathBuf::from("my-server.db"));
        assert_eq!(s.mail_dir, PathBuf::from("mail"));
        assert_eq!(s.public_url, None);
        assert_eq!(s.access_ttl, 900);
        assert_eq!(s.device_interval, 5);
        assert_eq!(s.link_ttl, 900);
        assert_eq!(s.device_ttl, 900);
        assert_eq!(s.code_ttl, 60);
        assert_eq!(s.session_ttl, 30 * 86_400);
        assert_eq!(s.session_max, 90 * 86_400);
        assert_eq!(s.refresh_grace, 10);
        assert_eq!(s.rate_limit, 30);
        assert_eq!(s.mail_rate_limit, 5);
        assert_eq!(s.min_token_ttl, 3600);
        assert_eq!(s.last_used_interval, 60);
        assert_eq!(s.long_poll, 25);
        assert_eq!(s.header_timeout, 10);
        assert_eq!(s.body_timeout, 30);
        assert_eq!(s.max_connections, 1024);
        assert_eq!(s.shutdown_timeout, 30);
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn flags() {
        let s = serve(&[
            "--listen",
            "127.0.0.1:0",
            "--access-ttl",
            "1s",
            "--refresh-grace",
            "0s",
            "--session-ttl",
            "2h 30m",
            "--device-interval",
            "0",
            "--public-url",
            "https://my.example/",
            "--rate-limit",
            "1000",
            "--min-token-ttl",
            "1s",
            "--last-used-interval",
            "0s",
            "--long-poll",
            "2s",
            "--code-ttl",
            "2s",
            "--header-timeout",
            "3s",
            "--body-timeout",
            "1m",
            "--max-connections",
            "50",
            "--log-format",
            "json",
        ]);
        assert_eq!(s.listen, "127.0.0.1:0");
        assert_eq!(s.access_ttl, 1);
        assert_eq!(s.refresh_grace, 0);
        assert_eq!(s.session_ttl, 9000);
        assert_eq!(s.device_interval, 0);
        assert_eq!(s.public_url.as_deref(), Some("https://my.example"));
        assert_eq!(s.rate_limit, 1000);
        assert_eq!(s.min_token_ttl, 1);
        assert_eq!(s.last_used_interval, 0);
        assert_eq!(s.long_poll, 2);
        assert_eq!(s.code_ttl, 2);
        assert_eq!(s.header_timeout, 3);
        assert_eq!(s.body_timeout, 60);
        assert_eq!(s.max_connections, 50);
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            &["my-server", "--bogus"][..],
            &["my-server", "--access-ttl", "fast"],
            &["my-server", "--access-ttl", "0s"],
            &["my-server", "--code-ttl", "0s"],
            &["my-server", "--sweep-interval", "0s"],
            &["my-server", "--code-ttl", "11m"],
            &["my-server", "--public-url", "ftp://x"],
            &[
                "my-server",
                "--print-links",
                "--public-url",
                "https://my.example",
            ],
            &["my-server", "--rate-limit", "-1"],
            &["my-server", "--log-format", "yaml"],
            &["my-server", "--listen"],
            &["my-server", "admin"],
        ] {
            let err = parse(bad, &no_env).unwrap_err();
            assert_eq!(err.code, 2, "{bad:?}: {}", err.output);
        }
        assert_eq!(
            parse(&["my-server", "--help"], &no_env).unwrap_err().code,
            0
        );
        assert!(serve(&["--print-links", "--public-url", "http://127.0.0.1:7780"]).print_links);
        assert!(!serve(&[]).print_links);
    }

    fn admin(args: &[&str]) -> (PathBuf, Task) {
        let mut all = vec!["my-server", "admin"];
        all.extend_from_slice(args);
        match parse(&all, &no_env) {
            Ok(Mode::Admin { db, task }) => (db, task),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn admin_commands() {
        assert_eq!(
            admin(&["sessions", "--db", "x.db"]),
            (PathBuf::from("x.db"), Task::Sessions)
        );
        assert_eq!(
            admin(&["org", "create", "--name", " Acme ", "--slug", "acme"]),
            (
                PathBuf::from("my-server.db"),
                Task::OrgCreate {
                    name: "Acme".into(),
                    slug: "acme".into()
                }
            )
        );
        assert_eq!(
            admin(&[
                "org",
                "add-member",
                "--org",
                "acme",
                "--email",
                "a@b.example"
            ])
            .1,
            Task::OrgAddMember {
                org: "acme".into(),
                email: "a@b.example".into()
            }
        );
        assert_eq!(
            admin(&["user", "create", "--email", "a@b.example"]).1,
            Task::UserCreate {
                email: "a@b.example".into()
            }
        );
        assert_eq!(
            admin(&["project", "create", "--org", "acme", "--name", "Store", "--slug", "store"]).1,
            Task::ProjectCreate {
                org: "acme".into(),
                name: "Store".into(),
                slug: "store".into()
            }
        );
        assert_eq!(
            admin(&[
                "env",
                "create",
                "--org",
                "acme",
                "--project",
                "store",
                "--name",
                "staging"
            ])
            .1,
            Task::EnvCreate {
                org: "acme".into(),
                project: "store".into(),
                name: "staging".into()
            }
        );
        let append = [
            "log",
            "append",
            "--org",
            "o",
            "--project",
            "p",
            "--env",
            "e",
        ];
        let mut from_stdin = append.to_vec();
        from_stdin.extend(["--message", "-"]);
        assert!(matches!(
            admin(&from_stdin).1,
            Task::LogAppend { message: None, .. }
        ));
        let mut one = append.to_vec();
        one.extend(["--message", "ready"]);
        assert!(matches!(
            admin(&one).1,
            Task::LogAppend { message: Some(m), .. } if m == "ready"
        ));
        assert_eq!(
            admin(&["rotate-key", "--db", "x.db"]),
            (PathBuf::from("x.db"), Task::RotateKey)
        );
        assert_eq!(
            admin(&["seed", "--file", "seed.json", "--db", "x.db"]),
            (
                PathBuf::from("x.db"),
                Task::Seed {
                    file: PathBuf::from("seed.json")
                }
            )
        );
        assert_eq!(
            admin(&[
                "library",
                "import",
                "examples/libraries",
                "--version",
                "1.2.0"
            ])
            .1,
            Task::LibraryImport {
                dir: PathBuf::from("examples/libraries"),
                version: Some("1.2.0".into())
            }
        );
        assert_eq!(
            admin(&["library", "import", "libs"]).1,
            Task::LibraryImport {
                dir: PathBuf::from("libs"),
                version: None
            }
        );
    }

    #[test]
    fn admin_usage_errors_exit_2() {
        for bad in [
            &["org", "create", "--name", "Acme"][..],
            &["org", "create", "--name", "Acme", "--slug", "Acme_Inc"],
            &["org", "create", "--name", "", "--slug", "acme"],
            &["org", "add-member", "--org", "acme", "--email", "nobody"],
            &["user", "create", "--email", "a b@c"],
            &[
                "env",
                "create",
                "--org",
                "o",
                "--project",
                "p",
                "--name",
                "Prod",
            ],
            &[
                "log",
                "append",
                "--org",
                "o",
                "--project",
                "p",
                "--env",
                "e",
            ],
            &["org"],
            &["seed"],
        ] {
            let mut all = vec!["my-server", "admin"];
            all.extend_from_slice(bad);
            let err = parse(&all, &no_env).unwrap_err();
            assert_eq!(err.code, 2, "{bad:?}: {}", err.output);
        }
    }
}
