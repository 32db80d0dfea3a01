//! The active context (seed 000): `my use`, how flags and the saved context combine into the
//! scope of a request, and the default context inferred after an interactive login.

use crate::cli::UseArgs;
use my_api::org::{self, EnvironmentList, Organization, OrganizationList, Project, ProjectList};
use mycli::api::Method;
use mycli::app::App;
use mycli::auth::session;
use mycli::config::{Config, Context};
use mycli::error::{Error, Result};
use mycli::out;
use serde::de::DeserializeOwned;

/// The organization, project and environment a command works on.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) environment: Option<String>,
}

/// Flags override the saved context; the context fills in what is missing, but never below
/// a flag that points elsewhere (a project saved for another organization is not used).
/// An organization access key in MY_API_TOKEN implies its organization, so the saved one is
/// not sent with it.
pub(crate) fn scope(
    app: &App,
    organization: Option<&str>,
    project: Option<&str>,
    environment: Option<&str>,
) -> Scope {
    let ctx = app.settings.config.server(app.api_url()).context;
    let org_key = app
        .settings
        .env_token
        .as_ref()
        .is_some_and(|t| t.expose().starts_with(my_api::token::ORGANIZATION_PREFIX));
    let same = |flag: Option<&str>, id: &Option<String>, slug: &Option<String>| match flag {
        None => true,
        Some(f) => id.as_deref() == Some(f) || slug.as_deref() == Some(f),
    };
    let org_same = same(organization, &ctx.organization, &ctx.organization_slug);
    let project_same = org_same && same(project, &ctx.project, &ctx.project_slug);
    Scope {
        organization: organization.map(String::from).or(if org_key {
            None
        } else {
            ctx.organization.clone()
        }),
        project: project
            .map(String::from)
            .or(if org_same { ctx.project.clone() } else { None }),
        environment: environment.map(String::from).or(if project_same {
            ctx.environment.clone()
        } else {
            None
        }),
    }
}

/// `?organization=…&project=…` from the parts that are set.
pub(crate) fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// GETs an organization-scoped path, turning ORGANIZATION_REQUIRED into the seed's advice.
pub(crate) fn get<T: DeserializeOwned>(app: &App, path: &str) -> Result<T> {
    let (reply, _) = session::send(app, Method::Get, path, None)?;
    reply.ok_json().map_err(advice)
}

pub(crate) fn advice(e: Error) -> Error {
    match e {
        Error::Api { code, .. } if code == org::codes::ORGANIZATION_REQUIRED => Error::Usage(
            "this command needs an organization: pass --organization or run `my use --organization <id>`"
                .into(),
        ),
        Error::Api { status: 403 | 404, message, .. } => Error::Other(message),
        e => e,
    }
}

pub(crate) fn run(app: &App, a: UseArgs) -> Result<()> {
    let current = app.settings.config.server(app.api_url()).context;
    let changing = a.organization.is_some() || a.project.is_some() || a.environment.is_some();
    if a.clear && changing {
        return Err(Error::Usage(
            "--clear cannot be combined with other flags".into(),
        ));
    }
    let ctx = if a.clear {
        save(app, Context::default())?
    } else if changing {
        let next = change(app, current, &a)?;
        save(app, next)?
    } else {
        current
    };
    if a.json {
        out::json(&context_json(&ctx));
    } else if ctx.is_empty() {
        out::line("No active context. Set one with `my use --organization ID`.");
    } else {
        out::line(describe(&ctx));
    }
    Ok(())
}

fn change(app: &App, mut ctx: Context, a: &UseArgs) -> Result<Context> {
    if let Some(o) = &a.organization {
        let orgs: OrganizationList = get(app, org::paths::ORGANIZATIONS)?;
        let found = orgs
            .organizations
            .into_iter()
            .find(|x| &x.id == o || &x.slug == o)
            .ok_or_else(|| {
                Error::Other(format!(
                    "organization \"{o}\" not found (see `my orgs list`)"
                ))
            })?;
        if ctx.organization.as_deref() != Some(found.id.as_str()) {
            ctx = Context::default();
        }
        ctx.organization = Some(found.id);
        ctx.organization_slug = Some(found.slug);
    }
    if let Some(p) = &a.project {
        let path = format!(
            "{}{}",
            org::paths::PROJECTS,
            query(&[("organization", ctx.organization.as_deref())])
        );
        let projects: ProjectList = get(app, &path)?;
        let found = projects.projects.into_iter().find(|x| &x.id == p || &x.slug == p).ok_or_else(|| {
            Error::Other(format!(
                "project \"{p}\" not found in {} (see `my projects list`); the context was not changed",
                ctx.organization_slug.as_deref().map_or("this organization".into(), |s| format!("organization {s}"))
            ))
        })?;
        if ctx.project.as_deref() != Some(found.id.as_str()) {
            ctx.environment = None;
        }
        if ctx.organization.is_none() {
            ctx.organization = Some(found.organization.clone());
        }
        ctx.project = Some(found.id);
        ctx.project_slug = Some(found.slug);
    }
    if let Some(e) = &a.environment {
        let project = ctx.project.clone().ok_or_else(|| {
            Error::Usage("choose a project first: `my use --project ID|SLUG`".into())
        })?;
        let path = format!(
            "{}{}",
            org::paths::ENVIRONMENTS,
            query(&[
                ("organization", ctx.organization.as_deref()),
                ("project", Some(&project))
            ])
        );
        let envs: EnvironmentList = get(app, &path)?;
        if !envs.environments.iter().any(|x| &x.name == e) {
            return Err(Error::Other(format!(
                "environment \"{e}\" not found in project {} (see `my environments list`); the context was not changed",
                ctx.project_slug.as_deref().unwrap_or(&project)
            )));
        }
        ctx.environment = Some(e.clone());
    }
    Ok(ctx)
}

/// Writes the context under the store lock, re-reading the config first so a concurrent
/// refresh's bookkeeping is not lost.
fn save(app: &App, ctx: Context) -> Result<Context> {
    let _lock = app.store.lock()?;
    let mut config = Config::load(&app.settings.config_dir)?;
    config.server_mut(app.api_url()).context = ctx.clone();
    config.save(&app.settings.config_dir)?;
    Ok(ctx)
}

/// One line: `organization acme (org_…), project my-store (proj_…), environment production`.
pub(crate) fn describe(ctx: &Context) -> String {
    let mut parts = Vec::new();
    let named = |slug: &Option<String>, id: &Option<String>| match (slug, id) {
        (Some(s), Some(i)) => Some(format!("{s} ({i})")),
        (None, Some(i)) => Some(i.clone()),
        _ => None,
    };
    if let Some(o) = named(&ctx.organization_slug, &ctx.organization) {
        parts.push(format!("organization {o}"));
    }
    if let Some(p) = named(&ctx.project_slug, &ctx.project) {
        parts.push(format!("project {p}"));
    }
    if let Some(e) = &ctx.environment {
        parts.push(format!("environment {e}"));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

pub(crate) fn context_json(ctx: &Context) -> serde_json::Value {
    serde_json::json!({
        "organization": ctx.organization,
        "organization_slug": ctx.organization_slug,
        "project": ctx.project,
        "project_slug": ctx.project_slug,
        "environment": ctx.environment,
    })
}

/// After an interactive login: the organization (the only one, else the first, saying so),
/// its first project, and `production` if that project has one. A server without these
/// endpoints (a plain OAuth server) leaves the context alone.
pub(crate) fn infer_after_login(app: &App) -> Option<Context> {
    match infer(app) {
        Ok(ctx) => ctx,
        Err(Error::Api { status: 404, .. }) => None,
        Err(e) => {
            out::note(format!(
                "warning: could not choose a default context ({e}); set one with `my use`"
            ));
            None
        }
    }
}

fn infer(app: &App) -> Result<Option<Context>> {
    let orgs: OrganizationList = get(app, org::paths::ORGANIZATIONS)?;
    let Some(first) = orgs.organizations.first().cloned() else {
        return Ok(None);
    };
    if orgs.organizations.len() > 1 {
        let names: Vec<&str> = orgs.organizations.iter().map(|o| o.slug.as_str()).collect();
        out::note(format!(
            "You belong to {} organizations ({}); using {}. Switch with `my use --organization ID`.",
            names.len(),
            names.join(", "),
            first.slug
        ));
    }
    let Organization { id, slug, .. } = first;
    let mut ctx = Context {
        organization: Some(id.clone()),
        organization_slug: Some(slug),
        ..Context::default()
    };
    let path = format!(
        "{}{}",
        org::paths::PROJECTS,
        query(&[("organization", Some(&id))])
    );
    let projects: ProjectList = get(app, &path)?;
    if let Some(Project {
        id: pid,
        slug: pslug,
        ..
    }) = projects.projects.into_iter().next()
    {
        let path = format!(
            "{}{}",
            org::paths::ENVIRONMENTS,
            query(&[("organization", Some(&id)), ("project", Some(&pid))])
        );
        let envs: EnvironmentList = get(app, &path)?;
        if envs.environments.iter().any(|e| e.name == "production") {
            ctx.environment = Some("production".into());
        }
        ctx.project = Some(pid);
        ctx.project_slug = Some(pslug);
    }
    save(app, ctx).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_skip_missing_parts_and_encode() {
        assert_eq!(query(&[("organization", None)]), "");
        assert_eq!(
            query(&[
                ("organization", Some("acme")),
                ("project", Some("my store&x"))
            ]),
            "?organization=acme&project=my+store%26x"
        );
    }

    #[test]
    fn describe_names_each_part() {
        let ctx = Context {
            organization: Some("org_1".into()),
            organization_slug: Some("acme".into()),
            project: Some("proj_1".into()),
            project_slug: Some("my-store".into()),
            environment: Some("production".into()),
        };
        assert_eq!(
            describe(&ctx),
            "organization acme (org_1), project my-store (proj_1), environment production"
        );
        assert_eq!(describe(&Context::default()), "none");
    }
}
