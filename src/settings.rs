//! The effective settings of one invocation, and where each came from.
//!
//! Precedence: environment (`MY_API_TOKEN`, `MY_API_URL`, `MY_CONFIG_DIR`,
//! `MY_CREDENTIAL_STORE`, `MY_PROFILE`), then the config file, then built-in defaults. The source is kept
//! so `my cli status` can say it.

use crate::config::Config;
use crate::credentials::StoreChoice;
use crate::error::{Error, Result};
use crate::secret::Secret;
use std::env;
use std::path::PathBuf;

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Config,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "environment",
            Source::Config => "config",
            Source::Default => "default",
        }
    }
}

#[derive(Debug)]
pub struct Settings {
    pub config_dir: PathBuf,
    pub config: Config,
    pub api_url: String,
    pub api_url_source: Source,
    /// `MY_API_TOKEN`: takes precedence over any stored credential, never refreshed.
    pub env_token: Option<Secret>,
    /// `MY_PROFILE`, unchecked (the active profile is resolved by `catalog::active_profile`).
    pub env_profile: Option<String>,
    pub store_choice: StoreChoice,
}

impl Settings {
    pub fn resolve() -> Result<Settings> {
        let config_dir = config_dir()?;
        let config = Config::load(&config_dir)?;
        let (api_url, api_url_source) = match non_empty("MY_API_URL") {
            Some(url) => (url, Source::Env),
            None => match &config.api_url {
                Some(url) => (url.clone(), Source::Config),
                None => (my_api::DEFAULT_API_URL.to_string(), Source::Default),
            },
        };
        let api_url = normalize_api_url(&api_url).map_err(|why| {
            let origin = match api_url_source {
                Source::Env => "MY_API_URL",
                _ => "the api_url in config.json",
            };
            Error::Usage(format!("{origin} is not a valid URL ({why}): {api_url}"))
        })?;
        let env_token = non_empty("MY_API_TOKEN").map(Secret::new);
        let store_choice = StoreChoice::parse(env::var("MY_CREDENTIAL_STORE").ok().as_deref())?;
        Ok(Settings {
            config_dir,
            config,
            api_url,
            api_url_source,
            env_token,
            env_profile: non_empty("MY_PROFILE"),
            store_choice,
        })
    }
}

fn non_empty(name: &str) -> Option<String> {
    env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `MY_CONFIG_DIR`, else `$HOME/.my`. `HOME` is read directly (no passwd lookup, which
/// static binaries cannot always do).
fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = env::var_os("MY_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".my")),
        None => Err(Error::Usage(
            "cannot find the home folder (HOME is not set): set MY_CONFIG_DIR".into(),
        )),
    }
}

/// Accepts `https://host[:port][/path]`, or `http://` for a loopback host only (anything
/// else would send tokens in the clear); drops a trailing slash.
pub fn normalize_api_url(url: &str) -> std::result::Result<String, &'static str> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it must start with http:// or https://")?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(['?', '#', ' ', '@']) {
        return Err("it has no valid host");
    }
    let parsed = url::Url::parse(url).map_err(|_| "it has no valid host")?;
    if parsed.scheme() == "http" && !crate::api::is_loopback(&parsed) {
        return Err(
            "plain http:// is only allowed for 127.0.0.1, [::1] and localhost: use https://",
        );
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::normalize_api_url;

    #[test]
    fn api_urls() {
        assert_eq!(
            normalize_api_url("http://127.0.0.1:7780/").unwrap(),
            "http://127.0.0.1:7780"
        );
        assert_eq!(
            normalize_api_url("https://api.my.cloud/v").unwrap(),
            "https://api.my.cloud/v"
        );
        assert!(normalize_api_url("ftp://x").is_err());
        assert!(normalize_api_url("http://").is_err());
        assert!(normalize_api_url("127.0.0.1:7780").is_err());
        // Tokens never travel in the clear beyond this machine.
        assert!(normalize_api_url("http://api.my.cloud").is_err());
        assert!(normalize_api_url("http://127.0.0.1.evil.test").is_err());
        assert!(normalize_api_url("http://[::1]:7780").is_ok());
    }
}
