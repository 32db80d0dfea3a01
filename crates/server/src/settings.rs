//! The server's resolved settings: what `cli` makes of the command line, with the
//! defaults and the checks every value must pass, plus the few limits that are not flags.
//!
//! A leaf: the rest of the server reads [`Settings`]; only `cli` builds them.

use std::path::PathBuf;
use std::time::Duration;

/// Seconds in the rate-limit window (10 minutes).
pub(crate) const RATE_WINDOW_SECS: i64 = 600;
/// Wrong user codes one client address (IPv6: one /64) may try per window on `/device`.
pub(crate) const USER_CODE_GUESS_LIMIT: u32 = 10;
/// Wrong user codes everyone together may try per window on `/device`.
pub(crate) const USER_CODE_GUESS_GLOBAL_LIMIT: u32 = 100;
/// Sign-in mails one device or browser sign-in request may send per window.
pub(crate) const MAILS_PER_REQUEST: u32 = 3;
/// Largest `--max-connections` accepted.
const MAX_CONNECTIONS: usize = 1_000_000;
/// Longest `--code-ttl` accepted.
const MAX_CODE_TTL_SECS: u64 = 600;
/// The database file when none is named.
pub(crate) const DEFAULT_DB: &str = "my-server.db";

/// The sender of development mail, and the default of `--mail-from`.
pub(crate) const DEFAULT_MAIL_FROM: &str = "My Cloud <no-reply@my.localhost>";

/// A secret setting: its `Debug` never shows the value.
#[derive(Clone, PartialEq)]
pub(crate) struct Password(pub(crate) String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`, or port 465).
    Implicit,
    /// STARTTLS, refusing a relay that does not offer it.
    StartTls,
    /// A relay on this machine: STARTTLS when offered, else plain.
    LoopbackPlainAllowed,
}

/// Where sign-in mail goes when `--smtp-url` is set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SmtpRelay {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: SmtpSecurity,
    /// From the URL's user part.
    pub(crate) user: Option<String>,
    /// `--smtp-password-file`: read at start.
    pub(crate) password_file: Option<PathBuf>,
    /// `MY_SERVER_SMTP_PASSWORD`, when there is no file.
    pub(crate) password: Option<Password>,
}

/// `smtp://[USER@]HOST[:PORT]` (STARTTLS, port 587 by default; plain allowed only for a
/// loopback host) or `smtps://[USER@]HOST[:PORT]` (implicit TLS, port 465 by default).
/// A password in the URL is refused: it would show in the process list.
pub(crate) fn parse_smtp_url(url: &str) -> Result<SmtpRelay, String> {
    let bad = |why: &str| format!("invalid --smtp-url `{url}`: {why}");
    let (implicit, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("smtp://") {
        (false, rest)
    } else {
        return Err(bad("use smtp://HOST:PORT or smtps://HOST:PORT"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (user, host_port) = match rest.rsplit_once('@') {
        // Not echoed: the message would carry the password to the log.
        Some((user, _)) if user.contains(':') => {
            return Err(
                "invalid --smtp-url: a password never goes in the URL (it would \
                 show in the process list): use --smtp-password-file or MY_SERVER_SMTP_PASSWORD"
                    .into(),
            )
        }
        Some((user, host)) if !user.is_empty() => (Some(user.to_string()), host),
        Some(_) => return Err(bad("empty user name")),
        None => (None, rest),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.ends_with(']') => {
            let port: u16 = port
                .parse()
                .map_err(|_| bad("the port must be 1 to 65535"))?;
            (host, Some(port))
        }
        _ => (host_port, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let hostname = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
    if host.is_empty() || !host.chars().all(hostname) || port == Some(0) {
        return Err(bad(
            "expected a host name or address, then an optional :PORT",
        ));
    }
    let port = port.unwrap_or(if implicit { 465 } else { 587 });
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let security = match (implicit || port == 465, loopback) {
        (true, _) => SmtpSecurity::Implicit,
        (false, false) => SmtpSecurity::StartTls,
        (false, true) => SmtpSecurity::LoopbackPlainAllowed,
    };
    Ok(SmtpRelay {
        host: host.to_string(),
        port,
        security,
        user,
        password_file: None,
        password: None,
    })
}

/// How the front writes its log line per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LogFormat {
    /// `127.0.0.1 GET /v1/me 200 3ms`.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

impl LogFormat {
    /// `text` or `json`.
    pub(crate) fn parse(value: &str) -> Result<LogFormat, String> {
        match value {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("invalid log format `{other}`: use text or json")),
        }
    }
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
    pub(crate) code_ttl: u64,
    pub(crate) session_ttl: u64,
    pub(crate) session_max: u64,
    pub(crate) refresh_grace: u64,
    pub(crate) rate_limit: u32,
    pub(crate) mail_rate_limit: u32,
    /// Sign-in mails per client address (IPv6: per /64) per window.
    pub(crate) mail_client_limit: u32,
    /// Sign-in mails of the whole server per window.
    pub(crate) mail_global_limit: u32,
    pub(crate) min_token_ttl: u64,
    pub(crate) last_used_interval: u64,
    pub(crate) long_poll: u64,
    /// How often expired sign-in requests, links, codes and dead sessions are deleted.
    pub(crate) sweep_interval: u64,
    /// Development only: print each mailed sign-in link to the log.
    pub(crate) print_links: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// From a connection's start, or its previous response, to a complete request head.
    pub(crate) header_timeout: u64,
    /// From a complete request head to a complete body.
    pub(crate) body_timeout: u64,
    /// Open connections at most (the front keeps it below the open-file limit).
    pub(crate) max_connections: usize,
    /// After SIGTERM or SIGINT, how long requests in flight may take to finish.
    pub(crate) shutdown_timeout: u64,
    pub(crate) log_format: LogFormat,
    /// `None`: mail goes to `.eml` files in `mail_dir` (development).
    pub(crate) smtp: Option<SmtpRelay>,
    /// The `From:` of sign-in mail.
    pub(crate) mail_from: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: my_api::DEFAULT_LISTEN.to_string(),
            db: PathBuf::from(DEFAULT_DB),
            mail_dir: PathBuf::from("mail"),
            public_url: None,
            access_ttl: 15 * 60,
            device_interval: 5,
            link_ttl: 15 * 60,
            device_ttl: 15 * 60,
            code_ttl: 60,
            session_ttl: 30 * 86_400,
            session_max: 90 * 86_400,
            refresh_grace: 10,
            rate_limit: 30,
            mail_rate_limit: 5,
            mail_client_limit: 10,
            mail_global_limit: 200,
            min_token_ttl: 3600,
            last_used_interval: 60,
            long_poll: 25,
            sweep_interval: 600,
            print_links: false,
            trusted_proxies: Vec::new(),
            header_timeout: 10,
            body_timeout: 30,
            max_connections: 1024,
            shutdown_timeout: 30,
            log_format: LogFormat::Text,
            smtp: None,
            mail_from: DEFAULT_MAIL_FROM.to_string(),
        }
    }
}

impl Settings {
    /// Checks the values no flag parser can: lifetimes and timeouts above zero, a short
    /// code lifetime, a connection cap in range.
    /// The error is a usage message naming the flag.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (flag, value) in [
            ("--access-ttl", self.access_ttl),
            ("--link-ttl", self.link_ttl),
            ("--device-ttl", self.device_ttl),
            ("--code-ttl", self.code_ttl),
            ("--session-ttl", self.session_ttl),
            ("--session-max", self.session_max),
            ("--sweep-interval", self.sweep_interval),
            ("--header-timeout", self.header_timeout),
            ("--body-timeout", self.body_timeout),
        ] {
            if value == 0 {
                return Err(format!("{flag} must be longer than 0s"));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(format!("--max-connections must be 1 to {MAX_CONNECTIONS}"));
        }
        // RFC 6749 §4.1.2: a maximum lifetime of 10 minutes is recommended.
        if self.code_ttl > MAX_CODE_TTL_SECS {
            return Err("--code-ttl must be at most 10m".into());
        }
        // A printed link signs in whoever reads the log: never on a public server.
        let public = self
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        if self.print_links && public {
            return Err(
                "--print-links is for development: a mailed link signs in whoever reads the \
                 log, so it is refused with an https --public-url"
                    .into(),
            );
        }
        Ok(())
    }
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
pub(crate) fn normalize_public_url(url: &str) -> Result<String, String> {
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
}
