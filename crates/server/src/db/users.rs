//! SQL for users: one row per email address (compared without case).

use super::sql::params;
use super::{Backend, DbResult, Tx};

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
        let created = self.execute(
            "INSERT INTO users (id, email, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![new_id, email, now],
        )?;
        if created == 1 {
            self.set_up_user(new_id, email, now)?;
        }
        // SQLite compares the column without case (COLLATE NOCASE); PostgreSQL's unique
        // index is on lower(email).
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT id, email, username FROM users WHERE email = ?1",
            Backend::Pg => "SELECT id, email, username FROM users WHERE lower(email) = lower(?1)",
        };
        self.query_row(sql, params![email], |r| {
            Ok(User {
                id: r.get(0)?,
                email: r.get(1)?,
                username: r.get(2)?,
            })
        })
    }

    pub(crate) fn user(&self, id: &str) -> DbResult<Option<User>> {
        self.query_opt(
            "SELECT id, email, username FROM users WHERE id = ?1",
            params![id],
            |r| {
                Ok(User {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    username: r.get(2)?,
                })
            },
        )
    }
}
