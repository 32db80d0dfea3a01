//! `my-server admin library import DIR [--version X.Y.Z]`: publishes each library of a
//! source folder (a `mycli.yaml`/`mycli.json` manifest and one spec file per command) as
//! a release of a system library, in one transaction. A folder that equals the latest
//! releases changes nothing, so importing it again is safe.

use super::{print_json, Failure};
use crate::db::Db;
use crate::domain::publish::{self, Published};
use crate::web::Error;
use serde::Serialize;
use std::path::Path;

/// One line of output per library.
#[derive(Serialize)]
struct ImportLine {
    library: String,
    version: String,
    commands: usize,
    /// False when the library was unchanged and nothing was written.
    published: bool,
}

/// A refusal or a database failure as the one line to print.
fn message(error: Error) -> String {
    match error {
        Error::Api { message, .. } | Error::Internal(message) => message,
        Error::OAuth { description, .. } => description,
        Error::Reply(reply) => format!("refused with status {}", reply.status),
    }
}

pub(super) fn import(
    db: &mut Db,
    dir: &Path,
    version: Option<&str>,
    now: i64,
) -> Result<(), String> {
    let releases = publish::releases_in(dir, version)?;
    let published = db.write(|tx| -> Result<Vec<Published>, Failure> {
        let mut published = Vec::new();
        for release in &releases {
            let done = publish::publish(tx, release, true, now).map_err(|halt| {
                Failure(format!("library \"{}\": {}", release.slug, message(halt)))
            })?;
            published.push(done);
        }
        Ok(published)
    })?;
    for done in published {
        print_json(&ImportLine {
            library: done.library.slug,
            version: done.version,
            commands: done.commands,
            published: done.created,
        })?;
    }
    Ok(())
}
