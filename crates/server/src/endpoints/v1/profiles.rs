//! `/v1/profiles`: a user's profiles and the libraries installed in them.
//!
//! Every user has `default`, which cannot be deleted or renamed. Deleting a profile that
//! API tokens are scoped to needs `?force=true`, which revokes those tokens. A token scoped
//! to one profile cannot reach another (`domain::catalog::scoped_profile`).

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, ProfileRow};
use crate::domain::caller;
use crate::domain::catalog::{self as rules, library_ref, profile_wire};
use crate::endpoints::v1::person;
use crate::names;
use crate::web::{quote, Error, Params, Reply, Request};
use my_api::catalog::{
    codes as catalog_codes, library_reference, CreateProfile, InstallLibrary, LibraryRefList,
    ProfileList, UpdateProfile, DEFAULT_PROFILE,
};

/// Longest profile description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A description, trimmed: at most 1000 characters.
fn description(raw: Option<&str>) -> Result<String, Error> {
    let text = raw.unwrap_or("").trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::bad_request(format!(
            "a description must be at most {MAX_DESCRIPTION_CHARS} characters long"
        )));
    }
    Ok(text.to_string())
}

fn default_profile(action: &str) -> Error {
    Error::api(
        400,
        catalog_codes::DEFAULT_PROFILE,
        format!("the default profile cannot be {action}"),
    )
}

/// `POST /v1/profiles`: 201 with the new profile; 409 `PROFILE_EXISTS`.
pub(crate) fn create(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    let user_id = person(app, db, request)?;
    let body: CreateProfile = request.json()?;
    rules::check_slug("profile slug", &body.slug)?;
    let name = names::display_name("a profile name", body.name.as_deref().unwrap_or(&body.slug))
        .map_err(Error::bad_request)?;
    let profile = ProfileRow {
        id: secrets::new_id("prof"),
        user_id,
        slug: body.slug,
        name,
        description: description(body.description.as_deref())?,
        is_default: false,
        created_at: clock::now_secs(),
    };
    db.write(|tx| -> Result<(), Error> {
        if tx.insert_profile(&profile)? {
            Ok(())
        } else {
            Err(Error::api(
                409,
                catalog_codes::PROFILE_EXISTS,
                format!("you already have a profile {}", quote(&profile.slug)),
            ))
        }
    })?;
    Ok(Reply::private_json(
        201,
        &profile_wire(profile, Some(Vec::new())),
    ))
}

/// `GET /v1/profiles`: `default` first, then by slug.
pub(crate) fn list(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let user_id = person(app, db, request)?;
    let profiles = db.read(|tx| tx.profiles(&user_id))?;
    Ok(Reply::private_json(
        200,
        &ProfileList {
            profiles: profiles
                .into_iter()
                .map(|p| profile_wire(p, None))
                .collect(),
        },
    ))
}

/// `GET /v1/profiles/{slug}`: the profile with its libraries.
pub(crate) fn show(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let auth = caller::authenticate(app, db, request)?;
    let (profile, libraries) = db.read(|tx| -> Result<_, Error> {
        let profile = rules::scoped_profile(tx, &auth, slug)?;
        let libraries = tx.installed(&profile.id)?;
        Ok((profile, libraries))
    })?;
    Ok(Reply::private_json(
        200,
        &profile_wire(profile, Some(libraries)),
    ))
}

/// `PATCH /v1/profiles/{slug}`: a new name and/or description (the slug never changes).
pub(crate) fn update(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let auth = caller::authenticate(app, db, request)?;
    let body: UpdateProfile = request.json()?;
    let name = match body.name.as_deref() {
        None => None,
        Some(name) => {
            Some(names::display_name("a profile name", name).map_err(Error::bad_request)?)
        }
    };
    let new_description = match body.description.as_deref() {
        None => None,
        Some(text) => Some(description(Some(text))?),
    };
    let (profile, libraries) = db.write(|tx| -> Result<_, Error> {
        let mut profile = rules::scoped_profile(tx, &auth, slug)?;
        if let Some(name) = name {
            if profile.is_default && name != profile.name {
                return Err(default_profile("renamed"));
            }
            profile.name = name;
        }
        if let Some(text) = new_description {
            profile.description = text;
        }
        tx.update_profile(&profile.id, &profile.name, &profile.description)?;
        let libraries = tx.installed(&profile.id)?;
        Ok((profile, libraries))
    })?;
    Ok(Reply::private_json(
        200,
        &profile_wire(profile, Some(libraries)),
    ))
}

/// `DELETE /v1/profiles/{slug}[?force=true]`: 204; 409 `HAS_SCOPED_TOKENS` unless forced,
/// and forcing revokes those tokens.
pub(crate) fn delete(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let auth = caller::authenticate(app, db, request)?;
    let query = request.query_params()?;
    let force = match query.get("force") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Error::bad_request(format!(
                "force must be true or false, not {}",
                quote(other)
            )))
        }
    };
    let now = clock::now_secs();
    let revoked = db.write(|tx| -> Result<usize, Error> {
        let profile = rules::scoped_profile(tx, &auth, slug)?;
        if profile.is_default || profile.slug == DEFAULT_PROFILE {
            return Err(default_profile("deleted"));
        }
        let scoped = tx.count_scoped_tokens(&profile.id, now)?;
        if scoped > 0 && !force {
            return Err(Error::api(
                409,
                catalog_codes::HAS_SCOPED_TOKENS,
                format!(
                    "{scoped} API token{} scoped to profile {}: revoke {}, or delete with \
                     --force (force=true), which revokes {}",
                    if scoped == 1 { " is" } else { "s are" },
                    quote(&profile.slug),
                    if scoped == 1 { "it" } else { "them" },
                    if scoped == 1 { "it" } else { "them" },
                ),
            ));
        }
        let revoked = tx.revoke_scoped_tokens(&profile.id, now)?;
        tx.delete_profile(&profile.id)?;
        Ok(revoked)
    })?;
    if revoked > 0 {
        eprintln!(
            "profile of {} deleted, {revoked} scoped API token(s) revoked",
            auth.user_id
        );
    }
    Ok(Reply::no_content())
}

/// `GET /v1/profiles/{slug}/libraries`.
pub(crate) fn libraries(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let auth = caller::authenticate(app, db, request)?;
    let libraries = db.read(|tx| -> Result<_, Error> {
        let profile = rules::scoped_profile(tx, &auth, slug)?;
        Ok(tx.installed(&profile.id)?)
    })?;
    Ok(Reply::private_json(
        200,
        &LibraryRefList {
            libraries: libraries.into_iter().map(library_ref).collect(),
        },
    ))
}

/// `POST /v1/profiles/{slug}/libraries`: attaches the library's latest release. 201 when
/// it was not installed, 200 when an older release was replaced, 409 `ALREADY_INSTALLED`
/// when the latest one already is.
pub(crate) fn install(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let auth = caller::authenticate(app, db, request)?;
    let body: InstallLibrary = request.json()?;
    let now = clock::now_secs();
    let (status, installed) = db.write(|tx| -> Result<_, Error> {
        let profile = rules::scoped_profile(tx, &auth, slug)?;
        let library = rules::library(tx, body.library.trim())?;
        let latest = tx
            .latest_release(&library.id)?
            .ok_or_else(|| rules::library_not_found(&body.library))?;
        let before = tx
            .installed(&profile.id)?
            .into_iter()
            .find(|i| i.library_id == library.id);
        let status = match before {
            Some(before) if before.release_id == latest.id => {
                return Err(Error::api(
                    409,
                    catalog_codes::ALREADY_INSTALLED,
                    format!(
                        "{} {} is already installed in profile {}",
                        quote(&library_reference(before.owner.as_deref(), &before.slug)),
                        before.version,
                        quote(&profile.slug)
                    ),
                ))
            }
            Some(_) => 200,
            None => 201,
        };
        tx.install(&profile.id, &library.id, &latest.id, now)?;
        let installed = tx
            .installed(&profile.id)?
            .into_iter()
            .find(|i| i.library_id == library.id)
            .ok_or_else(|| rules::library_not_found(&body.library))?;
        Ok((status, installed))
    })?;
    Ok(Reply::private_json(status, &library_ref(installed)))
}

/// `DELETE /v1/profiles/{slug}/libraries/{library}`: 204; 404 if it is not installed.
pub(crate) fn uninstall(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let reference = rules::library_param(params);
    let auth = caller::authenticate(app, db, request)?;
    db.write(|tx| -> Result<(), Error> {
        let profile = rules::scoped_profile(tx, &auth, slug)?;
        let library = rules::library(tx, &reference)?;
        if tx.uninstall(&profile.id, &library.id)? {
            Ok(())
        } else {
            Err(Error::not_found(format!(
                "library {} is not installed in profile {}",
                quote(&reference),
                quote(&profile.slug)
            )))
        }
    })?;
    Ok(Reply::no_content())
}
