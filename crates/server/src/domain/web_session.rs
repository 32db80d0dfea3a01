//! The browser's cookies. The web session: the `my_session` cookie set when a browser
//! sign-in's magic link is confirmed, so that the next browser sign-in is one click
//! ("Authorize my CLI"), until the person signs out. The binding: a short-lived
//! `__Host-my_signin` cookie set when a browser sign-in starts, which the magic link's
//! confirmation requires, so a link confirms only in the browser that asked for it (an
//! attacker cannot plant their own sign-in in someone else's browser).
//!
//! Each cookie holds 256 random bits; only their SHA-256 is stored. They are host-only (no
//! `Domain`), `HttpOnly`, `SameSite=Lax` (sent on the top-level navigation the CLI opens,
//! not on cross-site posts), and `Secure` when the server's public URL is https or on
//! loopback (which browsers count as secure, so the binding keeps its `__Host-` name).

use crate::app::App;
use crate::crypto::secrets;
use crate::db::{DbResult, Tx, User};
use crate::web::Request;

/// The cookie's name.
pub(crate) const COOKIE: &str = "my_session";
/// How long a web session lives (not renewed by use).
pub(crate) const LIFETIME_SECS: i64 = 30 * 86_400;
/// The binding cookie's name where it can be `Secure` (https, loopback), and elsewhere.
const BINDING: &str = "__Host-my_signin";
const BINDING_PLAIN: &str = "my_signin";
/// How long the binding cookie lives: as long as an authorization request.
pub(crate) const BINDING_SECS: i64 = 600;
/// Where the sign-out form posts.
pub(crate) const SIGN_OUT_PATH: &str = "/sign-out";

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

/// Whether browsers keep `Secure` cookies from this server: https, or http on loopback.
fn secure_origin(app: &App) -> bool {
    app.issuer.starts_with("https://")
        || app.issuer.starts_with("http://127.0.0.1:")
        || app.issuer.starts_with("http://[::1]:")
        || app.issuer.starts_with("http://localhost:")
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

/// The `Set-Cookie` header value that ends the session cookie (sign-out).
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// The value of the cookie `name`, if the request carries one shaped like ours.
fn cookie<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .header("Cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, value)| *n == name && plausible(value))
        .map(|(_, value)| value)
}

/// The session cookie's value, if the request carries one shaped like ours.
pub(crate) fn presented(request: &Request) -> Option<&str> {
    cookie(request, COOKIE)
}

fn binding_name(app: &App) -> &'static str {
    if secure_origin(app) {
        BINDING
    } else {
        BINDING_PLAIN
    }
}

/// The browser's binding for a sign-in that starts now: its existing binding cookie (so
/// sign-ins started side by side all stay valid) or a new one. Returns the value's hash,
/// to store with the request, and the `Set-Cookie` header value (renewing its lifetime).
pub(crate) fn bind(app: &App, request: &Request) -> (String, String) {
    let name = binding_name(app);
    let value = cookie(request, name).map_or_else(secrets::token::<32>, str::to_string);
    let secure = if secure_origin(app) { "; Secure" } else { "" };
    let header =
        format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={BINDING_SECS}{secure}");
    (secrets::sha256_hex(&value), header)
}

/// Whether `request` comes from the browser whose binding hash is `expected`.
pub(crate) fn same_browser(app: &App, request: &Request, expected: Option<&str>) -> bool {
    match (cookie(request, binding_name(app)), expected) {
        (Some(value), Some(expected)) => secrets::sha256_hex(value) == expected,
        _ => false,
    }
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
    fn the_binding_cookie_is_reused_and_checked() {
        let app = App::for_test("http://127.0.0.1:7780");
        let mut request = Request::for_test("GET", "/oauth/authorize", None, None);
        let (hash, header) = bind(&app, &request);
        assert!(header.starts_with("__Host-my_signin="), "{header}");
        assert!(
            header.ends_with("; Path=/; Max-Age=600; Secure"),
            "{header}"
        );
        assert!(!same_browser(&app, &request, Some(&hash)));
        let value = header.split(';').next().unwrap().to_string();
        request.set_header_for_test("Cookie", &value);
        assert!(same_browser(&app, &request, Some(&hash)));
        assert!(!same_browser(&app, &request, Some("other")));
        assert!(!same_browser(&app, &request, None));
        // A second sign-in in the same browser keeps the same binding.
        assert_eq!(bind(&app, &request).0, hash);
        // Behind plain http elsewhere browsers refuse `Secure`: a plain name then.
        let lan = App::for_test("http://my.lan:7780");
        assert!(bind(&lan, &request).1.starts_with("my_signin="));
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
