//! SQL for the JWT signing keys: each has an id (`kid`, in every token's header); the
//! newest signs, the one before it still verifies until `my-server admin rotate-key`
//! runs again.

use super::sql::params;
use super::{DbResult, Tx};

/// One HS256 signing key and its id.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) key: [u8; 32],
}

// The key is a secret: Debug shows only its id.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Tx<'_> {
    // ---- signing keys ------------------------------------------------------------

    /// Every signing key, newest first.
    pub(crate) fn signing_keys(&self) -> DbResult<Vec<SigningKey>> {
        let rows = self.query_map(
            "SELECT kid, key FROM signing_keys ORDER BY created_at DESC, rowid DESC",
            params![],
            |row| {
                let bytes: Vec<u8> = row.get(1)?;
                let key = <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| super::DbError::Other("a signing key is not 32 bytes".into()))?;
                Ok(SigningKey {
                    kid: row.get(0)?,
                    key,
                })
            },
        )?;
        Ok(rows)
    }

    /// Adds a signing key, which becomes the newest.
    pub(crate) fn insert_signing_key(&self, key: &SigningKey, now: i64) -> DbResult<()> {
        self.execute(
            "INSERT INTO signing_keys (kid, key, created_at) VALUES (?1, ?2, ?3)",
            params![key.kid, &key.key[..], now],
        )?;
        Ok(())
    }

    /// Deletes every signing key but the `keep` newest; returns how many went.
    pub(crate) fn retire_signing_keys(&self, keep: usize) -> DbResult<usize> {
        self.execute(
            "DELETE FROM signing_keys WHERE kid NOT IN (SELECT kid FROM signing_keys
                 ORDER BY created_at DESC, rowid DESC LIMIT ?1)",
            params![i64::try_from(keep).unwrap_or(i64::MAX)],
        )
    }
}
