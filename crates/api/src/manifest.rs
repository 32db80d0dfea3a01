//! The library manifest (`mycli.yaml`, `mycli.yml` or `mycli.json` at a source's root) and
//! the loading of a whole source folder: the manifest, then every spec file of every
//! library it names, each validated and checked against its file name.
//!
//! Shared because the CLI (`my source add`, `my library release`) and the server
//! (`my-server admin library import`) must accept exactly the same folders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::{self, check_slug, Format, Spec, SpecError};

/// Manifest file names, in the order they are looked for.
pub const MANIFEST_FILES: [&str; 3] = ["mycli.yaml", "mycli.yml", "mycli.json"];
/// The only manifest schema version there is.
pub const SCHEMA_VERSION: u32 = 1;
/// Spec files a library folder may hold at most (and the manifest's libraries).
pub const MAX_FILES: usize = 1000;

/// A source's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    /// The source's name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Library slug → its definition.
    pub libraries: BTreeMap<String, LibraryDef>,
}

/// One library of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LibraryDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The folder holding the library's spec files, relative to the manifest.
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl Manifest {
    /// Parses and validates a manifest written as `format`.
    pub fn parse(text: &str, format: Format) -> Result<Manifest, SpecError> {
        let manifest: Manifest = spec::deserialize(text, format)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks everything the types cannot say; the first problem is reported.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(SpecError::new(
                "schemaVersion",
                format!("must be {SCHEMA_VERSION}, not {}", self.schema_version),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(SpecError::new("name", "must not be empty"));
        }
        if self.libraries.is_empty() {
            return Err(SpecError::new(
                "libraries",
                "must name at least one library",
            ));
        }
        if self.libraries.len() > MAX_FILES {
            return Err(SpecError::new("libraries", "too many libraries"));
        }
        // Library slugs and aliases share one namespace: `my <name>` must mean one library.
        let mut names: BTreeSet<&str> = self.libraries.keys().map(String::as_str).collect();
        for (slug, lib) in &self.libraries {
            let path = format!("libraries.{slug}");
            check_slug(&path, slug)?;
            if lib.name.trim().is_empty() {
                return Err(SpecError::new(format!("{path}.name"), "must not be empty"));
            }
            if !is_relative_inside(&lib.path) {
                return Err(SpecError::new(
                    format!("{path}.path"),
                    format!("{:?} must be a relative path inside the source", lib.path),
                ));
            }
            for (i, alias) in lib.aliases.iter().enumerate() {
                let alias_path = format!("{path}.aliases[{i}]");
                check_slug(&alias_path, alias)?;
                if !names.insert(alias) {
                    return Err(SpecError::new(
                        alias_path,
                        format!("{alias:?} already names a library"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A relative path with no `..`, so a manifest cannot point outside its own folder.
fn is_relative_inside(path: &str) -> bool {
    let p = Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// A source folder, loaded and validated.
#[derive(Debug, Clone)]
pub struct Source {
    pub manifest: Manifest,
    /// Which of [`MANIFEST_FILES`] it was read from.
    pub manifest_file: String,
    /// Library slug → its commands, sorted by slug.
    pub libraries: BTreeMap<String, Vec<Command>>,
}

/// One spec file of a library.
#[derive(Debug, Clone)]
pub struct Command {
    /// File name inside the library folder, e.g. `deploy.yaml`.
    pub file: String,
    pub spec: Spec,
}

/// Why a source folder was refused: which file, and what is wrong with it.
#[derive(Debug)]
pub enum LoadError {
    /// No manifest in the folder.
    NoManifest(PathBuf),
    /// A file or folder could not be read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A manifest or spec file is invalid.
    Invalid { path: PathBuf, error: SpecError },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NoManifest(dir) => write!(
                f,
                "{}: no manifest (expected one of {})",
                dir.display(),
                MANIFEST_FILES.join(", ")
            ),
            LoadError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Invalid { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads the manifest in `dir` and every spec of every library it names. Each `.yaml`,
/// `.yml` or `.json` file of a library folder must be a valid spec whose `metadata.slug` is
/// its file name without the extension; other files are ignored. Command slugs and aliases
/// must be unique within a library. Errors name the file (as `dir` joined with it).
pub fn load_source(dir: &Path) -> Result<Source, LoadError> {
    let (manifest_file, manifest) = read_manifest(dir)?;
    let mut libraries = BTreeMap::new();
    for (slug, lib) in &manifest.libraries {
        let lib_dir = dir.join(&lib.path);
        let commands = load_library(&lib_dir)?;
        libraries.insert(slug.clone(), commands);
    }
    Ok(Source {
        manifest,
        manifest_file,
        libraries,
    })
}

fn read_manifest(dir: &Path) -> Result<(String, Manifest), LoadError> {
    for name in MANIFEST_FILES {
        let path = dir.join(name);
        let text = match read_text(&path) {
            Ok(text) => text,
            Err(LoadError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
                continue
            }
            Err(e) => return Err(e),
        };
        let format = Format::from_path(&path).unwrap_or(Format::Yaml);
        let manifest =
            Manifest::parse(&text, format).map_err(|error| LoadError::Invalid { path, error })?;
        return Ok((name.to_string(), manifest));
    }
    Err(LoadError::NoManifest(dir.to_path_buf()))
}

fn load_library(dir: &Path) -> Result<Vec<Command>, LoadError> {
    let io = |error| LoadError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if Format::from_path(&path).is_some() && entry.file_type().map_err(io)?.is_file() {
            files.push(path);
        }
    }
    if files.len() > MAX_FILES {
        return Err(LoadError::Invalid {
            path: dir.to_path_buf(),
            error: SpecError::new("", format!("more than {MAX_FILES} spec files")),
        });
    }
    files.sort();
    let mut commands: Vec<Command> = Vec::with_capacity(files.len());
    let mut names = BTreeSet::new();
    for path in files {
        let format = Format::from_path(&path).unwrap_or(Format::Yaml);
        let text = read_text(&path)?;
        let invalid = |error| LoadError::Invalid {
            path: path.clone(),
            error,
        };
        let spec = Spec::parse(&text, format).map_err(invalid)?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if spec.metadata.slug != stem {
            return Err(invalid(SpecError::new(
                "metadata.slug",
                format!(
                    "{:?} must equal the file name without its extension ({stem:?})",
                    spec.metadata.slug
                ),
            )));
        }
        for name in spec.names() {
            if !names.insert(name.to_string()) {
                return Err(invalid(SpecError::new(
                    "metadata",
                    format!("{name:?} already names another command of this library"),
                )));
            }
        }
        let file = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        commands.push(Command { file, spec });
    }
    commands.sort_by(|a, b| a.spec.metadata.slug.cmp(&b.spec.metadata.slug));
    Ok(commands)
}

fn read_text(path: &Path) -> Result<String, LoadError> {
    let io = |error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > spec::MAX_SPEC_BYTES as u64 {
        return Err(LoadError::Invalid {
            path: path.to_path_buf(),
            error: SpecError::new(
                "",
                format!("too large: {len} bytes (at most {})", spec::MAX_SPEC_BYTES),
            ),
        });
    }
    fs::read_to_string(path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "schemaVersion: 1\nname: Demo\nlibraries:\n  ops:\n    name: Ops\n    path: ops\n    aliases: [o]\n";

    #[test]
    fn valid_manifest_parses() {
        let m = Manifest::parse(MANIFEST, Format::Yaml).unwrap();
        assert_eq!(m.libraries["ops"].aliases, ["o"]);
    }

    #[test]
    fn manifest_errors_name_the_field() {
        let err = |t: &str| Manifest::parse(t, Format::Yaml).unwrap_err().to_string();
        assert_eq!(
            err(&MANIFEST.replace("path: ops", "path: ../etc")),
            r#"libraries.ops.path: "../etc" must be a relative path inside the source"#
        );
        assert_eq!(
            err(&MANIFEST.replace("  ops:", "  Ops:")),
            r#"libraries.Ops: "Ops" must match ^[a-z][a-z0-9-]*$"#
        );
        assert_eq!(
            err(&MANIFEST.replace("[o]", "[ops]")),
            r#"libraries.ops.aliases[0]: "ops" already names a library"#
        );
        assert!(
            err(&MANIFEST.replace("path: ops", "path: ops\n    extra: 1"))
                .starts_with(r#"unknown field "extra" at libraries.ops"#)
        );
        assert_eq!(
            err("schemaVersion: 1\nname: Demo\n"),
            "libraries: is required"
        );
    }

    #[test]
    fn shipped_examples_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/libraries");
        let source = load_source(&dir).unwrap_or_else(|e| panic!("{e}"));
        let slugs = |lib: &str| -> Vec<String> {
            source.libraries[lib]
                .iter()
                .map(|c| c.spec.metadata.slug.clone())
                .collect()
        };
        assert_eq!(slugs("kubernetes"), ["logs", "pods", "port-forward"]);
        assert_eq!(slugs("ops"), ["deploy", "disk"]);
        assert_eq!(source.manifest.libraries["kubernetes"].aliases, ["k"]);
    }

    #[test]
    fn source_folder_loads_and_file_names_must_match_slugs() {
        let dir = std::env::temp_dir().join(format!("my-api-manifest-{}", std::process::id()));
        let ops = dir.join("ops");
        fs::create_dir_all(&ops).unwrap();
        fs::write(dir.join("mycli.yaml"), MANIFEST).unwrap();
        let spec = "schemaVersion: 1\nkind: command\nmetadata: {name: Deploy, slug: deploy}\nsteps: [{name: s, run: [\"true\"]}]\n";
        fs::write(ops.join("deploy.yaml"), spec).unwrap();
        fs::write(ops.join("README.md"), "not a spec").unwrap();
        let source = load_source(&dir).unwrap();
        assert_eq!(source.manifest_file, "mycli.yaml");
        assert_eq!(source.libraries["ops"][0].spec.metadata.slug, "deploy");
        assert_eq!(source.libraries["ops"].len(), 1);

        fs::write(ops.join("ship.yaml"), spec).unwrap();
        let err = load_source(&dir).unwrap_err().to_string();
        assert!(
            err.ends_with(r#"ship.yaml: metadata.slug: "deploy" must equal the file name without its extension ("ship")"#),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(load_source(&dir), Err(LoadError::NoManifest(_))));
    }
}
