//! The browser's web session: the `my_session` cookie set when a browser sign-in's magic
//! link is confirmed, so that the next browser sign-in is one click ("Authorize my CLI").
//!
//! The cookie holds 256 random bits; only their SHA-256 is stored. It is host-only (no
//! `Domain`), `HttpOnly`, `SameSite=Lax` (sent on the top-level navigation the CLI opens,
//! not on cross-site posts), and `Secure` when the server's public URL is https.

use crate::app::App;
use crate::crypto::secrets;
use crate::db::{DbResult, Tx, User};
use crate::web::Request;

/// The cookie's name.
pub(crate) const COOKIE: &str = "my_session";
/// How long a web session lives (not renewed by use).
pub(crate) const LIFETIME_SECS: i64 = 30 * 86_400;

/// A signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct WebUser {
    pub(crate) user: User,
    /// SHA-256 hex of the cookie: what the consent page's CSRF token is bound to.
    pub(crate) id_hash: String,
}

/// Starts a web session for `user_id` and returns the cookie's value.
pub(crate) fn start(tx: &Tx, user_id: &str, now: i64) -> DbResult<String> {
    let id = secrets::token::<32>();
    tx.insert_web_session(&secrets::sha256_hex(&id), user_id, now, now + LIFETIME_SECS)?;
    Ok(id)
}

/// The `Set-Cookie` header value for a new session `id`.
pub(crate) fn set_cookie(app: &App, id: &str) -> String {
    let secure = if app.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/; Max-Age={LIFETIME_SECS}{secure}")
}

/// The session cookie's value, if the request carries one shaped like ours.
pub(crate) fn presented(request: &Request) -> Option<&str> {
    request
        .header("Cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && plausible(value))
        .map(|(_, value)| value)
}

/// 32 bytes in base64url are 43 characters; anything else is not worth a lookup.
fn plausible(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The browser's signed-in user, if its cookie names a live web session.
pub(crate) fn current(tx: &Tx, request: &Request, now: i64) -> DbResult<Option<WebUser>> {
    let Some(id) = presented(request) else {
        return Ok(None);
    };
    let id_hash = secrets::sha256_hex(id);
    Ok(tx
        .web_session_user(&id_hash, now)?
        .map(|user| WebUser { user, id_hash }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_cookie_among_others() {
        let id = secrets::token::<32>();
        let mut request = Request::for_test("GET", "/oauth/authorize", None, None);
        request.set_header_for_test(
            "Cookie",
            &format!("a=1; {COOKIE}=short; {COOKIE}={id}; b=2"),
        );
        assert_eq!(presented(&request), Some(id.as_str()));
        request.set_header_for_test("Cookie", "my_session_x=1");
        assert_eq!(presented(&request), None);
    }

    #[test]
    fn the_cookie_is_secure_behind_https() {
        let plain = set_cookie(&App::for_test("http://127.0.0.1:7780"), "v");
        assert_eq!(
            plain,
            "my_session=v; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000"
        );
        let secure = set_cookie(&App::for_test("https://my.example"), "v");
        assert!(secure.ends_with("; Max-Age=2592000; Secure"));
        assert!(!secure.contains("Domain"));
    }
}
