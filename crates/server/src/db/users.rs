//! SQL for users: one row per email address (compared without case).

use super::{DbResult, Tx};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) email: String,
    /// Set for every user (see `db/catalog.rs`); `None` only mid-upgrade.
    pub(crate) username: Option<String>,
}

impl Tx<'_> {
    // ---- users -------------------------------------------------------------------

    /// The user with this email (case-insensitive), created with `new_id` if new.
    pub(crate) fn ensure_user(&self, email: &str, new_id: &str, now: i64) -> DbResult<User> {
        let created = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO users (id, email, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![new_id, email, now])?;
        if created == 1 {
            self.set_up_user(new_id, email, now)?;
        }
        self.tx
            .prepare_cached("SELECT id, email, username FROM users WHERE email = ?1")?
            .query_row([email], |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    username: r.get(2)?,
                })
            })
    }

    pub(crate) fn user(&self, id: &str) -> DbResult<Option<User>> {
        self.tx
            .prepare_cached("SELECT id, email, username FROM users WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    username: r.get(2)?,
                })
            })
            .optional()
    }
}
