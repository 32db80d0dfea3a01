//! SQL for magic links: single use, stored as the SHA-256 hex of their token, each bound
//! to exactly one request (a device request or a browser authorization request).

use super::sql::params;
use super::{DbResult, Tx};

/// What a magic link signs in: exactly one of the two flows' requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    /// A device authorization request (`dev_…`).
    Device(String),
    /// A browser authorization request (`azr_…`).
    Authorization(String),
}

#[derive(Debug, Clone)]
pub(crate) struct MagicLink {
    pub(crate) target: LinkTarget,
    pub(crate) email: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
}

impl Tx<'_> {
    // ---- magic links -------------------------------------------------------------

    pub(crate) fn insert_magic_link(&self, token_hash: &str, link: &MagicLink) -> DbResult<()> {
        let (device, authorization) = match &link.target {
            LinkTarget::Device(id) => (Some(id), None),
            LinkTarget::Authorization(id) => (None, Some(id)),
        };
        self.execute(
            "INSERT INTO magic_links (token_hash, device_request_id, authorization_request_id,
                 email, created_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token_hash,
                device,
                authorization,
                link.email,
                link.created_at,
                link.expires_at,
                link.used_at
            ],
        )?;
        Ok(())
    }

    pub(crate) fn magic_link(&self, token_hash: &str) -> DbResult<Option<MagicLink>> {
        self.query_opt(
            "SELECT device_request_id, authorization_request_id, email, created_at,
                 expires_at, used_at FROM magic_links WHERE token_hash = ?1",
            params![token_hash],
            |row| {
                let device: Option<String> = row.get(0)?;
                let authorization: Option<String> = row.get(1)?;
                let target = match (device, authorization) {
                    (Some(id), _) => LinkTarget::Device(id),
                    (None, Some(id)) => LinkTarget::Authorization(id),
                    // The CHECK constraint rules this out.
                    (None, None) => {
                        return Err(super::DbError::Other(
                            "a magic link without a target".into(),
                        ))
                    }
                };
                Ok(MagicLink {
                    target,
                    email: row.get(2)?,
                    created_at: row.get(3)?,
                    expires_at: row.get(4)?,
                    used_at: row.get(5)?,
                })
            },
        )
    }

    /// Deletes a link nobody received (its mail could not be sent).
    pub(crate) fn delete_magic_link(&self, token_hash: &str) -> DbResult<()> {
        self.execute(
            "DELETE FROM magic_links WHERE token_hash = ?1",
            params![token_hash],
        )?;
        Ok(())
    }

    /// Marks a link used; false if it already was (single use).
    pub(crate) fn use_magic_link(&self, token_hash: &str, now: i64) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE magic_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            params![token_hash, now],
        )?;
        Ok(changed == 1)
    }
}
