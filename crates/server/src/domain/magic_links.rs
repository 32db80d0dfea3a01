//! Magic links: creating one for a request (within the sign-in mail rate limit) and
//! mailing it. A link is single use, short-lived, stored hashed and bound to one request:
//! a device request or a browser authorization request.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, DbResult, DeviceRequest, LinkTarget, MagicLink, Tx};
use crate::mail::{SendError, SignInMail};
use crate::settings::{MAILS_PER_REQUEST, RATE_WINDOW_SECS};
use crate::web::{Error, Reply};
use my_api::paths;

/// Rate-limit kinds of sign-in mails: per (lower-cased) address, per client address, per
/// sign-in request, and for the whole server.
const MAIL_RATE: &str = "mail_to";
const MAIL_CLIENT: &str = "mail_client";
const MAIL_REQUEST: &str = "mail_request";
const MAIL_ALL: &str = "mail_all";

/// Who a sign-in mail is for and who asked for it.
pub(crate) struct MailAsk<'a> {
    pub(crate) to: &'a str,
    /// The client's rate-limit key (`clients::key`).
    pub(crate) client: &'a str,
    /// The device or authorization request the link signs in.
    pub(crate) request_id: &'a str,
}

/// Counts a sign-in mail against every limit — per recipient, per client address, per
/// request (a few) and a global ceiling — or, when one is reached, counts nothing and
/// returns in how many seconds a mail may be sent again (for `Retry-After`).
pub(crate) fn allow_mail(tx: &Tx, app: &App, ask: &MailAsk, now: i64) -> DbResult<Result<(), i64>> {
    let since = now - RATE_WINDOW_SECS;
    let to = ask.to.to_lowercase();
    let settings = &app.settings;
    let limits = [
        (MAIL_RATE, to.as_str(), settings.mail_rate_limit),
        (MAIL_CLIENT, ask.client, settings.mail_client_limit),
        (MAIL_REQUEST, ask.request_id, MAILS_PER_REQUEST),
        (MAIL_ALL, "*", settings.mail_global_limit),
    ];
    for (kind, key, limit) in limits {
        if tx.rate_count(kind, key, since)? >= limit {
            let oldest = tx.rate_oldest(kind, key, since)?.unwrap_or(now);
            return Ok(Err((oldest + RATE_WINDOW_SECS - now).max(1)));
        }
    }
    for (kind, key, _) in limits {
        tx.rate_record(kind, key, now, since)?;
    }
    Ok(Ok(()))
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
    let expires_at = (now + clock::secs(app.settings.link_ttl)).min(not_after);
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

/// Mails a magic link. When the mail cannot be sent, deletes the link (nobody received
/// it; no link is left that could ever be used) and answers `unavailable()` (a 503 in
/// the caller's format) when the relay is down or refused it, 500 when the outbox failed.
pub(crate) fn mail_link(
    app: &App,
    db: &mut Db,
    link: &LinkMail,
    unavailable: fn() -> Reply,
) -> Result<(), Error> {
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
    let Err(failure) = app.mailer.send_sign_in(&mail, now_ms) else {
        return Ok(());
    };
    let hash = secrets::sha256_hex(link.token);
    db.write(|tx| tx.delete_magic_link(&hash))?;
    Err(match failure {
        SendError::Unavailable(why) => {
            eprintln!("mail to {}: not sent, link withdrawn: {why}", link.to);
            Error::Reply(unavailable().header("Retry-After", MAIL_RETRY_AFTER_SECS.to_string()))
        }
        SendError::Outbox(e) => Error::Internal(format!("cannot write the mail: {e}")),
    })
}

/// `Retry-After` when the mail relay could not take a sign-in mail.
const MAIL_RETRY_AFTER_SECS: u64 = 60;

/// What the sign-in pages and the OAuth endpoint say when the relay is down.
pub(crate) const MAIL_UNAVAILABLE: &str =
    "the sign-in email could not be sent (the mail relay is unavailable): try again in a minute";

/// Mails the device flow's link `token` for `device` to `email`.
pub(crate) fn mail_device_link(
    app: &App,
    db: &mut Db,
    device: &DeviceRequest,
    email: &str,
    token: &str,
    expires_at: i64,
    unavailable: fn() -> Reply,
) -> Result<(), Error> {
    mail_link(
        app,
        db,
        &LinkMail {
            to: email,
            token,
            user_code: Some(&device.user_code),
            requested_from: &device.client_ip,
            requested_at: device.created_at,
            expires_at,
        },
        unavailable,
    )
}
