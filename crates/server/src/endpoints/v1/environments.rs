//! `GET /v1/environments?organization=ID|SLUG[&project=ID|SLUG]`: one project's
//! environments, or without `project` those of every project in the organization.

use crate::app::App;
use crate::db::Db;
use crate::domain::{caller, orgs};
use crate::web::{Error, Params, Reply, Request};
use my_api::org::EnvironmentList;

/// `GET /v1/environments`.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let query = request.query_params()?;
    let environments = db.read(|tx| -> Result<_, Error> {
        let org = orgs::scope(tx, &auth, query.get("organization"))?;
        let project = match query.get("project") {
            Some(key) => Some(orgs::project(tx, &org, key)?),
            None => None,
        };
        Ok(tx.environments(&org.id, project.as_ref().map(|p| p.id.as_str()))?)
    })?;
    Ok(Reply::private_json(200, &EnvironmentList { environments }))
}
