//! `/magic/{token}`: the page a mailed magic link opens, and its Confirm / Deny form.
//!
//! A GET only shows what would be approved (mail scanners fetch every link); only the POST
//! from its Confirm or Deny button acts, and it must carry the page's CSRF token. The link
//! decides its request: a device request (the device polls for the outcome) or a browser
//! sign-in, whose confirmation also starts a web session and redirects with the
//! authorization code.

use crate::app::App;
use crate::clock;
use crate::crypto::csrf::{self, Purpose};
use crate::crypto::secrets;
use crate::db::{
    AuthRequest, AuthStatus, Db, DbResult, DeviceRequest, DeviceStatus, LinkTarget, MagicLink, Tx,
};
use crate::domain::{authorization, clients, web_session};
use crate::pages::{self, LinkPage};
use crate::web::{Error, Params, Reply, Request};

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
            Some(request) if request.status == AuthStatus::Pending => {
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

/// Whether this browser may decide `pending`: a browser sign-in only in the browser that
/// started it (its binding cookie); a device request anywhere (the device shows the code).
fn bound_here(app: &App, request: &Request, pending: &Pending) -> bool {
    match pending {
        Pending::Device(_) => true,
        Pending::Browser(auth) => {
            web_session::same_browser(app, request, auth.browser_hash.as_deref())
        }
    }
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
pub(crate) fn get(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let token = params.get("token");
    if !plausible_token(token) {
        return Err(Error::page(404, pages::link_invalid()));
    }
    let hash = secrets::sha256_hex(token);
    let now = clock::now_secs();
    let state = db.read(|tx| link_state(tx, &hash, now))?;
    let (link, pending) = match state {
        LinkState::Invalid => return Err(Error::page(404, pages::link_invalid())),
        LinkState::Expired => return Err(Error::page(410, pages::link_expired())),
        LinkState::Valid(found) => *found,
    };
    if !bound_here(app, request, &pending) {
        return Err(Error::page(403, pages::wrong_browser()));
    }
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
    // A device sign-in can be started for any address: say so when the link is opened
    // from elsewhere than the request came from.
    let elsewhere = user_code.is_some() && clients::rate_key(ip) != clients::rate_key(&request.ip);
    Ok(Reply::html(
        200,
        pages::confirm(&LinkPage {
            user_code: user_code.as_deref(),
            email,
            ip,
            opened_from: elsewhere.then_some(request.ip.as_str()),
            requested_at: &clock::rfc3339(created_at),
            csrf: &csrf,
        }),
    ))
}

enum Decision {
    Invalid,
    Expired,
    /// A browser sign-in's link opened in another browser than the one that started it.
    WrongBrowser,
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
        return Ok(match authorization::deny(tx, request)? {
            true => Decision::Browser {
                approved: false,
                location: authorization::denied_callback(app, request),
                web_session: None,
            },
            false => Decision::Invalid,
        });
    }
    let user = tx.ensure_user(&link.email, &secrets::new_id("usr"), now)?;
    let Some(code) = authorization::issue_code(tx, app, request, &user.id, now)? else {
        return Ok(Decision::Invalid);
    };
    let web_session = web_session::start(tx, &user.id, now)?;
    Ok(Decision::Browser {
        approved: true,
        location: authorization::code_callback(app, request, &code),
        web_session: Some(web_session),
    })
}

/// `POST /magic/{token}` with `csrf` and `action=confirm|deny`: spends the link and
/// decides its request, then redirects to the client's loopback address or shows the
/// result.
pub(crate) fn post(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let token = params.get("token");
    if !plausible_token(token) {
        return Err(Error::page(404, pages::link_invalid()));
    }
    let Ok(form) = request.form() else {
        return Err(Error::page(403, pages::forbidden()));
    };
    if !csrf::verify(
        &app.key,
        Purpose::MagicLink,
        &[token],
        form.get(csrf::FIELD),
    ) {
        return Err(Error::page(403, pages::forbidden()));
    }
    let approve = match form.get("action") {
        Some("confirm") => true,
        Some("deny") => false,
        _ => {
            return Err(Error::page(
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
        if !bound_here(app, request, &pending) {
            return Ok(Decision::WrongBrowser);
        }
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
        Decision::WrongBrowser => Reply::html(403, pages::wrong_browser()),
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
                Some(id) => reply.header("Set-Cookie", web_session::set_cookie(app, &id)),
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
