//! One stored credential, and how a JSON error about stored data is worded. A leaf: the
//! credential file, the keyring entries and the fuzz targets all read these.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// One stored credential, for one API URL. Serialized as compact JSON into the keyring (a
/// Windows keyring entry holds at most 2,560 bytes, so nothing else goes in here) and as an
/// entry of the credentials file. `Debug` is safe to print: the secrets redact themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Credentials {
    /// Session, personal API token or organization key.
    pub(crate) kind: my_api::CredentialKind,
    /// The access JWT of a session, or the API token itself.
    pub(crate) access_token: Secret,
    /// Sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<Secret>,
    /// When the access token expires (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) access_expires_at: Option<u64>,
    /// When the session ends for good (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) session_expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    /// Set by [`CredentialStore::save`] (unix milliseconds); the newer copy wins when the
    /// keyring and the file disagree.
    #[serde(default)]
    pub(crate) saved_at_ms: u64,
}

/// A JSON parse error as text that never quotes the input: serde_json quotes a string value
/// of the wrong type, and a string in a credentials file may be a token. Syntax errors and
/// missing fields say nothing about values, so they keep serde's words.
pub(crate) fn json_error_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    match e.classify() {
        Category::Data if !text.starts_with("missing field") => {
            format!(
                "unexpected value at line {} column {}",
                e.line(),
                e.column()
            )
        }
        _ => text,
    }
}
