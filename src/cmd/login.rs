//! `my cli login`: the magic-link sign-in (device flow) or, with `--web`, the browser
//! sign-in; or `--token`/`--with-token` to store an API token. Then store the credential.

use crate::cli::LoginArgs;
use my_api::CredentialKind;
use mycli::app::App;
use mycli::auth::browser::{self, Open, Outcome};
use mycli::auth::{device, discovery, session};
use mycli::error::{Error, Result};
use mycli::out;
use std::io::{BufRead, IsTerminal};

pub(crate) fn run(app: &App, args: LoginArgs) -> Result<()> {
    if app.settings.env_token.is_some() {
        return Err(Error::Usage(
            "MY_API_TOKEN is set and takes precedence over a stored login: run `unset MY_API_TOKEN` first to use `my cli login`".into(),
        ));
    }
    if args.migrate {
        return migrate(app, args.json);
    }
    if args.token.is_some() || args.with_token {
        return store_token(app, &args);
    }
    app.store.preflight(app.api_url())?;
    if let Some(e) = &args.email {
        check_email(e.trim())?;
    }
    let meta = discovery::discover(&app.client, app.api_url())?;
    if args.web {
        let request = browser::prepare(&meta, args.email.as_deref().map(str::trim))?;
        let open = if args.no_browser {
            Open::Never
        } else {
            Open::Try
        };
        match browser::sign_in(&app.client, &meta, request, open)? {
            Outcome::SignedIn(tokens) => return finish(app, tokens, None, args.json),
            Outcome::NoBrowser => out::note("Continuing with the email sign-in instead."),
        }
    }
    let email = match args.email {
        Some(e) => e,
        None => prompt_email()?,
    };
    let email = email.trim().to_string();
    check_email(&email)?;
    let tokens = device::sign_in(&app.client, &meta, &email, !args.no_browser)?;
    finish(app, tokens, Some(email), args.json)
}

/// Stores a new session, then infers and prints the default context.
fn finish(app: &App, tokens: mycli::auth::Tokens, email: Option<String>, json: bool) -> Result<()> {
    let mut creds = session::session_credentials(tokens, None, email);
    let location = {
        let _lock = app.store.lock()?;
        let location = app.store.save(app.api_url(), &mut creds)?;
        session::record_refresh(app)?;
        location
    };
    let who = creds.email.clone().unwrap_or_default();
    if !json {
        out::note(format!(
            "Signed in as {who}. Credentials stored in the {}.",
            location.describe()
        ));
    }
    let ctx = super::context::infer_after_login(app);
    if !json {
        if let Some(ctx) = &ctx {
            out::note(format!("Context: {}.", super::context::describe(ctx)));
        }
    }
    let synced = synced_after_login(app, json);
    if json {
        out::json(&serde_json::json!({
            "email": who,
            "id": creds.user_id,
            "api_url": app.api_url(),
            "store": mycli::auth::session::Source::Stored(location).as_str(),
            "context": ctx.as_ref().map(super::context::context_json),
            "sync": synced,
        }));
    }
    Ok(())
}

/// `--token KEY` / `--with-token`: check the token's shape, then ask the server who it is,
/// then store it. API tokens are never refreshed.
fn store_token(app: &App, args: &LoginArgs) -> Result<()> {
    let raw = match (&args.token, args.with_token) {
        (Some(_), true) => {
            return Err(Error::Usage(
                "use either --token or --with-token, not both".into(),
            ))
        }
        (Some(t), false) => {
            out::note(
                "warning: a token on the command line is visible to other local users (ps, shell history); prefer `my cli login --with-token < FILE`",
            );
            t.trim().to_string()
        }
        // On a terminal, say what is awaited instead of waiting silently.
        (None, _) if std::io::stdin().is_terminal() => out::ask(
            "Paste the token and press Enter: ",
            Error::Usage("stdin is not a terminal".into()),
        )?
        .trim()
        .to_string(),
        (None, _) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::io("cannot read the token from stdin", e))?;
            line.trim().to_string()
        }
    };
    if raw.is_empty() {
        return Err(Error::Usage("no token given on stdin".into()));
    }
    session::check_token_format(&raw).map_err(|why| Error::Usage(format!("this {why}")))?;
    let token = mycli::secret::Secret::new(raw);
    let reply = app.client.get(&app.url(my_api::paths::ME), Some(&token))?;
    let me: my_api::Me = reply.ok_json()?;
    let expires_at = me
        .credential
        .expires_at
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let mut creds = mycli::credentials::Credentials {
        kind: me.credential.kind,
        access_token: token,
        refresh_token: None,
        access_expires_at: expires_at,
        session_expires_at: expires_at,
        user_id: Some(me.id.clone()),
        // An organization key names no person (the server sends no email for it).
        email: (!me.email.is_empty()).then(|| me.email.clone()),
        saved_at_ms: 0,
    };
    let holder = match me.credential.name.as_deref() {
        Some(name) if me.email.is_empty() => format!("\"{name}\""),
        _ => me.email.clone(),
    };
    let location = {
        let _lock = app.store.lock()?;
        app.store.save(app.api_url(), &mut creds)?
    };
    if !args.json {
        out::note(format!(
            "Stored the {} for {}. Credentials stored in the {}.",
            me.credential.kind.describe(),
            holder,
            location.describe()
        ));
    }
    // An organization key belongs to no person, so it has no catalog to sync.
    let synced = (me.credential.kind != CredentialKind::OrganizationKey)
        .then(|| synced_after_login(app, args.json))
        .flatten();
    if args.json {
        out::json(&serde_json::json!({
            "email": me.email,
            "id": me.id,
            "api_url": app.api_url(),
            "kind": me.credential.kind,
            "expires_at": me.credential.expires_at,
            "store": session::Source::Stored(location).as_str(),
            "sync": synced,
        }));
    }
    Ok(())
}

/// `--migrate`: move the credentials from the plaintext file into the OS keyring.
fn migrate(app: &App, json: bool) -> Result<()> {
    let moved = {
        let _lock = app.store.lock()?;
        app.store.migrate_to_keyring(app.api_url())?
    };
    if json {
        out::json(&serde_json::json!({ "api_url": app.api_url(), "migrated": moved }));
    } else if moved {
        out::note(format!(
            "Moved the credentials for {} into the OS keyring and removed them from {}.",
            app.api_url(),
            app.store.credentials_path().display()
        ));
    } else {
        out::note(format!(
            "{} holds no credentials for {}; nothing to move.",
            app.store.credentials_path().display(),
            app.api_url()
        ));
    }
    Ok(())
}

/// Syncs the active profile's catalog once signed in: its summary for `--json`, a line on
/// stderr otherwise (a failure is only a warning).
fn synced_after_login(app: &App, json: bool) -> Option<serde_json::Value> {
    let synced = super::library::sync_after_login(app)?;
    if !json {
        out::note(synced.describe());
    }
    Some(synced.json())
}

fn prompt_email() -> Result<String> {
    let line = out::ask(
        "Email address: ",
        Error::Usage(
            "no email address given and stdin is not a terminal: pass --email ADDRESS".into(),
        ),
    )?;
    if line.is_empty() {
        return Err(Error::Usage(
            "no email address given: pass --email ADDRESS".into(),
        ));
    }
    Ok(line)
}

fn check_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("\"{email}\" is not an email address")))
    }
}

#[cfg(test)]
mod tests {
    use super::check_email;

    #[test]
    fn emails() {
        assert!(check_email("a@b.c").is_ok());
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c", "a@b\nc"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
