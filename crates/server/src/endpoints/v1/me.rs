//! `GET /v1/me`: who the bearer credential belongs to and what kind of credential it is.
//! An organization key belongs to its organization, not to the member who created it: it
//! answers with the key's id and its organization, never that member's email.

use crate::app::App;
use crate::clock;
use crate::db::Db;
use crate::domain::caller;
use crate::web::{Error, Params, Reply, Request};
use my_api::{CredentialInfo, CredentialKind, Me};

/// `GET /v1/me`.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let (id, email, username) = match (auth.kind, auth.token_id) {
        (CredentialKind::OrganizationKey, Some(key_id)) => (key_id, String::new(), None),
        _ => (auth.user_id, auth.email, auth.username),
    };
    Ok(Reply::private_json(
        200,
        &Me {
            id,
            email,
            username,
            credential: CredentialInfo {
                kind: auth.kind,
                expires_at: auth.expires_at.map(clock::rfc3339),
                name: auth.token_name,
                organization: auth.organization_id,
            },
        },
    ))
}
