//! The catalog's tables and the two queries that span them: the schema step that adds
//! profiles, the library registry and commands; the set-up every user gets (a username and
//! the `default` profile); and the rows of one profile's catalog.
//!
//! Profiles are in `db/profiles.rs`, libraries and releases in `db/libraries.rs`, commands
//! and their versions in `db/commands.rs`. Aliases are stored as a JSON array of strings.

use super::sql::{params, Row};
use super::{DbResult, Tx};

/// Longest username derived from an email address, before a de-duplicating suffix.
const MAX_USERNAME_BASE: usize = 32;

/// The username an email's local part suggests: lower-case letters and digits, other runs
/// turned into one `-`, starting with a letter (`u` is put in front otherwise).
pub(crate) fn username_base(email: &str) -> String {
    let local = email.split('@').next().unwrap_or("");
    let mut out = String::new();
    for c in local.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= MAX_USERNAME_BASE {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    match out.bytes().next() {
        None => "user".to_string(),
        Some(b'a'..=b'z') => out.to_string(),
        Some(_) => format!("u{out}"),
    }
}

/// The default profile's id, derived from its user's (`usr_X` → `prof_X`): unique because
/// user ids are, and computable in SQL for users created before profiles existed.
pub(crate) fn default_profile_id(user_id: &str) -> String {
    format!("prof_{}", user_id.strip_prefix("usr_").unwrap_or(user_id))
}

/// One catalog item as stored; `library` is set for library commands.
#[derive(Debug, Clone)]
pub(crate) struct CatalogRow {
    pub(crate) command_id: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) version: u32,
    pub(crate) spec_hash: String,
    pub(crate) updated_at: i64,
    pub(crate) library: Option<CatalogLibraryRow>,
}

/// The library of a catalog row.
#[derive(Debug, Clone)]
pub(crate) struct CatalogLibraryRow {
    pub(crate) owner: Option<String>,
    pub(crate) slug: String,
    pub(crate) aliases: Vec<String>,
}

/// A JSON array of strings from an `aliases` column (an unreadable one reads as empty).
pub(super) fn aliases(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The `aliases` column value for `list`.
pub(super) fn aliases_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// A command row of the shape `id, slug, name, description, aliases, version, spec_hash,
/// created_at`, without a library.
pub(super) fn command_row(row: &Row) -> DbResult<CatalogRow> {
    Ok(CatalogRow {
        command_id: row.get(0)?,
        slug: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        aliases: aliases(&row.get::<String>(4)?),
        version: row.get(5)?,
        spec_hash: row.get(6)?,
        updated_at: row.get(7)?,
        library: None,
    })
}

/// [`command_row`] followed by `username, library slug, library aliases`.
fn library_command_row(row: &Row) -> DbResult<CatalogRow> {
    Ok(CatalogRow {
        library: Some(CatalogLibraryRow {
            owner: row.get(8)?,
            slug: row.get(9)?,
            aliases: aliases(&row.get::<String>(10)?),
        }),
        ..command_row(row)?
    })
}

impl Tx<'_> {
    /// Gives every user created before usernames existed one; idempotent, run at every
    /// start (the migration cannot: it is SQL).
    pub(crate) fn backfill(&self) -> DbResult<()> {
        let users: Vec<(String, String)> = self.query_map(
            "SELECT id, email FROM users WHERE username IS NULL ORDER BY created_at, id",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (id, email) in users {
            self.set_username(&id, &email)?;
        }
        Ok(())
    }

    /// What a new user gets: a username and the `default` profile.
    pub(crate) fn set_up_user(&self, user_id: &str, email: &str, now: i64) -> DbResult<()> {
        self.set_username(user_id, email)?;
        self.execute(
            "INSERT INTO profiles (id, user_id, slug, name, description,
                 is_default, created_at) VALUES (?1, ?2, 'default', 'Default', '', 1, ?3)
             ON CONFLICT DO NOTHING",
            params![default_profile_id(user_id), user_id, now],
        )?;
        Ok(())
    }

    /// Sets the username derived from `email`, with the first free suffix (`ann`, `ann2`…).
    fn set_username(&self, user_id: &str, email: &str) -> DbResult<()> {
        let base = username_base(email);
        let mut candidate = base.clone();
        for n in 2.. {
            let taken: bool = self.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)",
                params![&candidate],
                |r| r.get(0),
            )?;
            if !taken {
                break;
            }
            candidate = format!("{base}{n}");
        }
        self.execute(
            "UPDATE users SET username = ?2 WHERE id = ?1 AND username IS NULL",
            params![user_id, candidate],
        )?;
        Ok(())
    }

    /// The username of a user.
    pub(crate) fn username(&self, user_id: &str) -> DbResult<Option<String>> {
        self.query_opt(
            "SELECT username FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get(0),
        )
        .map(Option::flatten)
    }

    /// The user called `username`.
    pub(crate) fn user_id_by_username(&self, username: &str) -> DbResult<Option<String>> {
        self.query_opt(
            "SELECT id FROM users WHERE username = ?1",
            params![username],
            |r| r.get(0),
        )
    }

    /// A user's personal commands (latest versions), sorted by slug.
    pub(crate) fn personal_catalog(&self, user_id: &str) -> DbResult<Vec<CatalogRow>> {
        let rows = self.query_map(
            "SELECT c.id, c.slug, v.name, v.description, v.aliases, v.version, v.spec_hash,
             v.created_at
             FROM commands c
             JOIN command_versions v ON v.command_id = c.id AND v.version = c.latest_version
             WHERE c.owner_user_id = CAST(?1 AS TEXT) AND c.deleted_at IS NULL
             ORDER BY c.slug",
            params![user_id],
            command_row,
        )?;
        Ok(rows)
    }

    /// The commands of the releases a profile installed, sorted by slug, then library.
    pub(crate) fn library_catalog(&self, profile_id: &str) -> DbResult<Vec<CatalogRow>> {
        let rows = self.query_map(
            "SELECT c.id, c.slug, v.name, v.description, v.aliases, v.version, v.spec_hash,
             v.created_at, u.username, l.slug, l.aliases
             FROM profile_libraries pl
             JOIN libraries l ON l.id = pl.library_id
             LEFT JOIN users u ON u.id = l.owner_user_id
             JOIN release_commands rc ON rc.release_id = pl.release_id
             JOIN commands c ON c.id = rc.command_id
             JOIN command_versions v ON v.command_id = rc.command_id AND v.version = rc.version
             WHERE pl.profile_id = CAST(?1 AS TEXT)
             ORDER BY c.slug, u.username IS NOT NULL, u.username, l.slug",
            params![profile_id],
            library_command_row,
        )?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Db, MIGRATIONS};
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn a_version_4_database_gets_profiles_usernames_and_token_profiles() {
        // The only test of this module that needs a file: the process id is unique enough.
        let dir =
            std::env::temp_dir().join(format!("my-server-catalog-db-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v4.db");
        let old = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..4] {
            old.execute_batch(step).unwrap();
        }
        old.pragma_update(None, "user_version", 4).unwrap();
        old.execute_batch(
            "INSERT INTO users (id, email, created_at) VALUES
                 ('usr_a', 'ann@example.com', 1), ('usr_b', 'Ann@example.org', 2);
             INSERT INTO api_tokens (id, token_hash, prefix, kind, name, user_id, profile,
                 created_at) VALUES
                 ('tok_1', 'h1', 'p', 'personal', 'ci', 'usr_a', 'work', 3),
                 ('tok_2', 'h2', 'p', 'personal', 'cd', 'usr_a', 'work', 4),
                 ('tok_3', 'h3', 'p', 'personal', 'x', 'usr_b', 'default', 5),
                 ('tok_4', 'h4', 'p', 'personal', 'y', 'usr_b', NULL, 6);",
        )
        .unwrap();
        drop(old);
        let mut db = Db::open(&path).unwrap();
        db.migrate([9; 32], 10).unwrap();
        let (users, profiles, tokens) = db
            .read(|tx| {
                let users = (tx.username("usr_a")?, tx.username("usr_b")?);
                let profiles: Vec<(String, String, bool)> = ["usr_a", "usr_b"]
                    .iter()
                    .map(|u| tx.profiles(u))
                    .collect::<DbResult<Vec<_>>>()?
                    .into_iter()
                    .flatten()
                    .map(|p| (p.user_id, p.slug, p.is_default))
                    .collect();
                let tokens: Vec<Option<String>> = ["tok_1", "tok_2", "tok_3", "tok_4"]
                    .iter()
                    .map(|id| Ok(tx.api_token(id)?.and_then(|t| t.profile)))
                    .collect::<DbResult<_>>()?;
                Ok::<_, crate::db::DbError>((users, profiles, tokens))
            })
            .unwrap();
        assert_eq!(users, (Some("ann".into()), Some("ann2".into())));
        let owned = |u: &str, slug: &str, default| (u.to_string(), slug.to_string(), default);
        assert_eq!(
            profiles,
            [
                owned("usr_a", "default", true),
                owned("usr_a", "work", false),
                owned("usr_b", "default", true)
            ]
        );
        assert_eq!(
            tokens,
            [
                Some("work".into()),
                Some("work".into()),
                Some("default".into()),
                None
            ]
        );
        // Starting again changes nothing.
        db.migrate([9; 32], 11).unwrap();
        assert_eq!(db.read(|tx| tx.profiles("usr_a")).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn usernames_come_from_the_local_part() {
        assert_eq!(username_base("Ann@example.com"), "ann");
        assert_eq!(username_base("john.doe+ci@example.com"), "john-doe-ci");
        assert_eq!(username_base("__x__@example.com"), "x");
        assert_eq!(username_base("42@example.com"), "u42");
        assert_eq!(username_base("@example.com"), "user");
        assert_eq!(username_base("élodie@example.com"), "lodie");
        assert_eq!(username_base(&format!("{}@x", "a".repeat(80))).len(), 32);
    }

    #[test]
    fn default_profiles_share_the_users_random_part() {
        assert_eq!(default_profile_id("usr_abc"), "prof_abc");
    }
}
