//! Organization scoping: which organization, project and environment a request acts on.
//!
//! Which organization a request acts on is decided in one place, [`scope`]: an
//! organization access key implies its own and refuses any other; a personal credential
//! (a session or a `myc_` token) reaches every organization its user belongs to, so it
//! must name one. Organizations the caller is not in answer 404, like missing ones.

use super::caller::Auth;
use crate::db::{EnvironmentRow, Tx};
use crate::web::{quote, Error};
use my_api::codes;
use my_api::org::{self, Organization, Project};

const ORGANIZATION_REQUIRED: &str =
    "this command needs an organization: pass --organization or run `my use --organization <id>`";
const OTHER_ORGANIZATION: &str = "this access key belongs to another organization";

/// The organization a request acts on, `named` by id or slug (or implied by an
/// organization key).
pub(crate) fn scope(tx: &Tx, auth: &Auth, named: Option<&str>) -> Result<Organization, Error> {
    match (auth.organization_id.as_deref(), named) {
        (Some(own), named) => {
            let org = tx
                .organization(own)?
                .ok_or_else(|| Error::not_found("organization not found"))?;
            match named {
                Some(named) if named != org.id && named != org.slug => {
                    Err(Error::api(403, codes::FORBIDDEN, OTHER_ORGANIZATION))
                }
                _ => Ok(org),
            }
        }
        (None, None) => Err(Error::api(
            400,
            org::codes::ORGANIZATION_REQUIRED,
            ORGANIZATION_REQUIRED,
        )),
        (None, Some(named)) => tx
            .member_organization(&auth.user_id, named)?
            .ok_or_else(|| Error::not_found(format!("organization {} not found", quote(named)))),
    }
}

/// The project `key` (id or slug) of `org`.
pub(crate) fn project(tx: &Tx, org: &Organization, key: &str) -> Result<Project, Error> {
    tx.project(&org.id, key)?.ok_or_else(|| {
        Error::not_found(format!(
            "project {} not found in organization {}",
            quote(key),
            quote(&org.slug)
        ))
    })
}

/// The environment `name` of `project`.
pub(crate) fn environment(tx: &Tx, project: &Project, name: &str) -> Result<EnvironmentRow, Error> {
    tx.environment(&project.id, name)?.ok_or_else(|| {
        Error::not_found(format!(
            "environment {} not found in project {}",
            quote(name),
            quote(&project.slug)
        ))
    })
}
