//! SQL for commands (personal ones, owned by a user, and library ones) and their versions:
//! the canonical spec bytes, their SHA-256, and the spec's name, description and aliases.

use super::catalog::{aliases_json, command_row, CatalogRow};
use super::{DbResult, Tx};
use rusqlite::{params, OptionalExtension, Row};

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
        self.tx
            .prepare_cached(&format!(
                "SELECT {COMMAND_COLUMNS} FROM commands WHERE id = ?1"
            ))?
            .query_row([id], command)
            .optional()
    }

    /// The user's personal command `slug` that is not deleted.
    pub(crate) fn personal_command(
        &self,
        user_id: &str,
        slug: &str,
    ) -> DbResult<Option<CommandRow>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {COMMAND_COLUMNS} FROM commands
                 WHERE owner_user_id = ?1 AND slug = ?2 AND deleted_at IS NULL"
            ))?
            .query_row([user_id, slug], command)
            .optional()
    }

    /// The library's command `slug`.
    pub(crate) fn library_command(
        &self,
        library_id: &str,
        slug: &str,
    ) -> DbResult<Option<CommandRow>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {COMMAND_COLUMNS} FROM commands WHERE library_id = ?1 AND slug = ?2"
            ))?
            .query_row([library_id, slug], command)
            .optional()
    }

    pub(crate) fn insert_command(&self, command: &CommandRow) -> DbResult<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO commands ({COMMAND_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?
            .execute(params![
                command.id,
                command.owner_user_id,
                command.library_id,
                command.slug,
                command.latest_version,
                command.created_at,
                command.deleted_at
            ])?;
        Ok(())
    }

    /// Stores a version and makes it the command's latest.
    pub(crate) fn insert_version(&self, version: &NewVersion) -> DbResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO command_versions (command_id, version, name, description, aliases,
                 spec, spec_hash, message, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                version.command_id,
                version.version,
                version.name,
                version.description,
                aliases_json(version.aliases),
                version.spec,
                version.spec_hash,
                version.message,
                version.created_at
            ])?;
        self.tx
            .prepare_cached("UPDATE commands SET latest_version = ?2 WHERE id = ?1")?
            .execute(params![version.command_id, version.version])?;
        Ok(())
    }

    /// One version of a command, as a summary.
    pub(crate) fn command_version(&self, id: &str, version: u32) -> DbResult<Option<CatalogRow>> {
        self.tx
            .prepare_cached(
                "SELECT c.id, c.slug, v.name, v.description, v.aliases, v.version, v.spec_hash,
                 v.created_at
                 FROM commands c JOIN command_versions v ON v.command_id = c.id
                 WHERE c.id = CAST(?1 AS TEXT) AND v.version = CAST(?2 AS INTEGER)",
            )?
            .query_row(params![id, version], command_row)
            .optional()
    }

    /// The stored spec bytes of one version.
    pub(crate) fn spec(&self, id: &str, version: u32) -> DbResult<Option<Vec<u8>>> {
        self.tx
            .prepare_cached(
                "SELECT spec FROM command_versions WHERE command_id = ?1 AND version = ?2",
            )?
            .query_row(params![id, version], |r| r.get(0))
            .optional()
    }

    /// Soft-deletes a command; its slug is free again.
    pub(crate) fn delete_command(&self, id: &str, now: i64) -> DbResult<()> {
        self.tx
            .prepare_cached("UPDATE commands SET deleted_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        Ok(())
    }
}
