//! The catalog's rules: who may use it (a person, not an organization key), which profile a
//! request means, how a profile's catalog is assembled, and its ETag.
//!
//! Publishing (spec validation, command versions, releases) is in `domain/publish.rs`;
//! both are shared by the `/v1/profiles`, `/v1/libraries`, `/v1/commands` and
//! `/v1/catalog` endpoints, `POST /v1/tokens` (a token's profile scope) and the admin.

use super::caller::Auth;
use crate::clock;
use crate::db::{CatalogRow, InstalledRow, LibraryRow, ProfileRow, Tx};
use crate::web::{quote, Error, Params};
use my_api::catalog::{
    self as wire, codes as catalog_codes, Catalog, CatalogItem, CatalogLibrary, CommandSummary,
    LibraryRef,
};
use my_api::CredentialKind;
use sha2::{Digest, Sha256};

const PERSON_REQUIRED: &str = "an organization access key belongs to no person, so it has no \
     profiles, libraries or commands: use a personal token (myc_…, `my cli token create`) or \
     `my cli login`";

/// The caller's user id, if the credential is a person's: a session or a personal token.
/// An organization key gets 403 `PERSONAL_CREDENTIAL_REQUIRED`.
pub(crate) fn person(auth: &Auth) -> Result<&str, Error> {
    match auth.kind {
        CredentialKind::Session | CredentialKind::PersonalToken => Ok(&auth.user_id),
        CredentialKind::OrganizationKey => Err(Error::api(
            403,
            catalog_codes::PERSONAL_CREDENTIAL_REQUIRED,
            PERSON_REQUIRED,
        )),
    }
}

/// 400 `INVALID_SLUG` unless `slug` matches `^[a-z][a-z0-9-]*$` (at most 64 bytes).
pub(crate) fn check_slug(what: &str, slug: &str) -> Result<(), Error> {
    if wire::valid_slug(slug) {
        return Ok(());
    }
    Err(Error::api(
        400,
        catalog_codes::INVALID_SLUG,
        format!(
            "{what} {} must match ^[a-z][a-z0-9-]*$ (at most {} characters)",
            quote(slug),
            wire::MAX_SLUG_LEN
        ),
    ))
}

/// 404 for a profile the user does not have.
pub(crate) fn profile_not_found(slug: &str) -> Error {
    Error::not_found(format!("profile {} not found", quote(slug)))
}

/// The user's profile `slug`, or 404.
pub(crate) fn profile(tx: &Tx, user_id: &str, slug: &str) -> Result<ProfileRow, Error> {
    tx.profile(user_id, slug)?
        .ok_or_else(|| profile_not_found(slug))
}

/// The caller's profile `slug`, within a scoped token's reach: a token scoped to one
/// profile may not use another (403 `PROFILE_SCOPE`); a profile the user lacks is 404.
pub(crate) fn scoped_profile(tx: &Tx, auth: &Auth, slug: &str) -> Result<ProfileRow, Error> {
    let user_id = person(auth)?;
    if let Some(scope) = auth.profile.as_deref().filter(|scope| *scope != slug) {
        return Err(Error::api(
            403,
            catalog_codes::PROFILE_SCOPE,
            format!(
                "this token is scoped to profile {}: it cannot use profile {}",
                quote(scope),
                quote(slug)
            ),
        ));
    }
    profile(tx, user_id, slug)
}

/// The profile a catalog read means: `?profile=`, else the token's scope, else `default`.
pub(crate) fn catalog_profile(
    tx: &Tx,
    auth: &Auth,
    requested: Option<&str>,
) -> Result<ProfileRow, Error> {
    let slug = requested
        .or(auth.profile.as_deref())
        .unwrap_or(wire::DEFAULT_PROFILE);
    scoped_profile(tx, auth, slug)
}

/// A profile's catalog: the user's personal commands, then the commands of the releases
/// installed in the profile; each part sorted by slug.
pub(crate) fn assemble(tx: &Tx, user_id: &str, profile: &ProfileRow) -> Result<Catalog, Error> {
    let mut items: Vec<CatalogItem> = tx
        .personal_catalog(user_id)?
        .into_iter()
        .map(item)
        .collect();
    items.extend(tx.library_catalog(&profile.id)?.into_iter().map(item));
    Ok(Catalog {
        profile: profile.slug.clone(),
        items,
    })
}

/// The catalog as sent, and its strong ETag: the quoted SHA-256 of exactly those bytes
/// (they hold the profile and the item list, so two profiles never share a tag).
pub(crate) fn serialize(catalog: &Catalog) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(catalog).unwrap_or_default();
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body)));
    (body, etag)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an `If-None-Match` header value matches `etag`: `*`, or one of a comma-separated
/// list. RFC 9110 §13.1.2 compares weakly here, so `W/"x"` matches `"x"`.
pub(crate) fn none_match(header: Option<&str>, etag: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let wanted = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == wanted)
}

/// A stored row as a catalog item.
pub(crate) fn item(row: CatalogRow) -> CatalogItem {
    CatalogItem {
        command_id: row.command_id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        aliases: row.aliases,
        version: row.version,
        spec_hash: row.spec_hash,
        updated_at: clock::rfc3339(row.updated_at),
        library: row.library.map(|l| CatalogLibrary {
            owner: l.owner,
            slug: l.slug,
            aliases: l.aliases,
        }),
    }
}

/// A stored row as a command summary.
pub(crate) fn summary(row: CatalogRow) -> CommandSummary {
    CommandSummary {
        id: row.command_id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        aliases: row.aliases,
        version: row.version,
        spec_hash: row.spec_hash,
        updated_at: clock::rfc3339(row.updated_at),
    }
}

/// An installed library as the wire shows it.
pub(crate) fn library_ref(row: InstalledRow) -> LibraryRef {
    LibraryRef {
        owner: row.owner,
        slug: row.slug,
        name: row.name,
        aliases: row.aliases,
        version: row.version,
        commands: row.commands,
    }
}

/// A profile as the wire shows it, with its libraries when they were read.
pub(crate) fn profile_wire(row: ProfileRow, libraries: Option<Vec<InstalledRow>>) -> wire::Profile {
    wire::Profile {
        id: row.id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        is_default: row.is_default,
        libraries: libraries.map(|l| l.into_iter().map(library_ref).collect()),
        created_at: clock::rfc3339(row.created_at),
    }
}

/// 404 for a library reference that names nothing.
pub(crate) fn library_not_found(reference: &str) -> Error {
    Error::not_found(format!("library {} not found", quote(reference)))
}

/// The library reference of a route's `{library}`, or `{owner}/{library}`, parameters.
pub(crate) fn library_param(params: &Params) -> String {
    match params.get("owner") {
        "" => params.get("library").to_string(),
        owner => format!("{owner}/{}", params.get("library")),
    }
}

/// The library a reference names: `slug` (or an alias) of a system library, or
/// `owner/slug` (or `owner/alias`) of a user's.
pub(crate) fn library(tx: &Tx, reference: &str) -> Result<LibraryRow, Error> {
    let found = match reference.split_once('/') {
        None => tx.library(None, reference)?,
        Some((owner, name)) => match tx.user_id_by_username(owner)? {
            Some(owner_id) => tx.library(Some(&owner_id), name)?,
            None => None,
        },
    };
    found.ok_or_else(|| library_not_found(reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_stars_and_weak_tags() {
        let tag = "\"abc\"";
        assert!(!none_match(None, tag));
        assert!(none_match(Some("\"abc\""), tag));
        assert!(none_match(Some(" \"x\", \"abc\" "), tag));
        assert!(none_match(Some("*"), tag));
        assert!(none_match(Some("W/\"abc\""), tag));
        assert!(!none_match(Some("\"abd\""), tag));
        assert!(!none_match(Some("abc"), tag));
        assert!(!none_match(Some(""), tag));
        assert!(!none_match(Some("\"abc"), tag));
    }

    #[test]
    fn the_etag_is_the_hash_of_the_body() {
        let catalog = Catalog {
            profile: "default".into(),
            items: Vec::new(),
        };
        let (body, etag) = serialize(&catalog);
        assert_eq!(body, br#"{"profile":"default","items":[]}"#);
        assert_eq!(etag.len(), 66);
        let other = Catalog {
            profile: "work".into(),
            items: Vec::new(),
        };
        assert_ne!(serialize(&other).1, etag);
    }
}
