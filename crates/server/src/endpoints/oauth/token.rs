//! `POST /oauth/token`: the token endpoint, with the device code grant (RFC 8628), the
//! authorization code grant with PKCE (RFC 6749 §4.1.3, RFC 7636) and the refresh grant
//! with rotation (RFC 9700). Errors follow RFC 6749 §5.2 and are never cached.

use crate::app::App;
use crate::clock;
use crate::crypto::{pkce, secrets};
use crate::db::{Db, DbError, DbResult, DeviceStatus};
use crate::domain::oauth::{check_client, invalid_grant, invalid_request};
use crate::domain::sessions::{self, start_session, token_response, Issued, Refresh};
use crate::web::{Error, Form, Params, Reply, Request};
use my_api::{grants, oauth_errors as err, OAuthError};

/// Seconds added to the interval on each `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN_STEP: i64 = 5;

/// `POST /oauth/token`.
pub(crate) fn post(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = request.form().map_err(invalid_request)?;
    match form.get("grant_type") {
        None => Err(invalid_request("grant_type is required")),
        Some(grants::DEVICE_CODE) => {
            check_client(&form, true)?;
            device_code_grant(app, db, &form)
        }
        Some(grants::REFRESH_TOKEN) => {
            check_client(&form, false)?;
            refresh_grant(app, db, &form)
        }
        Some(grants::AUTHORIZATION_CODE) => {
            check_client(&form, true)?;
            authorization_code_grant(app, db, &form)
        }
        Some(_) => Err(Error::oauth(
            400,
            err::UNSUPPORTED_GRANT_TYPE,
            "unsupported grant_type",
        )),
    }
}

enum Poll {
    Invalid,
    Expired,
    Denied,
    Pending,
    SlowDown(i64),
    Issued(Box<Issued>),
}

fn device_code_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, Error> {
    let Some(device_code) = form.get("device_code") else {
        return Err(invalid_request("device_code is required"));
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
    match poll {
        Poll::Invalid => Err(invalid_grant(
            "device_code is not valid or was already used",
        )),
        Poll::Expired => Err(Error::oauth(
            400,
            err::EXPIRED_TOKEN,
            "the sign-in request expired; start again",
        )),
        Poll::Denied => Err(Error::oauth(
            400,
            err::ACCESS_DENIED,
            "the sign-in was denied",
        )),
        Poll::Pending => Err(Error::oauth(
            400,
            err::AUTHORIZATION_PENDING,
            "waiting for the sign-in to be confirmed",
        )),
        // The one OAuth error with an extra field.
        Poll::SlowDown(interval) => Err(Error::Reply(Reply::json_no_store(
            400,
            &OAuthError {
                error: err::SLOW_DOWN.into(),
                error_description: Some(format!(
                    "polling too fast; wait {interval}s between polls"
                )),
                interval: u64::try_from(interval).ok(),
            },
        ))),
        Poll::Issued(issued) => {
            eprintln!("session {} started by device flow", issued.session.id);
            token_response(app, db, &issued, now_ms)
        }
    }
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
fn authorization_code_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, Error> {
    let Some(code) = form.get("code") else {
        return Err(invalid_request("code is required"));
    };
    let Some(redirect_uri) = form.get("redirect_uri") else {
        return Err(invalid_request("redirect_uri is required"));
    };
    let Some(verifier) = form.get("code_verifier") else {
        return Err(invalid_request("code_verifier is required (PKCE)"));
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
                Some(id) if sessions::revoke_stolen(tx, &id, now)? => Some(id),
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
            return Err(DbError::NoRows);
        }
        Ok(Redeem::Issued(Box::new(issued)))
    })?;
    match outcome {
        Redeem::Invalid(description) => Err(invalid_grant(description)),
        Redeem::Replay(revoked) => {
            if let Some(session_id) = revoked {
                eprintln!("session {session_id} revoked: its authorization code was reused");
            }
            Err(invalid_grant(
                "authorization code was already used; the session it started is revoked",
            ))
        }
        Redeem::Issued(issued) => {
            eprintln!("session {} started by browser flow", issued.session.id);
            token_response(app, db, &issued, now_ms)
        }
    }
}

/// The refresh grant with rotation and reuse detection, all in one IMMEDIATE
/// transaction so that concurrent refreshes of one token are serialised.
fn refresh_grant(app: &App, db: &mut Db, form: &Form) -> Result<Reply, Error> {
    let Some(presented) = form.get("refresh_token") else {
        return Err(invalid_request("refresh_token is required"));
    };
    let now_ms = clock::now_millis();
    let now = now_ms.div_euclid(1000);
    let outcome = db.write(|tx| sessions::refresh(tx, app, presented, now))?;
    match outcome {
        Refresh::Invalid(description) => Err(invalid_grant(description)),
        Refresh::Reuse(session_id) => {
            eprintln!("session {session_id} revoked: a rotated refresh token was reused");
            Err(invalid_grant(
                "refresh token was already used; the session is revoked",
            ))
        }
        Refresh::Rotated(issued) | Refresh::Grace(issued) => {
            token_response(app, db, &issued, now_ms)
        }
    }
}
