//! `my cli whoami`: the signed-in user's ID and email, from the server.

use crate::app::App;
use crate::auth::session;
use crate::cli::WhoamiArgs;
use crate::error::Result;
use crate::out;

pub(crate) fn run(app: &App, args: WhoamiArgs) -> Result<()> {
    let (me, active): (my_api::Me, _) = session::get_json(app, my_api::paths::ME)?;
    if args.json {
        out::json(&serde_json::json!({
            "id": me.id,
            "email": me.email,
            "api_url": app.api_url(),
            "context": super::context::context_json(&app.settings.config.server(app.api_url()).context),
            "credential": {
                "kind": me.credential.kind,
                "source": active.source.as_str(),
                "expires_at": me.credential.expires_at,
                "name": me.credential.name,
                "organization": me.credential.organization,
            },
        }));
    } else {
        out::line(format!("ID:    {}", me.id));
        if me.credential.kind == my_api::CredentialKind::OrganizationKey {
            // A key belongs to its organization; the server names no person for it.
            let name = me.credential.name.as_deref().unwrap_or("");
            let org = me.credential.organization.as_deref().unwrap_or("");
            out::line(format!("Key:   {name} (organization {org})"));
        } else {
            out::line(format!("Email: {}", me.email));
        }
        let ctx = app.settings.config.server(app.api_url()).context;
        if !ctx.is_empty() {
            out::line(format!("Context: {}", super::context::describe(&ctx)));
        }
    }
    Ok(())
}
