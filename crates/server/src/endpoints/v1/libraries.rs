//! `/v1/libraries`: the registry — search, one library with its releases and latest
//! commands, and publishing a release of one's own library.
//!
//! A library is named `slug` (a system library, imported by `my-server admin library
//! import`) or `owner/slug` (a user's, owner being a username).

use crate::app::App;
use crate::clock;
use crate::db::{Db, LibraryRow};
use crate::domain::catalog::{self as rules, summary};
use crate::domain::publish::{self, Release};
use crate::endpoints::v1::person;
use crate::web::{Error, Params, Reply, Request};
use my_api::catalog::{self as wire, LibraryList, LibraryRef, ReleaseUpload};

fn library_wire(row: LibraryRow, latest_version: Option<String>) -> wire::Library {
    wire::Library {
        id: row.id,
        owner: row.owner,
        slug: row.slug,
        name: row.name,
        description: row.description,
        aliases: row.aliases,
        latest_version,
        versions: Vec::new(),
        commands: Vec::new(),
    }
}

/// `GET /v1/libraries[?q=TEXT]`: libraries whose reference, name, description or aliases
/// contain the text; system libraries first.
pub(crate) fn search(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    person(app, db, request)?;
    let query = request.query_params()?;
    let found = db.read(|tx| tx.search_libraries(query.get("q").map(str::trim)))?;
    Ok(Reply::private_json(
        200,
        &LibraryList {
            libraries: found
                .into_iter()
                .map(|(row, latest)| library_wire(row, Some(latest)))
                .collect(),
        },
    ))
}

/// `GET /v1/libraries/{slug}` and `GET /v1/libraries/{owner}/{slug}`: the library, every
/// version (newest first) and the latest release's commands.
pub(crate) fn show(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let reference = rules::library_param(params);
    person(app, db, request)?;
    let library = db.read(|tx| -> Result<_, Error> {
        let row = rules::library(tx, &reference)?;
        let releases = tx.releases(&row.id)?;
        let commands = match releases.first() {
            Some(latest) => tx.release_commands(&latest.id)?,
            None => Vec::new(),
        };
        let mut library = library_wire(row, releases.first().map(|r| r.version.clone()));
        library.versions = releases.into_iter().map(|r| r.version).collect();
        library.commands = commands.into_iter().map(summary).collect();
        Ok(library)
    })?;
    Ok(Reply::private_json(200, &library))
}

/// `POST /v1/libraries/{slug}/releases`: publishes a release of the caller's library
/// `slug` (created by its first release). 201; 409 `RELEASE_EXISTS` for a version that
/// exists; 400 `INVALID_SPEC` naming the command and field.
pub(crate) fn release(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let slug = params.get("slug");
    let user_id = person(app, db, request)?;
    let body: ReleaseUpload = request.json()?;
    let commands = body
        .commands
        .iter()
        .enumerate()
        .map(|(i, spec)| publish::check(spec, &format!("commands[{i}].")))
        .collect::<Result<Vec<_>, Error>>()?;
    let release = Release {
        owner_user_id: Some(user_id.clone()),
        slug: slug.to_string(),
        name: body.name,
        description: body.description,
        aliases: body.aliases,
        version: Some(body.version),
        commands,
    };
    let now = clock::now_secs();
    let published = db.write(|tx| publish::publish(tx, &release, false, now))?;
    eprintln!(
        "library {} released {} by {}",
        published.library.id, published.version, user_id
    );
    Ok(Reply::private_json(
        201,
        &wire::Release {
            library: LibraryRef {
                owner: published.library.owner,
                slug: published.library.slug,
                name: published.library.name,
                aliases: published.library.aliases,
                version: published.version,
                commands: published.commands,
            },
            created_at: clock::rfc3339(published.created_at),
        },
    ))
}
