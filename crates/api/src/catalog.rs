//! The catalog half of the contract: profiles, the library registry, personal commands and
//! the per-profile catalog the CLI syncs. Kept apart from sign-in and organizations because
//! it is what the credentials are for, and it grows on its own.
//!
//! Spec bodies travel as the exact bytes the server stored (`canonical_json` of the parsed
//! spec): `GET /v1/commands/{id}/versions/{n}` answers with them, and their lowercase hex
//! SHA-256 is the catalog item's `spec_hash`, so the CLI can check a body before caching
//! it and again before running it.
//!
//! Every endpoint here works with a session or a personal token (`myc_`); an organization
//! access key belongs to no person and gets 403 [`codes::PERSONAL_CREDENTIAL_REQUIRED`].

use serde::{Deserialize, Serialize};

/// REST paths. `{…}` marks a path parameter.
pub mod paths {
    /// `POST` creates a profile ([`CreateProfile`](super::CreateProfile)), `GET` lists them.
    pub const PROFILES: &str = "/v1/profiles";
    /// `GET` one profile with its libraries, `PATCH` ([`UpdateProfile`](super::UpdateProfile)),
    /// `DELETE` (`?force=true` also revokes the tokens scoped to it).
    pub const PROFILE: &str = "/v1/profiles/{slug}";
    /// `POST` installs a library ([`InstallLibrary`](super::InstallLibrary)), `GET` lists them.
    pub const PROFILE_LIBRARIES: &str = "/v1/profiles/{slug}/libraries";
    /// `DELETE` uninstalls; `{library}` is `slug` for a system library, else `owner/slug`.
    pub const PROFILE_LIBRARY: &str = "/v1/profiles/{slug}/libraries/{library}";
    /// `GET ?q=`: search the registry.
    pub const LIBRARIES: &str = "/v1/libraries";
    /// `GET`: one library, `{library}` is `slug` (system) or `owner/slug`.
    pub const LIBRARY: &str = "/v1/libraries/{library}";
    /// `POST` ([`ReleaseUpload`](super::ReleaseUpload), ≤ 4 MiB): publish a release of the
    /// caller's own library `{slug}`.
    pub const LIBRARY_RELEASES: &str = "/v1/libraries/{slug}/releases";
    /// `POST` ([`PushCommand`](super::PushCommand)) creates a personal command or adds a
    /// version; `GET` lists the caller's personal commands.
    pub const COMMANDS: &str = "/v1/commands";
    /// `DELETE`: remove a personal command.
    pub const COMMAND: &str = "/v1/commands/{id}";
    /// `GET`: the spec body of one version (any command in one of the caller's catalogs).
    pub const COMMAND_VERSION: &str = "/v1/commands/{id}/versions/{version}";
    /// `GET [?profile=SLUG]`: the catalog; strong `ETag`, `If-None-Match` → 304.
    pub const CATALOG: &str = "/v1/catalog";
}

/// REST error codes of the catalog endpoints (the rest are in `crate::codes`).
pub mod codes {
    /// 409: the caller already has a profile with that slug.
    pub const PROFILE_EXISTS: &str = "PROFILE_EXISTS";
    /// 409: the profile has API tokens scoped to it; delete with `force=true`.
    pub const HAS_SCOPED_TOKENS: &str = "HAS_SCOPED_TOKENS";
    /// 409: that version of the library was already released.
    pub const RELEASE_EXISTS: &str = "RELEASE_EXISTS";
    /// 409: the library is already installed in the profile.
    pub const ALREADY_INSTALLED: &str = "ALREADY_INSTALLED";
    /// 400: a command spec or manifest is invalid; the message names the field.
    pub const INVALID_SPEC: &str = "INVALID_SPEC";
    /// 400: a slug does not match `^[a-z][a-z0-9-]*$` (or is too long).
    pub const INVALID_SLUG: &str = "INVALID_SLUG";
    /// 400: the `default` profile cannot be deleted or renamed.
    pub const DEFAULT_PROFILE: &str = "DEFAULT_PROFILE";
    /// 403: an organization access key was used where a person's credential is needed.
    pub const PERSONAL_CREDENTIAL_REQUIRED: &str = "PERSONAL_CREDENTIAL_REQUIRED";
    /// 403: a token scoped to one profile asked for another profile's catalog.
    pub const PROFILE_SCOPE: &str = "PROFILE_SCOPE";
    /// 413: the request body is over the endpoint's limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
}

/// The profile every user has, created with the user; it cannot be deleted or renamed.
pub const DEFAULT_PROFILE: &str = "default";
/// Longest slug (profiles, libraries, commands), in bytes.
pub const MAX_SLUG_LEN: usize = 64;
/// Largest release upload, in bytes.
pub const MAX_RELEASE_BYTES: usize = 4 * 1024 * 1024;
/// Largest personal command push, in bytes.
pub const MAX_COMMAND_BYTES: usize = 256 * 1024;

/// True when `slug` matches `^[a-z][a-z0-9-]*$` and is at most [`MAX_SLUG_LEN`] bytes.
pub fn valid_slug(slug: &str) -> bool {
    let mut bytes = slug.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && slug.len() <= MAX_SLUG_LEN
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// Fills a path template: `fill(PROFILE, &[slug])` replaces each `{…}` in order. Values are
/// percent-encoded except `/`, which `{library}` (`owner/slug`) needs as a separator.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        if let Some(value) = values.next() {
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `POST /v1/profiles` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    pub slug: String,
    /// Display name; the slug when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PATCH /v1/profiles/{slug}` body: only name and description change (the slug is immutable).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A profile: a user's named set of installed libraries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `prof_…`
    pub id: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub is_default: bool,
    /// Installed libraries, sorted by reference (only in `GET /v1/profiles/{slug}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libraries: Option<Vec<LibraryRef>>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// `GET /v1/profiles` answer, sorted by slug (`default` first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileList {
    pub profiles: Vec<Profile>,
}

/// `POST /v1/profiles/{slug}/libraries` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallLibrary {
    /// `slug` for a system library, `owner/slug` otherwise (aliases are accepted too).
    pub library: String,
}

/// A library as a profile holds it: which one, and which release is attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryRef {
    /// Owner's username; absent for system libraries.
    #[serde(default)]
    pub owner: Option<String>,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The attached release, e.g. `1.2.0`.
    pub version: String,
    /// Commands in that release.
    pub commands: usize,
}

impl LibraryRef {
    /// `slug` or `owner/slug`, as users type it.
    pub fn reference(&self) -> String {
        library_reference(self.owner.as_deref(), &self.slug)
    }
}

/// `slug` for a system library, `owner/slug` otherwise.
pub fn library_reference(owner: Option<&str>, slug: &str) -> String {
    match owner {
        Some(owner) => format!("{owner}/{slug}"),
        None => slug.to_string(),
    }
}

/// `GET /v1/profiles/{slug}/libraries` answer; `POST` answers with one [`LibraryRef`] (201).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryRefList {
    pub libraries: Vec<LibraryRef>,
}

/// A registry library (`GET /v1/libraries/{library}`; the list leaves `commands` empty).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Library {
    /// `lib_…`
    pub id: String,
    #[serde(default)]
    pub owner: Option<String>,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Latest release, e.g. `1.2.0`; absent before the first release.
    #[serde(default)]
    pub latest_version: Option<String>,
    /// Every release, newest first (only in the single-library answer).
    #[serde(default)]
    pub versions: Vec<String>,
    /// The latest release's commands (only in the single-library answer).
    #[serde(default)]
    pub commands: Vec<CommandSummary>,
}

/// `GET /v1/libraries?q=` answer, sorted by reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryList {
    pub libraries: Vec<Library>,
}

/// A command as listed: in a library's release or among the caller's personal commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandSummary {
    /// `cmd_…`
    pub id: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Latest version number (1, 2, …).
    pub version: u32,
    pub spec_hash: String,
    /// RFC 3339 UTC of the latest version.
    pub updated_at: String,
}

/// `GET /v1/commands` answer, sorted by slug.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandList {
    pub commands: Vec<CommandSummary>,
}

/// `POST /v1/commands` body: a new personal command, or a new version of the one with the
/// same `metadata.slug`. An unchanged spec creates no version and answers 200, not 201.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushCommand {
    /// The spec, as JSON (YAML is converted by the CLI).
    pub spec: serde_json::Value,
    /// Version message (`my cli push -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /v1/commands` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushedCommand {
    pub command: CommandSummary,
    /// False when the spec was identical to the latest version.
    pub created_version: bool,
}

/// `POST /v1/libraries/{slug}/releases` body: one library's release.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseUpload {
    /// `MAJOR.MINOR.PATCH`.
    pub version: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Command specs as JSON; each `metadata.slug` unique.
    pub commands: Vec<serde_json::Value>,
}

/// `POST /v1/libraries/{slug}/releases` answer (201).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Release {
    pub library: LibraryRef,
    pub created_at: String,
}

/// `GET /v1/catalog` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The profile the server resolved (query, else token scope, else `default`).
    pub profile: String,
    /// Personal commands first, then library commands; each sorted by slug.
    pub items: Vec<CatalogItem>,
}

/// One command of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub command_id: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub version: u32,
    /// Lowercase hex SHA-256 of the spec body of that version.
    pub spec_hash: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// The library it comes with; `None` for a personal command.
    #[serde(default)]
    pub library: Option<CatalogLibrary>,
}

/// The library of a catalog item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogLibrary {
    #[serde(default)]
    pub owner: Option<String>,
    pub slug: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Lowercase hex SHA-256 check: 64 characters of `0-9a-f`.
pub fn valid_spec_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["default", "work", "a", "k8s-prod", "a-"] {
            assert!(valid_slug(good), "{good}");
        }
        for bad in ["", "Work", "1a", "-a", "a_b", "a b", "é", &"a".repeat(65)] {
            assert!(!valid_slug(bad), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_filled_and_encoded() {
        assert_eq!(fill(paths::PROFILE, &["work"]), "/v1/profiles/work");
        assert_eq!(
            fill(paths::PROFILE_LIBRARY, &["work", "alice/ops"]),
            "/v1/profiles/work/libraries/alice/ops"
        );
        assert_eq!(
            fill(paths::COMMAND_VERSION, &["cmd_1", "2"]),
            "/v1/commands/cmd_1/versions/2"
        );
        assert_eq!(fill(paths::PROFILE, &["a b?"]), "/v1/profiles/a%20b%3F");
    }

    #[test]
    fn catalog_items_round_trip_and_library_is_optional() {
        let json = r#"{"profile":"default","items":[{"command_id":"cmd_1","slug":"deploy",
            "name":"Deploy","version":2,"spec_hash":"ab","updated_at":"2026-01-01T00:00:00Z"}]}"#;
        let catalog: Catalog = serde_json::from_str(json).unwrap();
        assert_eq!(catalog.items[0].library, None);
        assert!(catalog.items[0].aliases.is_empty());
        let again: Catalog =
            serde_json::from_str(&serde_json::to_string(&catalog).unwrap()).unwrap();
        assert_eq!(again, catalog);
    }

    #[test]
    fn spec_hashes() {
        assert!(valid_spec_hash(&"a1".repeat(32)));
        assert!(!valid_spec_hash(&"A1".repeat(32)));
        assert!(!valid_spec_hash("abc"));
    }
}
