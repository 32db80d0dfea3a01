//! Non-secret settings and per-server state in `<dir>/config.json`: the chosen API URL, the
//! active profile, and per server when it was last refreshed, the context and which profile
//! each API token resolved to.
//!
//! Kept apart from the credentials so it can be read and rewritten freely (no keyring, no
//! lock needed for a read). Keys this build does not know survive a rewrite, so an older
//! `my` never drops what a newer one wrote.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::{ensure_private_dir, write_atomic};
use crate::error::{json_error_detail, Error, Result};

/// The file name inside the config folder.
pub const FILE_NAME: &str = "config.json";

/// The contents of `config.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The API URL to use when neither a flag nor `MY_API_URL` names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The profile `my cli profile set` chose; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_profile: Option<String>,
    /// State per server, keyed by API URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, ServerState>,
    /// Keys this build does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What `my` remembers about one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerState {
    /// When the session was last refreshed (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh_at: Option<u64>,
    /// The profile each API token's catalog resolved to, keyed by the token's display
    /// prefix (`myc_3f12c4...`, never the secret): with `MY_API_TOKEN` and no explicit
    /// profile, the token's scope decides and this remembers the answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_profiles: BTreeMap<String, String>,
    /// The active context (`my use`), filled in after an interactive login.
    #[serde(default, skip_serializing_if = "Context::is_empty")]
    pub context: Context,
    /// Keys this build does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The organization, project and environment commands use when no flag names them. Ids
/// are what requests send; slugs are kept for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        *self == Context::default()
    }
}

impl Config {
    /// Reads `<dir>/config.json`: the default when it does not exist, `Error::Corrupt` when
    /// it does not parse (and then it is never overwritten: `save` is only reachable with a
    /// config that loaded).
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join(FILE_NAME);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        Config::parse(&bytes).map_err(|detail| Error::Corrupt { path, detail })
    }

    /// A config from the file's bytes, or what is wrong with them.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Config, String> {
        let config: Config = serde_json::from_slice(bytes).map_err(|e| json_error_detail(&e))?;
        config.check_dates()?;
        Ok(config)
    }

    /// Times are Unix seconds up to the year 9999 (RFC 3339 has four-digit years).
    fn check_dates(&self) -> std::result::Result<(), String> {
        for (url, state) in &self.servers {
            if state
                .last_refresh_at
                .is_some_and(|t| t > crate::clock::MAX_TIME)
            {
                return Err(format!(
                    "servers.{url}.last_refresh_at is after the year 9999"
                ));
            }
        }
        Ok(())
    }

    /// Writes `<dir>/config.json` atomically (mode 0600, folder 0700).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Other(format!("cannot encode the config: {e}")))?;
        bytes.push(b'\n');
        ensure_private_dir(dir)?;
        write_atomic(&dir.join(FILE_NAME), &bytes)
    }

    /// The state of `api_url`, or the default when there is none yet.
    pub fn server(&self, api_url: &str) -> ServerState {
        self.servers.get(api_url).cloned().unwrap_or_default()
    }

    /// The state of `api_url` to change, created empty when there is none yet.
    pub fn server_mut(&mut self, api_url: &str) -> &mut ServerState {
        self.servers.entry(api_url.to_owned()).or_default()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic::tests::{mode, names};

    #[test]
    fn a_missing_config_is_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config::load(&tmp.path().join("nothing-here")).unwrap();
        assert!(config.api_url.is_none() && config.active_profile.is_none());
        assert!(config.servers.is_empty() && config.extra.is_empty());
    }

    #[test]
    fn round_trip_keeps_unknown_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my");
        fs::create_dir(&dir).unwrap();
        fs::write(
            dir.join(FILE_NAME),
            r#"{"api_url":"https://a.test","theme":"dark","active_profile":"work",
                "servers":{"https://a.test":{"last_refresh_at":5,"etag":"w/1"}}}"#,
        )
        .unwrap();

        let mut config = Config::load(&dir).unwrap();
        assert_eq!(config.api_url.as_deref(), Some("https://a.test"));
        assert_eq!(config.active_profile.as_deref(), Some("work"));
        assert_eq!(config.server("https://a.test").last_refresh_at, Some(5));
        assert!(config.server("https://b.test").last_refresh_at.is_none());
        config
            .server_mut("https://a.test")
            .token_profiles
            .insert("myc_3f12c4...".into(), "ci".into());
        config.server_mut("https://b.test").last_refresh_at = Some(9);
        config.save(&dir).unwrap();

        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(FILE_NAME)).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "api_url": "https://a.test",
                "active_profile": "work",
                "theme": "dark",
                "servers": {
                    "https://a.test": {
                        "last_refresh_at": 5,
                        "token_profiles": {"myc_3f12c4...": "ci"},
                        "etag": "w/1"
                    },
                    "https://b.test": {"last_refresh_at": 9}
                }
            })
        );
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
        assert_eq!(names(&dir), [FILE_NAME]);
    }

    #[test]
    fn unknown_numbers_survive_a_rewrite_exactly() {
        // Found by fuzzing (config_file): without float_roundtrip a large float drifted.
        let json = br#"{"srve1erservers": 1111111111111111111111111}"#;
        let config = Config::parse(json).unwrap();
        let again = Config::parse(&serde_json::to_vec(&config).unwrap()).unwrap();
        assert_eq!(again.extra, config.extra);
    }

    #[test]
    fn a_date_past_the_year_9999_is_a_clear_error() {
        // `my cli status` used to panic formatting it.
        let tmp = tempfile::tempdir().unwrap();
        let json = r#"{"servers":{"http://x":{"last_refresh_at":253402300800}}}"#;
        fs::write(tmp.path().join(FILE_NAME), json).unwrap();
        let err = Config::load(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("servers.http://x.last_refresh_at is after the year 9999"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_config_is_reported_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        for bytes in [&b"{\"api_url\": "[..], b"[]", br#"{"api_url": 3}"#] {
            fs::write(tmp.path().join(FILE_NAME), bytes).unwrap();
            match Config::load(tmp.path()).unwrap_err() {
                Error::Corrupt { path, .. } => assert_eq!(path, tmp.path().join(FILE_NAME)),
                other => panic!("{other:?}"),
            }
            assert_eq!(fs::read(tmp.path().join(FILE_NAME)).unwrap(), bytes);
        }
    }
}
