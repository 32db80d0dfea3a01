//! The OAuth rules both flows share: our one public client, the scopes it may ask for,
//! the loopback redirect URIs it may use (RFC 8252 §7.3), and the RFC 6749 §5.2 errors
//! that client mistakes are answered with.

use crate::web::{Error, Form};
use my_api::oauth_errors as err;

/// Scopes this server knows; the CLI asks for `openid email`.
const KNOWN_SCOPES: [&str; 3] = ["openid", "email", "offline_access"];

/// 400 `invalid_request`.
pub(crate) fn invalid_request(description: impl Into<String>) -> Error {
    Error::oauth(400, err::INVALID_REQUEST, description)
}

/// 400 `invalid_grant`.
pub(crate) fn invalid_grant(description: impl Into<String>) -> Error {
    Error::oauth(400, err::INVALID_GRANT, description)
}

/// `client_id` must be ours when `required` or present (401 `invalid_client` if not).
pub(crate) fn check_client(form: &Form, required: bool) -> Result<(), Error> {
    match form.get("client_id") {
        Some(my_api::CLIENT_ID) => Ok(()),
        None if !required => Ok(()),
        _ => Err(Error::oauth(401, err::INVALID_CLIENT, "unknown client_id")),
    }
}

/// The granted scope for a requested one: known scopes only, duplicates dropped, and
/// `openid email` when none was asked for.
pub(crate) fn parse_scope(requested: Option<&str>) -> Result<String, String> {
    let mut granted: Vec<&str> = Vec::new();
    for scope in requested.unwrap_or("").split_whitespace() {
        if !KNOWN_SCOPES.contains(&scope) {
            return Err(format!("unknown scope `{scope}`"));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    if granted.is_empty() {
        return Ok(my_api::SCOPE.to_string());
    }
    Ok(granted.join(" "))
}

/// The one path the CLI's loopback listener answers on.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// A loopback redirect URI as RFC 8252 §7.3 allows, narrowed to what our one client uses:
/// `http://127.0.0.1:PORT/callback` or `http://[::1]:PORT/callback`, any port, never
/// `localhost`, nothing after the path but one random segment of 16 to 64 base64url
/// characters (the CLI's device flow adds one, so that forged wake-ups from other local
/// processes find nothing). Any other loopback URL could be some other local service that
/// a redirect carrying a code (or a GET with side effects) should not reach.
pub(crate) fn valid_loopback_redirect(uri: &str) -> bool {
    if uri.len() > 2048
        || uri.chars().any(|c| {
            c.is_control() || c.is_whitespace() || matches!(c, '#' | '"' | '<' | '>' | '\\')
        })
    {
        return false;
    }
    let Some(rest) = uri
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| uri.strip_prefix("http://[::1]:"))
    else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let port_ok = (1..=5).contains(&digits) && rest[..digits].parse::<u16>().is_ok_and(|p| p != 0);
    let nonce_ok = |n: &str| {
        (16..=64).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let path_ok = match rest[digits..].strip_prefix(CALLBACK_PATH) {
        Some("") => true,
        Some(tail) => tail.strip_prefix('/').is_some_and(nonce_ok),
        None => false,
    };
    port_ok && path_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects() {
        for ok in [
            "http://127.0.0.1:5000/callback",
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:65535/callback",
            "http://[::1]:8080/callback",
            "http://127.0.0.1:5000/callback/Zm9vYmFyYmF6cXV4MTIz",
        ] {
            assert!(valid_loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "http://localhost:5000/callback",
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.1:5000/cb",
            "http://127.0.0.1:5000/",
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5000/callback?x=1",
            "http://127.0.0.1:5000/callback/../admin",
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/callback/short",
            "http://127.0.0.1:5000/callback/Zm9vYmFyYmF6cXV4MTIz/x",
            "http://127.0.0.1:5000/callbackZm9vYmFyYmF6cXV4MTIz",
            "http://127.0.0.1:5000/callback/Zm9vYmFyYmF6cXV4MTIz?x",
            "http://127.0.0.1:631/admin",
            "http://127.0.0.1:5000/callback#frag",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:5000@evil.example/",
            "http://127.0.0.1:5000.evil.example/",
            "http://127.0.0.1:5000/cb#frag",
            "http://127.0.0.1:5000/a b",
            "http://127.0.0.1:5000/\r\nx",
            "http://127.0.0.2:5000/",
            "http://[::2]:5000/",
            "javascript:alert(1)",
            "",
        ] {
            assert!(!valid_loopback_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(parse_scope(None).unwrap(), "openid email");
        assert_eq!(parse_scope(Some("openid email")).unwrap(), "openid email");
        assert_eq!(
            parse_scope(Some("email  email openid")).unwrap(),
            "email openid"
        );
        assert_eq!(parse_scope(Some("openid")).unwrap(), "openid");
        assert!(parse_scope(Some("openid admin")).is_err());
    }
}
