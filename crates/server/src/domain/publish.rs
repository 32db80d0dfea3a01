//! Publishing into the catalog: checking a spec, storing a command version (none when the
//! spec is unchanged), and publishing a library release — from an upload
//! (`POST /v1/libraries/{slug}/releases`) or from a folder (`my-server admin library
//! import`).
//!
//! A spec is stored as the canonical JSON of its parsed form (`my_api::spec`), so the bytes
//! a client receives, and their SHA-256, do not depend on how the upload was formatted.

use super::catalog::check_slug;
use crate::crypto::secrets;
use crate::db::{CatalogRow, CommandRow, LibraryRow, NewVersion, ReleaseRow, Tx};
use crate::names;
use crate::web::{quote, Error};
use my_api::catalog::codes as catalog_codes;
use my_api::manifest::{self, Source};
use my_api::spec::{self, Spec};
use std::collections::BTreeSet;
use std::path::Path;

/// A spec that passed validation, with the bytes to store and their hash.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) spec: Spec,
    pub(crate) bytes: Vec<u8>,
    pub(crate) hash: String,
}

impl Checked {
    /// Canonical bytes and hash of a spec already validated.
    pub(crate) fn new(spec: Spec) -> Checked {
        let bytes = spec::canonical_json(&spec);
        let hash = spec::spec_hash(&bytes);
        Checked { spec, bytes, hash }
    }
}

/// 400 `INVALID_SPEC`; `message` names the field.
pub(crate) fn invalid_spec(message: &str) -> Error {
    Error::api(400, catalog_codes::INVALID_SPEC, message)
}

/// Checks an uploaded spec; `at` prefixes the field path in the message (`commands[2].`).
pub(crate) fn check(value: &serde_json::Value, at: &str) -> Result<Checked, Error> {
    let text = serde_json::to_vec(value).unwrap_or_default();
    let spec = Spec::from_json(&text)
        .map_err(|e| invalid_spec(&format!("invalid spec: {}", prefixed(at, &e))))?;
    Ok(Checked::new(spec))
}

/// A spec error with its field path under `at`.
fn prefixed(at: &str, error: &spec::SpecError) -> String {
    match (at.is_empty(), error.path.is_empty()) {
        (true, _) => error.to_string(),
        (false, true) => format!("{}: {}", at.trim_end_matches('.'), error.message),
        (false, false) => format!("{at}{}: {}", error.path, error.message),
    }
}

/// A command to add a version to: the one that exists, or a new one to create.
enum Target<'a> {
    Existing(CommandRow),
    New {
        owner_user_id: Option<&'a str>,
        library_id: Option<&'a str>,
    },
}

/// Stores `checked` as the next version of the command, unless its latest version has the
/// same bytes. Returns the version that now holds them, and whether it is new.
fn store(
    tx: &Tx,
    target: Target,
    checked: &Checked,
    message: Option<&str>,
    now: i64,
) -> Result<(CatalogRow, bool), Error> {
    let (id, next) = match target {
        Target::Existing(command) => {
            if let Some(latest) = tx.command_version(&command.id, command.latest_version)? {
                if latest.spec_hash == checked.hash {
                    return Ok((latest, false));
                }
            }
            (command.id, command.latest_version + 1)
        }
        Target::New {
            owner_user_id,
            library_id,
        } => {
            let command = CommandRow {
                id: secrets::new_id("cmd"),
                owner_user_id: owner_user_id.map(str::to_string),
                library_id: library_id.map(str::to_string),
                slug: checked.spec.metadata.slug.clone(),
                latest_version: 1,
                created_at: now,
                deleted_at: None,
            };
            tx.insert_command(&command)?;
            (command.id, 1)
        }
    };
    let metadata = &checked.spec.metadata;
    tx.insert_version(&NewVersion {
        command_id: &id,
        version: next,
        name: &metadata.name,
        description: metadata.description.as_deref().unwrap_or(""),
        aliases: &metadata.aliases,
        spec: &checked.bytes,
        spec_hash: &checked.hash,
        message,
        created_at: now,
    })?;
    let stored = tx
        .command_version(&id, next)?
        .ok_or_else(|| Error::Internal("a stored version vanished".into()))?;
    Ok((stored, true))
}

/// `my cli push`: a new personal command, or a new version of the user's command with the
/// same slug (none when the spec is unchanged).
pub(crate) fn push(
    tx: &Tx,
    user_id: &str,
    checked: &Checked,
    message: Option<&str>,
    now: i64,
) -> Result<(CatalogRow, bool), Error> {
    let target = match tx.personal_command(user_id, &checked.spec.metadata.slug)? {
        Some(command) => Target::Existing(command),
        None => Target::New {
            owner_user_id: Some(user_id),
            library_id: None,
        },
    };
    store(tx, target, checked, message, now)
}

/// `MAJOR.MINOR.PATCH`, each a number without leading zeros.
pub(crate) fn semver(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.').map(|part| {
        let ok = !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        ok.then(|| part.parse::<u32>().ok()).flatten()
    });
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// The version to release: `text` if given (400 unless it is semver), else the patch after
/// the latest release, else `1.0.0`.
fn release_version(
    text: Option<&str>,
    latest: Option<&ReleaseRow>,
) -> Result<(String, (u32, u32, u32)), Error> {
    match text {
        Some(text) => semver(text).map(|v| (text.to_string(), v)).ok_or_else(|| {
            Error::bad_request(format!(
                "version {} must be MAJOR.MINOR.PATCH, e.g. 1.2.0",
                quote(text)
            ))
        }),
        None => {
            let (major, minor, patch) = latest.map_or((1, 0, 0), |r| {
                (r.semver.0, r.semver.1, r.semver.2.saturating_add(1))
            });
            Ok((format!("{major}.{minor}.{patch}"), (major, minor, patch)))
        }
    }
}

/// One library's release, as uploaded or read from a folder.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    /// `None` for a system library.
    pub(crate) owner_user_id: Option<String>,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) aliases: Vec<String>,
    /// `None`: the patch after the latest release.
    pub(crate) version: Option<String>,
    pub(crate) commands: Vec<Checked>,
}

/// What publishing a release did.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) library: LibraryRow,
    pub(crate) version: String,
    pub(crate) commands: usize,
    /// False when the release equals the latest one and nothing was written.
    pub(crate) created: bool,
    pub(crate) created_at: i64,
}

/// Whether `release`'s words and commands equal the latest release's.
fn same_as_latest(
    tx: &Tx,
    library: &LibraryRow,
    latest: &ReleaseRow,
    release: &Release,
) -> Result<bool, Error> {
    if library.name != release.name
        || library.description != release.description
        || library.aliases != release.aliases
    {
        return Ok(false);
    }
    let old: BTreeSet<(String, String)> = tx
        .release_commands(&latest.id)?
        .into_iter()
        .map(|c| (c.slug, c.spec_hash))
        .collect();
    let new: BTreeSet<(String, String)> = release
        .commands
        .iter()
        .map(|c| (c.spec.metadata.slug.clone(), c.hash.clone()))
        .collect();
    Ok(old == new)
}

/// Checks what a spec check cannot: slugs, names, and one command per name.
fn check_release(release: &Release) -> Result<(), Error> {
    check_slug("library slug", &release.slug)?;
    names::display_name("a library name", &release.name).map_err(Error::bad_request)?;
    for alias in &release.aliases {
        check_slug("library alias", alias)?;
    }
    if release.commands.is_empty() {
        return Err(invalid_spec(
            "commands: a release needs at least one command",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, command) in release.commands.iter().enumerate() {
        for name in command.spec.names() {
            if !seen.insert(name) {
                return Err(invalid_spec(&format!(
                    "commands[{i}].metadata: {} already names another command of this release",
                    quote(name)
                )));
            }
        }
    }
    Ok(())
}

/// Publishes a release: creates the library on its first release, updates its words, adds
/// a version to each command whose spec changed, and pins them all in the new release.
/// A version that exists is 409 `RELEASE_EXISTS` — unless `repeat_is_noop` and the release
/// equals the latest one, which is then answered as it is, unchanged.
pub(crate) fn publish(
    tx: &Tx,
    release: &Release,
    repeat_is_noop: bool,
    now: i64,
) -> Result<Published, Error> {
    check_release(release)?;
    let owner = release.owner_user_id.as_deref();
    let existing = tx
        .library(owner, &release.slug)?
        .filter(|l| l.slug == release.slug);
    let latest = match &existing {
        Some(library) => tx.latest_release(&library.id)?,
        None => None,
    };
    if let (true, Some(library), Some(latest)) = (repeat_is_noop, &existing, &latest) {
        let same_version = release
            .version
            .as_ref()
            .is_none_or(|v| *v == latest.version);
        if same_version && same_as_latest(tx, library, latest, release)? {
            return Ok(Published {
                library: library.clone(),
                version: latest.version.clone(),
                commands: release.commands.len(),
                created: false,
                created_at: latest.created_at,
            });
        }
    }
    let (version, semver) = release_version(release.version.as_deref(), latest.as_ref())?;
    let mut library = match existing {
        Some(library) => library,
        None => {
            let library = LibraryRow {
                id: secrets::new_id("lib"),
                owner_user_id: release.owner_user_id.clone(),
                owner: None,
                slug: release.slug.clone(),
                name: release.name.clone(),
                description: release.description.clone(),
                aliases: release.aliases.clone(),
                created_at: now,
            };
            tx.insert_library(&library)?;
            library
        }
    };
    if tx.release_exists(&library.id, &version)? {
        return Err(Error::api(
            409,
            catalog_codes::RELEASE_EXISTS,
            format!("version {version} was already released: choose another version"),
        ));
    }
    library.name = release.name.clone();
    library.description = release.description.clone();
    library.aliases = release.aliases.clone();
    tx.update_library(&library)?;
    let row = ReleaseRow {
        id: secrets::new_id("rel"),
        library_id: library.id.clone(),
        version: version.clone(),
        semver,
        created_at: now,
    };
    tx.insert_release(&row)?;
    for checked in &release.commands {
        let target = match tx.library_command(&library.id, &checked.spec.metadata.slug)? {
            Some(command) => Target::Existing(command),
            None => Target::New {
                owner_user_id: None,
                library_id: Some(&library.id),
            },
        };
        let message = format!("release {version}");
        let (stored, _) = store(tx, target, checked, Some(&message), now)?;
        tx.add_release_command(&row.id, &stored.command_id, stored.version)?;
    }
    library.owner = match owner {
        Some(user_id) => tx.username(user_id)?,
        None => None,
    };
    Ok(Published {
        library,
        version,
        commands: release.commands.len(),
        created: true,
        created_at: now,
    })
}

/// The releases a source folder holds: one per library of its manifest, as system
/// libraries, at `version` (else the patch after each one's latest).
pub(crate) fn releases_in(dir: &Path, version: Option<&str>) -> Result<Vec<Release>, String> {
    let Source {
        manifest,
        mut libraries,
        ..
    } = manifest::load_source(dir).map_err(|e| e.to_string())?;
    let mut releases = Vec::new();
    for (slug, def) in manifest.libraries {
        let commands = libraries.remove(&slug).unwrap_or_default();
        releases.push(Release {
            owner_user_id: None,
            slug,
            name: def.name,
            description: def.description.unwrap_or_default(),
            aliases: def.aliases,
            version: version.map(str::to_string),
            commands: commands.into_iter().map(|c| Checked::new(c.spec)).collect(),
        });
    }
    Ok(releases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_semver_triples() {
        assert_eq!(semver("1.2.3"), Some((1, 2, 3)));
        assert_eq!(semver("0.0.0"), Some((0, 0, 0)));
        assert_eq!(semver("10.20.300"), Some((10, 20, 300)));
        for bad in [
            "", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.2.x", "1..3", "1.2.-3",
        ] {
            assert_eq!(semver(bad), None, "{bad}");
        }
        assert_eq!(semver("4294967296.0.0"), None);
    }

    #[test]
    fn the_next_version_is_the_next_patch() {
        let latest = ReleaseRow {
            id: "rel_1".into(),
            library_id: "lib_1".into(),
            version: "1.4.9".into(),
            semver: (1, 4, 9),
            created_at: 0,
        };
        assert_eq!(release_version(None, None).unwrap().0, "1.0.0");
        assert_eq!(release_version(None, Some(&latest)).unwrap().0, "1.4.10");
        assert_eq!(
            release_version(Some("2.0.0"), Some(&latest)).unwrap().0,
            "2.0.0"
        );
        assert!(release_version(Some("2.0"), None).is_err());
    }
}
