//! All SQL lives here: [`Db`] (one connection) and [`Tx`] (one transaction), with one
//! small method of `Tx` per statement, grouped by tables: `device` (device requests),
//! `magic_links`, `users`, `sessions` (sessions and refresh tokens), `rate` (rate limits),
//! `browser` (authorization requests, codes, web sessions), `tokens` (API tokens), `keys`
//! (JWT signing keys), `sweep` (purging what is over), `orgs`
//! (organizations, projects, environments, logs), and the catalog's `profiles`,
//! `libraries` (and releases), `commands` (and versions) and `catalog` (usernames and the
//! queries that span them); the schema's steps are in `schema` (SQLite) and `schema_pg`.
//!
//! The database is a SQLite file (the default) or PostgreSQL ([`Target`], from `--db`);
//! `pg` holds what only PostgreSQL needs (the URL, its password and TLS, connections,
//! the advisory write lock, the log listener). A statement is written once, in SQL both
//! accept; the few that differ branch on [`Tx::backend`] in their one method.
//!
//! Callers run their logic inside [`Db::read`] or [`Db::write`] and call the methods of
//! [`Tx`]; they never see SQL. In a statement that joins tables or sorts, a value bound
//! for an `=` is written `CAST(?N AS TEXT)` (or `AS INTEGER`): SQLite plans such a
//! statement with a bare parameter's value (constant propagation, redundant sort terms)
//! and then re-prepares it on every execution with a new value (measured: half the
//! server's CPU for `GET /v1/me` with an API token); `lookups_are_prepared_once` checks.
//! The methods run their statements through `sql` (values, rows, errors and the statement
//! calls), so no caller and no query names the database library. Times are unix seconds (INTEGER), except
//! `last_poll_ms`, which needs sub-second precision for `slow_down` with short intervals.
//!
//! Every secret (device code, magic-link token, refresh token, authorization code, web
//! session id) is stored as SHA-256 hex and looked up by that hash. Right after a refresh
//! token is rotated, its row keeps the successor for `--refresh-grace` seconds, sealed
//! under a key derived from the rotated token itself, so that a client which lost the
//! race (two processes refreshing at once) gets the same successor instead of a reuse
//! alarm; the database alone never holds a usable refresh token.
//!
//! A SQLite file holds the signing keys, so it is private: [`ensure_private`] creates it (and
//! its folder) for the owner only and refuses one that others can read; SQLite gives the
//! `-wal` and `-shm` files the database's permissions. `secure_delete` overwrites what is
//! deleted.

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sql::params;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

mod browser;
mod catalog;
mod commands;
mod device;
mod keys;
mod libraries;
mod magic_links;
mod orgs;
mod pg;
mod profiles;
mod rate;
mod schema;
mod schema_pg;
mod sessions;
pub(crate) mod sql;
mod sweep;
mod tokens;
mod users;

pub(crate) use browser::{AuthCode, AuthRequest, AuthStatus};
pub(crate) use catalog::CatalogRow;
pub(crate) use commands::{CommandRow, NewVersion};
pub(crate) use device::{DeviceRequest, DeviceStatus};
pub(crate) use keys::SigningKey;
pub(crate) use libraries::{LibraryRow, ReleaseRow};
pub(crate) use magic_links::{LinkTarget, MagicLink};
pub(crate) use orgs::{EnvironmentRow, LogRow};
pub(crate) use profiles::{InstalledRow, ProfileRow};
pub(crate) use sessions::Session;
pub(crate) use tokens::{ApiToken, TokenOwner};
pub(crate) use users::User;

#[cfg(test)]
use schema::MIGRATIONS;

pub(crate) use sql::{Backend, DbError, DbResult};

/// How long a statement waits for another connection's write lock before failing.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(15);
/// Write transactions between two WAL checkpoints (a few pages each: about the 1000 pages
/// at which SQLite would checkpoint by itself).
const CHECKPOINT_EVERY: u32 = 100;

/// Where the data lives, from `--db`: a SQLite file or a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Pg(pg::Url),
}

impl Target {
    /// Reads a `--db` setting: a `postgres://` (or `postgresql://`) URL, else a file path.
    /// The error is one line.
    pub(crate) fn parse(setting: &Path) -> Result<Target, String> {
        match setting.to_str() {
            Some(url) if pg::is_url(url) => {
                let url = pg::Url::parse(url)?;
                pg::check(&url)?;
                Ok(Target::Pg(url))
            }
            _ => Ok(Target::Sqlite(setting.to_path_buf())),
        }
    }

    /// For a SQLite file, [`ensure_private`]; PostgreSQL keeps its own files.
    pub(crate) fn ensure_private(&self) -> Result<(), String> {
        match self {
            Target::Sqlite(path) => ensure_private(path),
            Target::Pg(_) => Ok(()),
        }
    }
}

/// Wakes this process's long polls for log lines that other processes append: on
/// PostgreSQL, a thread listens for their notifications and calls `ring` (until `wanted`
/// returns false); SQLite has no such signal (polls find those lines by re-reading).
/// Returns whether a listener was started.
pub(crate) fn listen_for_log_lines(
    target: &Target,
    ring: impl Fn() + Send + 'static,
    wanted: impl Fn() -> bool + Send + 'static,
) -> Result<bool, String> {
    match target {
        Target::Sqlite(_) => Ok(false),
        Target::Pg(url) => pg::listen(url.clone(), ring, wanted)
            .map(|()| true)
            .map_err(|e| format!("cannot start the log listener thread: {e}")),
    }
}

/// Tests: where one test's database lives. With `MY_SERVER_TEST_PG` set to the URL of a
/// PostgreSQL superuser (trust authentication), a database created for the test;
/// otherwise the file `t.db` in `dir`. Tests of SQLite's own behaviour use files always.
#[cfg(test)]
pub(crate) fn test_target(dir: &Path) -> Target {
    match std::env::var("MY_SERVER_TEST_PG") {
        Ok(admin) if !admin.is_empty() => Target::Pg(pg::test_database(&admin)),
        _ => Target::Sqlite(dir.join("t.db")),
    }
}

/// Tests: drops a PostgreSQL database [`test_target`] made; a file goes with its folder.
#[cfg(test)]
pub(crate) fn drop_test_target(target: &Target) {
    if let (Target::Pg(url), Ok(admin)) = (target, std::env::var("MY_SERVER_TEST_PG")) {
        pg::drop_test_database(&admin, url);
    }
}

#[cfg(test)]
impl Target {
    /// The `--db` setting that names this target.
    pub(crate) fn setting(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "{}", path.display()),
            Target::Pg(url) => write!(f, "{url}"),
        }
    }
}

/// One worker thread's database: a SQLite connection (with the writer it shares with its
/// siblings) or a PostgreSQL connection.
pub(crate) struct Db {
    backing: Backing,
}

enum Backing {
    Sqlite(SqliteDb),
    Pg(Box<pg::PgDb>),
}

/// A connection for reads, owned by one worker thread, and the writer it shares with its
/// siblings ([`Db::sibling`]).
struct SqliteDb {
    conn: Connection,
    path: PathBuf,
    /// The one connection every write transaction of this `Db` and its siblings runs on,
    /// one at a time. SQLite lets one connection write at a time, and one that finds the
    /// lock taken sleeps in its busy handler for growing spans (up to 100 ms each), so
    /// under steady load an unlucky writer lost the race for seconds (a p99 of 1.8 s for
    /// 16 writers); queued on this mutex, the next writer starts as soon as the previous
    /// one commits. Being the only writer also keeps its page cache warm: a connection
    /// drops its cache whenever another one has written. `BUSY_TIMEOUT` still covers
    /// writers in other processes (admin commands, a second server).
    writer: Arc<Mutex<Connection>>,
    checkpoints: Arc<Checkpoints>,
}

/// WAL checkpoints, run by a thread of its own on its own connection: a checkpoint syncs
/// the database file, and no request should wait for that (one in every hundred writes
/// did, and set the write path's p99). The thread ends once no `Db` is left to ask.
struct Checkpoints {
    /// Write transactions committed, to ask for a checkpoint every `CHECKPOINT_EVERY`.
    writes: AtomicU32,
    due: Mutex<bool>,
    wake: Condvar,
}

impl Checkpoints {
    /// Starts the thread for the database at `path`.
    fn start(path: &Path) -> rusqlite::Result<Arc<Checkpoints>> {
        let conn = configure(Connection::open_with_flags(path, EXISTING)?)?;
        let checkpoints = Arc::new(Checkpoints {
            writes: AtomicU32::new(0),
            due: Mutex::new(false),
            wake: Condvar::new(),
        });
        let shared = Arc::clone(&checkpoints);
        let started = thread::Builder::new()
            .name("checkpoints".into())
            .spawn(move || shared.run(&conn));
        // Without the thread the WAL only grows longer: serve anyway.
        if let Err(e) = started {
            eprintln!("cannot start the checkpoint thread: {e}");
        }
        Ok(checkpoints)
    }

    /// Counts a committed write; every `CHECKPOINT_EVERY`th asks for a checkpoint.
    fn wrote(&self) {
        if self
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(CHECKPOINT_EVERY)
        {
            *self.due.lock().unwrap_or_else(PoisonError::into_inner) = true;
            self.wake.notify_one();
        }
    }

    fn run(self: Arc<Self>, conn: &Connection) {
        loop {
            let due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut due, _) = self
                .wake
                .wait_timeout_while(due, Duration::from_secs(1), |due| !*due)
                .unwrap_or_else(PoisonError::into_inner);
            if !*due {
                if Arc::strong_count(&self) == 1 {
                    return;
                }
                continue;
            }
            *due = false;
            drop(due);
            // PASSIVE: copies what no reader still needs and waits for nobody. A failure
            // only leaves the WAL longer until the next one.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    }
}

/// Flags for a file that must already exist.
const EXISTING: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE
    .union(OpenFlags::SQLITE_OPEN_NO_MUTEX)
    .union(OpenFlags::SQLITE_OPEN_URI);

/// The settings every connection runs with.
fn configure(conn: Connection) -> rusqlite::Result<Connection> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement in this file, so none is prepared twice.
    conn.set_prepared_statement_cache_capacity(160);
    conn.pragma_update(None, "foreign_keys", true)?;
    // Deleted secrets are overwritten, not left in free pages.
    conn.pragma_update(None, "secure_delete", true)?;
    // WAL: readers never block the writer; NORMAL sync is durable enough with WAL.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // No checkpoint inside a commit, where it would hold up every other writer while it
    // syncs: `Checkpoints` runs them on a thread of its own instead.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

/// An open transaction: every query goes through one.
pub(crate) struct Tx<'c> {
    inner: sql::Inner<'c>,
}

impl Tx<'_> {
    /// Reads the server's key row: the file is open, migrated and readable (`/readyz`).
    pub(crate) fn ping(&self) -> DbResult<()> {
        self.query_row(
            "SELECT 1 FROM server_secret WHERE id = 1",
            params![],
            |_| Ok(()),
        )
    }
}

/// Makes the database at `path` private before SQLite opens it: creates its folder (0700)
/// and the file (0600) when missing, and refuses a database, `-wal` or `-shm` file that
/// other users may read or write, saying how to fix it. The error is one line.
pub(crate) fn ensure_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::fs;
        use std::io::ErrorKind;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| format!("cannot create folder {}: {e}", dir.display()))?;
            }
        }
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create database {}: {e}", path.display())),
        }
        for file in companions(path) {
            let mode = match fs::metadata(&file) {
                Ok(meta) => meta.permissions().mode() & 0o777,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("cannot check {}: {e}", file.display())),
            };
            if mode & 0o077 != 0 {
                return Err(format!(
                    "database file {} is open to other users (mode {mode:03o}) and holds the \
                     signing keys; make it private with `chmod 600 {}*` and start again",
                    file.display(),
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The database file and the files SQLite keeps beside it.
fn companions(path: &Path) -> Vec<PathBuf> {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    vec![
        path.to_path_buf(),
        with("-wal"),
        with("-shm"),
        with("-journal"),
    ]
}

impl Db {
    /// Opens the database `target` names for serving: creates a SQLite file if needed;
    /// connects to PostgreSQL now, so that a bad URL or password fails at start.
    pub(crate) fn connect(target: &Target) -> DbResult<Db> {
        match target {
            Target::Sqlite(path) => Db::open(path),
            Target::Pg(url) => Ok(Db {
                backing: Backing::Pg(Box::new(pg::PgDb::connected(url.clone())?)),
            }),
        }
    }

    /// Like [`Db::connect`], but never creates a SQLite file.
    pub(crate) fn connect_existing(target: &Target) -> DbResult<Db> {
        match target {
            Target::Sqlite(path) => Db::open_existing(path),
            Target::Pg(_) => Db::connect(target),
        }
    }

    /// Opens (creating if needed) the SQLite file for serving.
    pub(crate) fn open(path: &Path) -> DbResult<Db> {
        let conn = configure(Connection::open(path)?)?;
        Db::with_writer(conn, path)
    }

    /// Opens an existing SQLite file; never creates one.
    pub(crate) fn open_existing(path: &Path) -> DbResult<Db> {
        let conn = configure(Connection::open_with_flags(path, EXISTING)?)?;
        Db::with_writer(conn, path)
    }

    /// `conn` for reads, a new writer and checkpoint thread for the rest.
    fn with_writer(conn: Connection, path: &Path) -> DbResult<Db> {
        let writer = configure(Connection::open_with_flags(path, EXISTING)?)?;
        Ok(Db {
            backing: Backing::Sqlite(SqliteDb {
                conn,
                path: path.to_path_buf(),
                writer: Arc::new(Mutex::new(writer)),
                checkpoints: Checkpoints::start(path)?,
            }),
        })
    }

    /// Another handle on the same database, for another thread. On SQLite: another read
    /// connection sharing this one's writer. On PostgreSQL: a connection of its own,
    /// opened on first use (a worker that never serves a request costs no connection).
    pub(crate) fn sibling(&self) -> DbResult<Db> {
        let backing = match &self.backing {
            Backing::Sqlite(db) => Backing::Sqlite(SqliteDb {
                conn: configure(Connection::open_with_flags(&db.path, EXISTING)?)?,
                path: db.path.clone(),
                writer: Arc::clone(&db.writer),
                checkpoints: Arc::clone(&db.checkpoints),
            }),
            Backing::Pg(db) => Backing::Pg(Box::new(pg::PgDb::lazy(db.url.clone()))),
        };
        Ok(Db { backing })
    }

    /// Creates the schema if missing (idempotent, safe with several processes starting
    /// at once) and returns the HS256 key, generating it on first start.
    pub(crate) fn migrate(&mut self, new_key: [u8; 32], now: i64) -> DbResult<[u8; 32]> {
        let set_up = |tx: &Tx| {
            match tx.backend() {
                Backend::Sqlite => tx.upgrade()?,
                Backend::Pg => tx.upgrade_pg(now)?,
            }
            tx.backfill()?;
            tx.execute(
                "INSERT INTO server_secret (id, hs256_key, created_at) VALUES (1, ?1, ?2)
                 ON CONFLICT DO NOTHING",
                params![&new_key[..], now],
            )?;
            let stored: Vec<u8> = tx.query_row(
                "SELECT hs256_key FROM server_secret WHERE id = 1",
                params![],
                |r| r.get(0),
            )?;
            <[u8; 32]>::try_from(stored.as_slice())
                .map_err(|_| DbError::Other("the server key is not 32 bytes".into()))
        };
        match &mut self.backing {
            Backing::Sqlite(db) => run(&mut db.conn, TransactionBehavior::Immediate, set_up),
            Backing::Pg(db) => db.run(true, set_up),
        }
    }

    /// Runs `f` in a read transaction (deferred on SQLite, a snapshot on PostgreSQL).
    pub(crate) fn read<T, E: From<DbError>>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        match &mut self.backing {
            Backing::Sqlite(db) => run(&mut db.conn, TransactionBehavior::Deferred, f),
            Backing::Pg(db) => db.run(false, f),
        }
    }

    /// Runs `f` in a write transaction that holds the write lock from the start (SQLite's
    /// IMMEDIATE; PostgreSQL's advisory lock, see `pg`), so check-then-update sequences
    /// are atomic across threads and processes. Commits when `f` returns `Ok`, rolls back
    /// otherwise.
    pub(crate) fn write<T, E: From<DbError>>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let db = match &mut self.backing {
            Backing::Sqlite(db) => db,
            Backing::Pg(db) => return db.run(true, f),
        };
        let mut writer = db.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let result = run(&mut writer, TransactionBehavior::Immediate, f);
        drop(writer);
        if result.is_ok() {
            db.checkpoints.wrote();
        }
        result
    }

    /// The SQLite read connection (tests of SQLite's own behaviour).
    #[cfg(test)]
    fn sqlite_conn(&self) -> &Connection {
        match &self.backing {
            Backing::Sqlite(db) => &db.conn,
            Backing::Pg(_) => panic!("not a SQLite database"),
        }
    }

    /// Moves everything from the WAL into the main file (nothing to do on PostgreSQL).
    /// The checkpoint thread may be running one at the same moment (this one is then
    /// busy): try again until it is done.
    #[cfg(test)]
    pub(crate) fn checkpoint_for_test(&mut self) {
        let Backing::Sqlite(db) = &self.backing else {
            return;
        };
        for _ in 0..200 {
            let (busy, _, _): (i64, i64, i64) = db
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            if busy == 0 {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("the WAL could not be checkpointed in 2 s");
    }
}

/// Runs `f` in a transaction of `conn`; commits when it returns `Ok`.
fn run<T, E: From<DbError>>(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: impl FnOnce(&Tx) -> Result<T, E>,
) -> Result<T, E> {
    let tx = Tx {
        inner: sql::Inner::Sqlite(
            conn.transaction_with_behavior(behavior)
                .map_err(DbError::from)?,
        ),
    };
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::schema::SCHEMA;
    use super::*;
    use rusqlite::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh folder for one test's database files.
    fn temp_dir() -> std::path::PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "my-server-db-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A migrated database on the backend the tests run on (see `test_target`).
    fn temp_db() -> (Db, Target, std::path::PathBuf) {
        let dir = temp_dir();
        let target = test_target(&dir);
        let mut db = Db::connect(&target).unwrap();
        db.migrate([7; 32], 0).unwrap();
        (db, target, dir)
    }

    /// A migrated SQLite file, for SQLite's own behaviour.
    fn temp_sqlite_db() -> (Db, std::path::PathBuf) {
        let dir = temp_dir();
        let mut db = Db::open(&dir.join("t.db")).unwrap();
        db.migrate([7; 32], 0).unwrap();
        (db, dir)
    }

    #[test]
    fn the_sweep_deletes_what_is_over_and_keeps_what_is_live() {
        let (mut db, _, dir) = temp_db();
        db.write(|tx| {
            tx.execute_batch(
                "INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'a@b.c', 0);
                 INSERT INTO device_requests (id, device_code_hash, user_code, client_id, scope,
                   client_ip, status, interval_secs, created_at, expires_at) VALUES
                   ('dev_old', 'h1', 'BCDFGHJK', 'my-cli', 'openid', '::1', 'pending', 5, 0, 900),
                   ('dev_new', 'h2', 'BCDFGHJL', 'my-cli', 'openid', '::1', 'pending', 5, 0, 2000);
                 INSERT INTO magic_links (token_hash, device_request_id, email, created_at,
                   expires_at) VALUES ('l1', 'dev_old', 'a@b.c', 0, 900),
                                      ('l2', 'dev_new', 'a@b.c', 0, 2000);
                 INSERT INTO authorization_requests (id, client_id, redirect_uri, code_challenge,
                   state, scope, client_ip, status, created_at, expires_at) VALUES
                   ('azr_old', 'my-cli', 'r', 'c', 's', 'openid', '::1', 'approved', 0, 600);
                 INSERT INTO sessions (id, user_id, client_id, scope, created_at, expires_at,
                   max_expires_at, revoked_at) VALUES
                   ('ses_dead', 'usr_1', 'my-cli', 'openid', 0, 5000, 5000, 10),
                   ('ses_old', 'usr_1', 'my-cli', 'openid', 0, 999, 5000, NULL),
                   ('ses_live', 'usr_1', 'my-cli', 'openid', 0, 5000, 5000, NULL);
                 INSERT INTO authorization_codes (code_hash, request_id, user_id, created_at,
                   expires_at, used_at, session_id) VALUES
                   ('c1', 'azr_old', 'usr_1', 0, 60, 1, 'ses_dead');
                 INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES
                   ('r1', 'ses_dead', 0), ('r2', 'ses_live', 0);
                 INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at, revoked_at)
                   VALUES ('w1', 'usr_1', 0, 5000, 20), ('w2', 'usr_1', 0, 5000, NULL);
                 INSERT INTO rate_counts (kind, key, slot, events)
                   VALUES ('k', 'x', 0, 3), ('k', 'x', 99, 2);",
            )
        })
        .unwrap();
        db.write(|tx| tx.sweep(1000, 400)).unwrap();
        let counts = db.read(|tx| tx.table_counts()).unwrap();
        let count = |table: &str| counts.iter().find(|(t, _)| *t == table).unwrap().1;
        for (table, left) in [
            ("device_requests", 1),
            ("magic_links", 1),
            ("authorization_requests", 0),
            ("authorization_codes", 0),
            ("sessions", 1),
            ("refresh_tokens", 1),
            ("web_sessions", 1),
            ("rate_counts", 1),
            ("users", 1),
        ] {
            assert_eq!(count(table), left, "{table}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn deleted_secrets_are_overwritten() {
        let (mut db, dir) = temp_sqlite_db();
        let on: i64 = db
            .read(|tx| tx.query_row("PRAGMA secure_delete", params![], |r| r.get(0)))
            .unwrap();
        assert_eq!(on, 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn migrate_is_idempotent_and_keeps_the_key() {
        let (mut db, target, dir) = temp_db();
        assert_eq!(db.migrate([9; 32], 1).unwrap(), [7; 32]);
        let mut other = Db::connect(&target).unwrap();
        assert_eq!(other.migrate([9; 32], 1).unwrap(), [7; 32]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    // Several processes starting at once on a new database: each step runs once, and all
    // of them end up with the one key the first stored.
    #[test]
    fn processes_migrating_at_once_run_each_step_once_and_share_one_key() {
        let dir = temp_dir();
        let target = test_target(&dir);
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let starts: Vec<_> = (0..4u8)
            .map(|n| {
                let (target, barrier) = (target.clone(), Arc::clone(&barrier));
                thread::spawn(move || {
                    let mut db = Db::connect(&target).unwrap();
                    barrier.wait();
                    db.migrate([n; 32], 0).unwrap()
                })
            })
            .collect();
        let keys: Vec<[u8; 32]> = starts.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(keys.iter().all(|key| *key == keys[0]), "{keys:?}");
        let mut db = Db::connect(&target).unwrap();
        let steps: i64 = db
            .read(|tx| match tx.backend() {
                Backend::Sqlite => tx.query_row("PRAGMA user_version", params![], |r| r.get(0)),
                Backend::Pg => {
                    tx.query_row("SELECT COUNT(*) FROM schema_migrations", params![], |r| {
                        r.get(0)
                    })
                }
            })
            .unwrap();
        let expected = match target {
            Target::Sqlite(_) => MIGRATIONS.len(),
            Target::Pg(_) => super::schema_pg::MIGRATIONS.len(),
        };
        assert_eq!(steps, expected as i64);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_version_1_database_is_upgraded_in_place() {
        let dir = temp_dir();
        let path = dir.join("old.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(SCHEMA).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute(
            "INSERT INTO server_secret (id, hs256_key, created_at) VALUES (1, ?1, 0)",
            [&[5u8; 32][..]],
        )
        .unwrap();
        drop(old);
        let mut db = Db::open(&path).unwrap();
        assert_eq!(db.migrate([9; 32], 1).unwrap(), [5; 32]);
        let (version, tables): (i64, i64) = db
            .read(|tx| {
                let version = tx.query_row("PRAGMA user_version", params![], |r| r.get(0))?;
                let tables = tx.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN
                     ('organizations', 'memberships', 'api_tokens', 'projects',
                      'environments', 'log_lines')",
                    params![],
                    |r| r.get(0),
                )?;
                Ok::<_, DbError>((version, tables))
            })
            .unwrap();
        assert_eq!((version, tables), (MIGRATIONS.len() as i64, 6));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn magic_links_survive_the_version_4_rebuild() {
        let dir = temp_dir();
        let path = dir.join("v3.db");
        let old = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..3] {
            old.execute_batch(step).unwrap();
        }
        old.pragma_update(None, "user_version", 3).unwrap();
        old.execute_batch(
            "INSERT INTO device_requests (id, device_code_hash, user_code, client_id, scope,
             client_ip, status, interval_secs, created_at, expires_at)
             VALUES ('dev_1', 'h', 'BCDFGHJK', 'my-cli', 'openid', '127.0.0.1', 'pending', 5, 0, 900);
             INSERT INTO magic_links (token_hash, device_request_id, email, created_at, expires_at)
             VALUES ('lh', 'dev_1', 'ann@example.com', 0, 900);",
        )
        .unwrap();
        drop(old);
        let mut db = Db::open(&path).unwrap();
        db.migrate([9; 32], 1).unwrap();
        let link = db.read(|tx| tx.magic_link("lh")).unwrap().unwrap();
        assert_eq!(link.target, LinkTarget::Device("dev_1".into()));
        assert_eq!(link.email, "ann@example.com");
        // Exactly one target: a link bound to nothing is refused by the schema.
        let orphan = db.write(|tx| {
            tx.execute(
                "INSERT INTO magic_links (token_hash, email, created_at, expires_at)
                 VALUES ('x', 'a@b.c', 0, 1)",
                params![],
            )
        });
        assert!(orphan.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn users_are_unique_by_email_ignoring_case() {
        let (mut db, _, dir) = temp_db();
        let (a, b) = db
            .write(|tx| {
                let a = tx.ensure_user("Ann@Example.com", "usr_a", 1)?;
                let b = tx.ensure_user("ann@example.com", "usr_b", 2)?;
                Ok::<_, DbError>((a, b))
            })
            .unwrap();
        assert_eq!(a.id, "usr_a");
        assert_eq!(b.id, "usr_a");
        assert_eq!(b.email, "Ann@Example.com");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rate_limits_count_slots_and_forget_expired_ones() {
        let (mut db, _, dir) = temp_db();
        // Slots later than any real clock another test records with, so that this test
        // alone decides when a new slot starts (and with it a sweep).
        let t = |slot: i64, second: i64| 4_000_000_020 + slot * 10 + second;
        let count = |db: &mut Db, key: &str, since: i64| {
            db.read(|tx| tx.rate_count("k", key, since)).unwrap()
        };
        let oldest =
            |db: &mut Db, since: i64| db.read(|tx| tx.rate_oldest("k", "busy", since)).unwrap();
        let rows = |db: &mut Db| -> i64 {
            db.read(|tx| tx.query_row("SELECT COUNT(*) FROM rate_counts", params![], |r| r.get(0)))
                .unwrap()
        };
        db.write(|tx| {
            // Ten keys with events in slot 0; "busy" floods slots 60 and 61.
            for n in 0..100 {
                tx.rate_record("k", &format!("old-{}", n % 10), t(0, 5), t(0, 0))?;
            }
            for n in 0..2000 {
                tx.rate_record("k", "busy", t(60 + n % 2, 5), t(0, 0))?;
            }
            Ok::<_, DbError>(())
        })
        .unwrap();
        // A flood adds no rows: one per key and slot.
        assert_eq!(rows(&mut db), 12);
        assert_eq!(count(&mut db, "busy", t(0, 0)), 2000);
        assert_eq!(count(&mut db, "busy", t(60, 0)), 1000);
        // The window starts after the slot `since` falls in.
        assert_eq!(count(&mut db, "busy", t(59, 9)), 2000);
        assert_eq!(count(&mut db, "old-3", t(-1, 0)), 10);
        assert_eq!(count(&mut db, "old-3", t(0, 0)), 0);
        // The oldest counted slot, which stops counting once the window starts after it.
        assert_eq!(oldest(&mut db, t(0, 0)), Some(t(60, 0)));
        assert_eq!(oldest(&mut db, t(60, 0)), Some(t(61, 0)));
        assert_eq!(oldest(&mut db, t(61, 0)), None);
        let allow = |db: &mut Db, limit| {
            db.write(|tx| tx.rate_allow("k", "busy", limit, t(61, 7), t(0, 0)))
                .unwrap()
        };
        assert!(!allow(&mut db, 2000));
        assert!(allow(&mut db, 2001));
        assert_eq!(count(&mut db, "busy", t(60, 0)), 1001);
        // A new event forgets its own key's expired slots at once…
        db.write(|tx| tx.rate_record("k", "old-3", t(61, 8), t(1, 0)))
            .unwrap();
        assert_eq!(count(&mut db, "old-3", t(-1, 0)), 1);
        assert_eq!(count(&mut db, "old-4", t(-1, 0)), 10);
        // …and every key's with the first event of a new slot.
        db.write(|tx| tx.rate_record("k", "busy", t(62, 0), t(1, 0)))
            .unwrap();
        assert_eq!(count(&mut db, "old-4", t(-1, 0)), 0);
        assert_eq!(rows(&mut db), 4);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rate_events_become_counts_in_the_rate_counts_upgrade() {
        let dir = temp_dir();
        let path = dir.join("v6.db");
        let old = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..6] {
            old.execute_batch(step).unwrap();
        }
        old.pragma_update(None, "user_version", 6).unwrap();
        old.execute_batch(
            "INSERT INTO rate_events (kind, key, at) VALUES
             ('device', '10.0.0.1', 600), ('device', '10.0.0.1', 659),
             ('device', '10.0.0.1', 660), ('mail', 'a@b.c', 600);",
        )
        .unwrap();
        drop(old);
        let mut db = Db::open(&path).unwrap();
        db.migrate([9; 32], 1).unwrap();
        let counts = db
            .read(|tx| {
                Ok::<_, DbError>((
                    tx.rate_count("device", "10.0.0.1", 0)?,
                    tx.rate_count("device", "10.0.0.1", 650)?,
                    tx.rate_count("mail", "a@b.c", 0)?,
                ))
            })
            .unwrap();
        assert_eq!(counts, (3, 1, 1));
        std::fs::remove_dir_all(dir).unwrap();
    }

    // Regression: the API-token lookup joined tables on a bare parameter, so SQLite
    // re-prepared it on every request (half the CPU of `GET /v1/me` with an API token).
    #[test]
    fn lookups_are_prepared_once() {
        let (mut db, dir) = temp_sqlite_db();
        for n in 0..3 {
            let key = format!("k{n}");
            db.read(|tx| {
                tx.api_token_by_hash(&key)?;
                tx.api_token(&key)?;
                tx.organization_keys(&key)?;
                tx.tokens_visible_to(&key)?;
                tx.organizations_of(&key)?;
                tx.member_organization(&key, &key)?;
                tx.environments(&key, Some(&key))?;
                tx.web_session_user(&key, n)?;
                tx.session(&key)?;
                tx.user(&key)?;
                tx.personal_catalog(&key)?;
                tx.library_catalog(&key)?;
                tx.installed(&key)?;
                tx.release_commands(&key)?;
                tx.command_version(&key, 1)?;
                tx.profile(&key, &key)?;
                tx.profiles(&key)?;
                tx.releases(&key)?;
                tx.latest_release(&key)?;
                Ok::<_, DbError>(())
            })
            .unwrap();
        }
        let reprepared = reprepared_statements(db.sqlite_conn());
        assert!(
            reprepared.is_empty(),
            "re-prepared for each new value: {reprepared:#?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The SQL of every statement of `conn` that SQLite has had to re-prepare.
    fn reprepared_statements(conn: &Connection) -> Vec<String> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the handle is valid while `conn` lives, and sqlite3_next_stmt walks the
        // connection's own statements (the cached ones, idle between calls).
        unsafe {
            let handle = conn.handle();
            let mut stmt = ffi::sqlite3_next_stmt(handle, std::ptr::null_mut());
            while !stmt.is_null() {
                if ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0) > 0 {
                    let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt));
                    found.push(sql.to_string_lossy().into_owned());
                }
                stmt = ffi::sqlite3_next_stmt(handle, stmt);
            }
        }
        found
    }
}
