//! `my cli status`: API URL, login state and where the credential comes from, session
//! expiry, the active profile with its last sync, cached command count and libraries. Reads
//! local state only (no network, no spec bodies), so it answers at once.

use crate::cli::StatusArgs;
use mycli::app::{rfc3339, App};
use mycli::auth::session::Source;
use mycli::catalog::{self, Read, Summary};
use mycli::credentials::{Location, StoreChoice};
use mycli::error::Result;
use mycli::out;

pub(crate) fn run(app: &App, args: StatusArgs) -> Result<()> {
    let server = app.settings.config.server(app.api_url());
    let stored = if app.settings.env_token.is_some() {
        None
    } else {
        app.store.load(app.api_url())?
    };
    let source = if app.settings.env_token.is_some() {
        Some(Source::Env)
    } else {
        stored.as_ref().map(|(_, loc)| Source::Stored(*loc))
    };
    let creds = stored.as_ref().map(|(c, _)| c);
    // The kind of an environment token shows in its prefix; no request needed.
    let env_kind = app
        .settings
        .env_token
        .as_ref()
        .and_then(|t| my_api::token::parse(t.expose()).ok())
        .map(|k| k.credential_kind());
    let kind = env_kind.or(creds.map(|c| c.kind));
    let store = match app.settings.store_choice {
        StoreChoice::Auto => "auto",
        StoreChoice::Keyring => "keyring",
        StoreChoice::File => "file",
    };
    let plaintext = matches!(source, Some(Source::Stored(Location::File)));
    // A keyring that answers now could take the plaintext copy (asked only then: ~10 ms).
    let can_migrate = plaintext && app.store.keyring_answers();
    let profile = catalog::active_profile(&app.settings, None)?;
    let summary = match &profile.slug {
        Some(slug) => match Summary::read(&app.settings.config_dir, slug)? {
            Read::Found(s) => Some(s),
            Read::Missing => None,
            Read::Corrupt(why) => {
                out::note(format!(
                    "warning: {why}: run `my library sync` to fetch it again"
                ));
                None
            }
        },
        None => None,
    };
    let last_sync = summary.as_ref().map(|s| display_time(&s.synced_at));
    if args.json {
        out::json(&serde_json::json!({
            "api_url": app.api_url(),
            "api_url_source": app.settings.api_url_source.as_str(),
            "logged_in": source.is_some(),
            "source": source.map(Source::as_str),
            "store": store,
            "plaintext_file": plaintext,
            "credentials_file": plaintext.then(|| app.store.credentials_path()),
            "can_migrate_to_keyring": can_migrate,
            "email": creds.and_then(|c| c.email.clone()),
            "kind": kind,
            "session_expires_at": creds.and_then(|c| c.session_expires_at).map(rfc3339),
            "last_refresh_at": server.last_refresh_at.map(rfc3339),
            "profile": profile.slug,
            "profile_source": profile.source.as_str(),
            "last_sync_at": summary.as_ref().map(|s| &s.synced_at),
            "cached_commands": summary.as_ref().map_or(0, |s| s.commands),
            "libraries": summary.as_ref().map_or(0, |s| s.libraries),
            "library_commands": summary.as_ref().map_or(0, |s| s.library_commands),
            "context": super::context::context_json(&server.context),
        }));
        return Ok(());
    }
    out::line(format!(
        "API URL:         {} ({})",
        app.api_url(),
        app.settings.api_url_source.as_str()
    ));
    let login = match (source, creds) {
        (Some(Source::Env), _) => match env_kind {
            Some(k) => format!("yes, with a {} from MY_API_TOKEN", k.describe()),
            None => "MY_API_TOKEN is set but is not a valid my token".to_string(),
        },
        (Some(_), Some(c)) => format!(
            "yes, as {} ({})",
            c.email.as_deref().unwrap_or("unknown user"),
            c.kind.describe()
        ),
        _ => "no (run `my cli login`)".to_string(),
    };
    out::line(format!("Logged in:       {login}"));
    let where_ = match source {
        Some(Source::Env) => "environment (MY_API_TOKEN)".to_string(),
        Some(Source::Stored(Location::Keyring)) => Location::Keyring.describe().to_string(),
        Some(Source::Stored(Location::File)) => format!(
            "{} — plaintext file, not the OS keyring",
            app.store.credentials_path().display()
        ),
        None => format!("none (store: {store})"),
    };
    out::line(format!("Credentials:     {where_}"));
    if can_migrate {
        out::note("An OS keyring is available now: run `my cli login --migrate` to move the credentials there.");
    }
    if let Some(c) = creds {
        if let Some(exp) = c.session_expires_at {
            out::line(format!("Session expires: {}", rfc3339(exp)));
        }
    }
    if let Some(t) = server.last_refresh_at {
        out::line(format!("Last refresh:    {}", rfc3339(t)));
    }
    out::line(format!("Profile:         {}", profile.describe()));
    out::line(format!(
        "Last sync:       {}",
        last_sync.as_deref().unwrap_or("never")
    ));
    out::line(format!(
        "Cached commands: {}",
        summary.as_ref().map_or(0, |s| s.commands)
    ));
    out::line(format!(
        "Libraries:       {}",
        summary.as_ref().map_or_else(
            || "0".to_string(),
            |s| format!(
                "{} ({})",
                s.libraries,
                catalog::commands(s.library_commands)
            )
        )
    ));
    out::line(format!(
        "Context:         {}",
        super::context::describe(&server.context)
    ));
    Ok(())
}

/// `2026-11-29T19:04:33.123Z` → `2026-11-29 19:04:33 UTC`; anything else as it is.
fn display_time(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(s) if rfc3339.len() > 19 && s.as_bytes()[10] == b'T' => {
            format!("{} UTC", s.replacen('T', " ", 1))
        }
        _ => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::display_time;

    #[test]
    fn sync_times_are_shown_to_the_second() {
        assert_eq!(
            display_time("2026-11-29T19:04:33.123Z"),
            "2026-11-29 19:04:33 UTC"
        );
        assert_eq!(
            display_time("2026-11-29T19:04:33Z"),
            "2026-11-29 19:04:33 UTC"
        );
        assert_eq!(display_time("soon"), "soon");
    }
}
