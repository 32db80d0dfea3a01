//! Magic links and the RFC 8628 verification page.
//!
//! A magic link is single use, short-lived, stored hashed and bound to one request: a
//! device request (the device flow) or an authorization request (the browser sign-in, see
//! `authorize`). A GET only shows what would be approved (mail scanners fetch every link);
//! only the POST from its Confirm or Deny button acts, and it must carry the page's CSRF
//! token. Confirming a browser sign-in also starts a web session and answers with a
//! redirect carrying the authorization code. `/device` lets someone whose client sent no
//! email type the user code and an address to get such a link.

use crate::app::App;
use crate::authorize;
use crate::clock;
use crate::crypto::csrf::{self, Purpose};
use crate::crypto::secrets;
use crate::db::{
    AuthRequest, Db, DbResult, DeviceRequest, DeviceStatus, LinkTarget, MagicLink, Tx,
};
use crate::http::{Reply, Request, ServerError};
use crate::mail::{self, SignInMail};
use crate::pages::{self, LinkPage};
use crate::settings::{RATE_WINDOW_SECS, USER_CODE_GUESS_LIMIT};
use crate::websession;
use my_api::paths;

/// Rate-limit kind: sign-in mails per (lower-cased) address.
const MAIL_RATE: &str = "mail_to";
/// Rate-limit kind: wrong user codes per client address on `/device`.
const GUESS_RATE: &str = "user_code_guess";
/// How long a `/device` form may be submitted after it was served.
const DEVICE_FORM_SECS: i64 = 3600;

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

/// Creates a link for `target` and returns its raw token (for the mail only) and when it
/// expires: after `--link-ttl`, or when its request does (`not_after`), whichever is first.
pub(crate) fn new_link(
    tx: &Tx,
    app: &App,
    target: LinkTarget,
    email: &str,
    not_after: i64,
    now: i64,
) -> DbResult<(String, i64)> {
    let token = secrets::token::<32>();
    let expires_at = (now + secs(app.settings.link_ttl)).min(not_after);
    tx.insert_magic_link(
        &secrets::sha256_hex(&token),
        &MagicLink {
            target,
            email: email.to_string(),
            created_at: now,
            expires_at,
            used_at: None,
        },
    )?;
    Ok((token, expires_at))
}

/// A sign-in mail to send.
pub(crate) struct LinkMail<'a> {
    pub(crate) to: &'a str,
    /// The raw link token.
    pub(crate) token: &'a str,
    /// The device flow's user code (stored form); the browser sign-in has none.
    pub(crate) user_code: Option<&'a str>,
    pub(crate) requested_from: &'a str,
    pub(crate) requested_at: i64,
    pub(crate) expires_at: i64,
}

/// Mails a magic link.
pub(crate) fn mail_link(app: &App, link: &LinkMail) -> Result<(), ServerError> {
    let url = app.url(&format!("{}{}", paths::MAGIC_LINK, link.token));
    let user_code = link.user_code.map(secrets::format_user_code);
    let now_ms = clock::now_millis();
    let mail = SignInMail {
        to: link.to,
        user_code: user_code.as_deref(),
        link: &url,
        link_ttl_secs: u64::try_from(link.expires_at - now_ms.div_euclid(1000)).unwrap_or(0),
        requested_from: link.requested_from,
        requested_at: link.requested_at,
    };
    mail::send_sign_in(&app.settings.mail_dir, &mail, now_ms)?;
    Ok(())
}

/// Mails the device flow's link `token` for `device` to `email`.
pub(crate) fn mail_device_link(
    app: &App,
    device: &DeviceRequest,
    email: &str,
    token: &str,
    expires_at: i64,
) -> Result<(), ServerError> {
    mail_link(
        app,
        &LinkMail {
            to: email,
            token,
            user_code: Some(&device.user_code),
            requested_from: &device.client_ip,
            requested_at: device.created_at,
            expires_at,
        },
    )
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX / 4)
}

/// The undecided request a valid link leads to.
enum Pending {
    Device(DeviceRequest),
    Browser(AuthRequest),
}

/// What a link token leads to right now.
enum LinkState {
    /// Unknown, used, or its request was already decided.
    Invalid,
    Expired,
    Valid(Box<(MagicLink, Pending)>),
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
    let (pending, expires_at) = match &link.target {
        LinkTarget::Device(id) => match tx.device_by_id(id)? {
            Some(device) if device.status == DeviceStatus::Pending => {
                let expires_at = device.expires_at;
                (Pending::Device(device), expires_at)
            }
            _ => return Ok(LinkState::Invalid),
        },
        LinkTarget::Authorization(id) => match tx.auth_request(id)? {
            Some(request) if request.status == crate::db::AuthStatus::Pending => {
                let expires_at = request.expires_at;
                (Pending::Browser(request), expires_at)
            }
            _ => return Ok(LinkState::Invalid),
        },
    };
    if now >= expires_at {
        return Ok(LinkState::Expired);
    }
    Ok(LinkState::Valid(Box::new((link, pending))))
}

/// Tokens are base64url; anything else is not worth a database lookup.
fn plausible_token(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /magic/{token}`: shows the account, where and when it was requested (and the
/// device flow's code), and the Confirm / Deny buttons. Never changes anything.
pub(crate) fn show_link(app: &App, db: &mut Db, token: &str) -> Result<Reply, ServerError> {
    if !plausible_token(token) {
        return Ok(Reply::html(404, pages::link_invalid()));
    }
    let hash = secrets::sha256_hex(token);
    let now = clock::now_secs();
    let state = db.read(|tx| link_state(tx, &hash, now))?;
    let (link, pending) = match state {
        LinkState::Invalid => return Ok(Reply::html(404, pages::link_invalid())),
        LinkState::Expired => return Ok(Reply::html(410, pages::link_expired())),
        LinkState::Valid(found) => *found,
    };
    let csrf = csrf::token(&app.key, Purpose::MagicLink, &[token]);
    let (user_code, email, ip, created_at) = match &pending {
        Pending::Device(device) => (
            Some(secrets::format_user_code(&device.user_code)),
            device.email.as_deref().unwrap_or(&link.email),
            device.client_ip.as_str(),
            device.created_at,
        ),
        Pending::Browser(request) => (
            None,
            link.email.as_str(),
            request.client_ip.as_str(),
            request.created_at,
        ),
    };
    Ok(Reply::html(
        200,
        pages::confirm(&LinkPage {
            user_code: user_code.as_deref(),
            email,
            ip,
            requested_at: &clock::rfc3339(created_at),
            csrf: &csrf,
        }),
    ))
}

enum Decision {
    Invalid,
    Expired,
    /// A device request was decided; the device polls for the outcome.
    Device {
        approved: bool,
        redirect_uri: Option<String>,
    },
    /// A browser sign-in was decided: where to send the browser, and a new web session.
    Browser {
        approved: bool,
        location: String,
        web_session: Option<String>,
    },
}

/// Spends the link and decides its device request.
fn decide_device(
    tx: &Tx,
    link: &MagicLink,
    device: DeviceRequest,
    approve: bool,
    now: i64,
) -> DbResult<Decision> {
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
    Ok(match decided {
        true => Decision::Device {
            approved: approve,
            redirect_uri: device.redirect_uri,
        },
        false => Decision::Invalid,
    })
}

/// Decides a browser sign-in: on approval the user (created if new) gets a web session
/// and the request an authorization code.
fn decide_browser(
    tx: &Tx,
    app: &App,
    link: &MagicLink,
    request: &AuthRequest,
    approve: bool,
    now: i64,
) -> DbResult<Decision> {
    if !approve {
        return Ok(match authorize::deny(tx, request)? {
            true => Decision::Browser {
                approved: false,
                location: authorize::denied_callback(app, request),
                web_session: None,
            },
            false => Decision::Invalid,
        });
    }
    let user = tx.ensure_user(&link.email, &secrets::new_id("usr"), now)?;
    let Some(code) = authorize::issue_code(tx, app, request, &user.id, now)? else {
        return Ok(Decision::Invalid);
    };
    let web_session = websession::start(tx, &user.id, now)?;
    Ok(Decision::Browser {
        approved: true,
        location: authorize::code_callback(app, request, &code),
        web_session: Some(web_session),
    })
}

/// `POST /magic/{token}` with `csrf` and `action=confirm|deny`: spends the link and
/// decides its request, then redirects to the client's loopback address or shows the
/// result.
pub(crate) fn act_on_link(
    app: &App,
    db: &mut Db,
    token: &str,
    request: &Request,
) -> Result<Reply, ServerError> {
    if !plausible_token(token) {
        return Ok(Reply::html(404, pages::link_invalid()));
    }
    let Ok(form) = request.form() else {
        return Ok(Reply::html(403, pages::forbidden()));
    };
    if !csrf::verify(
        &app.key,
        Purpose::MagicLink,
        &[token],
        form.get(csrf::FIELD),
    ) {
        return Ok(Reply::html(403, pages::forbidden()));
    }
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
        let (link, pending) = match link_state(tx, &hash, now)? {
            LinkState::Invalid => return Ok(Decision::Invalid),
            LinkState::Expired => return Ok(Decision::Expired),
            LinkState::Valid(found) => *found,
        };
        if !tx.use_magic_link(&hash, now)? {
            return Ok(Decision::Invalid);
        }
        match pending {
            Pending::Device(device) => decide_device(tx, &link, device, approve, now),
            Pending::Browser(request) => decide_browser(tx, app, &link, &request, approve, now),
        }
    })?;
    let outcome = |approved: bool| if approved { "confirmed" } else { "denied" };
    Ok(match decision {
        Decision::Invalid => Reply::html(404, pages::link_invalid()),
        Decision::Expired => Reply::html(410, pages::link_expired()),
        Decision::Device {
            approved,
            redirect_uri,
        } => {
            eprintln!("sign-in {} through a magic link", outcome(approved));
            match redirect_uri {
                Some(uri) => Reply::see_other(&loopback_target(&uri, approved)),
                None if approved => Reply::html(200, pages::signed_in()),
                None => Reply::html(200, pages::denied()),
            }
        }
        Decision::Browser {
            approved,
            location,
            web_session,
        } => {
            eprintln!("browser sign-in {} through a magic link", outcome(approved));
            let reply = Reply::see_other(&location);
            match web_session {
                Some(id) => reply.header("Set-Cookie", websession::set_cookie(app, &id)),
                None => reply,
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

/// The `/device` form, with a fresh CSRF token.
fn device_form(app: &App, status: u16, code: &str, email: &str, error: Option<&str>) -> Reply {
    let csrf = csrf::timed_token(&app.key, Purpose::Device, clock::now_secs());
    Reply::html(status, pages::device_form(code, email, &csrf, error))
}

/// `GET /device[?user_code=…]`: the code-and-email form.
pub(crate) fn device_page(app: &App, request: &Request) -> Reply {
    let query = request.query_form().unwrap_or_default();
    let code = query.get("user_code").unwrap_or("");
    device_form(app, 200, code, "", None)
}

enum Submit {
    TooManyGuesses,
    UnknownCode,
    TooManyMails,
    /// Same answer as a sent mail: the request belongs to another address.
    NotSent,
    Send(Box<DeviceRequest>, String, String, i64),
}

/// `POST /device` (`user_code`, `email`): mails a magic link for the pending request
/// with that code. The answer does not depend on whether the address has an account.
pub(crate) fn device_submit(
    app: &App,
    db: &mut Db,
    request: &Request,
) -> Result<Reply, ServerError> {
    let Ok(form) = request.form() else {
        return Ok(Reply::html(403, pages::forbidden()));
    };
    let now = clock::now_secs();
    let csrf = form.get(csrf::FIELD);
    if !csrf::verify_timed(&app.key, Purpose::Device, csrf, now, DEVICE_FORM_SECS) {
        return Ok(Reply::html(403, pages::forbidden()));
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
        let target = LinkTarget::Device(device.id.clone());
        let (token, expires_at) = new_link(tx, app, target, &owner, device.expires_at, now)?;
        Ok(Submit::Send(Box::new(device), owner, token, expires_at))
    })?;
    Ok(match outcome {
        Submit::TooManyGuesses => Reply::html(
            429,
            pages::too_many("Too many wrong codes from your network. Try again in a few minutes."),
        ),
        Submit::UnknownCode => device_form(
            app,
            400,
            code_input,
            email,
            Some("That code is not valid or has expired. Check the code in your terminal."),
        ),
        Submit::TooManyMails => Reply::html(
            429,
            pages::too_many("Too many sign-in emails for this address. Try again later."),
        ),
        Submit::NotSent => Reply::html(200, pages::check_inbox()),
        Submit::Send(device, owner, token, expires_at) => {
            mail_device_link(app, &device, &owner, &token, expires_at)?;
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
