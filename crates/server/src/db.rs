//! All SQL lives here: the schema, and one small method per statement.
//!
//! Handlers run their logic inside [`Db::read`] or [`Db::write`] and call the methods of
//! [`Tx`]; they never see SQL. Device-flow state is here, the browser flow's (authorization
//! requests, codes, web sessions) in `db/web.rs`, API tokens in `db/tokens.rs`,
//! organizations, projects, environments and logs in `db/orgs.rs`. A PostgreSQL backend
//! later means another implementation of these methods, not changes in the handlers. Times are unix seconds (INTEGER), except
//! `last_poll_ms`, which needs sub-second precision for `slow_down` with short intervals.
//!
//! Every secret (device code, magic-link token, refresh token, authorization code, web
//! session id) is stored as SHA-256 hex
//! and looked up by that hash. One exception, bounded in time: right after a refresh
//! token is rotated, its row keeps the successor's raw value for `--refresh-grace`
//! seconds, so that a client which lost the race (two processes refreshing at once) gets
//! the same successor instead of a reuse alarm. The value is wiped on the next rotation
//! and by a sweep at the start of every token request once the grace window has passed.

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

mod orgs;
mod tokens;
mod web;

pub(crate) use orgs::{EnvironmentRow, LogRow};
pub(crate) use tokens::{ApiToken, TokenOwner};
pub(crate) use web::{AuthCode, AuthRequest, AuthStatus};

pub(crate) type DbResult<T> = rusqlite::Result<T>;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS server_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hs256_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_requests (
    id TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    email TEXT,
    redirect_uri TEXT,
    client_ip TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    user_id TEXT REFERENCES users(id),
    interval_secs INTEGER NOT NULL,
    last_poll_ms INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS device_requests_user_code ON device_requests(user_code);
CREATE TABLE IF NOT EXISTS magic_links (
    token_hash TEXT PRIMARY KEY,
    device_request_id TEXT NOT NULL REFERENCES device_requests(id),
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    refresh_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    created_at INTEGER NOT NULL,
    rotated_at INTEGER,
    successor_hash TEXT,
    successor_raw TEXT,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_successor ON refresh_tokens(successor_hash);
CREATE INDEX IF NOT EXISTS refresh_tokens_grace ON refresh_tokens(rotated_at)
    WHERE successor_raw IS NOT NULL;
CREATE TABLE IF NOT EXISTS rate_events (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_key ON rate_events(kind, key, at);
";

/// Organizations, memberships and API tokens (personal tokens and organization keys).
/// Token names are unique among an owner's *active* tokens, which depends on the clock, so
/// that rule is checked in the creating transaction rather than by an index.
const SCHEMA_2: &str = "
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL DEFAULT 'member',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS memberships_user ON memberships(user_id);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'organization')),
    name TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    org_id TEXT REFERENCES organizations(id),
    profile TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER,
    CHECK ((kind = 'organization') = (org_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens(user_id) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS api_tokens_org ON api_tokens(org_id) WHERE revoked_at IS NULL;
";

/// Projects, environments and their log lines. `seq` is AUTOINCREMENT so a cursor is
/// never reused, even after the newest lines are deleted.
const SCHEMA_3: &str = "
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, slug)
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS log_lines (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id TEXT NOT NULL REFERENCES environments(id),
    time_ms INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_lines_environment ON log_lines(environment_id, seq);
";

/// The browser sign-in: authorization requests (RFC 6749 §4.1 with PKCE), their codes, and
/// web sessions. A magic link now leads to either a device request or an authorization
/// request, so `magic_links` is rebuilt with a nullable `device_request_id` (SQLite cannot
/// drop a NOT NULL in place); nothing references it, so the rebuild is safe with foreign
/// keys on.
const SCHEMA_4: &str = "
CREATE TABLE IF NOT EXISTS authorization_requests (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    state TEXT NOT NULL,
    scope TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS authorization_codes (
    code_hash TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES authorization_requests(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    session_id TEXT REFERENCES sessions(id)
);
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE magic_links_v4 (
    token_hash TEXT PRIMARY KEY,
    device_request_id TEXT REFERENCES device_requests(id),
    authorization_request_id TEXT REFERENCES authorization_requests(id),
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    CHECK ((device_request_id IS NULL) <> (authorization_request_id IS NULL))
);
INSERT INTO magic_links_v4 (token_hash, device_request_id, email, created_at, expires_at, used_at)
    SELECT token_hash, device_request_id, email, created_at, expires_at, used_at FROM magic_links;
DROP TABLE magic_links;
ALTER TABLE magic_links_v4 RENAME TO magic_links;
";

/// Schema steps in order; after step `i` the database is at `PRAGMA user_version` `i + 1`.
const MIGRATIONS: [&str; 4] = [SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4];

/// One connection; each worker thread owns one.
pub(crate) struct Db {
    conn: Connection,
}

/// An open transaction: every query goes through one.
pub(crate) struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
}

/// Where a device authorization request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    fn parse(value: &str) -> DeviceStatus {
        match value {
            "approved" => DeviceStatus::Approved,
            "denied" => DeviceStatus::Denied,
            "consumed" => DeviceStatus::Consumed,
            _ => DeviceStatus::Pending,
        }
    }
}

/// A device authorization request (RFC 8628), without its device code.
#[derive(Debug, Clone)]
pub(crate) struct DeviceRequest {
    pub(crate) id: String,
    /// Stored form: 8 letters, no dash.
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) email: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) client_ip: String,
    pub(crate) status: DeviceStatus,
    pub(crate) user_id: Option<String>,
    pub(crate) interval_secs: i64,
    pub(crate) last_poll_ms: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

/// What a magic link signs in: exactly one of the two flows' requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    /// A device authorization request (`dev_…`).
    Device(String),
    /// A browser authorization request (`azr_…`).
    Authorization(String),
}

#[derive(Debug, Clone)]
pub(crate) struct MagicLink {
    pub(crate) target: LinkTarget,
    pub(crate) email: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) email: String,
}

/// A refresh-token family.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) refresh_count: i64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) max_expires_at: i64,
    pub(crate) revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) session_id: String,
    pub(crate) rotated_at: Option<i64>,
    pub(crate) successor_hash: Option<String>,
    pub(crate) successor_raw: Option<String>,
    pub(crate) revoked_at: Option<i64>,
}

/// A line of `my-server admin sessions`.
#[derive(Debug, Clone)]
pub(crate) struct SessionSummary {
    pub(crate) id: String,
    pub(crate) user_email: String,
    pub(crate) refresh_count: i64,
    pub(crate) revoked: bool,
    pub(crate) expires_at: i64,
    pub(crate) created_at: i64,
}

impl Db {
    /// Opens (creating if needed) the database file for serving.
    pub(crate) fn open(path: &Path) -> DbResult<Db> {
        Db::configure(Connection::open(path)?)
    }

    /// Opens an existing database file; never creates one.
    pub(crate) fn open_existing(path: &Path) -> DbResult<Db> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        Db::configure(Connection::open_with_flags(path, flags)?)
    }

    fn configure(conn: Connection) -> DbResult<Db> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Room for every statement in this file, so none is prepared twice.
        conn.set_prepared_statement_cache_capacity(96);
        conn.pragma_update(None, "foreign_keys", true)?;
        // WAL: readers never block the writer; NORMAL sync is durable enough with WAL.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Db { conn })
    }

    /// Creates the schema if missing (idempotent, safe with several processes starting
    /// at once) and returns the HS256 key, generating it on first start.
    pub(crate) fn migrate(&mut self, new_key: [u8; 32], now: i64) -> DbResult<[u8; 32]> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (done, step) in (1i64..).zip(MIGRATIONS) {
            if version < done {
                tx.execute_batch(step)?;
                tx.pragma_update(None, "user_version", done)?;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO server_secret (id, hs256_key, created_at) VALUES (1, ?1, ?2)",
            params![&new_key[..], now],
        )?;
        let stored: Vec<u8> = tx.query_row(
            "SELECT hs256_key FROM server_secret WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        tx.commit()?;
        let mut key = [0u8; 32];
        if stored.len() != key.len() {
            return Err(rusqlite::Error::InvalidColumnType(
                0,
                "hs256_key".into(),
                rusqlite::types::Type::Blob,
            ));
        }
        key.copy_from_slice(&stored);
        Ok(key)
    }

    /// Runs `f` in a deferred (read) transaction.
    pub(crate) fn read<T, E: From<rusqlite::Error>>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(TransactionBehavior::Deferred, f)
    }

    /// Runs `f` in an IMMEDIATE transaction: it holds the write lock from the start, so
    /// check-then-update sequences are atomic across threads and processes. Commits when
    /// `f` returns `Ok`, rolls back otherwise.
    pub(crate) fn write<T, E: From<rusqlite::Error>>(
        &mut self,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// Moves everything from the WAL into the main file.
    #[cfg(test)]
    pub(crate) fn checkpoint_for_test(&mut self) {
        let _: (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
    }

    fn run<T, E: From<rusqlite::Error>>(
        &mut self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = Tx {
            tx: self.conn.transaction_with_behavior(behavior)?,
        };
        let value = f(&tx)?;
        tx.tx.commit()?;
        Ok(value)
    }
}

const DEVICE_COLUMNS: &str = "id, user_code, client_id, scope, email, redirect_uri, client_ip, \
     status, user_id, interval_secs, last_poll_ms, created_at, expires_at";

fn device_row(row: &Row) -> DbResult<DeviceRequest> {
    Ok(DeviceRequest {
        id: row.get(0)?,
        user_code: row.get(1)?,
        client_id: row.get(2)?,
        scope: row.get(3)?,
        email: row.get(4)?,
        redirect_uri: row.get(5)?,
        client_ip: row.get(6)?,
        status: DeviceStatus::parse(&row.get::<_, String>(7)?),
        user_id: row.get(8)?,
        interval_secs: row.get(9)?,
        last_poll_ms: row.get(10)?,
        created_at: row.get(11)?,
        expires_at: row.get(12)?,
    })
}

const SESSION_COLUMNS: &str = "id, user_id, client_id, scope, refresh_count, created_at, \
     expires_at, max_expires_at, revoked_at";

fn session_row(row: &Row) -> DbResult<Session> {
    Ok(Session {
        id: row.get(0)?,
        user_id: row.get(1)?,
        client_id: row.get(2)?,
        scope: row.get(3)?,
        refresh_count: row.get(4)?,
        created_at: row.get(5)?,
        expires_at: row.get(6)?,
        max_expires_at: row.get(7)?,
        revoked_at: row.get(8)?,
    })
}

impl Tx<'_> {
    // ---- rate limits -------------------------------------------------------------

    /// Events of `kind` for `key` at or after `since`.
    pub(crate) fn rate_count(&self, kind: &str, key: &str, since: i64) -> DbResult<u32> {
        self.tx
            .prepare_cached(
                "SELECT COUNT(*) FROM rate_events WHERE kind = ?1 AND key = ?2 AND at >= ?3",
            )?
            .query_row(params![kind, key, since], |r| r.get(0))
    }

    /// Records one event and forgets events of `kind` older than `forget_before`.
    pub(crate) fn rate_record(
        &self,
        kind: &str,
        key: &str,
        at: i64,
        forget_before: i64,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached("DELETE FROM rate_events WHERE kind = ?1 AND at < ?2")?
            .execute(params![kind, forget_before])?;
        self.tx
            .prepare_cached("INSERT INTO rate_events (kind, key, at) VALUES (?1, ?2, ?3)")?
            .execute(params![kind, key, at])?;
        Ok(())
    }

    /// Records an event unless `limit` events of `kind` for `key` happened since
    /// `window_start`; returns whether it was allowed.
    pub(crate) fn rate_allow(
        &self,
        kind: &str,
        key: &str,
        limit: u32,
        now: i64,
        window_start: i64,
    ) -> DbResult<bool> {
        if self.rate_count(kind, key, window_start)? >= limit {
            return Ok(false);
        }
        self.rate_record(kind, key, now, window_start)?;
        Ok(true)
    }

    // ---- device requests ---------------------------------------------------------

    /// Whether an unexpired, undecided request already uses this user code.
    pub(crate) fn user_code_in_use(&self, user_code: &str, now: i64) -> DbResult<bool> {
        self.tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM device_requests
                 WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2)",
            )?
            .query_row(params![user_code, now], |r| r.get(0))
    }

    pub(crate) fn insert_device_request(
        &self,
        request: &DeviceRequest,
        device_code_hash: &str,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO device_requests (id, device_code_hash, user_code, client_id, scope,
                 email, redirect_uri, client_ip, status, user_id, interval_secs, last_poll_ms,
                 created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                request.id,
                device_code_hash,
                request.user_code,
                request.client_id,
                request.scope,
                request.email,
                request.redirect_uri,
                request.client_ip,
                request.status.as_str(),
                request.user_id,
                request.interval_secs,
                request.last_poll_ms,
                request.created_at,
                request.expires_at,
            ])?;
        Ok(())
    }

    pub(crate) fn device_by_code_hash(&self, hash: &str) -> DbResult<Option<DeviceRequest>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM device_requests WHERE device_code_hash = ?1"
            ))?
            .query_row([hash], device_row)
            .optional()
    }

    pub(crate) fn device_by_id(&self, id: &str) -> DbResult<Option<DeviceRequest>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM device_requests WHERE id = ?1"
            ))?
            .query_row([id], device_row)
            .optional()
    }

    /// The pending, unexpired request with this (normalized) user code.
    pub(crate) fn pending_device_by_user_code(
        &self,
        user_code: &str,
        now: i64,
    ) -> DbResult<Option<DeviceRequest>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM device_requests
                 WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2
                 ORDER BY created_at DESC LIMIT 1"
            ))?
            .query_row(params![user_code, now], device_row)
            .optional()
    }

    /// Sets the email of a request that has none; false if it already had one.
    pub(crate) fn set_device_email_if_unset(&self, id: &str, email: &str) -> DbResult<bool> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE device_requests SET email = ?2 WHERE id = ?1 AND email IS NULL",
            )?
            .execute(params![id, email])?;
        Ok(changed == 1)
    }

    /// Remembers a poll (and a possibly raised interval after `slow_down`).
    pub(crate) fn record_poll(&self, id: &str, at_ms: i64, interval_secs: i64) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE device_requests SET last_poll_ms = ?2, interval_secs = ?3 WHERE id = ?1",
            )?
            .execute(params![id, at_ms, interval_secs])?;
        Ok(())
    }

    /// Moves a request from `from` to `to`; false if it was no longer in `from`.
    pub(crate) fn set_device_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        user_id: Option<&str>,
    ) -> DbResult<bool> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE device_requests SET status = ?3, user_id = COALESCE(?4, user_id)
                 WHERE id = ?1 AND status = ?2",
            )?
            .execute(params![id, from.as_str(), to.as_str(), user_id])?;
        Ok(changed == 1)
    }

    // ---- magic links -------------------------------------------------------------

    pub(crate) fn insert_magic_link(&self, token_hash: &str, link: &MagicLink) -> DbResult<()> {
        let (device, authorization) = match &link.target {
            LinkTarget::Device(id) => (Some(id), None),
            LinkTarget::Authorization(id) => (None, Some(id)),
        };
        self.tx
            .prepare_cached(
                "INSERT INTO magic_links (token_hash, device_request_id, authorization_request_id,
                 email, created_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                token_hash,
                device,
                authorization,
                link.email,
                link.created_at,
                link.expires_at,
                link.used_at
            ])?;
        Ok(())
    }

    pub(crate) fn magic_link(&self, token_hash: &str) -> DbResult<Option<MagicLink>> {
        self.tx
            .prepare_cached(
                "SELECT device_request_id, authorization_request_id, email, created_at,
                 expires_at, used_at FROM magic_links WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |row| {
                let device: Option<String> = row.get(0)?;
                let authorization: Option<String> = row.get(1)?;
                let target = match (device, authorization) {
                    (Some(id), _) => LinkTarget::Device(id),
                    (None, Some(id)) => LinkTarget::Authorization(id),
                    // The CHECK constraint rules this out.
                    (None, None) => return Err(rusqlite::Error::InvalidQuery),
                };
                Ok(MagicLink {
                    target,
                    email: row.get(2)?,
                    created_at: row.get(3)?,
                    expires_at: row.get(4)?,
                    used_at: row.get(5)?,
                })
            })
            .optional()
    }

    /// Marks a link used; false if it already was (single use).
    pub(crate) fn use_magic_link(&self, token_hash: &str, now: i64) -> DbResult<bool> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE magic_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            )?
            .execute(params![token_hash, now])?;
        Ok(changed == 1)
    }

    // ---- users -------------------------------------------------------------------

    /// The user with this email (case-insensitive), created with `new_id` if new.
    pub(crate) fn ensure_user(&self, email: &str, new_id: &str, now: i64) -> DbResult<User> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO users (id, email, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![new_id, email, now])?;
        self.tx
            .prepare_cached("SELECT id, email FROM users WHERE email = ?1")?
            .query_row([email], |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                })
            })
    }

    pub(crate) fn user(&self, id: &str) -> DbResult<Option<User>> {
        self.tx
            .prepare_cached("SELECT id, email FROM users WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                })
            })
            .optional()
    }

    // ---- sessions and refresh tokens ---------------------------------------------

    pub(crate) fn insert_session(&self, session: &Session) -> DbResult<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                session.id,
                session.user_id,
                session.client_id,
                session.scope,
                session.refresh_count,
                session.created_at,
                session.expires_at,
                session.max_expires_at,
                session.revoked_at
            ])?;
        Ok(())
    }

    pub(crate) fn session(&self, id: &str) -> DbResult<Option<Session>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
            ))?
            .query_row([id], session_row)
            .optional()
    }

    /// Counts a refresh and moves the session's expiry to `expires_at`.
    pub(crate) fn record_refresh(&self, session_id: &str, expires_at: i64) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE sessions SET refresh_count = refresh_count + 1, expires_at = ?2 WHERE id = ?1",
            )?
            .execute(params![session_id, expires_at])?;
        Ok(())
    }

    /// Revokes a session and every refresh token of it; false if it already was revoked.
    pub(crate) fn revoke_session(&self, session_id: &str, now: i64) -> DbResult<bool> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![session_id, now])?;
        self.tx
            .prepare_cached(
                "UPDATE refresh_tokens SET successor_raw = NULL,
                 revoked_at = COALESCE(revoked_at, ?2) WHERE session_id = ?1",
            )?
            .execute(params![session_id, now])?;
        Ok(changed == 1)
    }

    pub(crate) fn insert_refresh_token(
        &self,
        token_hash: &str,
        session_id: &str,
        now: i64,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![token_hash, session_id, now])?;
        Ok(())
    }

    pub(crate) fn refresh_token(&self, token_hash: &str) -> DbResult<Option<RefreshToken>> {
        self.tx
            .prepare_cached(
                "SELECT session_id, rotated_at, successor_hash, successor_raw, revoked_at
                 FROM refresh_tokens WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |row| {
                Ok(RefreshToken {
                    session_id: row.get(0)?,
                    rotated_at: row.get(1)?,
                    successor_hash: row.get(2)?,
                    successor_raw: row.get(3)?,
                    revoked_at: row.get(4)?,
                })
            })
            .optional()
    }

    /// Marks a token rotated into `successor_hash`, keeping `successor_raw` (if any) for
    /// the grace window, and wipes the raw value its own predecessor kept.
    pub(crate) fn mark_rotated(
        &self,
        token_hash: &str,
        now: i64,
        successor_hash: &str,
        successor_raw: Option<&str>,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE refresh_tokens SET rotated_at = ?2, successor_hash = ?3, successor_raw = ?4
                 WHERE token_hash = ?1",
            )?
            .execute(params![token_hash, now, successor_hash, successor_raw])?;
        self.tx
            .prepare_cached(
                "UPDATE refresh_tokens SET successor_raw = NULL
                 WHERE successor_hash = ?1 AND successor_raw IS NOT NULL",
            )?
            .execute([token_hash])?;
        Ok(())
    }

    /// Wipes every kept successor whose token was rotated at or before `cutoff`.
    pub(crate) fn wipe_expired_grace(&self, cutoff: i64) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "UPDATE refresh_tokens SET successor_raw = NULL
                 WHERE successor_raw IS NOT NULL AND rotated_at <= ?1",
            )?
            .execute([cutoff])?;
        Ok(())
    }

    /// Every session with its user's email, oldest first.
    pub(crate) fn session_summaries(&self) -> DbResult<Vec<SessionSummary>> {
        let mut statement = self.tx.prepare_cached(
            "SELECT s.id, u.email, s.refresh_count, s.revoked_at IS NOT NULL, s.expires_at, s.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             ORDER BY s.created_at, s.rowid",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(SessionSummary {
                id: row.get(0)?,
                user_email: row.get(1)?,
                refresh_count: row.get(2)?,
                revoked: row.get(3)?,
                expires_at: row.get(4)?,
                created_at: row.get(5)?,
            })
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "my-server-db-test-{}-{}",
            std::process::id(),
            crate::secrets::new_id("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = Db::open(&dir.join("t.db")).unwrap();
        db.migrate([7; 32], 0).unwrap();
        (db, dir)
    }

    #[test]
    fn migrate_is_idempotent_and_keeps_the_key() {
        let (mut db, dir) = temp_db();
        assert_eq!(db.migrate([9; 32], 1).unwrap(), [7; 32]);
        let mut other = Db::open(&dir.join("t.db")).unwrap();
        assert_eq!(other.migrate([9; 32], 1).unwrap(), [7; 32]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_version_1_database_is_upgraded_in_place() {
        let dir = std::env::temp_dir().join(format!(
            "my-server-db-test-{}-{}",
            std::process::id(),
            crate::secrets::new_id("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
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
                let version = tx.tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let tables = tx.tx.query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN
                     ('organizations', 'memberships', 'api_tokens', 'projects',
                      'environments', 'log_lines')",
                    [],
                    |r| r.get(0),
                )?;
                Ok::<_, rusqlite::Error>((version, tables))
            })
            .unwrap();
        assert_eq!((version, tables), (MIGRATIONS.len() as i64, 6));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn magic_links_survive_the_version_4_rebuild() {
        let dir = std::env::temp_dir().join(format!(
            "my-server-db-test-{}-{}",
            std::process::id(),
            crate::secrets::new_id("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
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
            tx.tx.execute(
                "INSERT INTO magic_links (token_hash, email, created_at, expires_at)
                 VALUES ('x', 'a@b.c', 0, 1)",
                [],
            )
        });
        assert!(orphan.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn users_are_unique_by_email_ignoring_case() {
        let (mut db, dir) = temp_db();
        let (a, b) = db
            .write(|tx| {
                let a = tx.ensure_user("Ann@Example.com", "usr_a", 1)?;
                let b = tx.ensure_user("ann@example.com", "usr_b", 2)?;
                Ok::<_, rusqlite::Error>((a, b))
            })
            .unwrap();
        assert_eq!(a.id, "usr_a");
        assert_eq!(b.id, "usr_a");
        assert_eq!(b.email, "Ann@Example.com");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
