//! `my library install|uninstall|list|search|info|sync`: the registry, the libraries
//! installed into profiles, and syncing a profile's catalog into the local cache.
//! (`release` has its own file.)

use crate::cli::{
    LibraryInfoArgs, LibraryInstallArgs, LibraryListArgs, LibrarySearchArgs, LibrarySyncArgs,
    LibraryUninstallArgs,
};
use my_api::catalog::{
    fill, paths, InstallLibrary, Library, LibraryList, LibraryRef, LibraryRefList, ProfileList,
};
use mycli::api::Method;
use mycli::app::App;
use mycli::auth::session;
use mycli::catalog::{self, checked_slug, remote, ActiveProfile, Catalog, ProfileSource, Synced};
use mycli::error::{Error, Result};
use mycli::out;

/// `my library install NAME [--profile P]`: look the library up, attach its latest release
/// to the profile, sync the profile.
pub(crate) fn install(app: &App, a: LibraryInstallArgs) -> Result<()> {
    let name = reference(&a.name)?;
    let target = catalog::active_profile(&app.settings, a.profile.as_deref())?;
    let profile = target.slug()?.to_string();
    let library: Library = remote::get(app, &fill(paths::LIBRARY, &[&name]), &|| {
        library_not_found(&name)
    })?;
    let reference = my_api::catalog::library_reference(library.owner.as_deref(), &library.slug);
    let body = serde_json::to_value(InstallLibrary {
        library: reference.clone(),
    })
    .map_err(|e| Error::Other(format!("cannot encode the request: {e}")))?;
    let path = fill(paths::PROFILE_LIBRARIES, &[&profile]);
    let installed = match remote::send(app, Method::Post, &path, Some(&body), &|| {
        remote::profile_not_found(&profile)
    }) {
        Ok(reply) => Some(reply.json::<LibraryRef>()?),
        Err(Error::Other(_)) if already_installed(app, &profile, &reference)? => None,
        Err(e) => return Err(e),
    };
    match &installed {
        Some(l) if !a.json => out::note(format!(
            "Installed {} ({})",
            l.reference(),
            catalog::commands(l.commands)
        )),
        None if !a.json => out::note(format!(
            "Library {reference:?} is already installed in profile {profile}."
        )),
        _ => {}
    }
    let synced = sync_after_change(app, &target, a.json)?;
    if a.json {
        out::json(&serde_json::json!({
            "library": reference,
            "profile": profile,
            "installed": installed.is_some(),
            "commands": installed.map(|l| l.commands),
            "sync": synced.json(),
        }));
    }
    Ok(())
}

/// After a refused install: true when the refusal was because it is already there.
fn already_installed(app: &App, profile: &str, reference: &str) -> Result<bool> {
    Ok(installed(app, profile)?
        .iter()
        .any(|l| l.reference() == reference))
}

fn installed(app: &App, profile: &str) -> Result<Vec<LibraryRef>> {
    let path = fill(paths::PROFILE_LIBRARIES, &[profile]);
    let list: LibraryRefList = remote::get(app, &path, &|| remote::profile_not_found(profile))?;
    Ok(list.libraries)
}

/// `my library uninstall NAME [--profile P]`, then sync the profile.
pub(crate) fn uninstall(app: &App, a: LibraryUninstallArgs) -> Result<()> {
    let name = reference(&a.name)?;
    let target = catalog::active_profile(&app.settings, a.profile.as_deref())?;
    let profile = target.slug()?.to_string();
    let path = fill(paths::PROFILE_LIBRARY, &[&profile, &name]);
    remote::send(app, Method::Delete, &path, None, &|| {
        format!("library {name:?} is not installed in profile {profile:?} (see `my library list --profile {profile}`)")
    })?;
    if !a.json {
        out::note(format!("Uninstalled {name} from profile {profile}."));
    }
    let synced = sync_after_change(app, &target, a.json)?;
    if a.json {
        out::json(&serde_json::json!({
            "library": name,
            "profile": profile,
            "uninstalled": true,
            "sync": synced.json(),
        }));
    }
    Ok(())
}

fn sync_after_change(app: &App, target: &ActiveProfile, json: bool) -> Result<Synced> {
    let synced = catalog::sync(app, target)?;
    if !json {
        out::note(synced.describe());
    }
    Ok(synced)
}

/// `my library list [--profile P]`: from the server, or from the cache when it cannot be
/// reached.
pub(crate) fn list(app: &App, a: LibraryListArgs) -> Result<()> {
    let target = catalog::active_profile(&app.settings, a.profile.as_deref())?;
    let profile = target.slug()?.to_string();
    let libraries = match installed(app, &profile) {
        Ok(l) => l,
        Err(Error::Unavailable(why)) => {
            let Ok(cached) = Catalog::load(&app.settings.config_dir, &profile) else {
                return Err(Error::Unavailable(why));
            };
            out::note(format!("{why}; showing the cached catalog"));
            let libraries = cached.libraries();
            if a.json {
                let rows: Vec<_> = libraries
                    .iter()
                    .map(|(r, n)| serde_json::json!({"library": r, "commands": n, "cached": true}))
                    .collect();
                out::json(&rows);
            } else {
                let rows = libraries
                    .into_iter()
                    .map(|(r, n)| vec![r, n.to_string(), "(cached)".into()])
                    .collect();
                out::table(&["LIBRARY", "COMMANDS", ""], rows);
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if a.json {
        out::json(&libraries);
    } else {
        print_installed(&libraries);
    }
    Ok(())
}

/// Installed libraries as a table: reference, attached release, commands, name.
pub(super) fn print_installed(libraries: &[LibraryRef]) {
    let rows = libraries
        .iter()
        .map(|l| {
            vec![
                l.reference(),
                l.version.clone(),
                l.commands.to_string(),
                l.name.clone(),
            ]
        })
        .collect();
    out::table(&["LIBRARY", "VERSION", "COMMANDS", "NAME"], rows);
}

/// `my library search QUERY`.
pub(crate) fn search(app: &App, a: LibrarySearchArgs) -> Result<()> {
    let query: String = form_urlencoded::byte_serialize(a.query.trim().as_bytes()).collect();
    let list: LibraryList = remote::get(app, &format!("{}?q={query}", paths::LIBRARIES), &|| {
        "the server has no library registry".into()
    })?;
    if a.json {
        out::json(&list.libraries);
        return Ok(());
    }
    let rows = list
        .libraries
        .iter()
        .map(|l| {
            vec![
                my_api::catalog::library_reference(l.owner.as_deref(), &l.slug),
                l.latest_version.clone().unwrap_or_else(|| "-".into()),
                l.name.clone(),
                l.description.clone(),
            ]
        })
        .collect();
    out::table(&["LIBRARY", "LATEST", "NAME", "DESCRIPTION"], rows);
    Ok(())
}

/// `my library info NAME`: description, releases and the latest release's commands.
pub(crate) fn info(app: &App, a: LibraryInfoArgs) -> Result<()> {
    let name = reference(&a.name)?;
    let l: Library = remote::get(app, &fill(paths::LIBRARY, &[&name]), &|| {
        library_not_found(&name)
    })?;
    if a.json {
        out::json(&l);
        return Ok(());
    }
    out::line(format!(
        "Library:     {}",
        my_api::catalog::library_reference(l.owner.as_deref(), &l.slug)
    ));
    out::line(format!("Name:        {}", l.name));
    if !l.description.is_empty() {
        out::line(format!("Description: {}", l.description));
    }
    if !l.aliases.is_empty() {
        out::line(format!("Aliases:     {}", l.aliases.join(", ")));
    }
    out::line(format!(
        "Releases:    {}",
        if l.versions.is_empty() {
            "none".to_string()
        } else {
            l.versions.join(", ")
        }
    ));
    let rows = l
        .commands
        .iter()
        .map(|c| {
            vec![
                c.slug.clone(),
                format!("v{}", c.version),
                c.aliases.join(","),
                c.description.clone(),
            ]
        })
        .collect::<Vec<_>>();
    if !rows.is_empty() {
        out::table(&["COMMAND", "VERSION", "ALIASES", "DESCRIPTION"], rows);
    }
    Ok(())
}

/// A library as typed: `slug` or `owner/slug`. Git URLs belong to `my source add`.
fn reference(name: &str) -> Result<String> {
    let name = name.trim();
    if name.contains("://") || name.starts_with("git@") || name.ends_with(".git") {
        return Err(Error::Usage(
            "git URLs are not supported here; use `my source add …` instead".into(),
        ));
    }
    match name.split('/').collect::<Vec<_>>().as_slice() {
        [slug] => Ok(checked_slug(slug, "library")?.to_string()),
        [owner, slug] => Ok(format!(
            "{}/{}",
            checked_slug(owner, "library owner")?,
            checked_slug(slug, "library")?
        )),
        _ => Err(Error::Usage(format!(
            "{name:?} is not a library name: give `slug` or `owner/slug`"
        ))),
    }
}

fn library_not_found(name: &str) -> String {
    format!("library {name:?} not found (see `my library search`)")
}

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

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn library_names() {
        assert_eq!(reference(" kubernetes ").unwrap(), "kubernetes");
        assert_eq!(reference("alice/ops").unwrap(), "alice/ops");
        for git in [
            "https://github.com/a/b",
            "git@github.com:a/b.git",
            "ssh://git@x/y",
            "b.git",
        ] {
            let e = reference(git).unwrap_err().to_string();
            assert!(e.contains("my source add"), "{git}: {e}");
        }
        for bad in ["", "Ops", "a/b/c", "/ops", "alice/"] {
            assert!(reference(bad).is_err(), "{bad:?}");
        }
    }
}
