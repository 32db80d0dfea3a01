//! SQL for sessions and their refresh-token families: rotation, the short grace window in
//! which a rotated token's successor is kept (sealed: see `domain::sessions`), revocation,
//! and the admin summary.

use super::sql::{params, Row};
use super::{DbResult, Tx};

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
    /// The successor sealed under a key derived from this token (grace window only).
    pub(crate) successor_sealed: Option<Vec<u8>>,
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
    // ---- sessions and refresh tokens ---------------------------------------------

    pub(crate) fn insert_session(&self, session: &Session) -> DbResult<()> {
        self.execute(&format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ), params![
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
        self.query_opt(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
            params![id],
            session_row,
        )
    }

    /// Counts a refresh and moves the session's expiry to `expires_at`.
    pub(crate) fn record_refresh(&self, session_id: &str, expires_at: i64) -> DbResult<()> {
        self.execute(
            "UPDATE sessions SET refresh_count = refresh_count + 1, expires_at = ?2 WHERE id = ?1",
            params![session_id, expires_at],
        )?;
        Ok(())
    }

    /// Revokes a session and every refresh token of it; false if it already was revoked.
    pub(crate) fn revoke_session(&self, session_id: &str, now: i64) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![session_id, now],
        )?;
        self.execute(
            "UPDATE refresh_tokens SET successor_sealed = NULL,
                 revoked_at = COALESCE(revoked_at, ?2) WHERE session_id = ?1",
            params![session_id, now],
        )?;
        Ok(changed == 1)
    }

    /// Remembers that `session_id` created the API token `token_id`.
    pub(crate) fn record_token_session(&self, token_id: &str, session_id: &str) -> DbResult<()> {
        self.execute(
            "UPDATE api_tokens SET session_id = ?2 WHERE id = ?1",
            params![token_id, session_id],
        )?;
        Ok(())
    }

    /// Revokes every live API token `session_id` created; returns how many.
    pub(crate) fn revoke_session_tokens(&self, session_id: &str, now: i64) -> DbResult<usize> {
        self.execute(
            "UPDATE api_tokens SET revoked_at = ?2
                 WHERE session_id = ?1 AND revoked_at IS NULL",
            params![session_id, now],
        )
    }

    pub(crate) fn insert_refresh_token(
        &self,
        token_hash: &str,
        session_id: &str,
        now: i64,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, session_id, now],
        )?;
        Ok(())
    }

    pub(crate) fn refresh_token(&self, token_hash: &str) -> DbResult<Option<RefreshToken>> {
        self.query_opt(
            "SELECT session_id, rotated_at, successor_hash, successor_sealed, revoked_at
                 FROM refresh_tokens WHERE token_hash = ?1",
            params![token_hash],
            |row| {
                Ok(RefreshToken {
                    session_id: row.get(0)?,
                    rotated_at: row.get(1)?,
                    successor_hash: row.get(2)?,
                    successor_sealed: row.get(3)?,
                    revoked_at: row.get(4)?,
                })
            },
        )
    }

    /// Marks a token rotated into `successor_hash`, keeping `successor_sealed` (if any)
    /// for the grace window, and wipes the sealed value its own predecessor kept.
    pub(crate) fn mark_rotated(
        &self,
        token_hash: &str,
        now: i64,
        successor_hash: &str,
        successor_sealed: Option<&[u8]>,
    ) -> DbResult<()> {
        self.execute(
            "UPDATE refresh_tokens SET rotated_at = ?2, successor_hash = ?3,
                 successor_sealed = ?4 WHERE token_hash = ?1",
            params![token_hash, now, successor_hash, successor_sealed],
        )?;
        self.execute(
            "UPDATE refresh_tokens SET successor_sealed = NULL
                 WHERE successor_hash = ?1 AND successor_sealed IS NOT NULL",
            params![token_hash],
        )?;
        Ok(())
    }

    /// Wipes every kept successor whose token was rotated at or before `cutoff`.
    pub(crate) fn wipe_expired_grace(&self, cutoff: i64) -> DbResult<()> {
        self.execute(
            "UPDATE refresh_tokens SET successor_sealed = NULL
                 WHERE successor_sealed IS NOT NULL AND rotated_at <= ?1",
            params![cutoff],
        )?;
        Ok(())
    }

    /// Every session with its user's email, oldest first.
    pub(crate) fn session_summaries(&self) -> DbResult<Vec<SessionSummary>> {
        let rows = self.query_map("SELECT s.id, u.email, s.refresh_count, s.revoked_at IS NOT NULL, s.expires_at, s.created_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             ORDER BY s.created_at, s.rowid", params![], |row| {
            Ok(SessionSummary {
                id: row.get(0)?,
                user_email: row.get(1)?,
                refresh_count: row.get(2)?,
                revoked: row.get(3)?,
                expires_at: row.get(4)?,
                created_at: row.get(5)?,
            })
        })?;
        Ok(rows)
    }
}
