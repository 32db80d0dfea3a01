//! `GET /v1/me`: who the bearer credential belongs to and what kind of credential it is.

use crate::app::App;
use crate::clock;
use crate::db::Db;
use crate::domain::caller;
use crate::web::{Error, Params, Reply, Request};
use my_api::{CredentialInfo, Me};

/// `GET /v1/me`.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    Ok(Reply::private_json(
        200,
        &Me {
            id: auth.user_id,
            email: auth.email,
            username: auth.username,
            credential: CredentialInfo {
                kind: auth.kind,
                expires_at: auth.expires_at.map(clock::rfc3339),
                name: auth.token_name,
                organization: auth.organization_id,
            },
        },
    ))
}
