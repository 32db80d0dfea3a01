//! The command line (argh structs) and the settings resolved from it.
//!
//! Parsing is kept apart from doing: `parse` turns arguments into a [`Mode`] without any
//! I/O, so every flag can be unit-tested, and usage errors map to exit code 2.

use argh::FromArgs;
use std::path::PathBuf;
use std::time::Duration;

/// The program's name, as shown in usage text.
pub(crate) const BIN_NAME: &str = "my-server";
/// Seconds in the rate-limit window (10 minutes).
pub(crate) const RATE_WINDOW_SECS: i64 = 600;
/// Wrong user codes one client address may try per window on the `/device` page.
pub(crate) const USER_CODE_GUESS_LIMIT: u32 = 10;

#[derive(FromArgs, Debug)]
/// The reference My Cloud API server: OAuth device flow with magic links, refresh-token
/// rotation, and the REST API, on SQLite.
struct Args {
    /// address to listen on (default 127.0.0.1:7780; port 0 picks a free port)
    #[argh(option)]
    listen: Option<String>,
    /// SQLite database file (default my-server.db)
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
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Admin(AdminArgs),
}

#[derive(FromArgs, Debug)]
/// Inspect the database.
#[argh(subcommand, name = "admin")]
struct AdminArgs {
    #[argh(subcommand)]
    command: AdminCommand,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum AdminCommand {
    Sessions(SessionsArgs),
}

#[derive(FromArgs, Debug)]
/// Print every session as one JSON object per line.
#[argh(subcommand, name = "sessions")]
struct SessionsArgs {
    /// SQLite database file (default my-server.db)
    #[argh(option)]
    db: Option<PathBuf>,
}

/// Everything the server needs from its command line. Durations are whole seconds.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) listen: String,
    pub(crate) db: PathBuf,
    pub(crate) mail_dir: PathBuf,
    /// Without a trailing slash.
    pub(crate) public_url: Option<String>,
    pub(crate) access_ttl: u64,
    pub(crate) device_interval: u64,
    pub(crate) link_ttl: u64,
    pub(crate) device_ttl: u64,
    pub(crate) session_ttl: u64,
    pub(crate) session_max: u64,
    pub(crate) refresh_grace: u64,
    pub(crate) rate_limit: u32,
    pub(crate) mail_rate_limit: u32,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Mode {
    Serve(Settings),
    AdminSessions { db: PathBuf },
}

/// Text to print and the exit code, when parsing ends the program (help or usage error).
#[derive(Debug)]
pub(crate) struct EarlyExit {
    pub(crate) output: String,
    /// 0 for `--help`, 2 for a usage error.
    pub(crate) code: u8,
}

/// Everything a request handler needs: the settings, the issuer URL and the signing key.
pub(crate) struct App {
    pub(crate) settings: Settings,
    /// The public URL, no trailing slash; also the JWT `iss`.
    pub(crate) issuer: String,
    /// HS256 key for access tokens.
    pub(crate) key: [u8; 32],
}

impl App {
    /// `{issuer}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

const DEFAULT_DB: &str = "my-server.db";

/// Parses `args` (the program name first) into a [`Mode`].
pub(crate) fn parse(args: &[&str]) -> Result<Mode, EarlyExit> {
    let name = BIN_NAME;
    let rest = args.get(1..).unwrap_or_default();
    let args = Args::from_args(&[name], rest).map_err(|exit| EarlyExit {
        output: exit.output,
        code: if exit.status.is_ok() { 0 } else { 2 },
    })?;
    if let Some(Command::Admin(AdminArgs {
        command: AdminCommand::Sessions(sessions),
    })) = args.command
    {
        let db = sessions.db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
        return Ok(Mode::AdminSessions { db });
    }
    let usage = |message: String| EarlyExit {
        output: format!("{message}\nRun {name} --help for more information."),
        code: 2,
    };
    let public_url = match args.public_url {
        Some(url) => Some(normalize_public_url(&url).map_err(usage)?),
        None => None,
    };
    let settings = Settings {
        listen: args
            .listen
            .unwrap_or_else(|| my_api::DEFAULT_LISTEN.to_string()),
        db: args.db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
        mail_dir: args.mail_dir.unwrap_or_else(|| PathBuf::from("mail")),
        public_url,
        access_ttl: args.access_ttl.unwrap_or(15 * 60),
        device_interval: args.device_interval.unwrap_or(5),
        link_ttl: args.link_ttl.unwrap_or(15 * 60),
        device_ttl: args.device_ttl.unwrap_or(15 * 60),
        session_ttl: args.session_ttl.unwrap_or(30 * 86_400),
        session_max: args.session_max.unwrap_or(90 * 86_400),
        refresh_grace: args.refresh_grace.unwrap_or(10),
        rate_limit: args.rate_limit.unwrap_or(30),
        mail_rate_limit: args.mail_rate_limit.unwrap_or(5),
    };
    for (flag, value) in [
        ("--access-ttl", settings.access_ttl),
        ("--link-ttl", settings.link_ttl),
        ("--device-ttl", settings.device_ttl),
        ("--session-ttl", settings.session_ttl),
        ("--session-max", settings.session_max),
    ] {
        if value == 0 {
            return Err(usage(format!("{flag} must be longer than 0s")));
        }
    }
    Ok(Mode::Serve(settings))
}

/// `15m`, `30d`, `1h 30m`, `0s` (humantime), or a bare number of seconds; whole seconds
/// only, at most 100 years.
pub(crate) fn parse_duration(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let duration = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| format!("invalid duration `{value}`: {e} (use e.g. 30s, 15m, 30d)"))?,
    };
    if duration.subsec_nanos() != 0 {
        return Err(format!("invalid duration `{value}`: use whole seconds"));
    }
    if duration.as_secs() > 100 * 365 * 86_400 {
        return Err(format!("invalid duration `{value}`: too long"));
    }
    Ok(duration.as_secs())
}

/// Checks an `http(s)://host[:port][/prefix]` URL and drops trailing slashes.
fn normalize_public_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(['?', '#', ' ', '"', '<', '>', '\\'])
                && !rest.chars().any(char::is_control) =>
        {
            Ok(trimmed.to_string())
        }
        _ => Err(format!(
            "invalid --public-url `{url}`: expected http://HOST[:PORT] or https://HOST[:PORT]"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Settings {
        let mut all = vec!["my-server"];
        all.extend_from_slice(args);
        match parse(&all) {
            Ok(Mode::Serve(settings)) => settings,
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
        assert_eq!(s.session_ttl, 30 * 86_400);
        assert_eq!(s.session_max, 90 * 86_400);
        assert_eq!(s.refresh_grace, 10);
        assert_eq!(s.rate_limit, 30);
        assert_eq!(s.mail_rate_limit, 5);
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
        ]);
        assert_eq!(s.listen, "127.0.0.1:0");
        assert_eq!(s.access_ttl, 1);
        assert_eq!(s.refresh_grace, 0);
        assert_eq!(s.session_ttl, 9000);
        assert_eq!(s.device_interval, 0);
        assert_eq!(s.public_url.as_deref(), Some("https://my.example"));
        assert_eq!(s.rate_limit, 1000);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(2));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("42"), Ok(42));
        assert!(parse_duration("1500ms").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            &["my-server", "--bogus"][..],
            &["my-server", "--access-ttl", "fast"],
            &["my-server", "--access-ttl", "0s"],
            &["my-server", "--public-url", "ftp://x"],
            &["my-server", "--rate-limit", "-1"],
            &["my-server", "--listen"],
            &["my-server", "admin"],
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.code, 2, "{bad:?}: {}", err.output);
        }
        assert_eq!(parse(&["my-server", "--help"]).unwrap_err().code, 0);
    }

    #[test]
    fn admin_sessions() {
        match parse(&["my-server", "admin", "sessions", "--db", "x.db"]) {
            Ok(Mode::AdminSessions { db }) => assert_eq!(db, PathBuf::from("x.db")),
            other => panic!("{other:?}"),
        }
    }
}
