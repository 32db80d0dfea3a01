//! Name indexes: what finding a command by name needs, written once when what they describe
//! changes, and only read afterwards.
//!
//! Both providers of commands keep one in the same format: the cached catalog of a profile
//! (written at sync, beside `catalog.json`) and the local sources (written by
//! `my source add|update|remove`, beside `sources.json`). An index has a head (its libraries,
//! its generation and how many buckets it has), stored where its provider keeps small
//! things, and buckets: `names/<generation>/<i>.json`, JSON objects holding the commands whose
//! slug or an alias falls into bucket `i` (SHA-256 of the name, modulo the bucket count). A
//! bucket holds about [`PER_BUCKET`] names however many commands there are, so finding a name
//! reads the head and one small file; listing a library's commands reads every bucket.
//!
//! A generation is written whole into a folder of its own before the head that names it
//! replaces the previous one (atomically), and older generations are removed after that, so
//! a reader holding a head sees the complete set it names, or finds it gone. Nothing here is
//! fsynced: what a crash loses or cuts short does not parse, and the reader goes to the file
//! the index was made from instead.
//!
//! An index is a shortcut, never an authority: a head or bucket that does not parse, a bucket
//! that is missing, a name that is not there, or a command that does not hold up when its
//! spec is read sends the lookup to `catalog.json` or `sources.json` (see `catalog::resolve`).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use my_api::catalog::CatalogItem;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::{ensure_private_dir, FILE_MODE};
use crate::error::{Error, Result};

/// The folder of the buckets, beside the provider's own file.
const DIR: &str = "names";
/// About how many names (slugs and aliases) a bucket holds.
pub const PER_BUCKET: usize = 16;
/// More buckets than this are never written (nor read).
const MAX_BUCKETS: usize = 1 << 16;

/// What a library or a command is called (slug and aliases) and what it says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl Named {
    pub fn answers_to(&self, name: &str) -> bool {
        self.slug == name || self.aliases.iter().any(|a| a == name)
    }

    /// The description, else the display name.
    pub fn summary(&self) -> &str {
        self.description.as_deref().unwrap_or(&self.name)
    }
}

/// A library of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    #[serde(flatten)]
    pub named: Named,
    /// A registry library's owner (none for a system library).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The local source it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The folder of its specs inside that source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How many commands it has.
    pub commands: usize,
}

/// Where a command's spec is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecRef {
    /// A catalog item: its body is cached by command id and version, and checked against the
    /// item's `spec_hash` when read.
    Item(Box<CatalogItem>),
    /// A spec file of a local source, in its library's folder.
    File(String),
}

/// A command of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Its place in the provider's order, which listings keep.
    pub n: usize,
    #[serde(flatten)]
    pub named: Named,
    /// Its library's place in [`Head::libraries`]; none for a personal command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<usize>,
    pub spec: SpecRef,
}

/// The head of an index: its libraries and where its buckets are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The folder of its buckets under `names/`: 16 lowercase hex digits.
    pub generation: String,
    pub buckets: usize,
    pub libraries: Vec<Library>,
}

#[derive(Serialize, Deserialize)]
struct Bucket {
    commands: Vec<Command>,
}

/// Why an index cannot be used; the lookup then reads the file it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged(pub String);

/// An index, read from its files or made in memory from what it describes.
#[derive(Debug)]
pub struct Names {
    head: Head,
    store: Store,
}

#[derive(Debug)]
enum Store {
    /// `names/<generation>/` of a written index.
    Folder(PathBuf),
    /// Every command, in order: made from the provider's own file.
    Memory(Vec<Command>),
}

impl Names {
    /// The index whose head is `head` and whose buckets are under `base/names/`; `Damaged`
    /// when the head cannot name a generation.
    pub fn open(base: &Path, head: Head) -> std::result::Result<Names, Damaged> {
        if !valid_generation(&head.generation) {
            return Err(Damaged(format!(
                "the generation {:?} is not 16 hex digits",
                head.generation
            )));
        }
        if !(1..=MAX_BUCKETS).contains(&head.buckets) {
            return Err(Damaged(format!(
                "{} buckets is not between 1 and {MAX_BUCKETS}",
                head.buckets
            )));
        }
        let folder = base.join(DIR).join(&head.generation);
        Ok(Names {
            head,
            store: Store::Folder(folder),
        })
    }

    /// Whether it was made from the provider's own file rather than read from an index.
    pub fn is_fresh(&self) -> bool {
        matches!(self.store, Store::Memory(_))
    }

    pub fn libraries(&self) -> &[Library] {
        &self.head.libraries
    }

    /// The commands that answer to `name` (slug or alias), in order.
    pub fn named(&self, name: &str) -> std::result::Result<Vec<Command>, Damaged> {
        let mut found: Vec<Command> = match &self.store {
            Store::Memory(all) => all
                .iter()
                .filter(|c| c.named.answers_to(name))
                .cloned()
                .collect(),
            Store::Folder(folder) => {
                let i = bucket_of(name, self.head.buckets);
                read_bucket(folder, i)?
                    .into_iter()
                    .filter(|c| c.named.answers_to(name))
                    .collect()
            }
        };
        found.sort_by_key(|c| c.n);
        found.dedup_by_key(|c| c.n);
        Ok(found)
    }

    /// Every command, in order.
    pub fn all(&self) -> std::result::Result<Vec<Command>, Damaged> {
        match &self.store {
            Store::Memory(all) => Ok(all.clone()),
            Store::Folder(folder) => {
                let mut by_place = BTreeMap::new();
                for i in 0..self.head.buckets {
                    for c in read_bucket(folder, i)? {
                        by_place.entry(c.n).or_insert(c);
                    }
                }
                Ok(by_place.into_values().collect())
            }
        }
    }
}

/// Collects an index: libraries, then commands, in the provider's order.
#[derive(Debug, Default)]
pub struct Builder {
    libraries: Vec<Library>,
    commands: Vec<Command>,
}

impl Builder {
    /// Adds a library; its place, for [`Builder::command`].
    pub fn library(&mut self, library: Library) -> usize {
        self.libraries.push(library);
        self.libraries.len() - 1
    }

    pub fn command(&mut self, named: Named, library: Option<usize>, spec: SpecRef) {
        let n = self.commands.len();
        self.commands.push(Command {
            n,
            named,
            library,
            spec,
        });
    }

    /// The index in memory, as a lookup reads it.
    pub fn into_names(self) -> Names {
        Names {
            head: Head {
                generation: String::new(),
                buckets: 1,
                libraries: self.libraries,
            },
            store: Store::Memory(self.commands),
        }
    }

    /// Writes the buckets of a new generation under `base/names/` and returns the head that
    /// names them, for the caller to store (which publishes it) before calling [`prune`].
    pub fn write(self, base: &Path) -> Result<Head> {
        let names: usize = self
            .commands
            .iter()
            .map(|c| 1 + c.named.aliases.len())
            .sum();
        let buckets = names.div_ceil(PER_BUCKET).clamp(1, MAX_BUCKETS);
        let mut contents: Vec<Vec<&Command>> = vec![Vec::new(); buckets];
        for c in &self.commands {
            let mut mine: Vec<usize> = std::iter::once(&c.named.slug)
                .chain(&c.named.aliases)
                .map(|name| bucket_of(name, buckets))
                .collect();
            mine.sort_unstable();
            mine.dedup();
            for i in mine {
                contents[i].push(c);
            }
        }
        let root = base.join(DIR);
        ensure_private_dir(&root)?;
        let (generation, folder) = new_generation(&root)?;
        for (i, commands) in contents.into_iter().enumerate() {
            #[derive(Serialize)]
            struct BucketOut<'a> {
                commands: Vec<&'a Command>,
            }
            let bytes = serde_json::to_vec(&BucketOut { commands })
                .map_err(|e| Error::Other(format!("cannot encode a name index: {e}")))?;
            write_new(&folder.join(format!("{i}.json")), &bytes)?;
        }
        Ok(Head {
            generation,
            buckets,
            libraries: self.libraries,
        })
    }
}

/// Removes every generation under `base/names/` but `keep` (best effort: a leftover only
/// takes room until the next write).
pub fn prune(base: &Path, keep: Option<&str>) {
    let root = base.join(DIR);
    let Ok(entries) = fs::read_dir(&root) else {
        return;
    };
    for entry in entries.flatten() {
        if Some(entry.file_name().to_string_lossy().as_ref()) != keep {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The bucket of `name` among `buckets`.
fn bucket_of(name: &str, buckets: usize) -> usize {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % buckets as u64) as usize
}

fn valid_generation(g: &str) -> bool {
    g.len() == 16 && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read_bucket(folder: &Path, i: usize) -> std::result::Result<Vec<Command>, Damaged> {
    let path = folder.join(format!("{i}.json"));
    let bytes = fs::read(&path).map_err(|e| Damaged(format!("{}: {e}", path.display())))?;
    serde_json::from_slice::<Bucket>(&bytes)
        .map(|b| b.commands)
        .map_err(|e| {
            Damaged(format!(
                "{}: {}",
                path.display(),
                crate::error::json_error_detail(&e)
            ))
        })
}

/// A new, empty generation folder (0700) under `root`.
fn new_generation(root: &Path) -> Result<(String, PathBuf)> {
    let mut last = None;
    for _ in 0..16 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let generation = format!("{:016x}", h.finish());
        let folder = root.join(&generation);
        match fs::create_dir(&folder) {
            Ok(()) => {
                ensure_private_dir(&folder)?;
                return Ok((generation, folder));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::io(format!("cannot create {}", folder.display()), e)),
        }
    }
    Err(Error::io(
        format!("cannot create a folder in {}", root.display()),
        last.unwrap_or_else(|| io::Error::other("no free name")),
    ))
}

/// Writes a file of a new generation folder: created (0600, never over an existing file),
/// not renamed into place, since nothing reads the folder before the head names it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic::tests::mode;

    fn named(slug: &str, aliases: &[&str]) -> Named {
        Named {
            slug: slug.into(),
            name: slug.to_uppercase(),
            description: None,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn example() -> Builder {
        let mut b = Builder::default();
        let ops = b.library(Library {
            named: named("ops", &["o"]),
            owner: None,
            source: Some("examples".into()),
            path: Some("ops".into()),
            commands: 2,
        });
        b.command(
            named("deploy", &["d"]),
            Some(ops),
            SpecRef::File("deploy.yaml".into()),
        );
        b.command(
            named("disk", &[]),
            Some(ops),
            SpecRef::File("disk.yaml".into()),
        );
        for i in 0..100 {
            b.command(
                named(&format!("c{i:03}"), &[]),
                None,
                SpecRef::File(format!("c{i:03}.yaml")),
            );
        }
        b
    }

    #[test]
    fn a_written_index_answers_like_the_one_in_memory() {
        let tmp = tempfile::tempdir().unwrap();
        let memory = example().into_names();
        let head = example().write(tmp.path()).unwrap();
        // 102 slugs and one alias, about PER_BUCKET to a bucket.
        assert_eq!(head.buckets, 7);
        let folder = tmp.path().join(DIR).join(&head.generation);
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&folder.join("0.json")), 0o600);
        let written = Names::open(tmp.path(), head).unwrap();
        assert!(!written.is_fresh() && memory.is_fresh());
        assert_eq!(written.libraries(), memory.libraries());
        for name in ["deploy", "d", "disk", "c042", "o", "nope"] {
            assert_eq!(written.named(name), memory.named(name), "{name}");
        }
        assert_eq!(written.named("d").unwrap()[0].named.slug, "deploy");
        let all = written.all().unwrap();
        assert_eq!(all.len(), 102);
        assert!(all.iter().enumerate().all(|(i, c)| c.n == i));
        assert_eq!(all, memory.all().unwrap());
    }

    #[test]
    fn pruning_keeps_only_the_named_generation() {
        let tmp = tempfile::tempdir().unwrap();
        let old = example().write(tmp.path()).unwrap();
        let new = example().write(tmp.path()).unwrap();
        assert_ne!(old.generation, new.generation);
        prune(tmp.path(), Some(&new.generation));
        let old = Names::open(tmp.path(), old).unwrap();
        assert!(matches!(old.named("deploy"), Err(Damaged(_))));
        let new = Names::open(tmp.path(), new).unwrap();
        assert_eq!(new.named("deploy").unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_index_is_reported_never_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let head = example().write(tmp.path()).unwrap();
        for (generation, buckets) in [("../../etc", 1), ("0123456789abcdeF", 1), ("", 1)] {
            let bad = Head {
                generation: generation.into(),
                buckets,
                ..head.clone()
            };
            assert!(Names::open(tmp.path(), bad).is_err(), "{generation}");
        }
        for buckets in [0, MAX_BUCKETS + 1] {
            let bad = Head {
                buckets,
                ..head.clone()
            };
            assert!(Names::open(tmp.path(), bad).is_err(), "{buckets}");
        }
        let folder = tmp.path().join(DIR).join(&head.generation);
        let names = Names::open(tmp.path(), head.clone()).unwrap();
        let i = bucket_of("deploy", head.buckets);
        for garbage in [&b"{"[..], b"[]", b"{\"commands\":[{\"n\":1}]}", b"\xff"] {
            fs::write(folder.join(format!("{i}.json")), garbage).unwrap();
            assert!(matches!(names.named("deploy"), Err(Damaged(_))));
            assert!(matches!(names.all(), Err(Damaged(_))));
        }
        fs::remove_file(folder.join(format!("{i}.json"))).unwrap();
        assert!(matches!(names.named("deploy"), Err(Damaged(_))));
    }
}
