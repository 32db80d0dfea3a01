//! `POST /sign-out`: the sign-out button of the consent page ends the browser's web
//! session, so the next browser sign-in asks for an email again.

use crate::app::App;
use crate::clock;
use crate::crypto::csrf::{self, Purpose};
use crate::crypto::secrets;
use crate::db::Db;
use crate::domain::web_session;
use crate::pages;
use crate::web::{Error, Params, Reply, Request};
use my_api::paths;

/// `POST /sign-out` (`csrf`, optional `return_to`): revokes the web session, clears its
/// cookie, and goes back to the sign-in it came from (only ever this server's authorize
/// URL) or shows that the browser is signed out.
pub(crate) fn post(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Ok(form) = request.form() else {
        return Err(Error::page(403, pages::forbidden()));
    };
    let Some(cookie) = web_session::presented(request) else {
        return Ok(
            Reply::html(200, pages::signed_out()).header("Set-Cookie", web_session::clear_cookie())
        );
    };
    let id_hash = secrets::sha256_hex(cookie);
    if !csrf::verify(
        &app.key,
        Purpose::SignOut,
        &[&id_hash],
        form.get(csrf::FIELD),
    ) {
        return Err(Error::page(403, pages::forbidden()));
    }
    let now = clock::now_secs();
    if db.write(|tx| tx.revoke_web_session(&id_hash, now))? {
        eprintln!("web session signed out");
    }
    let authorize = format!("{}?", app.url(paths::AUTHORIZATION));
    let back = form
        .get("return_to")
        .filter(|url| url.starts_with(&authorize) && !url.chars().any(char::is_control));
    let reply = match back {
        Some(url) => Reply::see_other(url),
        None => Reply::html(200, pages::signed_out()),
    };
    Ok(reply.header("Set-Cookie", web_session::clear_cookie()))
}
