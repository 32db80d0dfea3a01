//! Sign-in flows and keeping the session fresh: discovery, the device flow with its magic
//! link and loopback wake-up, the browser flow, and the bearer/refresh logic every API
//! command goes through. What the flows share (their tokens, how an OAuth error reads, opening
//! a browser) lives here.

pub mod browser;
pub mod device;
pub mod discovery;
pub mod jwt;
pub mod loopback;
pub mod session;

use crate::error::{Error, Result};
use crate::out;
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Why a browser cannot be opened here, if it cannot: CI, an SSH session, or (on Linux and
/// BSD) no graphical display.
pub fn no_display_reason() -> Option<&'static str> {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if set("CI") {
        return Some("this looks like CI (CI is set)");
    }
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Some("this is an SSH session");
    }
    if cfg!(all(unix, not(target_os = "macos"))) && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        return Some("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    }
    None
}

/// Tries to open `url` in a browser (honouring `BROWSER`); says on stderr when it cannot.
/// Returns whether a browser was started. The URL must already have been printed. Only an
/// http(s) URL on the issuer's origin is opened: a server must not make the CLI open
/// `file://…`, a custom scheme, or a page elsewhere.
pub fn try_open_browser(url: &str, issuer: &str) -> bool {
    let http = url.starts_with("https://") || url.starts_with("http://");
    if !http || !crate::api::same_origin(url, issuer) {
        out::note(format!(
            "Not opening a browser: the server named a page outside {issuer}."
        ));
        return false;
    }
    if let Some(why) = no_display_reason() {
        out::note(format!("Not opening a browser: {why}."));
        return false;
    }
    match webbrowser::open(url) {
        Ok(()) => true,
        Err(e) => {
            out::note(format!("Could not open a browser ({e})."));
            false
        }
    }
}

/// `bytes` random bytes from the OS, base64url without padding (PKCE verifier, state, the
/// device flow's callback path).
pub fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Other(format!("the OS random number generator failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Tokens from a completed sign-in.
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<u64>,
    pub refresh_token_expires_in: Option<u64>,
}

impl From<my_api::TokenResponse> for Tokens {
    fn from(t: my_api::TokenResponse) -> Tokens {
        Tokens {
            access_token: Secret::new(t.access_token),
            refresh_token: t.refresh_token.map(Secret::new),
            expires_in: t.expires_in,
            refresh_token_expires_in: t.refresh_token_expires_in,
        }
    }
}

/// An OAuth error reply as one line: the error code and description from the server.
pub fn oauth_failure(reply: &crate::api::Reply, what: &str) -> Error {
    if reply.status >= 500 {
        // RFC 6749's temporarily_unavailable says why (e.g. its mail relay is down).
        let said = serde_json::from_str::<my_api::OAuthError>(&reply.body)
            .ok()
            .filter(|e| e.error == "temporarily_unavailable")
            .and_then(|e| e.error_description);
        return Error::Unavailable(match said {
            Some(why) => format!("{what}: {why}"),
            None => format!("{what}: the server failed (HTTP {})", reply.status),
        });
    }
    match serde_json::from_str::<my_api::OAuthError>(&reply.body) {
        Ok(e) => Error::Login(match e.error_description {
            Some(d) => format!("{what}: {} ({d})", e.error),
            None => format!("{what}: {}", e.error),
        }),
        Err(_) => Error::Login(format!("{what} (HTTP {})", reply.status)),
    }
}
