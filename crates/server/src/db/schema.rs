//! The schema, as the steps that build it: a database at `PRAGMA user_version` N has run
//! the first N of [`MIGRATIONS`]. A step is never edited once released; a change is a new
//! step at the end.

use super::sql::params;

pub(super) const SCHEMA: &str = "
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
pub(super) const SCHEMA_2: &str = "
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
pub(super) const SCHEMA_3: &str = "
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
pub(super) const SCHEMA_4: &str = "
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

/// Profiles, libraries and their releases, commands and their versions, and usernames.
///
/// A command belongs to exactly one user (a personal command) or one library; its versions
/// hold the canonical spec bytes and their SHA-256, plus the name, description and aliases
/// of that version's spec (so an old release shows its own words). A release pins one
/// version of each of its commands; a profile pins the release it installed. SQLite treats
/// NULLs as distinct in a UNIQUE constraint, so system libraries (no owner) are kept unique
/// by an expression index. API tokens now point at a profile row instead of naming a slug:
/// existing users get their `default` profile here, a token scoped to a slug that was never
/// made gets that profile (so its scope keeps its meaning), and the slug column goes.
/// Usernames need code, not SQL: [`Tx::backfill`] gives them.
const SCHEMA_5: &str = "
ALTER TABLE users ADD COLUMN username TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS users_username ON users(username);
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, slug)
);
CREATE TABLE IF NOT EXISTS libraries (
    id TEXT PRIMARY KEY,
    owner_user_id TEXT REFERENCES users(id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    aliases TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS libraries_owner_slug
    ON libraries(COALESCE(owner_user_id, ''), slug);
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    library_id TEXT NOT NULL REFERENCES libraries(id),
    version TEXT NOT NULL,
    major INTEGER NOT NULL,
    minor INTEGER NOT NULL,
    patch INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (library_id, version)
);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    owner_user_id TEXT REFERENCES users(id),
    library_id TEXT REFERENCES libraries(id),
    slug TEXT NOT NULL,
    latest_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    CHECK ((owner_user_id IS NULL) <> (library_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS commands_personal_slug ON commands(owner_user_id, slug)
    WHERE owner_user_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS commands_library_slug ON commands(library_id, slug)
    WHERE library_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS command_versions (
    command_id TEXT NOT NULL REFERENCES commands(id),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    aliases TEXT NOT NULL DEFAULT '[]',
    spec BLOB NOT NULL,
    spec_hash TEXT NOT NULL,
    message TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (command_id, version)
);
CREATE TABLE IF NOT EXISTS release_commands (
    release_id TEXT NOT NULL REFERENCES releases(id),
    command_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (release_id, command_id),
    FOREIGN KEY (command_id, version) REFERENCES command_versions(command_id, version)
);
CREATE TABLE IF NOT EXISTS profile_libraries (
    profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    library_id TEXT NOT NULL REFERENCES libraries(id),
    release_id TEXT NOT NULL REFERENCES releases(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (profile_id, library_id)
);
ALTER TABLE api_tokens ADD COLUMN profile_id TEXT REFERENCES profiles(id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS api_tokens_profile ON api_tokens(profile_id)
    WHERE profile_id IS NOT NULL;
INSERT INTO profiles (id, user_id, slug, name, description, is_default, created_at)
    SELECT 'prof_' || substr(id, 5), id, 'default', 'Default', '', 1, created_at FROM users;
INSERT OR IGNORE INTO profiles (id, user_id, slug, name, description, is_default, created_at)
    SELECT 'prof_' || substr(id, 5), user_id, profile, profile, '', 0, created_at
    FROM api_tokens WHERE profile IS NOT NULL;
UPDATE api_tokens SET profile_id = (SELECT p.id FROM profiles p
    WHERE p.user_id = api_tokens.user_id AND p.slug = api_tokens.profile);
ALTER TABLE api_tokens DROP COLUMN profile;
";

/// Security: JWT signing keys with an id (`kid`), so they can be rotated; a rotated
/// refresh token keeps its successor only sealed under a key derived from itself (never in
/// the clear), so the database alone never holds a usable refresh token (raw successors an
/// older version kept are dropped with their column); a browser sign-in remembers the
/// browser that started it (the hash of its binding cookie); an API token remembers the
/// session that created it, so a stolen session's tokens are revoked with it (no foreign
/// key: sessions are purged, the token stays).
pub(super) const SCHEMA_SECURITY: &str = "
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
DROP INDEX IF EXISTS refresh_tokens_grace;
UPDATE refresh_tokens SET successor_raw = NULL;
ALTER TABLE refresh_tokens DROP COLUMN successor_raw;
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed BLOB;
CREATE INDEX IF NOT EXISTS refresh_tokens_grace ON refresh_tokens(rotated_at)
    WHERE successor_sealed IS NOT NULL;
ALTER TABLE authorization_requests ADD COLUMN browser_hash TEXT;
ALTER TABLE api_tokens ADD COLUMN session_id TEXT;
CREATE INDEX IF NOT EXISTS api_tokens_session ON api_tokens(session_id)
    WHERE session_id IS NOT NULL;
";

/// Rate limits count events per 10-second slot instead of keeping a row per event, so
/// that a check costs the window's slots, not a client's requests (`db::rate`). The events
/// already counted are carried over.
pub(super) const SCHEMA_RATE_COUNTS: &str = "
CREATE TABLE IF NOT EXISTS rate_counts (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    slot INTEGER NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (kind, key, slot)
) WITHOUT ROWID;
INSERT INTO rate_counts (kind, key, slot, events)
    SELECT kind, key, at / 10, COUNT(*) FROM rate_events GROUP BY kind, key, at / 10;
DROP TABLE rate_events;
";

/// Schema steps in order; after step `i` the database is at `PRAGMA user_version` `i + 1`.
pub(super) const MIGRATIONS: [&str; 7] = [
    SCHEMA,
    SCHEMA_2,
    SCHEMA_3,
    SCHEMA_4,
    SCHEMA_5,
    SCHEMA_SECURITY,
    SCHEMA_RATE_COUNTS,
];

impl super::Tx<'_> {
    /// Runs the steps this database has not run yet, inside the caller's transaction.
    pub(super) fn upgrade(&self) -> super::DbResult<()> {
        let version: i64 = self.query_row("PRAGMA user_version", params![], |r| r.get(0))?;
        for (done, step) in (1i64..).zip(MIGRATIONS) {
            if version < done {
                self.execute_batch(step)?;
                self.execute_batch(&format!("PRAGMA user_version = {done}"))?;
            }
        }
        Ok(())
    }
}
