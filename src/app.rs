//! What every command works with: the resolved settings, the credential store and the
//! HTTP client, built once per invocation.

use crate::api::Client;
use crate::error::Result;
use crate::settings::Settings;
use crate::store::CredentialStore;

pub(crate) struct App {
    pub(crate) settings: Settings,
    pub(crate) store: CredentialStore,
    pub(crate) client: Client,
}

impl App {
    pub(crate) fn new() -> Result<App> {
        let settings = Settings::resolve()?;
        let store = CredentialStore::new(&settings.config_dir, settings.store_choice);
        Ok(App {
            settings,
            store,
            client: Client::new(),
        })
    }

    pub(crate) fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    /// An API URL path joined to the configured base.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.api_url, path)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC of a Unix time, for output.
pub(crate) fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}
