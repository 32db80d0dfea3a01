//! `GET /v1/organizations`: the caller's organizations (an organization key: its own).

use crate::app::App;
use crate::db::Db;
use crate::domain::{caller, orgs};
use crate::web::{Error, Params, Reply, Request};
use my_api::org::{Organization, OrganizationList};

/// `GET /v1/organizations`.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let organizations = db.read(|tx| -> Result<Vec<Organization>, Error> {
        Ok(match auth.organization_id {
            Some(_) => vec![orgs::scope(tx, &auth, None)?],
            None => tx.organizations_of(&auth.user_id)?,
        })
    })?;
    Ok(Reply::private_json(
        200,
        &OrganizationList { organizations },
    ))
}
