//! PostgreSQL: the `postgres://` URL, where its password comes from (never the URL, never
//! argv: `MY_SERVER_DB_PASSWORD` or a pgpass file), TLS (rustls, as the mail relay uses:
//! on by default for a host that is not loopback, the certificate always verified), one
//! connection per worker thread (opened on first use, opened again after it broke), and
//! its transactions.
//!
//! Every write transaction first takes one advisory lock, the same in every process: the
//! writes of all my-server processes on one database run one at a time, the guarantee
//! SQLite's IMMEDIATE transactions give, so each check-then-update (the refresh grace
//! window and reuse detection, single-use links and codes, rate limits) holds across
//! processes. Writes run in READ COMMITTED, so each statement sees what the previous
//! lock holder committed; reads run in REPEATABLE READ, one snapshot for the request.
//!
//! The driver is the synchronous `postgres` crate, which runs a small runtime of its own
//! per connection: it is only ever called from plain threads (the workers, the sweep, the
//! log listener), never from inside the HTTP runtime.

use super::sql::{DbError, DbResult, Inner, PgTx, Statements};
use super::Tx;
use postgres::config::{Host, SslMode};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel, NoTls};
use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The advisory lock every write transaction holds (any constant; "my-s" in ASCII).
const WRITE_LOCK: i64 = 0x6d79_2d73;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a transaction may sit idle before the server ends it (and frees its locks).
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(60);
/// The channel on which an append of log lines is announced.
pub(crate) const LOG_CHANNEL: &str = "my_log_lines";
/// The longest wait before connecting the listener again.
const LISTEN_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The environment variable that may hold the database password.
pub(crate) const PASSWORD_VAR: &str = "MY_SERVER_DB_PASSWORD";

/// Where a PostgreSQL database is, parsed from `postgres://USER@HOST[:PORT]/DB`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) dbname: String,
    pub(crate) tls: Tls,
}

/// How a connection is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Plain TCP (`sslmode=disable`; the default for a loopback host).
    Off,
    /// TLS, the server's certificate checked for the host name against the system's
    /// roots or, with `sslrootcert=FILE`, the PEM certificates in that file
    /// (`sslmode=verify-full` or `require`; the default for any other host).
    Verified { roots: Option<PathBuf> },
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("[{}]", self.host)
        } else {
            encoded(&self.host)
        };
        write!(
            f,
            "postgres://{}@{host}:{}/{}",
            encoded(&self.user),
            self.port,
            encoded(&self.dbname)
        )?;
        // What differs from the host's default, so that the text parses back to `self`.
        match (&self.tls, is_loopback(&self.host)) {
            (Tls::Off, false) => f.write_str("?sslmode=disable"),
            (Tls::Verified { roots: None }, true) => f.write_str("?sslmode=verify-full"),
            (Tls::Verified { roots: Some(roots) }, _) => {
                let roots: String =
                    form_urlencoded::byte_serialize(roots.as_os_str().as_encoded_bytes()).collect();
                write!(f, "?sslmode=verify-full&sslrootcert={roots}")
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `text` with every byte other than a URL's unreserved characters percent-encoded, as a
/// user, host or database name in a URL.
fn encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `setting` (a `--db` value) names PostgreSQL rather than a SQLite file.
pub(crate) fn is_url(setting: &str) -> bool {
    setting.starts_with("postgres://") || setting.starts_with("postgresql://")
}

/// The shape every error about a URL's parts points to.
const SHAPE: &str = "postgres://USER@HOST[:PORT]/DB";

impl Url {
    /// Parses a `postgres://` or `postgresql://` URL. The query is ours and read here: it
    /// may set `sslmode` (`disable`, `require` or `verify-full`: whenever TLS is on, the
    /// certificate is verified) and `sslrootcert`; by default a loopback host is reached
    /// without TLS and any other with it. The rest is read by the driver's own parser
    /// (`postgres::Config`), which percent-decodes the names. A password in the URL is
    /// refused (it would sit in argv and in the environment of every child). Every error
    /// is one line.
    pub(crate) fn parse(setting: &str) -> Result<Url, String> {
        if !is_url(setting) {
            return Err("a PostgreSQL URL starts with postgres://".into());
        }
        let (base, query) = setting.split_once('?').unwrap_or((setting, ""));
        // The driver takes all before the first `@` as the user, even from the path
        // (`postgres://HOST/a@b`): the one `@` must be the authority's. A password there
        // is refused first, whatever else is wrong with the URL.
        let (_, after_scheme) = base.split_once("://").unwrap_or_default();
        let authority = after_scheme.split('/').next().unwrap_or_default();
        let Some((userinfo, _)) = authority.rsplit_once('@') else {
            return Err(format!("the PostgreSQL URL names no user: {SHAPE}"));
        };
        if userinfo.contains(':') {
            return Err(format!(
                "the PostgreSQL URL holds a password; remove it and put it in a pgpass file \
                 (PGPASSFILE) or in {PASSWORD_VAR}"
            ));
        }
        if userinfo.contains('@') {
            return Err(format!(
                "the PostgreSQL URL has more than one @ before its host: write an @ in a user \
                 name as %40 ({SHAPE})"
            ));
        }
        let config: postgres::Config = base.parse().map_err(|e: postgres::Error| {
            // The driver's own text is only "invalid connection string"; its cause names
            // the part.
            let cause = std::error::Error::source(&e).map_or(e.to_string(), |c| c.to_string());
            format!("the PostgreSQL URL cannot be read ({cause}): {SHAPE}")
        })?;
        let Some(dbname) = config.get_dbname() else {
            return Err(format!("the PostgreSQL URL names no database: {SHAPE}"));
        };
        let incomplete =
            || format!("the PostgreSQL URL needs a user, a host and a database: {SHAPE}");
        let (host, port) = match (config.get_hosts(), config.get_ports()) {
            ([Host::Tcp(host)], [port]) if !host.is_empty() => (host.as_str(), *port),
            ([Host::Unix(_)], _) => {
                return Err(format!(
                    "the PostgreSQL URL names a socket folder: my-server connects over TCP \
                     ({SHAPE})"
                ))
            }
            ([_, _, ..], _) => {
                return Err(format!(
                    "the PostgreSQL URL names more than one host: my-server connects to one \
                     ({SHAPE})"
                ))
            }
            _ => return Err(incomplete()),
        };
        let user = config
            .get_user()
            .filter(|user| !user.is_empty())
            .ok_or_else(incomplete)?;
        let tls = tls(query, host)?;
        Ok(Url {
            user: user.to_owned(),
            host: host.to_owned(),
            port,
            dbname: dbname.to_owned(),
            tls,
        })
    }
}

/// The protection a URL's `query` asks for, for a connection to `host`.
fn tls(query: &str, host: &str) -> Result<Tls, String> {
    let mut mode = None;
    let mut roots = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match (&*key, &*value) {
            ("sslmode", "disable") => mode = Some(false),
            ("sslmode", "require" | "verify-full") => mode = Some(true),
            ("sslmode", _) => {
                return Err(format!(
                    "sslmode={value} is not supported: use disable, or require or \
                     verify-full (both verify the server's certificate)"
                ))
            }
            ("sslrootcert", file) if !file.is_empty() => roots = Some(PathBuf::from(file)),
            _ => {
                return Err(format!(
                    "unknown PostgreSQL URL parameter {key:?}: sslmode and sslrootcert \
                     are accepted"
                ))
            }
        }
    }
    // A root file asks for TLS; without either, only a loopback host goes without.
    match (mode.unwrap_or(roots.is_some() || !is_loopback(host)), roots) {
        (true, roots) => Ok(Tls::Verified { roots }),
        (false, None) => Ok(Tls::Off),
        (false, Some(_)) => Err("sslrootcert needs TLS, not sslmode=disable".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The password for `url`: `MY_SERVER_DB_PASSWORD`, else the first matching line of the
/// pgpass file (`PGPASSFILE`, else `~/.pgpass` when it exists), else none (trust or peer
/// authentication).
fn password(url: &Url) -> Result<Option<String>, String> {
    if let Some(password) = std::env::var_os(PASSWORD_VAR) {
        return password
            .into_string()
            .map(Some)
            .map_err(|_| format!("{PASSWORD_VAR} is not UTF-8"));
    }
    let file = match std::env::var_os("PGPASSFILE") {
        Some(file) => PathBuf::from(file),
        None => match std::env::var_os("HOME") {
            Some(home) if Path::new(&home).join(".pgpass").exists() => {
                Path::new(&home).join(".pgpass")
            }
            _ => return Ok(None),
        },
    };
    pgpass_file(&file, url)
}

/// Reads the pgpass file at `path`, which must be private to its owner, as libpq asks.
fn pgpass_file(path: &Path, url: &Url) -> Result<Option<String>, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the pgpass file {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the pgpass file {} is open to other users (mode {mode:03o}); make it private \
             with `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the pgpass file {}: {e}", path.display()))?;
    Ok(pgpass_lookup(&text, url))
}

/// The password of the first line of a pgpass file (`host:port:db:user:password`, `*`
/// matching anything, `\:` and `\\` escaped) that matches `url`.
pub(crate) fn pgpass_lookup(text: &str, url: &Url) -> Option<String> {
    let port = url.port.to_string();
    let wanted = [&*url.host, &*port, &*url.dbname, &*url.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(pgpass_fields)
        .filter(|fields| fields.len() == 5)
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// A pgpass line's fields, unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields
                .last_mut()
                .expect("fields is never empty")
                .extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("fields is never empty").push(c),
        }
    }
    fields
}

/// Checks everything about `url` that can be checked without connecting (the password's
/// source, the TLS roots), so that a bad setting fails at start with one line.
pub(crate) fn check(url: &Url) -> Result<(), String> {
    password(url)?;
    if let Tls::Verified { roots } = &url.tls {
        tls_config(roots.as_deref())?;
    }
    Ok(())
}

/// The TLS settings for a verified connection: the system's roots (the platform
/// verifier, as the mail relay uses), or only the certificates of the PEM file `roots`.
fn tls_config(roots: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let Some(file) = roots else {
        return Ok(builder
            .with_platform_verifier()
            .map_err(|e| format!("cannot read the system's certificates: {e}"))?
            .with_no_client_auth());
    };
    let bad = |e: &dyn fmt::Display| format!("cannot read sslrootcert {}: {e}", file.display());
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(file).map_err(|e| bad(&e))? {
        store.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if store.is_empty() {
        return Err(bad(&"no certificate in it"));
    }
    Ok(builder.with_root_certificates(store).with_no_client_auth())
}

/// Opens a connection to `url`.
pub(crate) fn connect(url: &Url) -> DbResult<Client> {
    let mut config = postgres::Config::new();
    config
        .user(&url.user)
        .host(&url.host)
        .port(url.port)
        .dbname(&url.dbname)
        .application_name("my-server")
        .connect_timeout(CONNECT_TIMEOUT)
        // A database or peer that goes silent must not hold the write lock, or a worker,
        // for the two hours of the system's keepalive: a lock is waited for as long as
        // SQLite's busy timeout, a transaction left idle is ended by the server, and a
        // connection that stops answering is dropped within a minute.
        .options(&format!(
            "-c lock_timeout={}ms -c idle_in_transaction_session_timeout={}ms",
            super::BUSY_TIMEOUT.as_millis(),
            IDLE_IN_TRANSACTION.as_millis()
        ))
        .keepalives_idle(Duration::from_secs(30))
        .tcp_user_timeout(Duration::from_secs(60));
    let has_password = match password(url).map_err(DbError::Other)? {
        Some(password) => {
            config.password(password);
            true
        }
        None => false,
    };
    let connected = match &url.tls {
        Tls::Off => config.ssl_mode(SslMode::Disable).connect(NoTls),
        Tls::Verified { roots } => {
            let tls = tls_config(roots.as_deref()).map_err(DbError::Other)?;
            config
                .ssl_mode(SslMode::Require)
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        }
    };
    connected.map_err(|e| {
        // The driver only says "password missing" (as the cause of a configuration error):
        // say where one can come from.
        let missing = e.as_db_error().is_none()
            && std::error::Error::source(&e).is_some_and(|c| c.to_string() == "password missing");
        if !has_password && missing {
            DbError::Other(format!(
                "PostgreSQL asks for a password for user {}: put it in {PASSWORD_VAR} or in a \
                 pgpass file (PGPASSFILE, by default ~/.pgpass)",
                url.user
            ))
        } else {
            DbError::from(e)
        }
    })
}

/// One worker's connection, opened on first use and again after it broke (the database
/// restarted), with the statements prepared on it.
pub(crate) struct PgDb {
    pub(crate) url: Url,
    conn: Option<(Client, Statements)>,
}

impl PgDb {
    /// A handle that connects on first use.
    pub(crate) fn lazy(url: Url) -> PgDb {
        PgDb { url, conn: None }
    }

    /// A handle connected now (to report a bad setting at start).
    pub(crate) fn connected(url: Url) -> DbResult<PgDb> {
        let client = connect(&url)?;
        Ok(PgDb {
            url,
            conn: Some((client, Statements::new())),
        })
    }

    fn client(&mut self) -> DbResult<&mut (Client, Statements)> {
        if self
            .conn
            .as_ref()
            .is_some_and(|(client, _)| client.is_closed())
        {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some((connect(&self.url)?, Statements::new()));
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// Runs `f` in a transaction: a write one holds the write lock from its start.
    /// Commits when `f` returns `Ok`, rolls back otherwise.
    pub(crate) fn run<T, E: From<DbError>>(
        &mut self,
        write: bool,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let (client, statements) = self.client()?;
        let level = if write {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::RepeatableRead
        };
        let tx = client
            .build_transaction()
            .isolation_level(level)
            .start()
            .map_err(DbError::from)?;
        let tx = Tx {
            inner: Inner::Pg(RefCell::new(PgTx { tx, statements })),
        };
        if write {
            tx.query_row(
                "SELECT pg_advisory_xact_lock(?1)",
                super::params![WRITE_LOCK],
                |_| Ok(()),
            )?;
        }
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// Tests: a new, empty database on the cluster whose superuser URL is `admin`.
#[cfg(test)]
pub(crate) fn test_database(admin: &str) -> Url {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = Url::parse(admin).expect("MY_SERVER_TEST_PG is a postgres:// URL");
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = connect(&admin).expect("MY_SERVER_TEST_PG accepts connections");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .batch_execute(&sql)
            .expect("a test database can be created");
    }
    Url {
        dbname: name,
        ..admin
    }
}

/// Starts a thread that calls `ring` whenever any process announces appended log lines,
/// on a connection of its own (`LISTEN`), and once after each (re)connection, for what
/// it may have missed. A lost connection is opened again after a growing pause; the
/// thread ends once `wanted` returns false.
pub(crate) fn listen(
    url: Url,
    ring: impl Fn() + Send + 'static,
    wanted: impl Fn() -> bool + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("log-listener".into())
        .spawn(move || {
            let mut pause = Duration::from_millis(100);
            while wanted() {
                if let Err(e) = listen_once(&url, &ring, &wanted) {
                    eprintln!("log listener: {e}; connecting again");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(LISTEN_BACKOFF_MAX);
                }
            }
        })
        .map(|_| ())
}

/// Listens on one connection until it breaks (an error) or `wanted` returns false.
fn listen_once(url: &Url, ring: &impl Fn(), wanted: &impl Fn() -> bool) -> DbResult<()> {
    let mut client = connect(url)?;
    client.batch_execute(&format!("LISTEN {LOG_CHANNEL}"))?;
    ring();
    while wanted() {
        // A bounded wait, so that a listener nobody needs anymore ends.
        let next = client
            .notifications()
            .timeout_iter(Duration::from_secs(1))
            .next();
        match next {
            Ok(Some(_)) => ring(),
            Err(e) => return Err(e.into()),
            Ok(None) if client.is_closed() => {
                return Err(DbError::Other("the connection closed".into()))
            }
            Ok(None) => {}
        }
    }
    Ok(())
}

/// Tests: drops a database [`test_database`] made (and ends its connections).
#[cfg(test)]
pub(crate) fn drop_test_database(admin: &str, url: &Url) {
    let Ok(admin) = Url::parse(admin) else {
        return;
    };
    if let Ok(mut client) = connect(&admin) {
        let _ = client.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            url.dbname
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(setting: &str) -> Result<Url, String> {
        Url::parse(setting)
    }

    #[test]
    fn every_documented_form_parses() {
        let verified = || Tls::Verified { roots: None };
        let roots = |file: &str| Tls::Verified {
            roots: Some(file.into()),
        };
        for (setting, (user, host, port, dbname, tls)) in [
            // README and docs/DEPLOY.md: USER@HOST[:PORT]/DB, under both schemes.
            (
                "postgres://my_server@127.0.0.1:5432/my_server",
                ("my_server", "127.0.0.1", 5432, "my_server", Tls::Off),
            ),
            (
                "postgresql://my_server@127.0.0.1/my_server",
                ("my_server", "127.0.0.1", 5432, "my_server", Tls::Off),
            ),
            (
                "postgres://ann@localhost:6543/my",
                ("ann", "localhost", 6543, "my", Tls::Off),
            ),
            (
                "postgres://ann@db.example.com/my",
                ("ann", "db.example.com", 5432, "my", verified()),
            ),
            // IPv6, with and without a port.
            (
                "postgres://ann@[::1]:7/my",
                ("ann", "::1", 7, "my", Tls::Off),
            ),
            (
                "postgresql://ann@[2001:db8::5]/my",
                ("ann", "2001:db8::5", 5432, "my", verified()),
            ),
            // Percent-encoded user and database names.
            (
                "postgres://ann%40corp@db.example.com/my%20db",
                ("ann@corp", "db.example.com", 5432, "my db", verified()),
            ),
            (
                "postgres://%C3%A5sa@127.0.0.1/caf%C3%A9%2Fx",
                ("åsa", "127.0.0.1", 5432, "café/x", Tls::Off),
            ),
            // sslmode and sslrootcert.
            (
                "postgres://ann@db.example.com/my?sslmode=disable",
                ("ann", "db.example.com", 5432, "my", Tls::Off),
            ),
            (
                "postgres://ann@localhost/my?sslmode=require",
                ("ann", "localhost", 5432, "my", verified()),
            ),
            (
                "postgres://ann@127.0.0.1/my?sslmode=verify-full",
                ("ann", "127.0.0.1", 5432, "my", verified()),
            ),
            (
                "postgres://my_server@db.example.com:5432/my_server\
                 ?sslmode=verify-full&sslrootcert=/etc/my-server/db-ca.pem",
                (
                    "my_server",
                    "db.example.com",
                    5432,
                    "my_server",
                    roots("/etc/my-server/db-ca.pem"),
                ),
            ),
            (
                "postgres://ann@[::1]/my?sslrootcert=%2Fa+b%2Fca.pem",
                ("ann", "::1", 5432, "my", roots("/a b/ca.pem")),
            ),
        ] {
            let u = url(setting).unwrap_or_else(|e| panic!("{setting}: {e}"));
            assert_eq!(
                (&*u.user, &*u.host, u.port, &*u.dbname, &u.tls),
                (user, host, port, dbname, &tls),
                "{setting}"
            );
        }
    }

    #[test]
    fn tls_is_on_for_other_hosts_and_off_for_loopback_unless_asked() {
        let tls = |setting: &str| url(setting).unwrap().tls;
        let verified = Tls::Verified { roots: None };
        assert_eq!(tls("postgres://ann@db.example.com/my"), verified);
        assert_eq!(tls("postgres://ann@127.0.0.1/my"), Tls::Off);
        assert_eq!(tls("postgres://ann@localhost/my?sslmode=require"), verified);
        assert_eq!(
            tls("postgres://ann@localhost/my?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"),
            Tls::Verified {
                roots: Some("/etc/ca.pem".into())
            }
        );
        // The text of a URL parses back to the same URL (tests pass it as --db).
        for setting in [
            "postgres://ann@db.example.com:5432/my",
            "postgres://ann@db.example.com:5432/my?sslmode=disable",
            "postgres://ann@127.0.0.1:5432/my",
            "postgres://ann@127.0.0.1:5432/my?sslmode=verify-full",
            "postgres://ann@[::1]:5432/my?sslmode=verify-full&sslrootcert=%2Fa+b%2Fca.pem",
            "postgres://ann%40corp@db.example.com:5432/my%20db%2Fx",
            "postgres://%C3%A5sa@127.0.0.1:5432/caf%C3%A9",
        ] {
            let parsed = url(setting).unwrap();
            assert_eq!(url(&parsed.to_string()).unwrap(), parsed, "{setting}");
        }
    }

    #[test]
    fn a_root_file_without_certificates_is_refused_at_start() {
        let dir = std::env::temp_dir().join(format!("my-server-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let u = url(&format!(
            "postgres://ann@127.0.0.1/my?sslmode=verify-full&sslrootcert={}",
            empty.display()
        ))
        .unwrap();
        let e = check(&u).unwrap_err();
        assert!(e.contains("no certificate") && !e.contains('\n'), "{e}");
        let missing = url("postgres://ann@127.0.0.1/my?sslrootcert=%2Fnowhere%2Fca.pem").unwrap();
        assert!(check(&missing).unwrap_err().contains("/nowhere/ca.pem"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        for setting in [
            "postgres://ann:hunter2@127.0.0.1/my",
            "postgresql://ann:hunter2@[::1]:5432/my?sslmode=disable",
            "postgres://ann:hunter2%21@db.example.com/my",
            "postgres://ann:@127.0.0.1/my",
            "postgres://ann:p@ss:hunter2@127.0.0.1:x/my",
        ] {
            let e = url(setting).unwrap_err();
            assert!(e.contains("PGPASSFILE") && e.contains(PASSWORD_VAR), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn bad_urls_are_refused_in_one_line() {
        for (bad, why) in [
            ("mysql://ann@127.0.0.1/my", "starts with postgres://"),
            (
                "host=127.0.0.1 user=ann dbname=my",
                "starts with postgres://",
            ),
            ("postgres://127.0.0.1/my", "names no user"),
            ("postgres://127.0.0.1/a@b", "names no user"),
            ("postgres://ann@x@127.0.0.1/my", "%40"),
            ("postgres://ann@127.0.0.1", "names no database"),
            ("postgres://ann@127.0.0.1/", "names no database"),
            ("postgres://@127.0.0.1/my", "needs a user"),
            ("postgres://ann@/my", "needs a user"),
            ("postgres://ann@127.0.0.1:x/my", "port"),
            ("postgres://ann@127.0.0.1:99999/my", "port"),
            ("postgres://ann@[::1/my", "host"),
            ("postgres://ann@%FF/my", "cannot be read"),
            (
                "postgres://ann@a.example.com,b.example.com/my",
                "more than one host",
            ),
            ("postgres://ann@%2Fvar%2Frun%2Fpostgresql/my", "socket"),
            (
                "postgres://ann@127.0.0.1/my?sslmode=prefer",
                "sslmode=prefer",
            ),
            ("postgres://ann@127.0.0.1/my?opt=1", "unknown"),
            ("postgres://ann@127.0.0.1/my?host=elsewhere", "unknown"),
            (
                "postgres://ann@127.0.0.1/my?sslmode=disable&sslrootcert=ca.pem",
                "needs TLS",
            ),
        ] {
            let e = url(bad).unwrap_err();
            assert!(e.contains(why) && !e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let u = url("postgres://ann@127.0.0.1:6543/my").unwrap();
        let text = "# comment\n\
                    127.0.0.1:6543:other:ann:no\n\
                    127.0.0.1:*:my:bob:no\n\
                    *:6543:my:ann:a\\:b\\\\c\n\
                    *:*:*:*:later\n";
        assert_eq!(pgpass_lookup(text, &u).as_deref(), Some("a:b\\c"));
        assert_eq!(pgpass_lookup("*:*:*:*:any", &u).as_deref(), Some("any"));
        assert_eq!(pgpass_lookup("127.0.0.1:5432:my:ann:x", &u), None);
        assert_eq!(pgpass_lookup("short:line", &u), None);
    }

    #[test]
    fn a_pgpass_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("my-server-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pgpass");
        std::fs::write(&file, "*:*:*:*:secret\n").unwrap();
        let u = url("postgres://ann@127.0.0.1/my").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = pgpass_file(&file, &u).unwrap_err();
        assert!(e.contains("chmod 600") && !e.contains("secret"), "{e}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(pgpass_file(&file, &u).unwrap().as_deref(), Some("secret"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
