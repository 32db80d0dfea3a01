//! The REST API under `/v1`: one file per resource. Errors are
//! `{"error": {"code": …, "message": …}}` and no shared cache may keep an answer (the
//! catalog and spec bodies may be revalidated or kept by the caller's own client).
//!
//! Every handler starts by naming its caller: `caller::authenticate` for any credential,
//! [`person`] where only a person's credential will do. What the routes share past that —
//! the JSON body (`Request::json`), the query (`Request::query_params`), the answer
//! (`Reply::private_json`, `Reply::no_content`) — is in `web`.

use crate::app::App;
use crate::db::Db;
use crate::domain::caller;
use crate::domain::catalog as rules;
use crate::web::{Error, Request};

pub(crate) mod catalog;
pub(crate) mod commands;
pub(crate) mod environments;
pub(crate) mod libraries;
pub(crate) mod logs;
pub(crate) mod me;
pub(crate) mod organizations;
pub(crate) mod profiles;
pub(crate) mod projects;
pub(crate) mod tokens;

/// The caller of `request`, who must be a person (a session or a personal token; an
/// organization key gets 403): their user id. A missing or bad credential is a 401.
pub(crate) fn person(app: &App, db: &mut Db, request: &Request) -> Result<String, Error> {
    let auth = caller::authenticate(app, db, request)?;
    Ok(rules::person(&auth)?.to_string())
}
