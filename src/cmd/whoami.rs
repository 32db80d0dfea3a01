//! `my cli whoami`: the signed-in user's ID and email, from the server.
//!
//! Only the user's ID is required of the answer: servers we did not write answer `/v1/me`
//! with just `{"id", "email"}`, or have no `/v1/me` and publish an OpenID Connect
//! `userinfo_endpoint` (`{"sub", "email"}`) instead. The rest is shown when present.

use crate::cli::WhoamiArgs;
use mycli::api::Method;
use mycli::app::App;
use mycli::auth::{discovery, session};
use mycli::error::{Error, Result};
use mycli::out;
use serde::Deserialize;
use serde_json::Value;

/// What whoami reads from `/v1/me` or userinfo; every field may be missing.
#[derive(Deserialize)]
struct Who {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    credential: Option<Value>,
}

impl Who {
    /// `id`, else OIDC's `sub`, as text (some servers send numbers).
    fn id(&self) -> Option<String> {
        match self.id.as_ref().or(self.sub.as_ref())? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn credential(&self) -> Option<my_api::CredentialInfo> {
        serde_json::from_value(self.credential.clone()?).ok()
    }
}

pub(crate) fn run(app: &App, args: WhoamiArgs) -> Result<()> {
    let (who, active) = fetch(app)?;
    let id = who.id().ok_or_else(|| {
        Error::Unavailable(format!(
            "{} did not say who you are (its answer has no id or sub)",
            app.api_url()
        ))
    })?;
    let credential = who.credential();
    let ctx = app.settings.config.server(app.api_url()).context;
    if args.json {
        out::json(&serde_json::json!({
            "id": id,
            "email": who.email,
            "api_url": app.api_url(),
            "context": super::context::context_json(&ctx),
            "credential": {
                "kind": credential.as_ref().map(|c| c.kind),
                "source": active.source.as_str(),
                "expires_at": credential.as_ref().and_then(|c| c.expires_at.clone()),
                "name": credential.as_ref().and_then(|c| c.name.clone()),
                "organization": credential.as_ref().and_then(|c| c.organization.clone()),
            },
        }));
    } else {
        out::line(format!("ID:    {id}"));
        match &credential {
            Some(c) if c.kind == my_api::CredentialKind::OrganizationKey => {
                // A key belongs to its organization; the server names no person for it.
                let name = c.name.as_deref().unwrap_or("");
                let org = c.organization.as_deref().unwrap_or("");
                out::line(format!("Key:   {name} (organization {org})"));
            }
            _ => {
                if let Some(email) = &who.email {
                    out::line(format!("Email: {email}"));
                }
            }
        }
        if !ctx.is_empty() {
            out::line(format!("Context: {}", super::context::describe(&ctx)));
        }
    }
    Ok(())
}

/// `/v1/me`; on a 404, the issuer's OpenID Connect userinfo endpoint if it has one.
fn fetch(app: &App) -> Result<(Who, session::Active)> {
    match session::get_json(app, my_api::paths::ME) {
        Err(not_found @ Error::Api { status: 404, .. }) => {
            let Some(userinfo) = discovery::userinfo_endpoint(&app.client, app.api_url())? else {
                return Err(not_found);
            };
            let (reply, active) = session::send_to(app, Method::Get, &userinfo, None, &[])?;
            Ok((reply.ok_json()?, active))
        }
        other => other,
    }
}
