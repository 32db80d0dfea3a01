//! What every command works with: the resolved settings, the credential store and the
//! HTTP client, built once per invocation.

use crate::api::Client;
use crate::error::Result;
use crate::settings::Settings;
use crate::store::CredentialStore;
// The clock's functions, where the commands have always found them.
pub(crate) use crate::clock::{after, now, rfc3339};

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
