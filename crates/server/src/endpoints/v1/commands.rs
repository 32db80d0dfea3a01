//! `/v1/commands`: the caller's personal commands (`my cli push`), and the spec body of any
//! command version a catalog may list.

use crate::app::App;
use crate::clock;
use crate::db::Db;
use crate::domain::catalog::summary;
use crate::domain::publish;
use crate::endpoints::v1::person;
use crate::web::{Error, Params, Reply, Request};
use my_api::catalog::{CommandList, PushCommand, PushedCommand};

/// Longest version message, in characters.
const MAX_MESSAGE_CHARS: usize = 1000;

fn command_not_found() -> Error {
    Error::not_found("command not found")
}

/// `POST /v1/commands`: 201 with a new command or version; 200 when the spec equals the
/// latest version (nothing is stored).
pub(crate) fn push(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let user_id = person(app, db, request)?;
    let body: PushCommand = request.json()?;
    let message = body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if message.is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(Error::bad_request(format!(
            "a version message must be at most {MAX_MESSAGE_CHARS} characters long"
        )));
    }
    let checked = publish::check(&body.spec, "spec.")?;
    let now = clock::now_secs();
    let (row, created) = db.write(|tx| publish::push(tx, &user_id, &checked, message, now))?;
    Ok(Reply::private_json(
        if created { 201 } else { 200 },
        &PushedCommand {
            command: summary(row),
            created_version: created,
        },
    ))
}

/// `GET /v1/commands`: the caller's personal commands, by slug.
pub(crate) fn list(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let user_id = person(app, db, request)?;
    let rows = db.read(|tx| tx.personal_catalog(&user_id))?;
    Ok(Reply::private_json(
        200,
        &CommandList {
            commands: rows.into_iter().map(summary).collect(),
        },
    ))
}

/// `DELETE /v1/commands/{id}`: 204; the command leaves every catalog of its owner.
pub(crate) fn delete(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let id = params.get("id");
    let user_id = person(app, db, request)?;
    let now = clock::now_secs();
    db.write(|tx| -> Result<(), Error> {
        let command = tx
            .command(id)?
            .filter(|c| c.deleted_at.is_none() && c.owner_user_id.as_deref() == Some(&*user_id))
            .ok_or_else(command_not_found)?;
        tx.delete_command(&command.id, now)?;
        Ok(())
    })?;
    Ok(Reply::no_content())
}

/// `GET /v1/commands/{id}/versions/{n}`: exactly the stored spec bytes, whose SHA-256 is
/// the catalog's `spec_hash`. Library commands are public; a personal command is its
/// owner's alone (404 to anyone else).
pub(crate) fn version(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let (id, version) = (params.get("id"), params.get("version"));
    let user_id = person(app, db, request)?;
    let number: u32 = version
        .parse()
        .ok()
        .filter(|n| *n >= 1 && !version.starts_with('0'))
        .ok_or_else(|| Error::not_found("version not found"))?;
    let (spec, hash) = db.read(|tx| -> Result<_, Error> {
        let command = tx
            .command(id)?
            .filter(|c| match &c.owner_user_id {
                Some(owner) => *owner == user_id && c.deleted_at.is_none(),
                None => true,
            })
            .ok_or_else(command_not_found)?;
        let spec = tx
            .spec(&command.id, number)?
            .ok_or_else(|| Error::not_found("version not found"))?;
        let hash = tx
            .command_version(&command.id, number)?
            .map(|v| v.spec_hash)
            .unwrap_or_default();
        Ok((spec, hash))
    })?;
    Ok(Reply::bytes(200, "application/json", spec)
        .header("ETag", format!("\"{hash}\""))
        .header("Cache-Control", "private, max-age=31536000, immutable"))
}
