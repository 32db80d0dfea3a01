//! `my library release VERSION [--dir D] [--dry-run]`: validate a manifest folder with the
//! rules the server's import and `my source add` use (`my_api::manifest`), then publish one
//! release of each library it holds, under the caller's username.

use crate::cli::LibraryReleaseArgs;
use crate::cmd::push::to_json;
use my_api::catalog::{fill, paths, Release, ReleaseUpload, MAX_RELEASE_BYTES};
use my_api::manifest::{load_source, LoadError};
use mycli::api::Method;
use mycli::app::App;
use mycli::catalog::{commands, remote};
use mycli::error::{Error, Result};
use mycli::out;
use std::path::Path;

pub(crate) fn run(app: &App, a: LibraryReleaseArgs) -> Result<()> {
    let version = check_version(&a.version)?;
    let dir = Path::new(a.dir.as_deref().unwrap_or("."));
    let source = load_source(dir).map_err(|e| match e {
        LoadError::Io { path, error } => {
            Error::io(format!("cannot read {}", path.display()), error)
        }
        e => Error::Usage(e.to_string()),
    })?;
    let mut uploads = Vec::new();
    for (slug, def) in &source.manifest.libraries {
        let specs = source.libraries.get(slug).map(Vec::as_slice).unwrap_or(&[]);
        let upload = ReleaseUpload {
            version: version.clone(),
            name: def.name.clone(),
            description: def.description.clone().unwrap_or_default(),
            aliases: def.aliases.clone(),
            commands: specs
                .iter()
                .map(|c| to_json(&c.spec))
                .collect::<Result<_>>()?,
        };
        let body = to_json(&upload)?;
        let size = body.to_string().len();
        if size > MAX_RELEASE_BYTES {
            return Err(Error::Usage(format!(
                "the release of {slug} is {size} bytes; the limit is {MAX_RELEASE_BYTES}"
            )));
        }
        uploads.push((slug.clone(), upload.commands.len(), body));
    }
    if a.dry_run {
        let planned: Vec<_> = uploads
            .iter()
            .map(|(slug, n, _)| serde_json::json!({"library": slug, "version": version, "commands": n}))
            .collect();
        if a.json {
            out::json(&planned);
        } else {
            for (slug, n, _) in &uploads {
                out::note(format!(
                    "Would release {slug} {version} ({}).",
                    commands(*n)
                ));
            }
            out::note("Dry run: nothing was uploaded.");
        }
        return Ok(());
    }
    let mut released = Vec::new();
    let mut failed = Vec::new();
    for (slug, _, body) in &uploads {
        let path = fill(paths::LIBRARY_RELEASES, &[slug]);
        let result = remote::send(app, Method::Post, &path, Some(body), &|| {
            format!("library {slug:?} not found")
        })
        .and_then(|reply| reply.json::<Release>());
        match result {
            Ok(r) => {
                if !a.json {
                    out::note(format!(
                        "Released {} {} ({}).",
                        r.library.reference(),
                        r.library.version,
                        commands(r.library.commands)
                    ));
                }
                released.push(r);
            }
            Err(e) => {
                out::note(format!("{slug}: {e}"));
                failed.push(slug.clone());
            }
        }
    }
    if a.json {
        out::json(&released);
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "{} of {} libraries were not released: {}",
            failed.len(),
            uploads.len(),
            failed.join(", ")
        )))
    }
}

/// `MAJOR.MINOR.PATCH` (a leading `v` dropped), numbers without leading zeros.
fn check_version(version: &str) -> Result<String> {
    let v = version.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    let parts: Vec<&str> = v.split('.').collect();
    let number = |p: &&str| {
        !p.is_empty()
            && p.len() <= 9
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    if parts.len() == 3 && parts.iter().all(number) {
        Ok(v.to_string())
    } else {
        Err(Error::Usage(format!(
            "{version:?} is not a release version: use MAJOR.MINOR.PATCH, e.g. 1.2.0"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::check_version;

    #[test]
    fn versions() {
        assert_eq!(check_version("1.2.0").unwrap(), "1.2.0");
        assert_eq!(check_version("v0.10.3").unwrap(), "0.10.3");
        for bad in ["", "1.2", "1.2.3.4", "01.2.3", "1.x.3", "v", "1.2.3-rc1"] {
            assert!(check_version(bad).is_err(), "{bad:?}");
        }
    }
}
