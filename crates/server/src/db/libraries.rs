//! SQL for the library registry: libraries (owned by a user, or system libraries with no
//! owner), their releases, and which command version each release pins.

use super::catalog::{aliases, aliases_json, command_row, CatalogRow};
use super::sql::{params, Row};
use super::{Backend, DbResult, Tx};

/// A stored library, with its owner's username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LibraryRow {
    /// `lib_…`
    pub(crate) id: String,
    pub(crate) owner_user_id: Option<String>,
    /// The owner's username (read only; ignored on insert).
    pub(crate) owner: Option<String>,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) created_at: i64,
}

/// A stored release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReleaseRow {
    /// `rel_…`
    pub(crate) id: String,
    pub(crate) library_id: String,
    /// `MAJOR.MINOR.PATCH`.
    pub(crate) version: String,
    pub(crate) semver: (u32, u32, u32),
    pub(crate) created_at: i64,
}

const LIBRARY_SELECT: &str = "SELECT l.id, l.owner_user_id, u.username, l.slug, l.name,
     l.description, l.aliases, l.created_at
     FROM libraries l LEFT JOIN users u ON u.id = l.owner_user_id";

/// [`LIBRARY_SELECT`]'s columns and each library's latest version.
const LATEST_SELECT: &str = "SELECT l.id, l.owner_user_id, u.username, l.slug, l.name,
     l.description, l.aliases, l.created_at,
     (SELECT r.version FROM releases r WHERE r.library_id = l.id
      ORDER BY r.major DESC, r.minor DESC, r.patch DESC LIMIT 1) AS latest
     FROM libraries l LEFT JOIN users u ON u.id = l.owner_user_id";

/// Newest first.
const RELEASE_ORDER: &str = "ORDER BY major DESC, minor DESC, patch DESC";

fn library_row(row: &Row) -> DbResult<LibraryRow> {
    Ok(LibraryRow {
        id: row.get(0)?,
        owner_user_id: row.get(1)?,
        owner: row.get(2)?,
        slug: row.get(3)?,
        name: row.get(4)?,
        description: row.get(5)?,
        aliases: aliases(&row.get::<String>(6)?),
        created_at: row.get(7)?,
    })
}

fn release_row(row: &Row) -> DbResult<ReleaseRow> {
    Ok(ReleaseRow {
        id: row.get(0)?,
        library_id: row.get(1)?,
        version: row.get(2)?,
        semver: (row.get(3)?, row.get(4)?, row.get(5)?),
        created_at: row.get(6)?,
    })
}

const RELEASE_COLUMNS: &str = "id, library_id, version, major, minor, patch, created_at";

impl Tx<'_> {
    /// The library `slug` of `owner_user_id` (`None`: the system library), matched by slug
    /// first, then by alias.
    pub(crate) fn library(
        &self,
        owner_user_id: Option<&str>,
        name: &str,
    ) -> DbResult<Option<LibraryRow>> {
        let owner = owner_user_id.unwrap_or("");
        let by_slug = self.query_opt(
            &format!("{LIBRARY_SELECT} WHERE COALESCE(l.owner_user_id, '') = ?1 AND l.slug = ?2"),
            params![owner, name],
            library_row,
        )?;
        if by_slug.is_some() {
            return Ok(by_slug);
        }
        // The aliases are a JSON array of strings, read by each database's own function.
        let elements = match self.backend() {
            Backend::Sqlite => "json_each(l.aliases)",
            Backend::Pg => "json_array_elements_text(CAST(l.aliases AS JSON)) AS a(value)",
        };
        self.query_opt(
            &format!(
                "{LIBRARY_SELECT} WHERE COALESCE(l.owner_user_id, '') = ?1
                 AND EXISTS (SELECT 1 FROM {elements} WHERE value = ?2)
                 ORDER BY l.slug LIMIT 1"
            ),
            params![owner, name],
            library_row,
        )
    }

    pub(crate) fn insert_library(&self, library: &LibraryRow) -> DbResult<()> {
        self.execute(
            "INSERT INTO libraries (id, owner_user_id, slug, name, description, aliases,
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                library.id,
                library.owner_user_id,
                library.slug,
                library.name,
                library.description,
                aliases_json(&library.aliases),
                library.created_at
            ],
        )?;
        Ok(())
    }

    /// Sets a library's name, description and aliases (each release may change them).
    pub(crate) fn update_library(&self, library: &LibraryRow) -> DbResult<()> {
        self.execute(
            "UPDATE libraries SET name = ?2, description = ?3, aliases = ?4 WHERE id = ?1",
            params![
                library.id,
                library.name,
                library.description,
                aliases_json(&library.aliases)
            ],
        )?;
        Ok(())
    }

    /// Libraries with at least one release whose reference, name, description or aliases
    /// contain `query` (case-insensitive; every library when `None`), with their latest
    /// version; system libraries first, then by owner and slug.
    pub(crate) fn search_libraries(
        &self,
        query: Option<&str>,
    ) -> DbResult<Vec<(LibraryRow, String)>> {
        let pattern = query.map(|q| {
            let escaped = q
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let rows = self.query_map(
            &format!(
                "SELECT * FROM ({LATEST_SELECT}) l WHERE l.latest IS NOT NULL AND (CAST(?1 AS TEXT) IS NULL
                 OR lower(COALESCE(l.username || '/', '') || l.slug) LIKE ?1 ESCAPE '\\'
                 OR lower(l.name) LIKE ?1 ESCAPE '\\'
                 OR lower(l.description) LIKE ?1 ESCAPE '\\'
                 OR lower(l.aliases) LIKE ?1 ESCAPE '\\')
             ORDER BY l.username IS NOT NULL, l.username, l.slug"
            ),
            params![pattern],
            |row| Ok((library_row(row)?, row.get(8)?)),
        )?;
        Ok(rows)
    }

    /// A library's releases, newest first.
    pub(crate) fn releases(&self, library_id: &str) -> DbResult<Vec<ReleaseRow>> {
        let rows = self.query_map(
            &format!(
                "SELECT {RELEASE_COLUMNS} FROM releases WHERE library_id = CAST(?1 AS TEXT)
             {RELEASE_ORDER}"
            ),
            params![library_id],
            release_row,
        )?;
        Ok(rows)
    }

    /// A library's highest version.
    pub(crate) fn latest_release(&self, library_id: &str) -> DbResult<Option<ReleaseRow>> {
        self.query_opt(
            &format!(
                "SELECT {RELEASE_COLUMNS} FROM releases WHERE library_id = CAST(?1 AS TEXT)
                 {RELEASE_ORDER} LIMIT 1"
            ),
            params![library_id],
            release_row,
        )
    }

    /// Whether a library already has a release called `version`.
    pub(crate) fn release_exists(&self, library_id: &str, version: &str) -> DbResult<bool> {
        self.query_row(
            "SELECT EXISTS (SELECT 1 FROM releases WHERE library_id = ?1 AND version = ?2)",
            params![library_id, version],
            |r| r.get(0),
        )
    }

    pub(crate) fn insert_release(&self, release: &ReleaseRow) -> DbResult<()> {
        let (major, minor, patch) = release.semver;
        self.execute(
            &format!(
                "INSERT INTO releases ({RELEASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            params![
                release.id,
                release.library_id,
                release.version,
                major,
                minor,
                patch,
                release.created_at
            ],
        )?;
        Ok(())
    }

    /// Pins version `version` of a command in a release.
    pub(crate) fn add_release_command(
        &self,
        release_id: &str,
        command_id: &str,
        version: u32,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO release_commands (release_id, command_id, version) VALUES (?1, ?2, ?3)",
            params![release_id, command_id, version],
        )?;
        Ok(())
    }

    /// The commands a release pins, by slug.
    pub(crate) fn release_commands(&self, release_id: &str) -> DbResult<Vec<CatalogRow>> {
        let rows = self.query_map(
            "SELECT c.id, c.slug, v.name, v.description, v.aliases, v.version, v.spec_hash,
             v.created_at
             FROM release_commands rc
             JOIN commands c ON c.id = rc.command_id
             JOIN command_versions v ON v.command_id = rc.command_id AND v.version = rc.version
             WHERE rc.release_id = CAST(?1 AS TEXT)
             ORDER BY c.slug",
            params![release_id],
            command_row,
        )?;
        Ok(rows)
    }
}
