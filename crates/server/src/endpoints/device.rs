//! `/device`, the RFC 8628 verification page: someone whose client sent no email types the
//! user code and an address, and gets the request's magic link by mail.

use crate::app::App;
use crate::clock;
use crate::crypto::csrf::{self, Purpose};
use crate::crypto::secrets;
use crate::db::{Db, DbResult, DeviceRequest, LinkTarget};
use crate::domain::clients;
use crate::domain::magic_links::{allow_mail, mail_device_link, new_link, MailAsk};
use crate::mail;
use crate::pages;
use crate::settings::{RATE_WINDOW_SECS, USER_CODE_GUESS_GLOBAL_LIMIT, USER_CODE_GUESS_LIMIT};
use crate::web::{Error, Params, Reply, Request};

/// Rate-limit kinds: wrong user codes per client address, and of everyone, on `/device`.
const GUESS_RATE: &str = "user_code_guess";
const GUESS_ALL: &str = "user_code_guess_all";
/// How long a `/device` form may be submitted after it was served.
const DEVICE_FORM_SECS: i64 = 3600;

/// The `/device` form, with a fresh CSRF token.
fn device_form(app: &App, status: u16, code: &str, email: &str, error: Option<&str>) -> Reply {
    let csrf = csrf::timed_token(&app.key, Purpose::Device, clock::now_secs());
    Reply::html(status, pages::device_form(code, email, &csrf, error))
}

/// `GET /device[?user_code=…]`: the code-and-email form.
pub(crate) fn get(app: &App, _: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let query = request.query_form().unwrap_or_default();
    let code = query.get("user_code").unwrap_or("");
    Ok(device_form(app, 200, code, "", None))
}

enum Submit {
    TooManyGuesses,
    UnknownCode,
    /// Over a mail limit: seconds until a mail may be sent again.
    TooManyMails(i64),
    /// Same answer as a sent mail: the request belongs to another address.
    NotSent,
    Send(Box<DeviceRequest>, String, String, i64),
}

/// `POST /device` (`user_code`, `email`): mails a magic link for the pending request
/// with that code. The answer does not depend on whether the address has an account.
pub(crate) fn post(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Ok(form) = request.form() else {
        return Err(Error::page(403, pages::forbidden()));
    };
    let now = clock::now_secs();
    let csrf = form.get(csrf::FIELD);
    if !csrf::verify_timed(&app.key, Purpose::Device, csrf, now, DEVICE_FORM_SECS) {
        return Err(Error::page(403, pages::forbidden()));
    }
    let code_input = form.get("user_code").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    if !mail::valid_address(email) {
        return Ok(device_form(
            app,
            400,
            code_input,
            email,
            Some("Enter a valid email address."),
        ));
    }
    let window_start = now - RATE_WINDOW_SECS;
    let ip = &clients::rate_key(&request.ip);
    let outcome = db.write(|tx| -> DbResult<Submit> {
        if tx.rate_count(GUESS_RATE, ip, window_start)? >= USER_CODE_GUESS_LIMIT
            || tx.rate_count(GUESS_ALL, "*", window_start)? >= USER_CODE_GUESS_GLOBAL_LIMIT
        {
            return Ok(Submit::TooManyGuesses);
        }
        let device = match secrets::normalize_user_code(code_input) {
            Some(code) => tx.pending_device_by_user_code(&code, now)?,
            None => None,
        };
        let Some(device) = device else {
            tx.rate_record(GUESS_RATE, ip, now, window_start)?;
            tx.rate_record(GUESS_ALL, "*", now, window_start)?;
            return Ok(Submit::UnknownCode);
        };
        // A request started for one address never gets a link mailed to another. One
        // started without gets a link for the address typed here, bound to that address
        // in the link only: the first to type the code does not claim the request.
        let owner = device.email.clone().unwrap_or_else(|| email.to_string());
        if !owner.eq_ignore_ascii_case(email) {
            return Ok(Submit::NotSent);
        }
        let ask = MailAsk {
            to: &owner,
            client: ip,
            request_id: &device.id,
        };
        if let Err(retry_after) = allow_mail(tx, app, &ask, now)? {
            return Ok(Submit::TooManyMails(retry_after));
        }
        let target = LinkTarget::Device(device.id.clone());
        let (token, expires_at) = new_link(tx, app, target, &owner, device.expires_at, now)?;
        Ok(Submit::Send(Box::new(device), owner, token, expires_at))
    })?;
    Ok(match outcome {
        Submit::TooManyGuesses => Reply::html(
            429,
            pages::too_many("Too many wrong codes. Try again in a few minutes."),
        )
        .header("Retry-After", RATE_WINDOW_SECS.to_string()),
        Submit::UnknownCode => device_form(
            app,
            400,
            code_input,
            email,
            Some("That code is not valid or has expired. Check the code in your terminal."),
        ),
        Submit::TooManyMails(retry_after) => Reply::html(
            429,
            pages::too_many("Too many sign-in emails. Try again later."),
        )
        .header("Retry-After", retry_after.to_string()),
        Submit::NotSent => Reply::html(200, pages::check_inbox()),
        Submit::Send(device, owner, token, expires_at) => {
            mail_device_link(app, db, &device, &owner, &token, expires_at, || {
                Reply::html(503, pages::mail_unavailable())
            })?;
            Reply::html(200, pages::check_inbox())
        }
    })
}
