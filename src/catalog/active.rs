//! Which profile is active, and why: the one resolution every command uses (sync, status,
//! install, run).
//!
//! `--profile` (where a command has it) > `MY_PROFILE` > `active_profile` in config.json >
//! `default`. With `MY_API_TOKEN` and no explicit profile (neither the flag nor
//! `MY_PROFILE`), the token's scope decides on the server: sync leaves `?profile=` off, and
//! the profile the catalog answer names is remembered (per server, keyed by the token's
//! display prefix) as the active one for that token.

use crate::app::App;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::settings::Settings;
use my_api::catalog::{valid_slug, DEFAULT_PROFILE};

/// Where the active profile came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    /// The command's `--profile` flag.
    Flag,
    /// `MY_PROFILE`.
    Env,
    /// The scope of `MY_API_TOKEN`, as the server resolved it at the last sync.
    Token,
    /// `active_profile` in config.json (`my cli profile set`).
    Config,
    /// Nothing chose one.
    Default,
}

impl ProfileSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileSource::Flag => "--profile",
            ProfileSource::Env => "MY_PROFILE",
            ProfileSource::Token => "MY_API_TOKEN",
            ProfileSource::Config => "config",
            ProfileSource::Default => "default",
        }
    }
}

/// The active profile. `slug` is `None` only for `MY_API_TOKEN` before its first sync: the
/// server has not yet said which profile the token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveProfile {
    pub slug: Option<String>,
    pub source: ProfileSource,
}

impl ActiveProfile {
    /// The slug, or the error that says to sync first.
    pub fn slug(&self) -> Result<&str> {
        self.slug.as_deref().ok_or_else(|| {
            Error::Cache(
                "the profile of MY_API_TOKEN is not known yet (its scope decides): run `my library sync`"
                    .into(),
            )
        })
    }

    /// The `?profile=` a catalog request sends: none when the token's scope decides.
    pub fn query(&self) -> Option<&str> {
        match self.source {
            ProfileSource::Token => None,
            _ => self.slug.as_deref(),
        }
    }

    /// True when the token's scope decides, so the answer's profile is to be remembered.
    pub fn decided_by_token(&self) -> bool {
        self.source == ProfileSource::Token
    }

    /// "work (MY_PROFILE)", or just "default", for status and messages.
    pub fn describe(&self) -> String {
        match &self.slug {
            Some(slug) if self.source == ProfileSource::Default => slug.clone(),
            Some(slug) => format!("{slug} ({})", self.source.as_str()),
            None => "decided by MY_API_TOKEN's scope (not synced yet: run `my library sync`)"
                .to_string(),
        }
    }
}

/// Resolves the active profile; `flag` is the command's `--profile`, if it has one. An
/// invalid slug is a usage error that names where it came from.
pub fn active_profile(settings: &Settings, flag: Option<&str>) -> Result<ActiveProfile> {
    let token_key = settings
        .env_token
        .as_ref()
        .map(|t| my_api::token::display_prefix(t.expose()));
    let remembered = token_key.as_ref().map(|key| {
        settings
            .config
            .servers
            .get(&settings.api_url)
            .and_then(|s| s.token_profiles.get(key))
            .cloned()
    });
    resolve(
        flag,
        settings.env_profile.as_deref(),
        remembered,
        settings.config.active_profile.as_deref(),
    )
}

/// Remembers `slug` as the profile `MY_API_TOKEN`'s scope resolved to (nothing without the
/// variable).
pub fn remember_for_token(app: &App, slug: &str) -> Result<()> {
    let Some(token) = &app.settings.env_token else {
        return Ok(());
    };
    let key = my_api::token::display_prefix(token.expose());
    update_config(app, |c| {
        c.server_mut(&app.settings.api_url)
            .token_profiles
            .insert(key, slug.to_string());
    })
}

/// Sets (or, with `None`, clears) `active_profile` in config.json.
pub fn set_active(app: &App, slug: Option<&str>) -> Result<()> {
    update_config(app, |c| c.active_profile = slug.map(String::from))
}

/// Changes config.json as it is on disk now, under the store's lock (a refresh in another
/// process writes it too).
fn update_config(app: &App, change: impl FnOnce(&mut Config)) -> Result<()> {
    let _lock = app.store.lock()?;
    let dir = &app.settings.config_dir;
    let mut config = Config::load(dir)?;
    change(&mut config);
    config.save(dir)
}

/// A slug as typed (trimmed), or the usage error that names where it came from: `origin`
/// is e.g. `--profile`, `MY_PROFILE` or `library`.
pub fn checked_slug<'a>(slug: &'a str, origin: &str) -> Result<&'a str> {
    let slug = slug.trim();
    if valid_slug(slug) {
        Ok(slug)
    } else {
        Err(Error::Usage(format!(
            "{origin} {slug:?} is not a valid slug (lower-case letters, digits and -, starting with a letter)"
        )))
    }
}

/// The precedence itself, apart from where the values are read. `token` is `Some` when
/// `MY_API_TOKEN` is set, holding the profile remembered for it (if any).
fn resolve(
    flag: Option<&str>,
    env: Option<&str>,
    token: Option<Option<String>>,
    config: Option<&str>,
) -> Result<ActiveProfile> {
    let checked = |slug: &str, origin: &str, source| {
        checked_slug(slug, origin).map(|slug| ActiveProfile {
            slug: Some(slug.to_string()),
            source,
        })
    };
    if let Some(slug) = flag {
        return checked(slug, "--profile", ProfileSource::Flag);
    }
    if let Some(slug) = env {
        return checked(slug, "MY_PROFILE", ProfileSource::Env);
    }
    if let Some(remembered) = token {
        // Remembered from a server answer; a bad value is ignored (the next sync replaces it).
        let slug = remembered.filter(|s| valid_slug(s));
        return Ok(ActiveProfile {
            slug,
            source: ProfileSource::Token,
        });
    }
    if let Some(slug) = config {
        return checked(slug, "active_profile in config.json", ProfileSource::Config);
    }
    Ok(ActiveProfile {
        slug: Some(DEFAULT_PROFILE.to_string()),
        source: ProfileSource::Default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(p: Result<ActiveProfile>) -> (Option<String>, ProfileSource, Option<String>) {
        let p = p.unwrap();
        let query = p.query().map(String::from);
        (p.slug, p.source, query)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn precedence_flag_env_token_config_default() {
        use ProfileSource::*;
        let remembered = Some(some("ci"));
        assert_eq!(
            got(resolve(Some("a"), Some("b"), remembered.clone(), Some("c"))),
            (some("a"), Flag, some("a"))
        );
        assert_eq!(
            got(resolve(None, Some("b"), remembered.clone(), Some("c"))),
            (some("b"), Env, some("b"))
        );
        // The token's scope decides: its remembered profile, and no ?profile= on sync.
        assert_eq!(
            got(resolve(None, None, remembered, Some("c"))),
            (some("ci"), Token, None)
        );
        assert_eq!(
            got(resolve(None, None, Some(None), Some("c"))),
            (None, Token, None)
        );
        assert_eq!(
            got(resolve(None, None, None, Some("c"))),
            (some("c"), Config, some("c"))
        );
        assert_eq!(
            got(resolve(None, None, None, None)),
            (some("default"), Default, some("default"))
        );
    }

    #[test]
    fn an_unsynced_token_profile_says_to_sync() {
        let p = resolve(None, None, Some(None), None).unwrap();
        let e = p.slug().unwrap_err().to_string();
        assert!(e.contains("my library sync"), "{e}");
        assert!(p.describe().contains("not synced yet"));
    }

    #[test]
    fn bad_slugs_name_their_origin() {
        for (flag, env, config, origin) in [
            (Some("Work"), None, None, "--profile"),
            (None, Some("../x"), None, "MY_PROFILE"),
            (None, None, Some("a b"), "config.json"),
        ] {
            let e = resolve(flag, env, None, config).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{e:?}");
            assert!(e.to_string().contains(origin), "{e}");
        }
        // A bad remembered value is dropped, not fatal.
        let p = resolve(None, None, Some(some("../../etc")), None).unwrap();
        assert_eq!(p.slug, None);
    }
}
