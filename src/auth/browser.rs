//! The browser sign-in (seed 000): authorization code + PKCE S256 + state, with the
//! redirect caught on a loopback port (RFC 8252). The code is exchanged while the browser
//! waits, so the page it finally shows tells the truth.

use crate::api::Client;
use crate::auth::loopback::{self, Loopback};
use crate::auth::{oauth_failure, random_b64, Tokens};
use crate::error::{Error, Result};
use crate::out;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use my_api::AuthorizationServerMetadata;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::time::Duration;

const CALLBACK_PATH: &str = "/callback";

/// How long the CLI waits for the browser (the server's authorization requests live 10 min);
/// `MY_LOGIN_TIMEOUT` seconds, 1 to 86400, overrides it.
fn timeout() -> Result<Duration> {
    let Some(raw) = std::env::var_os("MY_LOGIN_TIMEOUT") else {
        return Ok(Duration::from_secs(600));
    };
    raw.to_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (1..=86_400).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            Error::Usage(
                "MY_LOGIN_TIMEOUT must be a whole number of seconds from 1 to 86400".into(),
            )
        })
}

/// base64url(SHA-256(verifier)), no padding (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the person chose about opening a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Try to open it (and report when that is impossible).
    Try,
    /// `--no-browser`: only print the URL.
    Never,
}

/// The outcome when no browser could be opened: the caller offers the device flow.
pub enum Outcome {
    SignedIn(Tokens),
    NoBrowser,
}

/// A prepared authorization request: the URL to open and what the callback must match.
pub struct Request {
    pub url: String,
    listener: Loopback,
    state: String,
    verifier: crate::secret::Secret,
}

/// Binds the loopback listener and builds the authorization URL.
pub fn prepare(meta: &AuthorizationServerMetadata, login_hint: Option<&str>) -> Result<Request> {
    let endpoint = meta.authorization_endpoint.as_deref().ok_or_else(|| {
        Error::Login(format!(
            "{} does not offer a browser sign-in (no authorization_endpoint)",
            meta.issuer
        ))
    })?;
    let methods = &meta.code_challenge_methods_supported;
    if !methods.is_empty() && !methods.iter().any(|m| m == "S256") {
        return Err(Error::Login(format!(
            "{} does not support PKCE with S256",
            meta.issuer
        )));
    }
    let listener = Loopback::bind(CALLBACK_PATH).ok_or_else(|| {
        Error::Other("cannot listen on 127.0.0.1 or [::1] for the browser's answer".into())
    })?;
    let verifier = random_b64(32)?;
    let state = random_b64(16)?;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", my_api::CLIENT_ID)
        .append_pair("redirect_uri", listener.redirect_uri())
        .append_pair("scope", my_api::SCOPE)
        .append_pair("code_challenge", &challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state);
    if let Some(email) = login_hint {
        q.append_pair("login_hint", email);
    }
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    Ok(Request {
        url: format!("{endpoint}{sep}{}", q.finish()),
        listener,
        state,
        verifier: crate::secret::Secret::new(verifier),
    })
}

/// Prints the URL, opens the browser (unless told not to), and waits for exactly one valid
/// callback. Stray or forged requests (wrong path, wrong state, wrong issuer) are ignored.
pub fn sign_in(
    client: &Client,
    meta: &AuthorizationServerMetadata,
    req: Request,
    open: Open,
) -> Result<Outcome> {
    let timeout = timeout()?;
    out::note(format!(
        "Open this URL in a browser to sign in:\n\n    {}\n",
        req.url
    ));
    if open == Open::Try && !crate::auth::try_open_browser(&req.url, &meta.issuer) {
        return Ok(Outcome::NoBrowser);
    }
    out::note("Waiting for the browser… (press Ctrl-C to cancel)");
    let result: RefCell<Option<Result<Tokens>>> = RefCell::new(None);
    let accept = |q: &loopback::Query| -> Option<String> {
        let state_ok = loopback::param(q, "state").is_some_and(|s| constant_time_eq(s, &req.state));
        let iss_ok = loopback::param(q, "iss")
            .is_none_or(|iss| iss.trim_end_matches('/') == meta.issuer.trim_end_matches('/'));
        if !state_ok || !iss_ok {
            return None;
        }
        if let Some(code) = loopback::param(q, "code") {
            let tokens = exchange(client, meta, &req, code);
            let page = match &tokens {
                Ok(_) => loopback::html(
                    "Signed in",
                    "Signed in — you can close this tab and return to the terminal.",
                ),
                Err(e) => loopback::html("Sign-in failed", &e.to_string()),
            };
            *result.borrow_mut() = Some(tokens);
            return Some(page);
        }
        let error = loopback::param(q, "error")?;
        let err = if error == my_api::oauth_errors::ACCESS_DENIED {
            Error::Login("the sign-in was denied in the browser; nothing was stored".into())
        } else {
            let desc = loopback::param(q, "error_description")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            Error::Login(format!("the server refused the sign-in: {error}{desc}"))
        };
        let page = loopback::html("Sign-in not completed", &err.to_string());
        *result.borrow_mut() = Some(Err(err));
        Some(page)
    };
    if req.listener.wait(timeout, accept).is_none() {
        return Err(Error::Login(format!(
            "no answer from the browser within {} s: run `my cli login --web` again, or `my cli login` for the email sign-in",
            timeout.as_secs()
        )));
    }
    match result.into_inner() {
        Some(Ok(tokens)) => Ok(Outcome::SignedIn(tokens)),
        Some(Err(e)) => Err(e),
        None => Err(Error::Login(
            "the browser's answer was not understood".into(),
        )),
    }
}

fn exchange(
    client: &Client,
    meta: &AuthorizationServerMetadata,
    req: &Request,
    code: &str,
) -> Result<Tokens> {
    let form = [
        ("grant_type", my_api::grants::AUTHORIZATION_CODE),
        ("code", code),
        ("redirect_uri", req.listener.redirect_uri()),
        ("code_verifier", req.verifier.expose()),
        ("client_id", my_api::CLIENT_ID),
    ];
    let reply = client.post_form(&meta.token_endpoint, &form, None)?;
    if !reply.is_success() {
        return Err(oauth_failure(&reply, "the server refused the sign-in"));
    }
    Ok(reply.json::<my_api::TokenResponse>()?.into())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_and_state_sizes() {
        // 32 bytes → 43 characters (RFC 7636's minimum length); 16 bytes → 128 bits of state.
        assert_eq!(random_b64(32).unwrap().len(), 43);
        assert_eq!(random_b64(16).unwrap().len(), 22);
        assert_ne!(random_b64(16).unwrap(), random_b64(16).unwrap());
    }

    #[test]
    fn state_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
