//! The REST API. For now only `GET /v1/me`: who the bearer token belongs to, and what
//! kind of credential it is. Errors use `{"error": {"code": …, "message": …}}` and, for
//! bad bearer tokens, `WWW-Authenticate` as RFC 6750 §3 asks.

use crate::clock;
use crate::config::App;
use crate::db::Db;
use crate::http::{Reply, Request, ServerError};
use crate::jwt::{self, JwtError};
use my_api::{codes, CredentialInfo, CredentialKind, Me};

/// 401 for a request without a bearer token.
fn unauthenticated() -> Reply {
    Reply::api_error(401, codes::UNAUTHORIZED, "missing bearer token")
        .header("WWW-Authenticate", "Bearer")
}

/// 401 for a bearer token that is not (or no longer) valid.
fn invalid_token(message: &str) -> Reply {
    Reply::api_error(401, codes::UNAUTHORIZED, message)
        .header("WWW-Authenticate", "Bearer error=\"invalid_token\"")
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// `GET /v1/me`.
pub(crate) fn me(app: &App, db: &mut Db, request: &Request) -> Result<Reply, ServerError> {
    let Some(token) = bearer(request) else {
        return Ok(unauthenticated());
    };
    let now = clock::now_secs();
    let claims = match jwt::verify(token, &app.key, u64::try_from(now).unwrap_or(0)) {
        Ok(claims) if claims.iss == app.issuer => claims,
        Err(JwtError::Expired) => return Ok(invalid_token("access token expired")),
        _ => return Ok(invalid_token("invalid access token")),
    };
    let found = db.read(|tx| -> rusqlite::Result<_> {
        Ok((tx.session(&claims.sid)?, tx.user(&claims.sub)?))
    })?;
    let (session, user) = match found {
        (Some(session), Some(user)) if session.user_id == user.id => (session, user),
        _ => return Ok(invalid_token("invalid access token")),
    };
    if session.revoked_at.is_some() {
        return Ok(invalid_token("session revoked"));
    }
    if now >= session.expires_at {
        return Ok(invalid_token("session expired"));
    }
    Ok(Reply::json(
        200,
        &Me {
            id: user.id,
            email: user.email,
            credential: CredentialInfo {
                kind: CredentialKind::Session,
                expires_at: Some(clock::rfc3339(session.expires_at)),
                name: None,
                organization: None,
            },
        },
    )
    .header("Cache-Control", "no-store"))
}
