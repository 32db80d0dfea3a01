//! `my cli logout`: revoke the session on the server (best effort, RFC 7009), and always
//! clear the keyring entry and the file.

use crate::cli::LogoutArgs;
use mycli::app::App;
use mycli::auth::discovery;
use mycli::error::{Error, Result};
use mycli::out;

pub(crate) fn run(app: &App, args: LogoutArgs) -> Result<()> {
    let stored = {
        let _lock = app.store.lock()?;
        let stored = app.store.load(app.api_url())?;
        app.store.delete(app.api_url())?;
        stored
    };
    let mut revoked = false;
    if let Some((creds, _)) = &stored {
        if let Some(token) = creds.refresh_token.as_ref() {
            match revoke(app, token) {
                Ok(()) => revoked = true,
                Err(e) => out::note(format!(
                    "warning: could not revoke the session on the server ({e}); the local credentials were removed anyway"
                )),
            }
        }
    }
    if app.settings.env_token.is_some() {
        return Err(Error::Other(
            "MY_API_TOKEN is set, so commands keep using it: run `unset MY_API_TOKEN` to log out"
                .into(),
        ));
    }
    if args.json {
        out::json(&serde_json::json!({
            "api_url": app.api_url(),
            "was_signed_in": stored.is_some(),
            "revoked": revoked,
        }));
    } else if stored.is_some() {
        out::note(format!("Logged out of {}.", app.api_url()));
    } else {
        out::note(format!(
            "Not signed in to {}; nothing to do.",
            app.api_url()
        ));
    }
    Ok(())
}

fn revoke(app: &App, token: &mycli::secret::Secret) -> Result<()> {
    let meta = discovery::discover(&app.client, app.api_url())?;
    let Some(endpoint) = meta.revocation_endpoint else {
        return Err(Error::Other(
            "the server offers no revocation endpoint".into(),
        ));
    };
    let form = [
        ("token", token.expose()),
        ("token_type_hint", "refresh_token"),
        ("client_id", my_api::CLIENT_ID),
    ];
    let reply = app.client.post_form_idempotent(&endpoint, &form)?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(reply.into_error())
    }
}
