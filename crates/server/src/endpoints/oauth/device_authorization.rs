//! `POST /oauth/device_authorization` (RFC 8628 §3.1): starts a device sign-in, and with
//! a `login_hint` mails its magic link at once.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, DbResult, DeviceRequest, DeviceStatus, LinkTarget};
use crate::domain::clients;
use crate::domain::magic_links::{self, MailAsk};
use crate::domain::oauth::{check_client, invalid_request, parse_scope, valid_loopback_redirect};
use crate::mail;
use crate::settings::RATE_WINDOW_SECS;
use crate::web::{Error, Params, Reply, Request};
use my_api::{oauth_errors as err, paths, DeviceAuthorizationResponse};

/// RFC 6749 §4.1.2.1: the server cannot handle the request for now (here: the mail
/// relay is down); the client may try again later.
const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";

/// Rate-limit kind: device authorization requests per client address.
const DEVICE_RATE: &str = "device_request";

const TOO_MANY: &str = "too many sign-in requests; try again later";

struct Created {
    device_code: String,
    device: DeviceRequest,
    link: Option<(String, i64)>,
}

/// `POST /oauth/device_authorization`.
pub(crate) fn post(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = request.form().map_err(invalid_request)?;
    check_client(&form, true)?;
    let scope = parse_scope(form.get("scope"))
        .map_err(|message| Error::oauth(400, err::INVALID_SCOPE, message))?;
    let email = form.get("login_hint").map(str::trim);
    if email.is_some_and(|e| !mail::valid_address(e)) {
        return Err(invalid_request("login_hint is not a valid email address"));
    }
    let redirect_uri = form.get("redirect_uri");
    if redirect_uri.is_some_and(|uri| !valid_loopback_redirect(uri)) {
        return Err(invalid_request(
            "redirect_uri must be http://127.0.0.1:PORT/callback or http://[::1]:PORT/callback",
        ));
    }

    let now = clock::now_secs();
    let settings = &app.settings;
    let client = clients::rate_key(&request.ip);
    let created = db.write(|tx| -> DbResult<Result<Created, i64>> {
        let window_start = now - RATE_WINDOW_SECS;
        if !tx.rate_allow(DEVICE_RATE, &client, settings.rate_limit, now, window_start)? {
            return Ok(Err(RATE_WINDOW_SECS));
        }
        let id = secrets::new_id("dev");
        if let Some(email) = email {
            let ask = MailAsk {
                to: email,
                client: &client,
                request_id: &id,
            };
            if let Err(retry_after) = magic_links::allow_mail(tx, app, &ask, now)? {
                return Ok(Err(retry_after));
            }
        }
        let mut user_code = secrets::new_user_code();
        while tx.user_code_in_use(&user_code, now)? {
            user_code = secrets::new_user_code();
        }
        let device_code = secrets::token::<32>();
        let device = DeviceRequest {
            id,
            user_code,
            client_id: my_api::CLIENT_ID.to_string(),
            scope: scope.clone(),
            email: email.map(str::to_string),
            redirect_uri: redirect_uri.map(str::to_string),
            client_ip: request.ip.clone(),
            status: DeviceStatus::Pending,
            user_id: None,
            interval_secs: clock::secs(settings.device_interval),
            last_poll_ms: None,
            created_at: now,
            expires_at: now + clock::secs(settings.device_ttl),
        };
        tx.insert_device_request(&device, &secrets::sha256_hex(&device_code))?;
        let link = match email {
            Some(email) => {
                let target = LinkTarget::Device(device.id.clone());
                Some(magic_links::new_link(
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
        Ok(Ok(Created {
            device_code,
            device,
            link,
        }))
    })?;
    let created = created.map_err(|retry_after| {
        Error::Reply(
            Reply::oauth_error(429, err::INVALID_REQUEST, TOO_MANY)
                .header("Retry-After", retry_after.to_string()),
        )
    })?;
    if let (Some(email), Some((token, expires_at))) = (email, &created.link) {
        let unavailable =
            || Reply::oauth_error(503, TEMPORARILY_UNAVAILABLE, magic_links::MAIL_UNAVAILABLE);
        let sent = magic_links::mail_device_link(
            app,
            db,
            &created.device,
            email,
            token,
            *expires_at,
            unavailable,
        );
        if let Err(e) = sent {
            // The device code is never handed out: its request goes too.
            db.write(|tx| tx.delete_device_request(&created.device.id))?;
            return Err(e);
        }
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
