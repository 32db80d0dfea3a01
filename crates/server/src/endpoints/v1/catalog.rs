//! `GET /v1/catalog[?profile=SLUG]`: one profile's catalog — the caller's personal
//! commands and the commands of the releases installed in the profile — with a strong
//! ETag, so an unchanged catalog costs a 304 and no body.

use crate::app::App;
use crate::db::Db;
use crate::domain::caller;
use crate::domain::catalog as rules;
use crate::web::{Error, Params, Reply, Request};

/// `GET /v1/catalog`: 200 with the catalog, or 304 when `If-None-Match` names its ETag.
pub(crate) fn read(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let query = request.query_params()?;
    let catalog = db.read(|tx| -> Result<_, Error> {
        let profile = rules::catalog_profile(tx, &auth, query.get("profile"))?;
        rules::assemble(tx, &auth.user_id, &profile)
    })?;
    let (body, etag) = rules::serialize(&catalog);
    // Per caller: a shared cache must not keep it; the client revalidates every time.
    let reply = if rules::none_match(request.header("If-None-Match"), &etag) {
        Reply::new(304)
    } else {
        Reply::bytes(200, "application/json", body)
    };
    Ok(reply
        .header("ETag", etag)
        .header("Cache-Control", "private, no-cache")
        .header("Vary", "Authorization"))
}
