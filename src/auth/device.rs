//! The device authorization flow (RFC 8628) that carries the magic-link sign-in: ask for a
//! device code with the email as `login_hint`, show the code to compare, then wait for the
//! loopback wake-up or poll, one request at a time, with a margin over the interval.

use crate::api::Client;
use crate::auth::loopback::{self, Loopback};
use crate::auth::{oauth_failure, random_b64, Tokens};
use crate::error::{Error, Result};
use crate::out;
use my_api::{oauth_errors as oe, AuthorizationServerMetadata, DeviceAuthorizationResponse};
use std::time::{Duration, Instant};

/// Margins over the server's interval, against clock drift (gh's values).
const MARGIN: f64 = 1.2;
const MARGIN_AFTER_SLOW_DOWN: f64 = 1.4;
/// The loopback wake-up lives under this path plus a random segment: only the server that
/// was handed the `redirect_uri` knows it, so forged callbacks from other local processes
/// or web pages find nothing.
const CALLBACK_PATH: &str = "/callback/";
/// What a server may ask for, at most: a device code living longer than an hour, or an
/// interval over a minute, is clamped (a huge value once overflowed the clock and aborted).
const MAX_EXPIRES_IN: Duration = Duration::from_secs(3600);
const MAX_INTERVAL: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

/// Runs the whole device flow for `email` and returns the tokens.
pub fn sign_in(
    client: &Client,
    meta: &AuthorizationServerMetadata,
    email: &str,
    open_browser: bool,
) -> Result<Tokens> {
    let endpoint = meta
        .device_authorization_endpoint
        .as_deref()
        .ok_or_else(|| {
            Error::Login(format!(
                "{} does not offer the device flow (no device_authorization_endpoint)",
                meta.issuer
            ))
        })?;
    // Without a loopback port we still sign in, only by polling.
    let listener = Loopback::bind(&format!("{CALLBACK_PATH}{}", random_b64(16)?));
    let mut form = vec![
        ("client_id", my_api::CLIENT_ID),
        ("scope", my_api::SCOPE),
        ("login_hint", email),
    ];
    if let Some(l) = &listener {
        form.push(("redirect_uri", l.redirect_uri()));
    }
    let reply = client.post_form(endpoint, &form, None)?;
    if !reply.is_success() {
        return Err(oauth_failure(
            &reply,
            "the server refused to start the sign-in",
        ));
    }
    let device: DeviceAuthorizationResponse = reply.json()?;
    announce(&device, email, open_browser.then_some(meta.issuer.as_str()));
    poll(client, &meta.token_endpoint, &device, listener.as_ref())
}

/// Shows the code (and the link); with `open_browser_on` the issuer, opens the link there.
fn announce(device: &DeviceAuthorizationResponse, email: &str, open_browser_on: Option<&str>) {
    if device.link_sent {
        out::note(format!("We sent a sign-in link to {email}."));
        out::note(format!(
            "Your code is {}: check that the email and the page show the same code before you confirm.",
            device.user_code
        ));
        out::note(format!(
            "No email? Open {} and enter the code.",
            device.verification_uri
        ));
    } else {
        out::note(format!(
            "Open {} and enter the code {}",
            device.verification_uri, device.user_code
        ));
        if let Some(complete) = &device.verification_uri_complete {
            out::note(format!("(or open {complete})"));
            if let Some(issuer) = open_browser_on {
                crate::auth::try_open_browser(complete, issuer);
            }
        } else if let Some(issuer) = open_browser_on {
            crate::auth::try_open_browser(&device.verification_uri, issuer);
        }
    }
    out::note("Waiting for you to confirm… (press Ctrl-C to cancel)");
}

fn poll(
    client: &Client,
    token_endpoint: &str,
    device: &DeviceAuthorizationResponse,
    listener: Option<&Loopback>,
) -> Result<Tokens> {
    let deadline = Instant::now() + Duration::from_secs(device.expires_in).min(MAX_EXPIRES_IN);
    let mut interval =
        Duration::from_secs(device.interval.unwrap_or(5)).clamp(SECOND, MAX_INTERVAL);
    let mut margin = MARGIN;
    let form = [
        ("grant_type", my_api::grants::DEVICE_CODE),
        ("device_code", device.device_code.as_str()),
        ("client_id", my_api::CLIENT_ID),
    ];
    // Set while the server does not answer: the next wait, growing up to MAX_INTERVAL.
    let mut backoff: Option<Duration> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(expired());
        }
        let wait = backoff
            .unwrap_or_else(|| interval.mul_f64(margin))
            .min(left);
        match listener {
            // A callback wakes us early; the poll below then finds the approval.
            Some(l) => {
                l.wait(wait, callback_page);
            }
            None => std::thread::sleep(wait),
        }
        // A network error or a failing server is transient while the code lives: keep
        // polling, further apart, until it expires.
        let why = match client.post_form_idempotent(token_endpoint, &form) {
            Ok(reply) if reply.status < 500 => Ok(reply),
            Ok(reply) => Err(format!("the server failed (HTTP {})", reply.status)),
            Err(Error::Unavailable(why)) => Err(why),
            Err(e) => return Err(e),
        };
        let reply = match why {
            Ok(reply) => reply,
            Err(why) => {
                if backoff.is_none() {
                    out::note(format!("{why}; still waiting for the sign-in"));
                }
                backoff = Some(backoff.map_or(interval, |b| b * 2).min(MAX_INTERVAL));
                continue;
            }
        };
        backoff = None;
        if reply.is_success() {
            return Ok(reply.json::<my_api::TokenResponse>()?.into());
        }
        let err: my_api::OAuthError = reply.json()?;
        match err.error.as_str() {
            oe::AUTHORIZATION_PENDING => {}
            oe::SLOW_DOWN => {
                interval = match err.interval.map(Duration::from_secs) {
                    Some(asked) if asked > interval => asked,
                    _ => interval + 5 * SECOND,
                }
                .min(MAX_INTERVAL);
                margin = MARGIN_AFTER_SLOW_DOWN;
            }
            oe::ACCESS_DENIED => {
                return Err(Error::Login(
                    "the sign-in was denied; nothing was stored".into(),
                ))
            }
            oe::EXPIRED_TOKEN | oe::TOKEN_EXPIRED => return Err(expired()),
            _ => return Err(oauth_failure(&reply, "the server refused the sign-in")),
        }
    }
}

fn expired() -> Error {
    Error::Login("the sign-in expired before it was confirmed: run `my cli login` again".into())
}

/// The page the browser sees on the loopback after the server's redirect.
fn callback_page(query: &loopback::Query) -> Option<String> {
    if loopback::param(query, "status") == Some("approved") {
        Some(loopback::html(
            "Signed in",
            "You are signed in to my. You can close this tab and return to the terminal.",
        ))
    } else if let Some(e) = loopback::param(query, "error") {
        let e: String = e.chars().take(64).collect();
        Some(loopback::html(
            "Sign-in not completed",
            &format!("The sign-in ended ({e}). You can close this tab."),
        ))
    } else {
        None
    }
}
