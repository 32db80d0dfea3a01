//! `my cli push [-f FILE | --dir D] [-m MSG]`: publish personal commands. Every spec is
//! read and validated here first (errors name the file and the field), so nothing is pushed
//! when one of them is invalid; each push is a new version unless the spec is unchanged.

use crate::cli::PushArgs;
use my_api::catalog::{paths, PushCommand, PushedCommand};
use my_api::manifest::{MANIFEST_FILES, MAX_FILES};
use my_api::spec::{Format, Spec};
use mycli::api::Method;
use mycli::app::App;
use mycli::catalog::remote;
use mycli::error::{Error, Result};
use mycli::out;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What `-f` defaults to, in the order they are looked for.
const DEFAULT_FILES: [&str; 3] = ["command.yaml", "command.yml", "command.json"];

pub(crate) fn run(app: &App, a: PushArgs) -> Result<()> {
    let files = match (&a.file, &a.dir) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "use either -f FILE or --dir DIR, not both".into(),
            ))
        }
        (Some(f), None) => vec![PathBuf::from(f)],
        (None, Some(d)) => spec_files(Path::new(d))?,
        (None, None) => vec![default_file()?],
    };
    let mut specs = Vec::with_capacity(files.len());
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in files {
        let spec = load_spec(&path)?;
        if let Some(first) = seen.insert(spec.metadata.slug.clone(), path.clone()) {
            return Err(Error::Usage(format!(
                "{} and {} both define the command {:?}",
                first.display(),
                path.display(),
                spec.metadata.slug
            )));
        }
        specs.push(spec);
    }
    let mut pushed = Vec::with_capacity(specs.len());
    for spec in specs {
        let body = PushCommand {
            spec: to_json(&spec)?,
            message: a.message.clone(),
        };
        let body = to_json(&body)?;
        let reply = remote::send(app, Method::Post, paths::COMMANDS, Some(&body), &|| {
            "the server has no personal commands endpoint".into()
        })?;
        let p: PushedCommand = reply.json()?;
        if !a.json {
            out::note(if p.created_version {
                format!("Pushed {} v{}.", p.command.slug, p.command.version)
            } else {
                format!(
                    "{} is unchanged (v{}); no new version.",
                    p.command.slug, p.command.version
                )
            });
        }
        pushed.push(p);
    }
    if a.json {
        out::json(&pushed);
    }
    Ok(())
}

/// Reads and validates one spec file (JSON or YAML, by its extension).
pub(crate) fn load_spec(path: &Path) -> Result<Spec> {
    let format = Format::from_path(path).ok_or_else(|| {
        Error::Usage(format!(
            "{}: a spec file must end in .yaml, .yml or .json",
            path.display()
        ))
    })?;
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!("{}: no such file", path.display())))
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    Spec::parse(&text, format)
        .map_err(|e| Error::Usage(format!("{}: invalid spec: {e}", path.display())))
}

/// `command.yaml` (or .yml, .json) in the current folder.
fn default_file() -> Result<PathBuf> {
    DEFAULT_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Usage(
                "no command.yaml, command.yml or command.json here: pass -f FILE or --dir DIR (`my cli init` writes a starter spec)"
                    .into(),
            )
        })
}

/// Every `.yaml`, `.yml` and `.json` file under `dir` (hidden folders and manifests
/// skipped), sorted.
fn spec_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries =
            fs::read_dir(&d).map_err(|e| Error::io(format!("cannot read {}", d.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("cannot read {}", d.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if kind.is_dir() && !name.starts_with('.') {
                pending.push(path);
            } else if kind.is_file()
                && Format::from_path(&path).is_some()
                && !MANIFEST_FILES.contains(&name.as_str())
            {
                files.push(path);
            }
        }
        if files.len() > MAX_FILES {
            return Err(Error::Usage(format!(
                "{}: more than {MAX_FILES} spec files",
                dir.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no .yaml, .yml or .json spec files",
            dir.display()
        )));
    }
    files.sort();
    Ok(files)
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Other(format!("cannot encode the request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_yields_its_specs_sorted_without_manifests_or_hidden_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "b.yaml",
            "a.json",
            "sub/c.yml",
            "mycli.yaml",
            "notes.txt",
            ".git/x.json",
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        let got: Vec<_> = spec_files(d)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(got, ["a.json", "b.yaml", "sub/c.yml"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(spec_files(empty.path()), Err(Error::Usage(_))));
    }

    #[test]
    fn invalid_specs_name_the_file_and_the_field() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.yaml");
        fs::write(
            &p,
            "schemaVersion: 1\nkind: command\nmetadata: {name: X, slug: x}\n",
        )
        .unwrap();
        let e = load_spec(&p).unwrap_err().to_string();
        assert!(e.contains("x.yaml") && e.contains("steps"), "{e}");
        let e = load_spec(&tmp.path().join("x.txt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".yaml, .yml or .json"), "{e}");
    }
}
