//! Local sources: library folders and git repositories with a manifest, registered in
//! `<config dir>/sources/sources.json` and kept under `<config dir>/sources/repos/<name>/`.
//! This is how a machine without an account (or without a network) gets commands.
//!
//! The sources are the second provider of commands beside the profile's catalog: every
//! change (`my source add|update|remove`) writes, after the registry, their name index
//! (`catalog::names`): its head in `sources/names.json`, its buckets under `sources/names/`,
//! so finding a command among thousands reads neither the registry nor every spec. Looking a
//! command up only reads them; a command found through them is checked against its spec file
//! when that is read (see `catalog::resolve`).
//!
//! A git source is cloned with the `git` command. A local folder is copied (its manifest and
//! spec files only), so what runs is what was validated, and a removed USB stick or a
//! half-edited checkout does not change it; `my source update` copies it again. Every
//! acquisition goes to a staging folder first, is validated as a whole (manifest, every
//! spec, slugs equal to file names) and only then replaces the previous copy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use my_api::manifest::{self, Source};
use my_api::spec::{is_slug, Format, Spec};
use serde::{Deserialize, Serialize};

use crate::app::{now, rfc3339};
use crate::atomic::{ensure_private_dir, write_atomic, write_atomic_unsynced};
use crate::catalog::names::{self, Builder, Head, Library, Named, Names, SpecRef};
use crate::error::{Error, Result};

const DIR: &str = "sources";
const REGISTRY: &str = "sources.json";
/// The head of the sources' name index.
const NAMES: &str = "names.json";
/// The text index an older `my` kept beside the registry; removed by the next change.
const LEGACY_INDEX: &str = "index.tsv";
const REPOS: &str = "repos";

/// `sources.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Registry {
    #[serde(default)]
    pub sources: Vec<SourceEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Git,
    Folder,
}

/// One registered source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceEntry {
    pub name: String,
    pub kind: Kind,
    /// The git URL, or the absolute path of the folder it was copied from.
    pub origin: String,
    /// The branch or tag a git source follows.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The commit a git source is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub added_at: String,
    pub updated_at: String,
    pub libraries: Vec<LibraryEntry>,
}

/// A library of a source, with enough to find its commands without reading every spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryEntry {
    #[serde(flatten)]
    pub named: Named,
    /// Folder of its specs inside the source.
    pub path: String,
    pub commands: Vec<CommandEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandEntry {
    #[serde(flatten)]
    pub named: Named,
    /// The spec's file name in the library folder.
    pub file: String,
}

impl LibraryEntry {
    pub fn slug(&self) -> &str {
        &self.named.slug
    }
}

fn root(config_dir: &Path) -> PathBuf {
    config_dir.join(DIR)
}

fn repo_dir(config_dir: &Path, name: &str) -> PathBuf {
    root(config_dir).join(REPOS).join(name)
}

impl Registry {
    /// The registry; empty when there is none, an error naming the file when it is corrupt.
    pub fn load(config_dir: &Path) -> Result<Registry> {
        let path = root(config_dir).join(REGISTRY);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path,
                detail: crate::error::json_error_detail(&e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Writes `sources.json` (fsynced: it is the only record of the sources), then its name
    /// index: the buckets, the head (`names.json`) that publishes them, and the removal of the
    /// previous ones and of an older `my`'s `index.tsv`. The index is rebuilt from the
    /// registry at the next change, so it is not fsynced; without one (a failed write), lookups
    /// read the registry.
    fn save(&self, config_dir: &Path) -> Result<()> {
        let dir = root(config_dir);
        ensure_private_dir(config_dir)?;
        ensure_private_dir(&dir)?;
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Other(format!("cannot encode {REGISTRY}: {e}")))?;
        write_atomic(&dir.join(REGISTRY), &bytes)?;
        let published = self.names().write(&dir).and_then(|head| {
            let bytes = serde_json::to_vec(&head)
                .map_err(|e| Error::Other(format!("cannot encode {NAMES}: {e}")))?;
            write_atomic_unsynced(&dir.join(NAMES), &bytes)?;
            Ok(head.generation)
        });
        match published {
            Ok(generation) => names::prune(&dir, Some(&generation)),
            // A head left from before would describe another registry.
            Err(_) => {
                let _ = fs::remove_file(dir.join(NAMES));
            }
        }
        let _ = fs::remove_file(dir.join(LEGACY_INDEX));
        Ok(())
    }

    /// Its name index: every library of every source, in order, then their commands.
    pub fn names(&self) -> Builder {
        let mut names = Builder::default();
        let mut commands = Vec::new();
        for source in &self.sources {
            for lib in &source.libraries {
                let at = names.library(Library {
                    named: lib.named.clone(),
                    owner: None,
                    source: Some(source.name.clone()),
                    path: Some(lib.path.clone()),
                    commands: lib.commands.len(),
                });
                commands.push((at, &lib.commands));
            }
        }
        for (at, cmds) in commands {
            for cmd in cmds {
                names.command(cmd.named.clone(), Some(at), SpecRef::File(cmd.file.clone()));
            }
        }
        names
    }

    pub fn get(&self, name: &str) -> Option<&SourceEntry> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The library named `name` (slug or alias) in any source.
    pub fn library(&self, name: &str) -> Option<(&SourceEntry, &LibraryEntry)> {
        self.sources.iter().find_map(|s| {
            s.libraries
                .iter()
                .find(|l| l.named.answers_to(name))
                .map(|l| (s, l))
        })
    }

    /// Refuses a source whose library names (slugs and aliases) another source already uses.
    fn check_conflicts(&self, candidate: &SourceEntry) -> Result<()> {
        for lib in &candidate.libraries {
            for name in std::iter::once(&lib.named.slug).chain(&lib.named.aliases) {
                if let Some((other, _)) = self
                    .library(name)
                    .filter(|(other, _)| other.name != candidate.name)
                {
                    return Err(Error::Other(format!(
                        "library name {name:?} is already used by source {:?}: remove that source first (`my source remove {}`)",
                        other.name, other.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The name index of the sources, as the last change wrote it; `None` sends the caller to
/// the registry itself (no index, a damaged head, or sources last changed by an older `my`).
pub fn read_names(config_dir: &Path) -> Option<Names> {
    let dir = root(config_dir);
    if dir.join(LEGACY_INDEX).exists() {
        return None;
    }
    let bytes = fs::read(dir.join(NAMES)).ok()?;
    let head: Head = serde_json::from_slice(&bytes).ok()?;
    Names::open(&dir, head).ok()
}

/// The names of the sources, made from the registry itself.
pub fn names_from_registry(config_dir: &Path) -> Result<Names> {
    Ok(Registry::load(config_dir)?.names().into_names())
}

/// Whether `rel` stays inside the folder it is joined to (no `..`, not absolute).
fn stays_inside(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel).components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// Reads and validates the spec `file` of the library folder `lib_path` of `source`, which
/// must be the command `slug`. The names come from an index or the registry: none may lead
/// out of the source's folder.
pub fn load_spec(
    config_dir: &Path,
    source: &str,
    lib_path: &str,
    file: &str,
    slug: &str,
) -> Result<Spec> {
    let path = repo_dir(config_dir, source).join(lib_path).join(file);
    let damaged = |detail: String| {
        Error::Other(format!(
            "source {source:?} is damaged ({}: {detail}): run `my source update {source}`",
            path.display(),
        ))
    };
    let inside =
        is_slug(source) && stays_inside(lib_path) && stays_inside(file) && !file.contains('/');
    if !inside {
        return Err(damaged("a path that leaves the source's folder".into()));
    }
    let text = fs::read_to_string(&path).map_err(|e| damaged(e.to_string()))?;
    let format = Format::from_path(&path).unwrap_or(Format::Yaml);
    let spec = Spec::parse(&text, format).map_err(|e| damaged(e.to_string()))?;
    if spec.metadata.slug != slug {
        return Err(damaged(format!(
            "its slug is {:?}, not {slug:?}",
            spec.metadata.slug
        )));
    }
    Ok(spec)
}

/// Where `my source add` reads from.
enum Origin {
    Folder(PathBuf),
    Git(String),
}

fn origin(location: &str) -> Result<Origin> {
    let path = Path::new(location);
    if path.is_dir() {
        let abs = path
            .canonicalize()
            .map_err(|e| Error::io(format!("cannot resolve {location}"), e))?;
        return Ok(Origin::Folder(abs));
    }
    let looks_git = location.contains("://")
        || location.ends_with(".git")
        || (location.contains('@') && location.contains(':'));
    if looks_git {
        Ok(Origin::Git(location.to_string()))
    } else {
        Err(Error::Usage(format!(
            "{location} is neither a folder nor a git URL (https://…, ssh://…, git@host:path or …/repo.git)"
        )))
    }
}

/// A staging folder inside `repos/`, removed on drop unless kept.
struct Staging {
    path: PathBuf,
    keep: bool,
}

impl Staging {
    fn new(config_dir: &Path) -> Result<Staging> {
        let repos = root(config_dir).join(REPOS);
        ensure_private_dir(config_dir)?;
        ensure_private_dir(&root(config_dir))?;
        ensure_private_dir(&repos)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = repos.join(format!(".staging-{}-{nanos}", std::process::id()));
        Ok(Staging { path, keep: false })
    }

    /// Moves the staged folder to `dest`, replacing what was there.
    fn install(mut self, dest: &Path) -> Result<()> {
        let old = dest.with_file_name(format!(
            ".old-{}",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let had_old = dest.exists();
        if had_old {
            fs::rename(dest, &old)
                .map_err(|e| Error::io(format!("cannot replace {}", dest.display()), e))?;
        }
        fs::rename(&self.path, dest)
            .map_err(|e| Error::io(format!("cannot create {}", dest.display()), e))?;
        self.keep = true;
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Fetches `origin` into `staging` and validates it: the loaded source and, for git, the
/// commit.
fn acquire(
    origin: &Origin,
    git_ref: Option<&str>,
    staging: &Staging,
) -> Result<(Source, Option<String>)> {
    match origin {
        Origin::Folder(dir) => {
            let source = manifest::load_source(dir).map_err(invalid)?;
            copy_source(dir, &source, &staging.path)?;
            Ok((manifest::load_source(&staging.path).map_err(invalid)?, None))
        }
        Origin::Git(url) => {
            let mut args = vec!["clone", "--quiet", "--depth", "1"];
            if let Some(r) = git_ref {
                args.extend(["--branch", r]);
            }
            let dest = staging.path.to_string_lossy().into_owned();
            args.extend(["--", url.as_str(), dest.as_str()]);
            git(&args, None)?;
            let source = manifest::load_source(&staging.path).map_err(invalid)?;
            let commit = git(&["rev-parse", "HEAD"], Some(&staging.path))?;
            Ok((source, Some(commit)))
        }
    }
}

fn invalid(e: manifest::LoadError) -> Error {
    Error::Other(format!("invalid source: {e}"))
}

/// Copies the manifest and every spec file of `source` from `from` to `to`.
fn copy_source(from: &Path, source: &Source, to: &Path) -> Result<()> {
    let copy = |rel: &Path| -> Result<()> {
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        fs::copy(from.join(rel), &dest)
            .map(|_| ())
            .map_err(|e| Error::io(format!("cannot copy {}", from.join(rel).display()), e))
    };
    copy(Path::new(&source.manifest_file))?;
    for (slug, commands) in &source.libraries {
        let lib_path = &source.manifest.libraries[slug].path;
        for c in commands {
            copy(&Path::new(lib_path).join(&c.file))?;
        }
    }
    Ok(())
}

/// Runs `git ARGS` (in `dir`), never prompting; its trimmed stdout, or an error with the
/// last line git printed.
fn git(args: &[&str], dir: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    let out = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::Other(format!(
                "cannot run git ({e}): install git, or add a local folder instead"
            ))
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(Error::Other(format!(
        "git {} failed: {}",
        args.first().copied().unwrap_or_default(),
        last.trim()
    )))
}

fn entry(
    name: &str,
    origin: &Origin,
    git_ref: Option<&str>,
    source: &Source,
    commit: Option<String>,
) -> SourceEntry {
    let libraries = source
        .manifest
        .libraries
        .iter()
        .map(|(slug, def)| LibraryEntry {
            named: Named {
                slug: slug.clone(),
                name: def.name.clone(),
                description: def.description.clone(),
                aliases: def.aliases.clone(),
            },
            path: def.path.clone(),
            commands: source.libraries[slug]
                .iter()
                .map(|c| {
                    let m = &c.spec.metadata;
                    CommandEntry {
                        named: Named {
                            slug: m.slug.clone(),
                            name: m.name.clone(),
                            description: m.description.clone(),
                            aliases: m.aliases.clone(),
                        },
                        file: c.file.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    let (kind, origin) = match origin {
        Origin::Folder(p) => (Kind::Folder, p.display().to_string()),
        Origin::Git(url) => (Kind::Git, url.clone()),
    };
    let time = rfc3339(now());
    SourceEntry {
        name: name.to_string(),
        kind,
        origin,
        git_ref: git_ref.map(String::from),
        commit,
        added_at: time.clone(),
        updated_at: time,
        libraries,
    }
}

/// `my source add`: fetches, validates and registers a source.
pub fn add(
    config_dir: &Path,
    location: &str,
    git_ref: Option<&str>,
    name: Option<&str>,
) -> Result<SourceEntry> {
    let origin = origin(location)?;
    if git_ref.is_some() && matches!(origin, Origin::Folder(_)) {
        return Err(Error::Usage(
            "--ref applies to git sources only; a folder is copied as it is".into(),
        ));
    }
    let mut registry = Registry::load(config_dir)?;
    let staging = Staging::new(config_dir)?;
    let (source, commit) = acquire(&origin, git_ref, &staging)?;
    let name = match name {
        Some(n) => n.to_string(),
        None if is_slug(&source.manifest.name) => source.manifest.name.clone(),
        None => {
            return Err(Error::Usage(format!(
                "the manifest's name {:?} cannot name a source: pass --name NAME (lower case letters, digits and -)",
                source.manifest.name
            )))
        }
    };
    if !is_slug(&name) {
        return Err(Error::Usage(format!(
            "--name {name:?} must match ^[a-z][a-z0-9-]*$"
        )));
    }
    if registry.get(&name).is_some() {
        return Err(Error::Usage(format!(
            "a source named {name:?} already exists: `my source update {name}` refreshes it, or pass --name"
        )));
    }
    let new = entry(&name, &origin, git_ref, &source, commit);
    registry.check_conflicts(&new)?;
    staging.install(&repo_dir(config_dir, &name))?;
    registry.sources.push(new.clone());
    registry.save(config_dir)?;
    Ok(new)
}

/// `my source update [NAME]`: fetches each (or the named) source again; returns the
/// updated entries with whether anything changed.
pub fn update(config_dir: &Path, name: Option<&str>) -> Result<Vec<(SourceEntry, bool)>> {
    let mut registry = Registry::load(config_dir)?;
    let names: Vec<String> = match name {
        Some(n) => {
            registry.get(n).ok_or_else(|| not_found(n))?;
            vec![n.to_string()]
        }
        None => registry.sources.iter().map(|s| s.name.clone()).collect(),
    };
    let mut updated = Vec::new();
    for name in names {
        let old = registry
            .get(&name)
            .cloned()
            .ok_or_else(|| not_found(&name))?;
        let origin = match old.kind {
            Kind::Folder => Origin::Folder(PathBuf::from(&old.origin)),
            Kind::Git => Origin::Git(old.origin.clone()),
        };
        let staging = Staging::new(config_dir)?;
        let (source, commit) = acquire(&origin, old.git_ref.as_deref(), &staging)
            .map_err(|e| Error::Other(format!("source {name:?} was not updated: {e}")))?;
        let mut new = entry(&name, &origin, old.git_ref.as_deref(), &source, commit);
        new.added_at = old.added_at.clone();
        registry.check_conflicts(&new)?;
        staging.install(&repo_dir(config_dir, &name))?;
        let changed = old.kind == Kind::Folder || old.commit != new.commit;
        if let Some(slot) = registry.sources.iter_mut().find(|s| s.name == name) {
            *slot = new.clone();
        }
        registry.save(config_dir)?;
        updated.push((new, changed));
    }
    Ok(updated)
}

/// `my source remove NAME`: forgets the source and deletes its copy.
pub fn remove(config_dir: &Path, name: &str) -> Result<SourceEntry> {
    let mut registry = Registry::load(config_dir)?;
    let index = registry
        .sources
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| not_found(name))?;
    let removed = registry.sources.remove(index);
    registry.save(config_dir)?;
    let dir = repo_dir(config_dir, name);
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e))?;
    }
    Ok(removed)
}

fn not_found(name: &str) -> Error {
    Error::NotFound(format!(
        "no source named {name:?}: `my source list` shows them"
    ))
}
