//! `GET /v1/projects?organization=ID|SLUG`: the projects of one organization.

use crate::app::App;
use crate::db::Db;
use crate::domain::{caller, orgs};
use crate::web::{Error, Params, Reply, Request};
use my_api::org::{Project, ProjectList};

/// `GET /v1/projects?organization=ID|SLUG`.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let query = request.query_params()?;
    let projects = db.read(|tx| -> Result<Vec<Project>, Error> {
        let org = orgs::scope(tx, &auth, query.get("organization"))?;
        Ok(tx.projects(&org.id)?)
    })?;
    Ok(Reply::private_json(200, &ProjectList { projects }))
}
