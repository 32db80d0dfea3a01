//! SQL for commands (personal ones, owned by a user, and library ones) and their versions:
//! the canonical spec bytes, their SHA-256, and the spec's name, description and aliases.

use super::catalog::{aliases_json, command_row, CatalogRow};
use super::sql::{params, Row};
use super::{DbResult, Tx};

/// A stored command (its versions are apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandRow {
    /// `cmd_…`
    pub(crate) id: String,
    /// Set for a personal command.
    pub(crate) owner_user_id: Option<String>,
    /// Set for a library command.
    pub(crate) library_id: Option<String>,
    pub(crate) slug: String,
    pub(crate) latest_version: u32,
    pub(crate) created_at: i64,
    pub(crate) deleted_at: Option<i64>,
}

/// A version to store.
#[derive(Debug, Clone)]
pub(crate) struct NewVersion<'a> {
    pub(crate) command_id: &'a str,
    pub(crate) version: u32,
    pub(crate) name: &'a str,
    pub(crate) description: &'a str,
    pub(crate) aliases: &'a [String],
    pub(crate) spec: &'a [u8],
    pub(crate) spec_hash: &'a str,
    pub(crate) message: Option<&'a str>,
    pub(crate) created_at: i64,
}

const COMMAND_COLUMNS: &str =
    "id, owner_user_id, library_id, slug, latest_version, created_at, deleted_at";

fn command(row: &Row) -> DbResult<CommandRow> {
    Ok(CommandRow {
        id: row.get(0)?,
        owner_user_id: row.get(1)?,
        library_id: row.get(2)?,
        slug: row.get(3)?,
        latest_version: row.get(4)?,
        created_at: row.get(5)?,
        deleted_at: row.get(6)?,
    })
}

impl Tx<'_> {
    /// A command by id (deleted ones included).
    pub(crate) fn command(&self, id: &str) -> DbResult<Option<CommandRow>> {
        self.query_opt(
            &format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE id = ?1"),
            params![id],
            command,
        )
    }

    /// The user's personal command `slug` that is not deleted.
    pub(crate) fn personal_command(
        &self,
        user_id: &str,
        slug: &str,
    ) -> DbResult<Option<CommandRow>> {
        self.query_opt(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM commands
                 WHERE owner_user_id = ?1 AND slug = ?2 AND deleted_at IS NULL"
            ),
            params![user_id, slug],
            command,
        )
    }

    /// The library's command `slug`.
    pub(crate) fn library_command(
        &self,
        library_id: &str,
        slug: &str,
    ) -> DbResult<Option<CommandRow>> {
        self.query_opt(
            &format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE library_id = ?1 AND slug = ?2"),
            params![library_id, slug],
            command,
        )
    }

    pub(crate) fn insert_command(&self, command: &CommandRow) -> DbResult<()> {
        self.execute(
            &format!(
                "INSERT INTO commands ({COMMAND_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                command.id,
                command.owner_user_id,
                command.library_id,
                command.slug,
                command.latest_version,
                command.created_at,
                command.deleted_at
            ],
        )?;
        Ok(())
    }

    /// Stores a version and makes it the command's latest.
    pub(crate) fn insert_version(&self, version: &NewVersion) -> DbResult<()> {
        self.execute(
            "INSERT INTO command_versions (command_id, version, name, description, aliases,
                 spec, spec_hash, message, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                version.command_id,
                version.version,
                version.name,
                version.description,
                aliases_json(version.aliases),
                version.spec,
                version.spec_hash,
                version.message,
                version.created_at
            ],
        )?;
        self.execute(
            "UPDATE commands SET latest_version = ?2 WHERE id = ?1",
            params![version.command_id, version.version],
        )?;
        Ok(())
    }

    /// One version of a command, as a summary.
    pub(crate) fn command_version(&self, id: &str, version: u32) -> DbResult<Option<CatalogRow>> {
        self.query_opt(
            "SELECT c.id, c.slug, v.name, v.description, v.aliases, v.version, v.spec_hash,
                 v.created_at
                 FROM commands c JOIN command_versions v ON v.command_id = c.id
                 WHERE c.id = CAST(?1 AS TEXT) AND v.version = CAST(?2 AS INTEGER)",
            params![id, version],
            command_row,
        )
    }

    /// The stored spec bytes of one version.
    pub(crate) fn spec(&self, id: &str, version: u32) -> DbResult<Option<Vec<u8>>> {
        self.query_opt(
            "SELECT spec FROM command_versions WHERE command_id = ?1 AND version = ?2",
            params![id, version],
            |r| r.get(0),
        )
    }

    /// Soft-deletes a command; its slug is free again.
    pub(crate) fn delete_command(&self, id: &str, now: i64) -> DbResult<()> {
        self.execute(
            "UPDATE commands SET deleted_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }
}
