//! The PostgreSQL schema, as versioned steps: version N is recorded in
//! `schema_migrations` once the Nth step of [`MIGRATIONS`] ran. A step is never edited
//! once released; a change is a new step at the end (like SQLite's steps in `schema`).
//!
//! The first step is SQLite's schema as it stands after its seven steps, written for
//! PostgreSQL: BIGINT for INTEGER, BYTEA for BLOB, text compared and sorted bytewise
//! (`COLLATE "C"`, SQLite's BINARY), emails unique without case through an index on
//! lower(email), and an identity `rowid` where a query sorts by SQLite's rowid.

use super::sql::{params, DbResult};
use super::Tx;

/// The schema of version 1.
const SCHEMA_1: &str = r#"
CREATE TABLE server_secret (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    hs256_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    email TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    username TEXT COLLATE "C"
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE UNIQUE INDEX users_username ON users (username);
CREATE TABLE device_requests (
    id TEXT COLLATE "C" PRIMARY KEY,
    device_code_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    user_code TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C",
    redirect_uri TEXT COLLATE "C",
    client_ip TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL
        CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    user_id TEXT COLLATE "C" REFERENCES users(id),
    interval_secs BIGINT NOT NULL,
    last_poll_ms BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX device_requests_user_code ON device_requests (user_code);
CREATE TABLE sessions (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    client_id TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    refresh_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id),
    created_at BIGINT NOT NULL,
    rotated_at BIGINT,
    successor_hash TEXT COLLATE "C",
    revoked_at BIGINT,
    successor_sealed BYTEA
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_successor ON refresh_tokens (successor_hash);
CREATE INDEX refresh_tokens_grace ON refresh_tokens (rotated_at)
    WHERE successor_sealed IS NOT NULL;
CREATE TABLE organizations (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    slug TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE memberships (
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    role TEXT COLLATE "C" NOT NULL DEFAULT 'member',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE projects (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id),
    name TEXT COLLATE "C" NOT NULL,
    slug TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, slug)
);
CREATE TABLE environments (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    name TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE log_lines (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment_id TEXT COLLATE "C" NOT NULL REFERENCES environments(id),
    time_ms BIGINT NOT NULL,
    message TEXT COLLATE "C" NOT NULL
);
CREATE INDEX log_lines_environment ON log_lines (environment_id, seq);
CREATE TABLE authorization_requests (
    id TEXT COLLATE "C" PRIMARY KEY,
    client_id TEXT COLLATE "C" NOT NULL,
    redirect_uri TEXT COLLATE "C" NOT NULL,
    code_challenge TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    client_ip TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id TEXT COLLATE "C" REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    browser_hash TEXT COLLATE "C"
);
CREATE TABLE authorization_codes (
    code_hash TEXT COLLATE "C" PRIMARY KEY,
    request_id TEXT COLLATE "C" NOT NULL REFERENCES authorization_requests(id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    session_id TEXT COLLATE "C" REFERENCES sessions(id)
);
CREATE TABLE web_sessions (
    id_hash TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE magic_links (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    device_request_id TEXT COLLATE "C" REFERENCES device_requests(id),
    authorization_request_id TEXT COLLATE "C" REFERENCES authorization_requests(id),
    email TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    CHECK ((device_request_id IS NULL) <> (authorization_request_id IS NULL))
);
CREATE TABLE profiles (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, slug)
);
CREATE TABLE api_tokens (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    id TEXT COLLATE "C" PRIMARY KEY,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('personal', 'organization')),
    name TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    org_id TEXT COLLATE "C" REFERENCES organizations(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT,
    profile_id TEXT COLLATE "C" REFERENCES profiles(id) ON DELETE SET NULL,
    session_id TEXT COLLATE "C",
    CHECK ((kind = 'organization') = (org_id IS NOT NULL))
);
CREATE INDEX api_tokens_user ON api_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_org ON api_tokens (org_id) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_profile ON api_tokens (profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX api_tokens_session ON api_tokens (session_id) WHERE session_id IS NOT NULL;
CREATE TABLE libraries (
    id TEXT COLLATE "C" PRIMARY KEY,
    owner_user_id TEXT COLLATE "C" REFERENCES users(id),
    slug TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    aliases TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX libraries_owner_slug ON libraries (COALESCE(owner_user_id, ''), slug);
CREATE TABLE releases (
    id TEXT COLLATE "C" PRIMARY KEY,
    library_id TEXT COLLATE "C" NOT NULL REFERENCES libraries(id),
    version TEXT COLLATE "C" NOT NULL,
    major BIGINT NOT NULL,
    minor BIGINT NOT NULL,
    patch BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (library_id, version)
);
CREATE TABLE commands (
    id TEXT COLLATE "C" PRIMARY KEY,
    owner_user_id TEXT COLLATE "C" REFERENCES users(id),
    library_id TEXT COLLATE "C" REFERENCES libraries(id),
    slug TEXT COLLATE "C" NOT NULL,
    latest_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    CHECK ((owner_user_id IS NULL) <> (library_id IS NULL))
);
CREATE UNIQUE INDEX commands_personal_slug ON commands (owner_user_id, slug)
    WHERE owner_user_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX commands_library_slug ON commands (library_id, slug)
    WHERE library_id IS NOT NULL;
CREATE TABLE command_versions (
    command_id TEXT COLLATE "C" NOT NULL REFERENCES commands(id),
    version BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    aliases TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    spec BYTEA NOT NULL,
    spec_hash TEXT COLLATE "C" NOT NULL,
    message TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    PRIMARY KEY (command_id, version)
);
CREATE TABLE release_commands (
    release_id TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    command_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (release_id, command_id),
    FOREIGN KEY (command_id, version) REFERENCES command_versions(command_id, version)
);
CREATE TABLE profile_libraries (
    profile_id TEXT COLLATE "C" NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    library_id TEXT COLLATE "C" NOT NULL REFERENCES libraries(id),
    release_id TEXT COLLATE "C" NOT NULL REFERENCES releases(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (profile_id, library_id)
);
CREATE TABLE signing_keys (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    kid TEXT COLLATE "C" PRIMARY KEY,
    key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE rate_counts (
    kind TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    slot BIGINT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (kind, key, slot)
);
"#;

/// Schema steps in order; step `i` is version `i + 1`.
pub(super) const MIGRATIONS: [&str; 1] = [SCHEMA_1];

impl Tx<'_> {
    /// Runs the steps this database has not run yet, inside the caller's transaction,
    /// which holds the write lock: two processes starting at once run each step once.
    pub(super) fn upgrade_pg(&self, now: i64) -> DbResult<()> {
        self.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )?;
        let done: i64 = self.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            params![],
            |r| r.get(0),
        )?;
        for (version, step) in (1i64..).zip(MIGRATIONS) {
            if version > done {
                self.execute_batch(step)?;
                self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, now],
                )?;
            }
        }
        Ok(())
    }
}
