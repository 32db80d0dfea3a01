//! Who is calling the REST API: the one place where a bearer credential (a session JWT or
//! an API token) becomes an [`Auth`], or a 401.
//!
//! API tokens are recognised by their prefix; their format and checksum are checked before
//! anything else, so a mistyped or forged-looking token costs no database query.

use crate::app::App;
use crate::clock;
use crate::crypto::jwt::JwtError;
use crate::crypto::secrets;
use crate::db::{ApiToken, Db, DbResult};
use crate::web::{Error, Reply, Request};
use my_api::token::{self, ORGANIZATION_PREFIX, PERSONAL_PREFIX};
use my_api::{codes, CredentialKind};

use super::keys;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    /// The user: a session's, a personal token's owner, or the member who created an
    /// organization key.
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) username: Option<String>,
    pub(crate) kind: CredentialKind,
    /// The API token's name.
    pub(crate) token_name: Option<String>,
    /// The organization an organization key is bound to.
    pub(crate) organization_id: Option<String>,
    /// Unix seconds; `None` for a token that never expires.
    pub(crate) expires_at: Option<i64>,
    /// The slug of the profile an API token is scoped to.
    pub(crate) profile: Option<String>,
    /// The session of a session JWT: tokens it creates are revoked with it when it is
    /// revoked as stolen.
    pub(crate) session_id: Option<String>,
    /// The API token's id (`tok_…`).
    pub(crate) token_id: Option<String>,
}

impl Auth {
    /// Whether this is an interactive sign-in (token management needs one).
    pub(crate) fn is_session(&self) -> bool {
        self.kind == CredentialKind::Session
    }
}

/// 401 for a request without a bearer token (RFC 6750 §3.1: no error code then).
fn unauthenticated() -> Error {
    Error::Reply(
        Reply::api_error(401, codes::UNAUTHORIZED, "missing bearer token")
            .header("WWW-Authenticate", "Bearer"),
    )
}

/// 401 for a bearer token that is not (or no longer) valid.
fn invalid_token(message: &str) -> Error {
    Error::Reply(
        Reply::api_error(401, codes::UNAUTHORIZED, message)
            .header("WWW-Authenticate", "Bearer error=\"invalid_token\""),
    )
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// What a bearer looks like before any lookup.
#[derive(Debug, PartialEq, Eq)]
enum Bearer<'a> {
    /// Well-formed API token (prefix, length, alphabet and checksum all right).
    ApiToken(&'a str),
    /// Has an API token prefix but fails the format check: rejected without a lookup.
    MalformedApiToken,
    /// Anything else is tried as a session JWT.
    Jwt(&'a str),
}

fn classify(bearer: &str) -> Bearer<'_> {
    if bearer.starts_with(PERSONAL_PREFIX) || bearer.starts_with(ORGANIZATION_PREFIX) {
        match token::parse(bearer) {
            Ok(_) => Bearer::ApiToken(bearer),
            Err(_) => Bearer::MalformedApiToken,
        }
    } else {
        Bearer::Jwt(bearer)
    }
}

/// The caller of `request`, or the 401 to answer.
pub(crate) fn authenticate(app: &App, db: &mut Db, request: &Request) -> Result<Auth, Error> {
    let Some(bearer) = bearer(request) else {
        return Err(unauthenticated());
    };
    match classify(bearer) {
        Bearer::MalformedApiToken => Err(invalid_token("malformed token")),
        Bearer::ApiToken(token) => api_token(app, db, token),
        Bearer::Jwt(jwt) => session(app, db, jwt),
    }
}

fn session(app: &App, db: &mut Db, token: &str) -> Result<Auth, Error> {
    let now = clock::now_secs();
    let claims = match keys::verify(app, db, token, u64::try_from(now).unwrap_or(0))? {
        Ok(claims) if claims.iss == app.issuer => claims,
        Err(JwtError::Expired) => return Err(invalid_token("access token expired")),
        _ => return Err(invalid_token("invalid access token")),
    };
    let found =
        db.read(|tx| -> DbResult<_> { Ok((tx.session(&claims.sid)?, tx.user(&claims.sub)?)) })?;
    let (session, user) = match found {
        (Some(session), Some(user)) if session.user_id == user.id => (session, user),
        _ => return Err(invalid_token("invalid access token")),
    };
    if session.revoked_at.is_some() {
        return Err(invalid_token("session revoked"));
    }
    if now >= session.expires_at {
        return Err(invalid_token("session expired"));
    }
    Ok(Auth {
        user_id: user.id,
        email: user.email,
        username: user.username,
        kind: CredentialKind::Session,
        token_name: None,
        organization_id: None,
        expires_at: Some(session.expires_at),
        profile: None,
        session_id: Some(session.id),
        token_id: None,
    })
}

/// The stored token if it may be used at `now`, else the 401 message.
fn usable(found: Option<ApiToken>, now: i64) -> Result<ApiToken, &'static str> {
    match found {
        None => Err("invalid token"),
        Some(found) if found.revoked_at.is_some() => Err("invalid token"),
        Some(found) if found.expires_at.is_some_and(|at| now >= at) => Err("token expired"),
        Some(found) => Ok(found),
    }
}

fn api_token(app: &App, db: &mut Db, token: &str) -> Result<Auth, Error> {
    let hash = secrets::sha256_hex(token);
    let now = clock::now_secs();
    let found = match usable(db.read(|tx| tx.api_token_by_hash(&hash))?, now) {
        Ok(found) => found,
        Err(message) => return Err(invalid_token(message)),
    };
    // Throttled: most requests only read; a write at most once per interval per token.
    let interval = i64::try_from(app.settings.last_used_interval).unwrap_or(i64::MAX / 4);
    if found.last_used_at.is_none_or(|last| now - last >= interval) {
        db.write(|tx| tx.touch_api_token(&found.id, now, now - interval))?;
    }
    Ok(Auth {
        user_id: found.user_id,
        email: found.user_email,
        username: found.username,
        kind: found.kind.credential_kind(),
        token_name: Some(found.name),
        organization_id: found.org_id,
        expires_at: found.expires_at,
        profile: found.profile,
        session_id: None,
        token_id: Some(found.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use my_api::token::TokenKind;

    #[test]
    fn api_tokens_are_checked_before_any_lookup() {
        let good = secrets::new_api_token(TokenKind::Personal);
        assert_eq!(classify(&good), Bearer::ApiToken(&good));
        // One character changed: the checksum no longer matches.
        let mut typo = good.clone().into_bytes();
        typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(classify(&typo), Bearer::MalformedApiToken);
        // Flipped checksum character.
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'Z' { b'Y' } else { b'Z' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(classify(&flipped), Bearer::MalformedApiToken);
        assert_eq!(classify(&good[..20]), Bearer::MalformedApiToken);
        assert_eq!(classify("myo_"), Bearer::MalformedApiToken);
        assert_eq!(classify("eyJ.a.b"), Bearer::Jwt("eyJ.a.b"));
        assert_eq!(classify("ghp_abc"), Bearer::Jwt("ghp_abc"));
    }

    fn stored(revoked_at: Option<i64>, expires_at: Option<i64>) -> ApiToken {
        ApiToken {
            id: "tok_1".into(),
            kind: TokenKind::Personal,
            name: "ci".into(),
            prefix: "myc_abcdef...".into(),
            user_id: "usr_1".into(),
            user_email: "a@example.com".into(),
            username: None,
            org_id: None,
            org_slug: None,
            profile: None,
            created_at: 0,
            expires_at,
            last_used_at: None,
            revoked_at,
        }
    }

    #[test]
    fn revoked_unknown_and_expired_tokens_are_refused() {
        let message = |found, now| usable(found, now).map(|t| t.id).unwrap_err();
        assert_eq!(message(None, 10), "invalid token");
        assert_eq!(message(Some(stored(Some(5), None)), 10), "invalid token");
        assert_eq!(message(Some(stored(Some(5), Some(1))), 10), "invalid token");
        assert_eq!(message(Some(stored(None, Some(10))), 10), "token expired");
        assert!(usable(Some(stored(None, Some(11))), 10).is_ok());
        assert!(usable(Some(stored(None, None)), 10).is_ok());
    }
}
