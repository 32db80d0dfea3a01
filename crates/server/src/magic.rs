//! Magic links and the RFC 8628 verification page.
//!
//! A magic link is single use, short-lived, stored hashed and bound to one device
//! request. A GET only shows what would be approved (mail scanners fetch every link);
//! only the POST from its Confirm or Deny button acts. `/device` lets someone whose
//! client sent no email type the user code and an address to get such a link.

use crate::clock;
use crate::config::{App, RATE_WINDOW_SECS, USER_CODE_GUESS_LIMIT};
use crate::db::{Db, DbResult, DeviceRequest, DeviceStatus, MagicLink, Tx};
use crate::http::{Reply, Request, ServerError};
use crate::mail::{self, SignInMail};
use crate::pages;
use crate::secrets;
use my_api::paths;

/// Rate-limit kind: sign-in mails per (lower-cased) address.
const MAIL_RATE: &str = "mail_to";
/// Rate-limit kind: wrong user codes per client address on `/device`.
const GUESS_RATE: &str = "user_code_guess";

/// Counts a sign-in mail to `email` against its limit; false when over it.
pub(crate) fn mail_allowed(tx: &Tx, app: &App, email: &str, now: i64) -> DbResult<bool> {
    tx.rate_allow(
        MAIL_RATE,
        &email.to_lowercase(),
        app.settings.mail_rate_limit,
        now,
        now - RATE_WINDOW_SECS,
    )
}

/// Creates a link for `device_request_id` and returns its raw token (for the mail only).
pub(crate) fn new_link(
    tx: &Tx,
    app: &App,
    device_request_id: &str,
    email: &str,
    now: i64,
) -> DbResult<String> {
    let token = secrets::token::<32>();
    tx.insert_magic_link(
        &secrets::sha256_hex(&token),
        &MagicLink {
            device_request_id: device_request_id.to_string(),
            email: email.to_string(),
            created_at: now,
            expires_at: now + secs(app.settings.link_ttl),
            used_at: None,
        },
    )?;
    Ok(token)
}

/// Mails the link `token` for `device` to `email`.
pub(crate) fn mail_link(
    app: &App,
    device: &DeviceRequest,
    email: &str,
    token: &str,
) -> Result<(), ServerError> {
    let link = app.url(&format!("{}{token}", paths::MAGIC_LINK));
    let user_code = secrets::format_user_code(&device.user_code);
    let mail = SignInMail {
        to: email,
        user_code: &user_code,
        link: &link,
        link_ttl_secs: app.settings.link_ttl,
        requested_from: &device.client_ip,
        requested_at: device.created_at,
    };
    mail::send_sign_in(&app.settings.mail_dir, &mail, clock::now_millis())?;
    Ok(())
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX / 4)
}

/// What a link token leads to right now.
enum LinkState {
    /// Unknown, used, or its device request was already decided.
    Invalid,
    Expired,
    Valid(Box<(MagicLink, DeviceRequest)>),
}

fn link_state(tx: &Tx, token_hash: &str, now: i64) -> DbResult<LinkState> {
    let Some(link) = tx.magic_link(token_hash)? else {
        return Ok(LinkState::Invalid);
    };
    if link.used_at.is_some() {
        return Ok(LinkState::Invalid);
    }
    if now >= link.expires_at {
        return Ok(LinkState::Expired);
    }
    let Some(device) = tx.device_by_id(&link.device_request_id)? else {
        return Ok(LinkState::Invalid);
    };
    if device.status != DeviceStatus::Pending {
        return Ok(LinkState::Invalid);
    }
    if now >= device.expires_at {
        return Ok(LinkState::Expired);
    }
    Ok(LinkState::Valid(Box::new((link, device))))
}

/// Tokens are base64url; anything else is not worth a database lookup.
fn plausible_token(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /magic/{token}`: shows the code, the account, where and when it was requested,
/// and the Confirm / Deny buttons. Never changes anything.
pub(crate) fn show_link(_app: &App, db: &mut Db, token: &str) -> Result<Reply, ServerError> {
    if !plausible_token(token) {
        return Ok(Reply::html(404, pages::link_invalid()));
    }
    let hash = secrets::sha256_hex(token);
    let now = clock::now_secs();
    let state = db.read(|tx| link_state(tx, &hash, now))?;
    Ok(match state {
        LinkState::Invalid => Reply::html(404, pages::link_invalid()),
        LinkState::Expired => Reply::html(410, pages::link_expired()),
        LinkState::Valid(found) => {
            let (link, device) = *found;
            Reply::html(
                200,
                pages::confirm(
                    &secrets::format_user_code(&device.user_code),
                    device.email.as_deref().unwrap_or(&link.email),
                    &device.client_ip,
                    &clock::rfc3339(device.created_at),
                ),
            )
        }
    })
}

enum Decision {
    Invalid,
    Expired,
    Done {
        approved: bool,
        redirect_uri: Option<String>,
    },
}

/// `POST /magic/{token}` with `action=confirm|deny`: spends the link and decides the
/// device request, then redirects to the client's loopback address or shows the result.
pub(crate) fn act_on_link(
    _app: &App,
    db: &mut Db,
    token: &str,
    request: &Request,
) -> Result<Reply, ServerError> {
    if !plausible_token(token) {
        return Ok(Reply::html(404, pages::link_invalid()));
    }
    let form = match request.form() {
        Ok(form) => form,
        Err(message) => return Ok(Reply::html(400, pages::bad_request(&message))),
    };
    let approve = match form.get("action") {
        Some("confirm") => true,
        Some("deny") => false,
        _ => {
            return Ok(Reply::html(
                400,
                pages::bad_request("Choose Confirm or Deny on the sign-in page."),
            ))
        }
    };
    let hash = secrets::sha256_hex(token);
    let now = clock::now_secs();
    let decision = db.write(|tx| -> DbResult<Decision> {
        let (link, device) = match link_state(tx, &hash, now)? {
            LinkState::Invalid => return Ok(Decision::Invalid),
            LinkState::Expired => return Ok(Decision::Expired),
            LinkState::Valid(found) => *found,
        };
        if !tx.use_magic_link(&hash, now)? {
            return Ok(Decision::Invalid);
        }
        let decided = if approve {
            let email = device.email.as_deref().unwrap_or(&link.email);
            let user = tx.ensure_user(email, &secrets::new_id("usr"), now)?;
            tx.set_device_status(
                &device.id,
                DeviceStatus::Pending,
                DeviceStatus::Approved,
                Some(&user.id),
            )?
        } else {
            tx.set_device_status(
                &device.id,
                DeviceStatus::Pending,
                DeviceStatus::Denied,
                None,
            )?
        };
        if !decided {
            return Ok(Decision::Invalid);
        }
        Ok(Decision::Done {
            approved: approve,
            redirect_uri: device.redirect_uri,
        })
    })?;
    Ok(match decision {
        Decision::Invalid => Reply::html(404, pages::link_invalid()),
        Decision::Expired => Reply::html(410, pages::link_expired()),
        Decision::Done {
            approved,
            redirect_uri,
        } => {
            eprintln!(
                "sign-in {} through a magic link",
                if approved { "confirmed" } else { "denied" }
            );
            match redirect_uri {
                Some(uri) => Reply::see_other(&loopback_target(&uri, approved)),
                None if approved => Reply::html(200, pages::signed_in()),
                None => Reply::html(200, pages::denied()),
            }
        }
    })
}

/// The client's loopback URI with the outcome appended (no secret: the client still
/// fetches tokens from the token endpoint).
fn loopback_target(redirect_uri: &str, approved: bool) -> String {
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let outcome = if approved {
        "status=approved"
    } else {
        "error=access_denied"
    };
    format!("{redirect_uri}{separator}{outcome}")
}

/// `GET /device[?user_code=…]`: the code-and-email form.
pub(crate) fn device_page(request: &Request) -> Reply {
    let query = request.query_form().unwrap_or_default();
    let code = query.get("user_code").unwrap_or("");
    Reply::html(200, pages::device_form(code, "", None))
}

enum Submit {
    TooManyGuesses,
    UnknownCode,
    TooManyMails,
    /// Same answer as a sent mail: the request belongs to another address.
    NotSent,
    Send(Box<DeviceRequest>, String, String),
}

/// `POST /device` (`user_code`, `email`): mails a magic link for the pending request
/// with that code. The answer does not depend on whether the address has an account.
pub(crate) fn device_submit(
    app: &App,
    db: &mut Db,
    request: &Request,
) -> Result<Reply, ServerError> {
    let form = match request.form() {
        Ok(form) => form,
        Err(message) => return Ok(Reply::html(400, pages::bad_request(&message))),
    };
    let code_input = form.get("user_code").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    if !mail::valid_address(email) {
        return Ok(Reply::html(
            400,
            pages::device_form(code_input, email, Some("Enter a valid email address.")),
        ));
    }
    let now = clock::now_secs();
    let window_start = now - RATE_WINDOW_SECS;
    let ip = request.ip.as_str();
    let outcome = db.write(|tx| -> DbResult<Submit> {
        if tx.rate_count(GUESS_RATE, ip, window_start)? >= USER_CODE_GUESS_LIMIT {
            return Ok(Submit::TooManyGuesses);
        }
        let device = match secrets::normalize_user_code(code_input) {
            Some(code) => tx.pending_device_by_user_code(&code, now)?,
            None => None,
        };
        let Some(device) = device else {
            tx.rate_record(GUESS_RATE, ip, now, window_start)?;
            return Ok(Submit::UnknownCode);
        };
        let owner = match &device.email {
            Some(existing) => existing.clone(),
            None if tx.set_device_email_if_unset(&device.id, email)? => email.to_string(),
            None => return Ok(Submit::NotSent),
        };
        // A request started for one address never gets a link mailed to another.
        if !owner.eq_ignore_ascii_case(email) {
            return Ok(Submit::NotSent);
        }
        if !mail_allowed(tx, app, &owner, now)? {
            return Ok(Submit::TooManyMails);
        }
        let token = new_link(tx, app, &device.id, &owner, now)?;
        Ok(Submit::Send(Box::new(device), owner, token))
    })?;
    Ok(match outcome {
        Submit::TooManyGuesses => Reply::html(
            429,
            pages::too_many("Too many wrong codes from your network. Try again in a few minutes."),
        ),
        Submit::UnknownCode => Reply::html(
            400,
            pages::device_form(
                code_input,
                email,
                Some("That code is not valid or has expired. Check the code in your terminal."),
            ),
        ),
        Submit::TooManyMails => Reply::html(
            429,
            pages::too_many("Too many sign-in emails for this address. Try again later."),
        ),
        Submit::NotSent => Reply::html(200, pages::check_inbox()),
        Submit::Send(device, owner, token) => {
            mail_link(app, &device, &owner, &token)?;
            Reply::html(200, pages::check_inbox())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets() {
        assert_eq!(
            loopback_target("http://127.0.0.1:5000/callback", true),
            "http://127.0.0.1:5000/callback?status=approved"
        );
        assert_eq!(
            loopback_target("http://[::1]:5000/cb?x=1", false),
            "http://[::1]:5000/cb?x=1&error=access_denied"
        );
    }

    #[test]
    fn token_shapes() {
        assert!(plausible_token(&secrets::token::<32>()));
        assert!(!plausible_token("short"));
        assert!(!plausible_token("has/slash-and-enough-characters"));
        assert!(!plausible_token(&"a".repeat(200)));
    }
}
