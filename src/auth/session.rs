//! The credential every API command uses, and keeping it fresh.
//!
//! `MY_API_TOKEN` wins and is never refreshed. A stored session is refreshed proactively
//! (access token expiring within a minute), weekly (silently, to slide the session expiry),
//! and reactively (once, on a 401). Refreshes are serialized across processes by the store's
//! lock: after taking it we re-read the credentials, and a process that finds them already
//! refreshed by another uses them. Credentials are cleared only when the server says the
//! session is gone (`invalid_grant`), never on a network error or a 5xx.

use crate::api::{Method, Reply};
use crate::app::{now, App};
use crate::auth::discovery;
use crate::credentials::{Credentials, Location};
use crate::error::{Error, Result};
use crate::secret::Secret;
use my_api::CredentialKind;
use serde::de::DeserializeOwned;

/// Refresh when the access token has less than this left (or a quarter of its lifetime,
/// if that is shorter: a 1-second token would otherwise look stale the moment it is issued).
const REFRESH_AHEAD_SECS: u64 = 60;
/// The silent weekly refresh that keeps an idle session alive.
const WEEKLY_SECS: u64 = 7 * 24 * 3600;

/// Where the credential in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Stored(Location),
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::Stored(Location::Keyring) => "keyring",
            Source::Stored(Location::File) => "file",
        }
    }
}

/// The bearer token to send, with where it came from.
pub struct Active {
    pub token: Secret,
    pub source: Source,
    pub stored: Option<Credentials>,
}

/// The credential to use now, refreshed first if it is due.
pub fn active(app: &App) -> Result<Active> {
    if let Some(token) = &app.settings.env_token {
        check_token_format(token.expose())
            .map_err(|why| Error::Usage(format!("MY_API_TOKEN {why}")))?;
        return Ok(Active {
            token: token.clone(),
            source: Source::Env,
            stored: None,
        });
    }
    let (creds, location) = app.store.load(app.api_url())?.ok_or(Error::NotSignedIn)?;
    if creds.kind != CredentialKind::Session || creds.refresh_token.is_none() {
        return Ok(stored(creds, location));
    }
    let t = now();
    if expires_soon(&creds, t) {
        let (creds, location) = refresh(app, &creds, false)?;
        return Ok(stored(creds, location));
    }
    let last = app
        .settings
        .config
        .server(app.api_url())
        .last_refresh_at
        .unwrap_or(0);
    if t.saturating_sub(last) > WEEKLY_SECS {
        // The access token still works: a failed weekly refresh must not fail the command,
        // unless the server says the session is gone.
        match refresh(app, &creds, false) {
            Ok((creds, location)) => return Ok(stored(creds, location)),
            Err(e @ Error::Rejected(_)) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(stored(creds, location))
}

/// Rejects a mistyped or truncated API token before it is sent anywhere.
pub fn check_token_format(token: &str) -> std::result::Result<my_api::token::TokenKind, String> {
    my_api::token::parse(token).map_err(|e| format!("is not a valid my token: {e}"))
}

fn stored(creds: Credentials, location: Location) -> Active {
    Active {
        token: creds.access_token.clone(),
        source: Source::Stored(location),
        stored: Some(creds),
    }
}

fn expires_soon(creds: &Credentials, now: u64) -> bool {
    let Some(exp) = creds.access_expires_at else {
        return false;
    };
    let lifetime = crate::auth::jwt::claims(creds.access_token.expose())
        .and_then(|c| c.iat)
        .map(|iat| exp.saturating_sub(iat));
    exp <= now + refresh_margin(lifetime)
}

fn refresh_margin(lifetime: Option<u64>) -> u64 {
    lifetime.map_or(REFRESH_AHEAD_SECS, |l| (l / 4).min(REFRESH_AHEAD_SECS))
}

/// GET an API path with the active credential and decode the JSON answer.
pub fn get_json<T: DeserializeOwned>(app: &App, path: &str) -> Result<(T, Active)> {
    let (reply, active) = send(app, Method::Get, path, None)?;
    Ok((reply.ok_json()?, active))
}

/// Sends a REST request with the active credential; on a 401 for a stored session, refreshes
/// once and retries. The reply is returned whatever its status.
pub fn send(
    app: &App,
    method: Method,
    path: &str,
    json: Option<&serde_json::Value>,
) -> Result<(Reply, Active)> {
    send_with(app, method, path, json, &[])
}

/// [`send`] with extra request headers (e.g. `If-None-Match`).
pub fn send_with(
    app: &App,
    method: Method,
    path: &str,
    json: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> Result<(Reply, Active)> {
    send_to(app, method, &app.url(path), json, headers)
}

/// [`send_with`] to a whole URL, which the caller has checked is on the API's origin (an
/// OIDC `userinfo_endpoint` from the checked metadata).
pub fn send_to(
    app: &App,
    method: Method,
    url: &str,
    json: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> Result<(Reply, Active)> {
    let active = active(app)?;
    let reply = app
        .client
        .send_with(method, url, Some(&active.token), json, headers)?;
    if reply.status == 401 && active.source == Source::Env {
        let why = serde_json::from_str::<my_api::ApiErrorResponse>(&reply.body)
            .map(|e| e.error.message)
            .unwrap_or_else(|_| "HTTP 401".into());
        return Err(Error::EnvTokenRejected(why));
    }
    if reply.status == 401 {
        if let (Source::Stored(_), Some(creds)) = (active.source, &active.stored) {
            if creds.kind == CredentialKind::Session && creds.refresh_token.is_some() {
                let (creds, location) = refresh(app, creds, true)?;
                let active = stored(creds, location);
                let reply =
                    app.client
                        .send_with(method, url, Some(&active.token), json, headers)?;
                return Ok((reply, active));
            }
        }
    }
    Ok((reply, active))
}

/// Refreshes the stored session under the cross-process lock. `seen` is what the caller
/// read before; if another process has rotated it meanwhile, its result is used. With
/// `force`, a token that looks fresh is refreshed anyway (the server rejected it).
pub fn refresh(app: &App, seen: &Credentials, force: bool) -> Result<(Credentials, Location)> {
    let _lock = app.store.lock()?;
    let (current, location) = app.store.load(app.api_url())?.ok_or(Error::NotSignedIn)?;
    // Another process refreshed while we waited for the lock: use its result unless that
    // too has already expired (with very short access lifetimes it can be "expiring soon"
    // the moment it is issued, and refreshing again would only churn the session).
    let rotated_meanwhile = current.refresh_token != seen.refresh_token;
    if rotated_meanwhile && current.access_expires_at.is_none_or(|exp| exp > now()) {
        return Ok((current, location));
    }
    if !force && !rotated_meanwhile && !needs_refresh(app, &current)? {
        return Ok((current, location));
    }
    let Some(refresh_token) = current.refresh_token.clone() else {
        return Ok((current, location));
    };
    let meta = discovery::discover(&app.client, app.api_url())?;
    let form = [
        ("grant_type", my_api::grants::REFRESH_TOKEN),
        ("refresh_token", refresh_token.expose()),
        ("client_id", my_api::CLIENT_ID),
    ];
    let reply = app.client.post_form(&meta.token_endpoint, &form, None)?;
    if reply.status >= 500 {
        return Err(reply.into_error());
    }
    if !reply.is_success() {
        let err: Option<my_api::OAuthError> = serde_json::from_str(&reply.body).ok();
        if err
            .as_ref()
            .is_some_and(|e| e.error == my_api::oauth_errors::INVALID_GRANT)
        {
            app.store.delete(app.api_url())?;
            return Err(Error::Rejected(
                "your session has ended (it expired or was revoked)".into(),
            ));
        }
        return Err(crate::auth::oauth_failure(
            &reply,
            "the session could not be refreshed",
        ));
    }
    let tokens: crate::auth::Tokens = reply.json::<my_api::TokenResponse>()?.into();
    let mut next = session_credentials(tokens, current.user_id.clone(), current.email.clone());
    // A server that does not rotate keeps the old refresh token valid.
    if next.refresh_token.is_none() {
        next.refresh_token = Some(refresh_token);
        next.session_expires_at = current.session_expires_at;
    }
    let location = app.store.save(app.api_url(), &mut next)?;
    record_refresh(app)?;
    Ok((next, location))
}

/// Decided under the lock, on the config as it is on disk now: the copy loaded at start-up
/// may predate another process's refresh, or this process's own login.
fn needs_refresh(app: &App, creds: &Credentials) -> Result<bool> {
    let t = now();
    let config = crate::config::Config::load(&app.settings.config_dir)?;
    let last = config.server(app.api_url()).last_refresh_at.unwrap_or(0);
    Ok(expires_soon(creds, t) || t.saturating_sub(last) > WEEKLY_SECS)
}

/// Remembers when the session was last refreshed (the weekly clock). Called under the lock.
pub fn record_refresh(app: &App) -> Result<()> {
    let mut config = crate::config::Config::load(&app.settings.config_dir)?;
    config.server_mut(app.api_url()).last_refresh_at = Some(now());
    config.save(&app.settings.config_dir)
}

/// Credentials for a session from a token response.
pub fn session_credentials(
    tokens: crate::auth::Tokens,
    user_id: Option<String>,
    email: Option<String>,
) -> Credentials {
    let t = now();
    let claims = crate::auth::jwt::claims(tokens.access_token.expose()).unwrap_or_default();
    // Server numbers are clamped: a huge `exp` or `expires_in` must not overflow later.
    Credentials {
        kind: CredentialKind::Session,
        access_expires_at: claims
            .exp
            .map(|exp| exp.min(crate::clock::MAX_TIME))
            .or(tokens.expires_in.map(|s| crate::app::after(t, s))),
        session_expires_at: tokens
            .refresh_token_expires_in
            .map(|s| crate::app::after(t, s)),
        user_id: claims.sub.or(user_id),
        email: claims.email.or(email),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        saved_at_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::refresh_margin;

    #[test]
    fn the_margin_is_a_minute_or_a_quarter_of_short_lifetimes() {
        assert_eq!(refresh_margin(Some(15 * 60)), 60);
        assert_eq!(refresh_margin(None), 60);
        assert_eq!(refresh_margin(Some(120)), 30);
        assert_eq!(refresh_margin(Some(1)), 0);
    }
}
