//! SQL for the browser sign-in (authorization code + PKCE): authorization requests, the
//! codes issued for them, and the browser's web sessions.
//!
//! Codes and web-session ids are secrets, so only their SHA-256 hex is stored. A code
//! remembers the session it started, so that a replayed code can revoke it (RFC 6749
//! §4.1.2).

use super::sql::{params, Row};
use super::{DbResult, Tx, User};

/// Where an authorization request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthStatus {
    /// Waiting for the person in the browser.
    Pending,
    /// A code was issued.
    Approved,
    Denied,
}

impl AuthStatus {
    fn as_str(self) -> &'static str {
        match self {
            AuthStatus::Pending => "pending",
            AuthStatus::Approved => "approved",
            AuthStatus::Denied => "denied",
        }
    }

    fn parse(value: &str) -> AuthStatus {
        match value {
            "approved" => AuthStatus::Approved,
            "denied" => AuthStatus::Denied,
            _ => AuthStatus::Pending,
        }
    }
}

/// One `GET /oauth/authorize`, validated.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    /// `azr_…`
    pub(crate) id: String,
    pub(crate) client_id: String,
    /// The loopback URI, exactly as the client sent it.
    pub(crate) redirect_uri: String,
    /// base64url(SHA-256(code_verifier)), 43 characters.
    pub(crate) code_challenge: String,
    pub(crate) state: String,
    pub(crate) scope: String,
    pub(crate) client_ip: String,
    pub(crate) status: AuthStatus,
    pub(crate) user_id: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    /// SHA-256 hex of the binding cookie of the browser that started the sign-in: its
    /// magic link is confirmed only in that browser.
    pub(crate) browser_hash: Option<String>,
}

/// An issued authorization code, without the code itself.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) request_id: String,
    pub(crate) user_id: String,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
    /// The session the code started, once redeemed.
    pub(crate) session_id: Option<String>,
}

const REQUEST_COLUMNS: &str = "id, client_id, redirect_uri, code_challenge, state, scope, \
     client_ip, status, user_id, created_at, expires_at, browser_hash";

fn request_row(row: &Row) -> DbResult<AuthRequest> {
    Ok(AuthRequest {
        id: row.get(0)?,
        client_id: row.get(1)?,
        redirect_uri: row.get(2)?,
        code_challenge: row.get(3)?,
        state: row.get(4)?,
        scope: row.get(5)?,
        client_ip: row.get(6)?,
        status: AuthStatus::parse(&row.get::<String>(7)?),
        user_id: row.get(8)?,
        created_at: row.get(9)?,
        expires_at: row.get(10)?,
        browser_hash: row.get(11)?,
    })
}

impl Tx<'_> {
    // ---- authorization requests --------------------------------------------------

    pub(crate) fn insert_auth_request(&self, request: &AuthRequest) -> DbResult<()> {
        self.execute(
            &format!(
                "INSERT INTO authorization_requests ({REQUEST_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                request.id,
                request.client_id,
                request.redirect_uri,
                request.code_challenge,
                request.state,
                request.scope,
                request.client_ip,
                request.status.as_str(),
                request.user_id,
                request.created_at,
                request.expires_at,
                request.browser_hash,
            ],
        )?;
        Ok(())
    }

    pub(crate) fn auth_request(&self, id: &str) -> DbResult<Option<AuthRequest>> {
        self.query_opt(
            &format!("SELECT {REQUEST_COLUMNS} FROM authorization_requests WHERE id = ?1"),
            params![id],
            request_row,
        )
    }

    /// Moves a request from pending to `to`; false if it was no longer pending.
    pub(crate) fn decide_auth_request(
        &self,
        id: &str,
        to: AuthStatus,
        user_id: Option<&str>,
    ) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE authorization_requests SET status = ?2, user_id = ?3
                 WHERE id = ?1 AND status = 'pending'",
            params![id, to.as_str(), user_id],
        )?;
        Ok(changed == 1)
    }

    // ---- authorization codes -----------------------------------------------------

    pub(crate) fn insert_auth_code(
        &self,
        code_hash: &str,
        code: &AuthCode,
        now: i64,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO authorization_codes (code_hash, request_id, user_id, created_at,
                 expires_at, used_at, session_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                code_hash,
                code.request_id,
                code.user_id,
                now,
                code.expires_at,
                code.used_at,
                code.session_id,
            ],
        )?;
        Ok(())
    }

    pub(crate) fn auth_code(&self, code_hash: &str) -> DbResult<Option<AuthCode>> {
        self.query_opt(
            "SELECT request_id, user_id, expires_at, used_at, session_id
                 FROM authorization_codes WHERE code_hash = ?1",
            params![code_hash],
            |row| {
                Ok(AuthCode {
                    request_id: row.get(0)?,
                    user_id: row.get(1)?,
                    expires_at: row.get(2)?,
                    used_at: row.get(3)?,
                    session_id: row.get(4)?,
                })
            },
        )
    }

    /// Spends a code and records the session it started; false if it was already spent.
    pub(crate) fn redeem_auth_code(
        &self,
        code_hash: &str,
        now: i64,
        session_id: &str,
    ) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE authorization_codes SET used_at = ?2, session_id = ?3
                 WHERE code_hash = ?1 AND used_at IS NULL",
            params![code_hash, now, session_id],
        )?;
        Ok(changed == 1)
    }

    // ---- web sessions ------------------------------------------------------------

    pub(crate) fn insert_web_session(
        &self,
        id_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            params![id_hash, user_id, now, expires_at],
        )?;
        Ok(())
    }

    /// Ends a web session (sign-out); false if it was not live.
    pub(crate) fn revoke_web_session(&self, id_hash: &str, now: i64) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE web_sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL",
            params![id_hash, now],
        )?;
        Ok(changed == 1)
    }

    /// The user of the live (unexpired, unrevoked) web session with this id hash.
    pub(crate) fn web_session_user(&self, id_hash: &str, now: i64) -> DbResult<Option<User>> {
        self.query_opt(
            "SELECT u.id, u.email, u.username FROM web_sessions w JOIN users u ON u.id = w.user_id
                 WHERE w.id_hash = CAST(?1 AS TEXT) AND w.revoked_at IS NULL AND w.expires_at > ?2",
            params![id_hash, now],
            |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    username: r.get(2)?,
                })
            },
        )
    }
}
