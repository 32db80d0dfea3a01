//! SQL for profiles (a user's named sets of installed libraries), the libraries installed
//! in them, and the API tokens scoped to them.

use super::catalog::aliases;
use super::sql::{params, Row};
use super::{DbResult, Tx};

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfileRow {
    /// `prof_…`
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) is_default: bool,
    pub(crate) created_at: i64,
}

/// A library installed in a profile, with the release it pinned.
#[derive(Debug, Clone)]
pub(crate) struct InstalledRow {
    pub(crate) library_id: String,
    /// The owner's username; `None` for a system library.
    pub(crate) owner: Option<String>,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) release_id: String,
    pub(crate) version: String,
    pub(crate) commands: usize,
}

const PROFILE_COLUMNS: &str = "id, user_id, slug, name, description, is_default, created_at";

fn profile_row(row: &Row) -> DbResult<ProfileRow> {
    Ok(ProfileRow {
        id: row.get(0)?,
        user_id: row.get(1)?,
        slug: row.get(2)?,
        name: row.get(3)?,
        description: row.get(4)?,
        is_default: row.get(5)?,
        created_at: row.get(6)?,
    })
}

impl Tx<'_> {
    /// Stores a new profile; false if the user already has one with that slug.
    pub(crate) fn insert_profile(&self, profile: &ProfileRow) -> DbResult<bool> {
        let changed = self.execute(
            &format!(
                "INSERT INTO profiles ({PROFILE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING"
            ),
            params![
                profile.id,
                profile.user_id,
                profile.slug,
                profile.name,
                profile.description,
                profile.is_default,
                profile.created_at
            ],
        )?;
        Ok(changed == 1)
    }

    /// The user's profile `slug`.
    pub(crate) fn profile(&self, user_id: &str, slug: &str) -> DbResult<Option<ProfileRow>> {
        self.query_opt(
            &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = ?1 AND slug = ?2"),
            params![user_id, slug],
            profile_row,
        )
    }

    /// The user's profiles, `default` first, then by slug.
    pub(crate) fn profiles(&self, user_id: &str) -> DbResult<Vec<ProfileRow>> {
        let rows = self.query_map(
            &format!(
                "SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = CAST(?1 AS TEXT)
             ORDER BY is_default DESC, slug"
            ),
            params![user_id],
            profile_row,
        )?;
        Ok(rows)
    }

    pub(crate) fn update_profile(&self, id: &str, name: &str, description: &str) -> DbResult<()> {
        self.execute(
            "UPDATE profiles SET name = ?2, description = ?3 WHERE id = ?1",
            params![id, name, description],
        )?;
        Ok(())
    }

    /// Deletes a profile and what is installed in it (tokens keep their row, unscoped).
    pub(crate) fn delete_profile(&self, id: &str) -> DbResult<()> {
        self.execute("DELETE FROM profiles WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Active API tokens scoped to a profile at `now`.
    pub(crate) fn count_scoped_tokens(&self, profile_id: &str, now: i64) -> DbResult<usize> {
        let count: i64 = self.query_row(
            "SELECT COUNT(*) FROM api_tokens WHERE profile_id = ?1 AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > ?2)",
            params![profile_id, now],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Revokes every unrevoked token scoped to a profile; how many it revoked.
    pub(crate) fn revoke_scoped_tokens(&self, profile_id: &str, now: i64) -> DbResult<usize> {
        self.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE profile_id = ?1 AND revoked_at IS NULL",
            params![profile_id, now],
        )
    }

    /// Libraries installed in a profile, system ones first, each group by slug.
    pub(crate) fn installed(&self, profile_id: &str) -> DbResult<Vec<InstalledRow>> {
        let rows = self.query_map(
            "SELECT l.id, u.username, l.slug, l.name, l.aliases, r.id, r.version,
             (SELECT COUNT(*) FROM release_commands rc WHERE rc.release_id = r.id)
             FROM profile_libraries pl
             JOIN libraries l ON l.id = pl.library_id
             LEFT JOIN users u ON u.id = l.owner_user_id
             JOIN releases r ON r.id = pl.release_id
             WHERE pl.profile_id = CAST(?1 AS TEXT)
             ORDER BY u.username IS NOT NULL, u.username, l.slug",
            params![profile_id],
            |row| {
                Ok(InstalledRow {
                    library_id: row.get(0)?,
                    owner: row.get(1)?,
                    slug: row.get(2)?,
                    name: row.get(3)?,
                    aliases: aliases(&row.get::<String>(4)?),
                    release_id: row.get(5)?,
                    version: row.get(6)?,
                    commands: usize::try_from(row.get::<i64>(7)?).unwrap_or(0),
                })
            },
        )?;
        Ok(rows)
    }

    /// Attaches `release_id` of a library to a profile, replacing the release it had.
    pub(crate) fn install(
        &self,
        profile_id: &str,
        library_id: &str,
        release_id: &str,
        now: i64,
    ) -> DbResult<()> {
        self.execute("INSERT INTO profile_libraries (profile_id, library_id, release_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile_id, library_id) DO UPDATE SET release_id = excluded.release_id", params![profile_id, library_id, release_id, now])?;
        Ok(())
    }

    /// Removes a library from a profile; false if it was not installed.
    pub(crate) fn uninstall(&self, profile_id: &str, library_id: &str) -> DbResult<bool> {
        let changed = self.execute(
            "DELETE FROM profile_libraries WHERE profile_id = ?1 AND library_id = ?2",
            params![profile_id, library_id],
        )?;
        Ok(changed == 1)
    }
}
