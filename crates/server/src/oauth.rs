//! The OAuth 2.0 endpoints: metadata (RFC 8414), device authorization (RFC 8628), the
//! token endpoint (device code, authorization code + PKCE, and refresh grants, RFC 6749 /
//! RFC 7636 / RFC 9700), and revocation (RFC 7009). Error bodies follow RFC 6749 §5.2 and
//! are never cached. The browser pages that issue authorization codes are in `authorize`.

use crate::app::App;
use crate::clock;
use crate::crypto::jwt;
use crate::crypto::pkce;
use crate::crypto::secrets;
use crate::db::{Db, DbResult, DeviceRequest, DeviceStatus, LinkTarget, Session, Tx, User};
use crate::http::{Form, Reply, Request, ServerError};
use crate::magic;
use crate::mail;
use crate::settings::RATE_WINDOW_SECS;
use my_api::{
    grants, oauth_errors as err, paths, AccessClaims, AuthorizationServerMetadata,
    DeviceAuthorizationResponse, OAuthError, TokenResponse,
};

/// Scopes this server knows; the CLI asks for `openid email`.
const KNOWN_SCOPES: [&str; 3] = ["openid", "email", "offline_access"];
/// Rate-limit kind: device authorization requests per client address.
const DEVICE_RATE: &str = "device_request";
/// Seconds added to the interval on each `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN_STEP: i64 = 5;

const TOO_MANY: &str = "too many sign-in requests; try again later";

/// The metadata document: the shared fields plus what the wire crate does not model.
#[derive(serde::Serialize)]
struct Metadata {
    #[serde(flatten)]
    standard: AuthorizationServerMetadata,
    /// RFC 9207: callbacks carry `iss`, which the client may check.
    authorization_response_iss_parameter_supported: bool,
}

/// `GET /.well-known/oauth-authorization-server` (and the OpenID Connect twin).
pub(crate) fn metadata(app: &App) -> Reply {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    let standard = AuthorizationServerMetadata {
        issuer: app.issuer.clone(),
        authorization_endpoint: Some(app.url(paths::AUTHORIZATION)),
        token_endpoint: app.url(paths::TOKEN),
        device_authorization_endpoint: Some(app.url(paths::DEVICE_AUTHORIZATION)),
        revocation_endpoint: Some(app.url(paths::REVOCATION)),
        response_types_supported: strings(&["code"]),
        grant_types_supported: strings(&[
            grants::DEVICE_CODE,
            grants::REFRESH_TOKEN,
            grants::AUTHORIZATION_CODE,
        ]),
        code_challenge_methods_supported: strings(&[pkce::S256]),
        token_endpoint_auth_methods_supported: strings(&["none"]),
    };
    Reply::json(
        200,
        &Metadata {
            standard,
            authorization_response_iss_parameter_supported: true,
        },
    )
}

fn invalid_request(description: &str) -> Reply {
    Reply::oauth_error(400, err::INVALID_REQUEST, description)
}

fn invalid_client() -> Reply {
    Reply::oauth_error(401, err::INVALID_CLIENT, "unknown client_id")
}

fn invalid_grant(description: &str) -> Reply {
    Reply::oauth_error(400, err::INVALID_GRANT, description)
}

/// `client_id` must be ours when `required` or present.
fn check_client(form: &Form, required: bool) -> Result<(), Reply> {
    match form.get("client_id") {
        Some(my_api::CLIENT_ID) => Ok(()),
        None if !required => Ok(()),
        _ => Err(invalid_client()),
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

/// A loopback redirect URI as RFC 8252 §7.3 allows: `http://127.0.0.1:PORT[/path]` or
/// `http://[::1]:PORT[/path]`, any port, never `localhost`, no fragment.
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
    let after = &rest[digits..];
    port_ok && (after.is_empty() || after.starts_with('/') || after.starts_with('?'))
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX / 4)
}

struct Created {
    device_code: String,
    device: DeviceRequest,
    link: Option<(String, i64)>,
}

/// `POST /oauth/device_authorization`.
pub(crate) fn device_authorization(
    app: &App,
    db: &mut Db,
    request: &Request,
) -> Result<Reply, ServerError> {
    let form = match request.form() {
        Ok(form) => form,
        Err(message) => return Ok(invalid_request(&message)),
    };
    if let Err(reply) = check_client(&form, true) {
        return Ok(reply);
    }
    let scope = match parse_scope(form.get("scope")) {
        Ok(scope) => scope,
        Err(message) => return Ok(Reply::oauth_error(400, err::INVALID_SCOPE, &message)),
    };
    let email = form.get("login_hint").map(str::trim);
    if email.is_some_and(|e| !mail::valid_address(e)) {
        return Ok(invalid_request("login_hint is not a valid email address"));
    }
    let redirect_uri = form.get("redirect_uri");
    if redirect_uri.is_some_and(|uri| !valid_loopback_redirect(uri)) {
        return Ok(invalid_request(
            "redirect_uri must be http://127.0.0.1:PORT/… or http://[::1]:PORT/…",
        ));
    }

    let now = clock::now_secs();
    let settings = &app.settings;
    let created = db.write(|tx| -> DbResult<Option<Created>> {
        let window_start = now - RATE_WINDOW_SECS;
        if !tx.rate_allow(
            DEVICE_RATE,
            &request.ip,
            settings.rate_limit,
            now,
            window_start,
        )? {
            return Ok(None);
        }
        if let Some(email) = email {
            if !magic::mail_allowed(tx, app, email, now)? {
                return Ok(None);
            }
        }
        let mut user_code = secrets::new_user_code();
        while tx.user_code_in_use(&user_code, now)? {
            user_code = secrets::new_user_code();
        }
        let device_code = secrets::token::<32>();
        let device = DeviceRequest {
            id: secrets::new_id("dev"),
            user_code,
            client_id: my_api::CLIENT_ID.to_string(),
            scope: scope.clone(),
            email: email.map(str::to_string),
            redirect_uri: redirect_uri.map(str::to_string),
            client_ip: request.ip.clone(),
            status: DeviceStatus::Pending,
            user_id: None,
            interval_secs: secs(settings.device_interval),
            last_poll_ms: None,
            created_at: now,
            expires_at: now + secs(settings.device_ttl),
        };
        tx.insert_device_request(&device, &secrets::sha256_hex(&device_code))?;
        let link = match email {
            Some(email) => {
                let target = LinkTarget::Device(device.id.clone());
                Some(magic::new_link(
                    tx,
                    app,
                    target,
                    email,
                    device.expires_at,
                    now,
                )?)
            }
            None => None,
        };
        Ok(Some(Created {
            device_code,
            device,
            link,
        }))
    })?;
    let Some(created) = created else {
        return Ok(Reply::oauth_error(429, err::INVALID_REQUEST, TOO_MANY));
    };
    if let (Some(email), Some((token, expires_at))) = (email, &created.link) {
        magic::mail_device_link(app, &created.device, email, token, *expires_at)?;
    }
    let user_code = secrets::format_user_code(&created.device.user_code);
    let verification_uri = app.url(paths::DEVICE_PAGE);
    Ok(Reply::json_no_store(
        200,
        &DeviceAuthorizationResponse {
            device_code: created.device_code,
            verification_uri_complete: Some(format!("{verification_uri}?user_code={user_code}")),
            verification_uri,
            user_code,
            expires_in: settings.device_ttl,
            interval: Some(settings.device_interval),
            link_sent: email.is_some(),
        },
    ))
}

/// `POST /oauth/token`.
pub(crate) fn token(app: &App, db: &mut Db, request: &Request) -> Result<Reply, ServerError> {
    let form = match request.form() {
        Ok(form) => form,
        Err(message) => return Ok(invalid_request(&message)),
    };
    match form.get("grant_type") {
        None => Ok(invalid_request("grant_type is required")),
        Some(grants::DEVICE_CODE) => match check_client(&form, true) {
            Ok(()) => device_code_grant(app, db, &form),
            Err(reply) => Ok(reply),
        },
        Some(grants::REFRESH_TOKEN) => match check_client(&form, false) {
            Ok(()) => refresh_grant(app, db, &form),
            Err(reply) => Ok(reply),
        },
        Some(grants::AUTHORIZATION_CODE) => match check_client(&form, true) {
            Ok(()) => authorization_code_grant(app, db, &form),
            Err(reply) => Ok(reply),
        },
        Some(_) => Ok(Reply::oauth_error(
            400,
            err::UNSUPPORTED_GRANT_TYPE,
            "unsupported grant_type",
        )),
    }
}

/// Tokens minted inside a transaction, answered after it commits.
struct Issued {
    user: User,
    session: Session,
    refresh_token: String,
}

/// The token response for `issued`, with a fresh access token.
fn token_response(app: &App, issued: &Issued, now_ms: i64) -> Reply {
    let now = now_ms.div_euclid(1000);
    // Round the issue time up before adding the TTL, so a token lives at least
    // --access-ttl even though exp has whole-second resolution (matters for `1s`).
    let exp_base = now_ms.div_euclid(1000) + i64::from(now_ms.rem_euclid(1000) != 0);
    let claims = AccessClaims {
        iss: app.issuer.clone(),
        sub: issued.user.id.clone(),
        email: issued.user.email.clone(),
        sid: issued.session.id.clone(),
        iat: u64::try_from(now).unwrap_or(0),
        exp: u64::try_from(exp_base).unwrap_or(0) + app.settings.access_ttl,
    };
    Reply::json_no_store(
        200,
        &TokenResponse {
            access_token: jwt::sign(&claims, &app.key),
            token_type: "Bearer".into(),
            expires_in: Some(app.settings.access_ttl),
            refresh_token: Some(issued.refresh_token.clone()),
            refresh_token_expires_in: Some(
                u64::try_from(issued.session.expires_at - now).unwrap_or(0),
            ),
            scope: Some(issued.session.scope.clone()),
        },
    )
}

enum Poll {
    Invalid,
    Expired,
    Denied,
    Pending,
    SlowDown(i64),
    Issued(Box<Issued>),
}

/// Starts a session for `user_id` and returns it with its first refresh token.
fn start_session(
    tx: &Tx,
    app: &App,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> DbResult<Option<Issued>> {
    let Some(user) = tx.user(user_id)? else {
        return Ok(None);
    };
    let max_expires_at = now + secs(app.settings.session_max);
    let session = Session {
        id: secrets::new_id("ses"),
        user_id: user.id.clone(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        refresh_count: 0,
        created_at: now,
        expires_at: (now + secs(app.settings.session_ttl)).min(max_expires_at),
        max_expires_at,
        revoked_at: None,
    };
    tx.insert_session(&session)?;
    let refresh_token = secrets::token::<32>();
    tx.insert_refresh_token(&secrets::sha256_hex(&refresh_token), &session.id, now)?;
    Ok(Some(Issued {
        user,
        session,
        refresh_token,
    }))
}

fn device_code_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, ServerError> {
    let Some(device_code) = form.get("device_code") else {
        return Ok(invalid_request("device_code is required"));
    };
    let hash = secrets::sha256_hex(device_code);
    let now_ms = clock::now_millis();
    let now = now_ms.div_euclid(1000);
    let poll = db.write(|tx| -> DbResult<Poll> {
        let Some(device) = tx.device_by_code_hash(&hash)? else {
            return Ok(Poll::Invalid);
        };
        if device.status == DeviceStatus::Consumed {
            // Single use: a poll after success is a replay.
            return Ok(Poll::Invalid);
        }
        if now >= device.expires_at {
            return Ok(Poll::Expired);
        }
        match device.status {
            DeviceStatus::Consumed => Ok(Poll::Invalid),
            DeviceStatus::Denied => Ok(Poll::Denied),
            // Answered at once, whatever the poll timing: the CLI polls immediately when
            // the loopback redirect wakes it.
            DeviceStatus::Approved => {
                let Some(user_id) = device.user_id.as_deref() else {
                    return Ok(Poll::Invalid);
                };
                if !tx.set_device_status(
                    &device.id,
                    DeviceStatus::Approved,
                    DeviceStatus::Consumed,
                    None,
                )? {
                    return Ok(Poll::Invalid);
                }
                Ok(
                    match start_session(tx, app, user_id, &device.client_id, &device.scope, now)? {
                        Some(issued) => Poll::Issued(Box::new(issued)),
                        None => Poll::Invalid,
                    },
                )
            }
            DeviceStatus::Pending => {
                // Clients' clocks drift (VMs, WSL): only a poll earlier than 80% of the
                // interval counts as too fast.
                let too_fast = device
                    .last_poll_ms
                    .is_some_and(|last| (now_ms - last) < device.interval_secs * 800);
                let interval = device.interval_secs + if too_fast { SLOW_DOWN_STEP } else { 0 };
                tx.record_poll(&device.id, now_ms, interval)?;
                Ok(if too_fast {
                    Poll::SlowDown(interval)
                } else {
                    Poll::Pending
                })
            }
        }
    })?;
    Ok(match poll {
        Poll::Invalid => invalid_grant("device_code is not valid or was already used"),
        Poll::Expired => Reply::oauth_error(
            400,
            err::EXPIRED_TOKEN,
            "the sign-in request expired; start again",
        ),
        Poll::Denied => Reply::oauth_error(400, err::ACCESS_DENIED, "the sign-in was denied"),
        Poll::Pending => Reply::oauth_error(
            400,
            err::AUTHORIZATION_PENDING,
            "waiting for the sign-in to be confirmed",
        ),
        Poll::SlowDown(interval) => Reply::json_no_store(
            400,
            &OAuthError {
                error: err::SLOW_DOWN.into(),
                error_description: Some(format!(
                    "polling too fast; wait {interval}s between polls"
                )),
                interval: u64::try_from(interval).ok(),
            },
        ),
        Poll::Issued(issued) => {
            eprintln!("session {} started by device flow", issued.session.id);
            token_response(app, &issued, now_ms)
        }
    })
}

enum Redeem {
    Invalid(&'static str),
    /// A spent code was presented again: the session it started (if still live) was
    /// revoked.
    Replay(Option<String>),
    Issued(Box<Issued>),
}

/// The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6): the code is
/// single use and short-lived, the redirect URI must be the one of the request, and
/// S256(code_verifier) must be its challenge. A replayed code revokes what it issued.
fn authorization_code_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, ServerError> {
    let Some(code) = form.get("code") else {
        return Ok(invalid_request("code is required"));
    };
    let Some(redirect_uri) = form.get("redirect_uri") else {
        return Ok(invalid_request("redirect_uri is required"));
    };
    let Some(verifier) = form.get("code_verifier") else {
        return Ok(invalid_request("code_verifier is required (PKCE)"));
    };
    let hash = secrets::sha256_hex(code);
    let now_ms = clock::now_millis();
    let now = now_ms.div_euclid(1000);
    let outcome = db.write(|tx| -> DbResult<Redeem> {
        let Some(found) = tx.auth_code(&hash)? else {
            return Ok(Redeem::Invalid("authorization code is not valid"));
        };
        if found.used_at.is_some() {
            let revoked = match found.session_id {
                Some(id) if tx.revoke_session(&id, now)? => Some(id),
                _ => None,
            };
            return Ok(Redeem::Replay(revoked));
        }
        if now >= found.expires_at {
            return Ok(Redeem::Invalid("authorization code expired"));
        }
        let Some(request) = tx.auth_request(&found.request_id)? else {
            return Ok(Redeem::Invalid("authorization code is not valid"));
        };
        if request.client_id != my_api::CLIENT_ID {
            return Ok(Redeem::Invalid("authorization code is not valid"));
        }
        if request.redirect_uri != redirect_uri {
            return Ok(Redeem::Invalid(
                "redirect_uri does not match the authorization request",
            ));
        }
        if !pkce::verify(verifier, &request.code_challenge) {
            return Ok(Redeem::Invalid(
                "code_verifier does not match the code_challenge",
            ));
        }
        let Some(issued) = start_session(
            tx,
            app,
            &found.user_id,
            &request.client_id,
            &request.scope,
            now,
        )?
        else {
            return Ok(Redeem::Invalid("authorization code is not valid"));
        };
        if !tx.redeem_auth_code(&hash, now, &issued.session.id)? {
            // Unreachable inside the IMMEDIATE transaction; refuse rather than issue twice.
            return Err(rusqlite::Error::QueryReturnedNoRows);
        }
        Ok(Redeem::Issued(Box::new(issued)))
    })?;
    Ok(match outcome {
        Redeem::Invalid(description) => invalid_grant(description),
        Redeem::Replay(revoked) => {
            if let Some(session_id) = revoked {
                eprintln!("session {session_id} revoked: its authorization code was reused");
            }
            invalid_grant("authorization code was already used; the session it started is revoked")
        }
        Redeem::Issued(issued) => {
            eprintln!("session {} started by browser flow", issued.session.id);
            token_response(app, &issued, now_ms)
        }
    })
}

enum Refresh {
    Invalid(&'static str),
    /// A dead token was presented: the whole session was revoked.
    Reuse(String),
    Rotated(Issued),
    /// The immediate predecessor within the grace window: the current token again.
    Grace(Issued),
}

/// The refresh grant with rotation and reuse detection, all in one IMMEDIATE
/// transaction so that concurrent refreshes of one token are serialised.
fn refresh_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, ServerError> {
    let Some(presented) = form.get("refresh_token") else {
        return Ok(invalid_request("refresh_token is required"));
    };
    let hash = secrets::sha256_hex(presented);
    let now_ms = clock::now_millis();
    let now = now_ms.div_euclid(1000);
    let grace = secs(app.settings.refresh_grace);
    let outcome = db.write(|tx| -> DbResult<Refresh> {
        tx.wipe_expired_grace(now - grace)?;
        let Some(token) = tx.refresh_token(&hash)? else {
            return Ok(Refresh::Invalid("refresh token is not valid"));
        };
        let Some(mut session) = tx.session(&token.session_id)? else {
            return Ok(Refresh::Invalid("refresh token is not valid"));
        };
        if session.revoked_at.is_some() || token.revoked_at.is_some() {
            return Ok(Refresh::Invalid("session revoked"));
        }
        if now >= session.expires_at {
            return Ok(Refresh::Invalid("session expired"));
        }
        let Some(user) = tx.user(&session.user_id)? else {
            return Ok(Refresh::Invalid("refresh token is not valid"));
        };
        let Some(rotated_at) = token.rotated_at else {
            let successor = secrets::token::<32>();
            let successor_hash = secrets::sha256_hex(&successor);
            tx.insert_refresh_token(&successor_hash, &session.id, now)?;
            let keep = (grace > 0).then_some(successor.as_str());
            tx.mark_rotated(&hash, now, &successor_hash, keep)?;
            session.expires_at = (now + secs(app.settings.session_ttl)).min(session.max_expires_at);
            session.refresh_count += 1;
            tx.record_refresh(&session.id, session.expires_at)?;
            return Ok(Refresh::Rotated(Issued {
                user,
                session,
                refresh_token: successor,
            }));
        };
        if now - rotated_at < grace {
            if let (Some(successor_hash), Some(successor)) =
                (&token.successor_hash, token.successor_raw)
            {
                let current = tx
                    .refresh_token(successor_hash)?
                    .is_some_and(|s| s.rotated_at.is_none() && s.revoked_at.is_none());
                if current {
                    return Ok(Refresh::Grace(Issued {
                        user,
                        session,
                        refresh_token: successor,
                    }));
                }
            }
        }
        tx.revoke_session(&session.id, now)?;
        Ok(Refresh::Reuse(session.id))
    })?;
    Ok(match outcome {
        Refresh::Invalid(description) => invalid_grant(description),
        Refresh::Reuse(session_id) => {
            eprintln!("session {session_id} revoked: a rotated refresh token was reused");
            invalid_grant("refresh token was already used; the session is revoked")
        }
        Refresh::Rotated(issued) | Refresh::Grace(issued) => token_response(app, &issued, now_ms),
    })
}

/// `POST /oauth/revoke` (RFC 7009): a refresh token, or one of our access tokens,
/// revokes its whole session. Always 200 with an empty body, even for unknown tokens.
pub(crate) fn revoke(app: &App, db: &mut Db, request: &Request) -> Result<Reply, ServerError> {
    let form = match request.form() {
        Ok(form) => form,
        Err(message) => return Ok(invalid_request(&message)),
    };
    if let Err(reply) = check_client(&form, false) {
        return Ok(reply);
    }
    let Some(token) = form.get("token") else {
        return Ok(invalid_request("token is required"));
    };
    let now = clock::now_secs();
    let hash = secrets::sha256_hex(token);
    let access_sid = jwt::verify(token, &app.key, u64::try_from(now).unwrap_or(0))
        .ok()
        .map(|claims| claims.sid);
    let revoked = db.write(|tx| -> DbResult<Option<String>> {
        let session_id = match tx.refresh_token(&hash)? {
            Some(found) => Some(found.session_id),
            None => access_sid,
        };
        match session_id {
            Some(id) if tx.revoke_session(&id, now)? => Ok(Some(id)),
            _ => Ok(None),
        }
    })?;
    if let Some(session_id) = revoked {
        eprintln!("session {session_id} revoked by the client");
    }
    Ok(Reply::new(200)
        .header("Cache-Control", "no-store")
        .header("Pragma", "no-cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects() {
        for ok in [
            "http://127.0.0.1:5000/callback",
            "http://127.0.0.1:1/",
            "http://127.0.0.1:65535",
            "http://[::1]:8080/cb?x=1",
        ] {
            assert!(valid_loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "http://localhost:5000/cb",
            "https://127.0.0.1:5000/cb",
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
