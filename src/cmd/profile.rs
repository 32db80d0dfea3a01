//! `my cli profile create|list|show|set|delete`: profiles, a user's named sets of installed
//! libraries. `list` and `show` fall back to the local cache when the server cannot be
//! reached; `set` needs no server for a profile that is cached.

use crate::cli::{
    ProfileArgs, ProfileCommand, ProfileCreateArgs, ProfileDeleteArgs, ProfileListArgs,
    ProfileSetArgs, ProfileShowArgs,
};
use my_api::catalog::{fill, paths, CreateProfile, Profile, ProfileList, DEFAULT_PROFILE};
use mycli::api::Method;
use mycli::app::App;
use mycli::catalog::{self, checked_slug, remote, Catalog, ProfileSource};
use mycli::error::{Error, Result};
use mycli::out;

pub(crate) fn run(app: &App, args: ProfileArgs) -> Result<()> {
    match args.command {
        ProfileCommand::Create(a) => create(app, a),
        ProfileCommand::List(a) => list(app, a),
        ProfileCommand::Show(a) => show(app, a),
        ProfileCommand::Set(a) => set(app, a),
        ProfileCommand::Delete(a) => delete(app, a),
    }
}

fn create(app: &App, a: ProfileCreateArgs) -> Result<()> {
    let slug = checked_slug(&a.slug, "profile")?;
    let body = serde_json::to_value(CreateProfile {
        slug: slug.to_string(),
        name: a
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        description: None,
    })
    .map_err(|e| Error::Other(format!("cannot encode the request: {e}")))?;
    let reply = remote::send(app, Method::Post, paths::PROFILES, Some(&body), &|| {
        "the server has no profiles endpoint".into()
    })?;
    let profile: Profile = reply.json()?;
    if a.json {
        out::json(&profile);
    } else {
        out::note(format!(
            "Created profile {} ({}). Make it the active one with `my cli profile set {}`.",
            profile.slug, profile.name, profile.slug
        ));
    }
    Ok(())
}

fn list(app: &App, a: ProfileListArgs) -> Result<()> {
    let active = catalog::active_profile(&app.settings, None)?.slug;
    let is_active = |slug: &str| active.as_deref() == Some(slug);
    let profiles = match remote::get::<ProfileList>(app, paths::PROFILES, &|| {
        "the server has no profiles endpoint".into()
    }) {
        Ok(list) => list.profiles,
        Err(Error::Unavailable(why)) => {
            let cached = catalog::cached_profiles(&app.settings.config_dir);
            if cached.is_empty() {
                return Err(Error::Unavailable(why));
            }
            out::note(format!("{why}; showing the profiles cached here"));
            if a.json {
                let rows: Vec<_> = cached
                    .iter()
                    .map(|s| serde_json::json!({"slug": s, "active": is_active(s), "cached": true}))
                    .collect();
                out::json(&rows);
            } else {
                for slug in &cached {
                    out::line(format!("{} {slug} (cached)", marker(is_active(slug))));
                }
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if a.json {
        let rows: Vec<_> = profiles
            .iter()
            .map(|p| {
                let mut v = serde_json::to_value(p).unwrap_or_default();
                v["active"] = is_active(&p.slug).into();
                v
            })
            .collect();
        out::json(&rows);
        return Ok(());
    }
    let rows = profiles
        .iter()
        .map(|p| {
            vec![
                marker(is_active(&p.slug)).to_string(),
                p.slug.clone(),
                p.name.clone(),
                p.description.clone(),
            ]
        })
        .collect();
    out::table(&["", "SLUG", "NAME", "DESCRIPTION"], rows);
    Ok(())
}

fn marker(active: bool) -> &'static str {
    if active {
        "*"
    } else {
        " "
    }
}

fn show(app: &App, a: ProfileShowArgs) -> Result<()> {
    let active = catalog::active_profile(&app.settings, None)?;
    let slug = match &a.slug {
        Some(s) => checked_slug(s, "profile")?.to_string(),
        None => active.slug()?.to_string(),
    };
    let is_active = active.slug.as_deref() == Some(slug.as_str());
    let path = fill(paths::PROFILE, &[&slug]);
    let profile: Profile = match remote::get(app, &path, &|| remote::profile_not_found(&slug)) {
        Ok(p) => p,
        Err(Error::Unavailable(why)) => {
            let Ok(cached) = Catalog::load(&app.settings.config_dir, &slug) else {
                return Err(Error::Unavailable(why));
            };
            out::note(format!("{why}; showing the cached catalog"));
            return show_cached(&cached, is_active, a.json);
        }
        Err(e) => return Err(e),
    };
    if a.json {
        let mut v = serde_json::to_value(&profile).unwrap_or_default();
        v["active"] = is_active.into();
        out::json(&v);
        return Ok(());
    }
    out::line(format!(
        "Profile:     {}{}",
        profile.slug,
        if is_active { " (active)" } else { "" }
    ));
    out::line(format!("Name:        {}", profile.name));
    if !profile.description.is_empty() {
        out::line(format!("Description: {}", profile.description));
    }
    let libraries = profile.libraries.unwrap_or_default();
    out::line(format!("Libraries:   {}", libraries.len()));
    if !libraries.is_empty() {
        super::library::print_installed(&libraries);
    }
    Ok(())
}

/// A profile as its cached catalog shows it: its libraries and how many commands each has.
fn show_cached(cached: &Catalog, active: bool, json: bool) -> Result<()> {
    let libraries = cached.libraries();
    if json {
        out::json(&serde_json::json!({
            "slug": cached.profile(),
            "active": active,
            "cached": true,
            "synced_at": cached.synced_at(),
            "commands": cached.items().len(),
            "libraries": libraries
                .iter()
                .map(|(r, n)| serde_json::json!({"library": r, "commands": n}))
                .collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    out::line(format!(
        "Profile:     {}{} (cached)",
        cached.profile(),
        if active { " (active)" } else { "" }
    ));
    out::line(format!("Last sync:   {}", cached.synced_at()));
    out::line(format!("Commands:    {}", cached.items().len()));
    out::line(format!("Libraries:   {}", libraries.len()));
    let rows = libraries
        .into_iter()
        .map(|(r, n)| vec![r, n.to_string()])
        .collect::<Vec<_>>();
    if !rows.is_empty() {
        out::table(&["LIBRARY", "COMMANDS"], rows);
    }
    Ok(())
}

/// A cached profile is switched to at once; otherwise the server is asked. Only a definite
/// "not found" (or no way to ask and no cache) blocks the switch.
fn set(app: &App, a: ProfileSetArgs) -> Result<()> {
    let slug = checked_slug(&a.slug, "profile")?;
    let cached = catalog::cached_profiles(&app.settings.config_dir)
        .iter()
        .any(|s| s == slug);
    if !cached {
        let path = fill(paths::PROFILE, &[slug]);
        match remote::get::<Profile>(app, &path, &|| remote::profile_not_found(slug)) {
            Ok(_) => {}
            Err(Error::Unavailable(why)) => {
                out::note(format!(
                    "warning: could not check that profile {slug:?} exists ({why})"
                ));
            }
            Err(Error::NotSignedIn) => {
                return Err(Error::NotFound(format!(
                    "profile {slug:?} is not cached locally: sign in (`my cli login`) and run `my library sync --profile {slug}` first"
                )))
            }
            Err(e) => return Err(e),
        }
    }
    catalog::set_active(app, Some(slug))?;
    if a.json {
        out::json(&serde_json::json!({ "active_profile": slug }));
    } else {
        out::note(format!("Active profile: {slug}."));
    }
    warn_if_overridden(app);
    Ok(())
}

/// `set` writes the config, but MY_PROFILE or MY_API_TOKEN's scope still win over it.
fn warn_if_overridden(app: &App) {
    let overridden = match catalog::active_profile(&app.settings, None) {
        Ok(p) => p.source == ProfileSource::Env || p.source == ProfileSource::Token,
        Err(_) => app.settings.env_profile.is_some(),
    };
    if overridden {
        out::note(
            "note: MY_PROFILE or MY_API_TOKEN is set and takes precedence over the saved profile",
        );
    }
}

fn delete(app: &App, a: ProfileDeleteArgs) -> Result<()> {
    let slug = checked_slug(&a.slug, "profile")?;
    if slug == DEFAULT_PROFILE {
        return Err(Error::Usage("the default profile cannot be deleted".into()));
    }
    let mut path = fill(paths::PROFILE, &[slug]);
    if a.force {
        path.push_str("?force=true");
    }
    remote::send(app, Method::Delete, &path, None, &|| {
        remote::profile_not_found(slug)
    })?;
    catalog::remove_profile(&app.settings.config_dir, slug)?;
    let was_active = app.settings.config.active_profile.as_deref() == Some(slug);
    if was_active {
        catalog::set_active(app, None)?;
    }
    if a.json {
        out::json(&serde_json::json!({ "deleted": slug, "active_reset": was_active }));
    } else {
        out::note(format!("Deleted profile {slug}."));
        if was_active {
            out::note(format!("The active profile is {DEFAULT_PROFILE} again."));
        }
    }
    Ok(())
}
