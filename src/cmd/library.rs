//! `my library …`: the registry libraries installed into profiles, and syncing a profile's
//! catalog into the local cache.

use crate::app::App;
use crate::auth::session;
use crate::catalog::{self, ActiveProfile, ProfileSource, Synced};
use crate::cli::LibrarySyncArgs;
use crate::error::{Error, Result};
use crate::out;
use my_api::catalog::{paths, ProfileList};

/// `my library sync [--profile P | --all]`.
pub(crate) fn sync(app: &App, a: LibrarySyncArgs) -> Result<()> {
    if a.all {
        if a.profile.is_some() {
            return Err(Error::Usage(
                "--all syncs every profile: leave out --profile".into(),
            ));
        }
        return sync_all(app, a.json);
    }
    let target = catalog::active_profile(&app.settings, a.profile.as_deref())?;
    let synced = catalog::sync(app, &target)?;
    if a.json {
        out::json(&synced.json());
    } else {
        out::note(synced.describe());
    }
    Ok(())
}

/// Syncs every profile of the user, continuing past failures; fails at the end if any did.
fn sync_all(app: &App, json: bool) -> Result<()> {
    let (list, _): (ProfileList, _) = session::get_json(app, paths::PROFILES)?;
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for p in &list.profiles {
        let target = ActiveProfile {
            slug: Some(p.slug.clone()),
            source: ProfileSource::Flag,
        };
        match catalog::sync(app, &target) {
            Ok(synced) => {
                if !json {
                    out::note(synced.describe());
                }
                results.push(synced.json());
            }
            Err(e) => {
                if !json {
                    out::note(format!("{}: {e}", p.slug));
                }
                results.push(serde_json::json!({ "profile": p.slug, "error": e.to_string() }));
                failed.push(p.slug.clone());
            }
        }
    }
    if json {
        out::json(&results);
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "{} of {} profiles could not be synced: {}",
            failed.len(),
            list.profiles.len(),
            failed.join(", ")
        )))
    }
}

/// Syncs the active profile after a sign-in. A failure is a warning: the sign-in stands.
pub(crate) fn sync_after_login(app: &App) -> Option<Synced> {
    let result = catalog::active_profile(&app.settings, None).and_then(|p| catalog::sync(app, &p));
    match result {
        Ok(synced) => Some(synced),
        Err(e) => {
            out::note(format!("warning: the catalog was not synced: {e}"));
            None
        }
    }
}
