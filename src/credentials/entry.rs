//! One stored credential. A leaf: the credential file, the keyring entries and the fuzz
//! targets all read it.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// One stored credential, for one API URL. Serialized as compact JSON into the keyring (some
/// keyrings cap an entry at a few kilobytes, so nothing else goes in here) and as an
/// entry of the credentials file. `Debug` is safe to print: the secrets redact themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// Session, personal API token or organization key.
    pub kind: my_api::CredentialKind,
    /// The access JWT of a session, or the API token itself.
    pub access_token: Secret,
    /// Sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// When the access token expires (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_expires_at: Option<u64>,
    /// When the session ends for good (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Set by [`CredentialStore::save`] (unix milliseconds); the newer copy wins when the
    /// keyring and the file disagree.
    #[serde(default)]
    pub saved_at_ms: u64,
}
