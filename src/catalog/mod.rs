//! Everything `my` can run by name, and where it comes from: which profile is active, the
//! per-profile cache of the server's catalog under `<config dir>/cache/` and syncing it, the
//! local sources (`my source add`), the name indexes both keep, and resolving a name through
//! them (`my cli run`, `my LIBRARY COMMAND`), offline.
//!
//! Kept apart from the commands so that status, sync, login and run share one resolution
//! of the active profile and one reading of the cache.

mod active;
mod cache;
pub mod names;
pub mod remote;
pub mod resolve;
pub mod sources;
mod sync;

pub use active::{active_profile, checked_slug, set_active, ActiveProfile, ProfileSource};
pub use cache::{cached_profiles, remove_profile, Read, Summary};
pub use names::Named;
pub use sync::{commands, sync, Synced};

use crate::error::{Error, Result};
use cache::CatalogFile;
use my_api::catalog::{library_reference, CatalogItem};
use std::path::Path;

/// The cached catalog of one profile, as the last sync left it.
#[derive(Debug, Clone)]
pub struct Catalog {
    file: CatalogFile,
}

impl Catalog {
    /// Loads the cached catalog of `profile`: an error that says to run `my library sync`
    /// when there is none or it is corrupt.
    pub fn load(config_dir: &Path, profile: &str) -> Result<Catalog> {
        match CatalogFile::read(config_dir, profile)?.trusted()? {
            Some(mut file) => {
                if let Some(synced_at) = cache::synced_at(config_dir, profile, file.etag.as_deref())
                {
                    file.synced_at = synced_at;
                }
                Ok(Catalog { file })
            }
            None => Err(Error::Cache(format!(
                "no cached catalog for profile {profile:?}: run `my library sync`"
            ))),
        }
    }

    /// The profile this catalog belongs to.
    pub fn profile(&self) -> &str {
        &self.file.profile
    }

    /// Personal commands first, then library commands, each sorted by slug (as the server
    /// sent them).
    pub fn items(&self) -> &[CatalogItem] {
        &self.file.items
    }

    /// RFC 3339 UTC of the last sync.
    pub fn synced_at(&self) -> &str {
        &self.file.synced_at
    }

    /// The libraries the catalog holds commands of, as `slug` or `owner/slug`, with how many
    /// commands each has, sorted.
    pub fn libraries(&self) -> Vec<(String, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for item in &self.file.items {
            if let Some(l) = &item.library {
                *counts
                    .entry(library_reference(l.owner.as_deref(), &l.slug))
                    .or_insert(0) += 1;
            }
        }
        counts.into_iter().collect()
    }
}

/// The cached spec body of `item`, checked against its `spec_hash` (a body that does not
/// match is removed and reported; a missing one says to sync).
fn spec_bytes(config_dir: &Path, item: &CatalogItem) -> Result<Vec<u8>> {
    cache::read_spec(config_dir, item)?.ok_or_else(|| {
        Error::Cache(format!(
            "the spec of {:?} (v{}) is not cached: run `my library sync`",
            item.slug, item.version
        ))
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use my_api::catalog::CatalogItem;

    #[test]
    fn the_read_api_checks_what_it_hands_out() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Catalog::load(tmp.path(), "work").unwrap_err();
        assert!(
            matches!(e, Error::Cache(_)) && e.to_string().contains("my library sync"),
            "{e}"
        );

        let body = br#"{"kind":"command"}"#;
        let item = CatalogItem {
            command_id: "cmd_1".into(),
            slug: "deploy".into(),
            name: "Deploy".into(),
            description: String::new(),
            aliases: vec!["d".into()],
            version: 2,
            spec_hash: my_api::spec::spec_hash(body),
            updated_at: "2026-01-01T00:00:00Z".into(),
            library: None,
        };
        let file = CatalogFile {
            profile: "work".into(),
            items: vec![item.clone()],
            etag: None,
            synced_at: "2026-01-01T00:00:00.000Z".into(),
        };
        cache::store(tmp.path(), &file).unwrap();
        let catalog = Catalog::load(tmp.path(), "work").unwrap();
        assert_eq!(catalog.profile(), "work");
        assert_eq!(catalog.items(), std::slice::from_ref(&item));
        let e = spec_bytes(tmp.path(), &item).unwrap_err();
        assert!(e.to_string().contains("not cached"), "{e}");
        cache::write_spec(tmp.path(), &item, body).unwrap();
        assert_eq!(spec_bytes(tmp.path(), &item).unwrap(), body);
    }
}
