//! Magic links: creating one for a request (within the sign-in mail rate limit) and
//! mailing it. A link is single use, short-lived, stored hashed and bound to one request:
//! a device request or a browser authorization request.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{DbResult, DeviceRequest, LinkTarget, MagicLink, Tx};
use crate::mail::{self, SignInMail};
use crate::settings::RATE_WINDOW_SECS;
use crate::web::Error;
use my_api::paths;

/// Rate-limit kind: sign-in mails per (lower-cased) address.
const MAIL_RATE: &str = "mail_to";

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

/// Mails a magic link.
pub(crate) fn mail_link(app: &App, link: &LinkMail) -> Result<(), Error> {
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
    mail::send_sign_in(
        &app.settings.mail_dir,
        &mail,
        now_ms,
        app.settings.print_links,
    )?;
    Ok(())
}

/// Mails the device flow's link `token` for `device` to `email`.
pub(crate) fn mail_device_link(
    app: &App,
    device: &DeviceRequest,
    email: &str,
    token: &str,
    expires_at: i64,
) -> Result<(), Error> {
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
