//! What every command works with: the resolved settings, the credential store and the
//! HTTP client, built once per invocation.

use crate::api::Client;
use crate::credentials::CredentialStore;
use crate::error::Result;
use crate::settings::Settings;
// The clock's functions, where the commands have always found them.
pub use crate::clock::{after, now, rfc3339};

pub struct App {
    pub settings: Settings,
    pub store: CredentialStore,
    pub client: Client,
}

impl App {
    pub fn new() -> Result<App> {
        let settings = Settings::resolve()?;
        let store = CredentialStore::new(&settings.config_dir, settings.store_choice);
        Ok(App {
            settings,
            store,
            client: Client::new(),
        })
    }

    pub fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    /// An API URL path joined to the configured base.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.api_url, path)
    }
}
