//! Organization scoping and the catalog of places: `/v1/organizations`, `/v1/projects`,
//! `/v1/environments`.
//!
//! Which organization a request acts on is decided in one place, [`scope`]: an
//! organization access key implies its own and refuses any other; a personal credential
//! (a session or a `myc_` token) reaches every organization its user belongs to, so it
//! must name one. Organizations the caller is not in answer 404, like missing ones.

use crate::api::{self, fail, json, not_found, quote, ApiResult, Halt};
use crate::app::App;
use crate::auth::Auth;
use crate::db::{Db, EnvironmentRow, Tx};
use crate::http::Request;
use my_api::codes;
use my_api::org::{self, EnvironmentList, Organization, OrganizationList, Project, ProjectList};

const ORGANIZATION_REQUIRED: &str =
    "this command needs an organization: pass --organization or run `my use --organization <id>`";
const OTHER_ORGANIZATION: &str = "this access key belongs to another organization";

/// The organization a request acts on, `named` by id or slug (or implied by an
/// organization key).
pub(crate) fn scope(tx: &Tx, auth: &Auth, named: Option<&str>) -> Result<Organization, Halt> {
    match (auth.organization_id.as_deref(), named) {
        (Some(own), named) => {
            let org = tx
                .organization(own)?
                .ok_or_else(|| not_found("organization not found"))?;
            match named {
                Some(named) if named != org.id && named != org.slug => {
                    Err(fail(403, codes::FORBIDDEN, OTHER_ORGANIZATION))
                }
                _ => Ok(org),
            }
        }
        (None, None) => Err(fail(
            400,
            org::codes::ORGANIZATION_REQUIRED,
            ORGANIZATION_REQUIRED,
        )),
        (None, Some(named)) => tx
            .member_organization(&auth.user_id, named)?
            .ok_or_else(|| not_found(&format!("organization {} not found", quote(named)))),
    }
}

/// The project `key` (id or slug) of `org`.
pub(crate) fn project(tx: &Tx, org: &Organization, key: &str) -> Result<Project, Halt> {
    tx.project(&org.id, key)?.ok_or_else(|| {
        not_found(&format!(
            "project {} not found in organization {}",
            quote(key),
            quote(&org.slug)
        ))
    })
}

/// The environment `name` of `project`.
pub(crate) fn environment(tx: &Tx, project: &Project, name: &str) -> Result<EnvironmentRow, Halt> {
    tx.environment(&project.id, name)?.ok_or_else(|| {
        not_found(&format!(
            "environment {} not found in project {}",
            quote(name),
            quote(&project.slug)
        ))
    })
}

/// `GET /v1/organizations`: the caller's organizations (an organization key: its own).
pub(crate) fn organizations(app: &App, db: &mut Db, request: &Request) -> ApiResult {
    let auth = api::caller(app, db, request)?;
    let organizations = db.read(|tx| -> Result<Vec<Organization>, Halt> {
        Ok(match auth.organization_id {
            Some(_) => vec![scope(tx, &auth, None)?],
            None => tx.organizations_of(&auth.user_id)?,
        })
    })?;
    Ok(json(200, &OrganizationList { organizations }))
}

/// `GET /v1/projects?organization=ID|SLUG`.
pub(crate) fn projects(app: &App, db: &mut Db, request: &Request) -> ApiResult {
    let auth = api::caller(app, db, request)?;
    let query = api::query(request)?;
    let projects = db.read(|tx| -> Result<Vec<Project>, Halt> {
        let org = scope(tx, &auth, query.get("organization"))?;
        Ok(tx.projects(&org.id)?)
    })?;
    Ok(json(200, &ProjectList { projects }))
}

/// `GET /v1/environments?organization=ID|SLUG[&project=ID|SLUG]`: one project's, or
/// without `project` those of every project in the organization.
pub(crate) fn environments(app: &App, db: &mut Db, request: &Request) -> ApiResult {
    let auth = api::caller(app, db, request)?;
    let query = api::query(request)?;
    let environments = db.read(|tx| -> Result<_, Halt> {
        let org = scope(tx, &auth, query.get("organization"))?;
        let project = match query.get("project") {
            Some(key) => Some(project(tx, &org, key)?),
            None => None,
        };
        Ok(tx.environments(&org.id, project.as_ref().map(|p| p.id.as_str()))?)
    })?;
    Ok(json(200, &EnvironmentList { environments }))
}
