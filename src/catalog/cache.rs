//! The files of the local catalog, under `<config dir>/cache/`:
//!
//! - `profiles/<slug>/catalog.json`: `{"profile", "items", "etag", "synced_at"}`, the catalog
//!   as the last sync received it: what the next sync sends the ETag of, and what the other
//!   files of the profile are made from;
//! - `profiles/<slug>/summary.json`: what `my cli status` shows (the time of the last sync,
//!   the counts) and the head of the profile's name index; written last by every sync, and the
//!   only file a sync answered 304 rewrites;
//! - `profiles/<slug>/names/<generation>/<i>.json`: the buckets of that index
//!   (`catalog::names`), each holding the catalog items found by its names, whole, so that
//!   `my cli run` reads the summary, one bucket and one spec body;
//! - `specs/<command id>/<version>.json`: spec bodies, exactly the bytes the server sent,
//!   shared by every profile (a version never changes, so its path is its identity).
//!
//! Only a sync writes them ([`store`], [`touch_synced_at`], [`write_spec`]): looking a command
//! up, listing or counting is a pure read. Every file is written atomically (0600, folders
//! 0700), without fsync: what a crash loses or empties is refused when read and written again
//! by the next sync, and meanwhile `catalog.json` is read instead of the index. Nothing read
//! back is trusted: a catalog that does not parse or holds an unsafe id is reported as
//! corrupt, and a spec body is checked against its `spec_hash` whenever it is read or written.
//!
//! A cache written by an older `my` has `catalog.json` (and an `index.tsv` beside it) but no
//! index head in its summary: lookups read `catalog.json` itself until the next sync writes
//! the files above.

use crate::atomic::{ensure_private_dir, write_atomic_unsynced};
use crate::catalog::names::{self, Builder, Head, Library, Named, Names, SpecRef};
use crate::error::json_error_detail;
use crate::error::{Error, Result};
use my_api::catalog::{valid_slug, valid_spec_hash, CatalogItem};
use my_api::spec::spec_hash;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const CATALOG_FILE: &str = "catalog.json";
const SUMMARY_FILE: &str = "summary.json";
/// The text index an older `my` kept beside `catalog.json`; removed by the next sync.
const LEGACY_INDEX: &str = "index.tsv";
/// Longest command id accepted as a folder name.
const MAX_ID_LEN: usize = 128;

/// `<config dir>/cache/profiles`.
pub fn profiles_dir(config_dir: &Path) -> PathBuf {
    config_dir.join("cache").join("profiles")
}

/// `<config dir>/cache/profiles/<slug>` (the slug must be valid).
fn profile_dir(config_dir: &Path, profile: &str) -> PathBuf {
    profiles_dir(config_dir).join(profile)
}

/// `<config dir>/cache/profiles/<slug>/catalog.json` (the slug must be valid).
pub fn catalog_path(config_dir: &Path, profile: &str) -> PathBuf {
    profile_dir(config_dir, profile).join(CATALOG_FILE)
}

fn summary_path(config_dir: &Path, profile: &str) -> PathBuf {
    profile_dir(config_dir, profile).join(SUMMARY_FILE)
}

/// `<config dir>/cache/specs/<command id>/<version>.json` (the id must be safe, see
/// [`check_items`]).
pub fn spec_path(config_dir: &Path, item: &CatalogItem) -> PathBuf {
    config_dir
        .join("cache")
        .join("specs")
        .join(&item.command_id)
        .join(format!("{}.json", item.version))
}

/// The cached catalog of one profile, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    pub profile: String,
    pub items: Vec<CatalogItem>,
    /// The server's strong ETag, sent back as `If-None-Match`.
    #[serde(default)]
    pub etag: Option<String>,
    /// RFC 3339 UTC (milliseconds) of the last successful sync, a 304 included.
    pub synced_at: String,
}

/// What reading a cache file found.
#[derive(Debug)]
pub enum Read<T> {
    Missing,
    /// The file exists but cannot be trusted; the text says which file and why.
    Corrupt(String),
    Found(T),
}

impl<T> Read<T> {
    /// `Found` as `Some`, `Missing` as `None`, `Corrupt` as the error that says to sync.
    pub fn trusted(self) -> Result<Option<T>> {
        match self {
            Read::Missing => Ok(None),
            Read::Corrupt(why) => Err(Error::Cache(format!(
                "{why}: run `my library sync` to fetch it again"
            ))),
            Read::Found(t) => Ok(Some(t)),
        }
    }
}

impl CatalogFile {
    /// Reads and checks the cached catalog of `profile`.
    pub fn read(config_dir: &Path, profile: &str) -> Result<Read<CatalogFile>> {
        let path = catalog_path(config_dir, profile);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(Read::Missing);
        };
        Ok(CatalogFile::parse(&path, profile, &bytes))
    }

    /// Parses and checks the bytes of `path`, the cached catalog of `profile`.
    pub fn parse(path: &Path, profile: &str, bytes: &[u8]) -> Read<CatalogFile> {
        let file: CatalogFile = match serde_json::from_slice(bytes) {
            Ok(file) => file,
            Err(e) => return Read::Corrupt(corrupt(path, &json_error_detail(&e))),
        };
        if file.profile != profile {
            return Read::Corrupt(corrupt(
                path,
                &format!("it holds profile {:?}", file.profile),
            ));
        }
        if let Err(why) = check_items(&file.items) {
            return Read::Corrupt(corrupt(path, &why));
        }
        Read::Found(file)
    }

    /// Writes `cache/profiles/<profile>/catalog.json` atomically.
    fn write(&self, config_dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| Error::Other(format!("cannot encode the catalog: {e}")))?;
        write_private(&catalog_path(config_dir, &self.profile), &bytes)
    }

    /// Its figures for `my cli status`.
    fn summary(&self) -> Summary {
        let mut libraries = BTreeSet::new();
        let mut library_commands = 0;
        for item in &self.items {
            if let Some(lib) = &item.library {
                library_commands += 1;
                libraries.insert((lib.owner.as_deref(), lib.slug.as_str()));
            }
        }
        Summary {
            synced_at: self.synced_at.clone(),
            commands: self.items.len(),
            libraries: libraries.len(),
            library_commands,
        }
    }

    /// Its name index: the libraries in the order they first appear, then every item.
    pub fn names(&self) -> Builder {
        let mut names = Builder::default();
        let mut places: Vec<(Option<&str>, &str)> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        let mut first: Vec<&my_api::catalog::CatalogLibrary> = Vec::new();
        let mut library_of = Vec::with_capacity(self.items.len());
        for item in &self.items {
            library_of.push(item.library.as_ref().map(|l| {
                let key = (l.owner.as_deref(), l.slug.as_str());
                match places.iter().position(|k| *k == key) {
                    Some(at) => {
                        counts[at] += 1;
                        at
                    }
                    None => {
                        places.push(key);
                        counts.push(1);
                        first.push(l);
                        places.len() - 1
                    }
                }
            }));
        }
        for (l, commands) in first.iter().zip(counts) {
            names.library(Library {
                named: Named {
                    slug: l.slug.clone(),
                    name: l.slug.clone(),
                    description: None,
                    aliases: l.aliases.clone(),
                },
                owner: l.owner.clone(),
                source: None,
                path: None,
                commands,
            });
        }
        for (item, library) in self.items.iter().zip(library_of) {
            names.command(
                Named {
                    slug: item.slug.clone(),
                    name: item.name.clone(),
                    description: Some(item.description.clone()).filter(|d| !d.is_empty()),
                    aliases: item.aliases.clone(),
                },
                library,
                SpecRef::Item(Box::new(item.clone())),
            );
        }
        names
    }
}

/// `summary.json`: the figures of the catalog, the ETag of the `catalog.json` they describe,
/// and the head of its name index (none in a summary written by an older `my`).
#[derive(Serialize, Deserialize)]
struct SummaryFile {
    #[serde(flatten)]
    summary: Summary,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    names: Option<Head>,
}

impl SummaryFile {
    fn read(config_dir: &Path, profile: &str) -> Option<SummaryFile> {
        let bytes = read_optional(&summary_path(config_dir, profile)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn write(&self, config_dir: &Path, profile: &str) -> Result<()> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| Error::Other(format!("cannot encode the summary: {e}")))?;
        write_private(&summary_path(config_dir, profile), &bytes)
    }
}

/// Writes `file` into the cache with its name index and summary: the index's buckets first,
/// then `catalog.json`, then `summary.json`, which names the new index; then the previous
/// index (and an older `my`'s `index.tsv`) is removed. The index and summary are best effort:
/// without them, status counts `catalog.json` and lookups read it.
pub(super) fn store(config_dir: &Path, file: &CatalogFile) -> Result<()> {
    let dir = profile_dir(config_dir, &file.profile);
    ensure_private_dir(&dir)?;
    let head = file.names().write(&dir).ok();
    file.write(config_dir)?;
    let generation = head.as_ref().map(|h| h.generation.clone());
    let summary = SummaryFile {
        summary: file.summary(),
        etag: file.etag.clone(),
        names: head,
    };
    if summary.write(config_dir, &file.profile).is_ok() {
        names::prune(&dir, generation.as_deref());
    } else {
        // A summary left from before would describe another catalog.
        let _ = fs::remove_file(summary_path(config_dir, &file.profile));
    }
    let _ = fs::remove_file(dir.join(LEGACY_INDEX));
    Ok(())
}

/// The name index of `profile`'s cached catalog, when its summary names one; `None` sends
/// the caller to `catalog.json` itself (no cache, a cache written by an older `my`, a
/// damaged summary).
pub fn read_names(config_dir: &Path, profile: &str) -> Option<Names> {
    let head = SummaryFile::read(config_dir, profile)?.names?;
    Names::open(&profile_dir(config_dir, profile), head).ok()
}

/// The time of the last sync of the catalog whose ETag is `etag`, as its summary records it:
/// a sync answered 304 records it there alone (see [`touch_synced_at`]).
pub fn synced_at(config_dir: &Path, profile: &str, etag: Option<&str>) -> Option<String> {
    let summary = SummaryFile::read(config_dir, profile)?;
    (summary.names.is_some() && summary.etag.as_deref() == etag)
        .then_some(summary.summary.synced_at)
}

/// Records a sync that changed nothing (a 304) in the summary alone, leaving `catalog.json`
/// and its index as they are: rewriting a large catalog cost more than the request. False
/// when the summary does not describe that catalog with an index (the caller then writes
/// everything with [`store`]).
pub fn touch_synced_at(config_dir: &Path, file: &CatalogFile) -> bool {
    let Some(mut summary) = SummaryFile::read(config_dir, &file.profile) else {
        return false;
    };
    if summary.names.is_none() || summary.etag != file.etag {
        return false;
    }
    summary.summary.synced_at = file.synced_at.clone();
    summary.write(config_dir, &file.profile).is_ok()
}

/// What `my cli status` shows of a cached catalog, read without keeping the items: it
/// stays fast with thousands of commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub synced_at: String,
    pub commands: usize,
    pub libraries: usize,
    pub library_commands: usize,
}

impl Summary {
    /// From `summary.json`, else by counting the items of `catalog.json` (a cache written
    /// before summaries, or a damaged summary).
    pub fn read(config_dir: &Path, profile: &str) -> Result<Read<Summary>> {
        #[derive(Deserialize)]
        struct Counted {
            synced_at: String,
            #[serde(deserialize_with = "count_items")]
            items: Counts,
        }
        if let Some(file) = SummaryFile::read(config_dir, profile) {
            return Ok(Read::Found(file.summary));
        }
        let path = catalog_path(config_dir, profile);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(Read::Missing);
        };
        Ok(match serde_json::from_slice::<Counted>(&bytes) {
            Ok(c) => Read::Found(Summary {
                synced_at: c.synced_at,
                commands: c.items.commands,
                libraries: c.items.libraries.len(),
                library_commands: c.items.library_commands,
            }),
            Err(e) => Read::Corrupt(corrupt(&path, &json_error_detail(&e))),
        })
    }
}

#[derive(Default)]
struct Counts {
    commands: usize,
    libraries: BTreeSet<(Option<String>, String)>,
    library_commands: usize,
}

/// Counts the items and their distinct libraries; every other field is skipped unparsed.
fn count_items<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Counts, D::Error> {
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        library: Option<Library>,
    }
    #[derive(Deserialize)]
    struct Library {
        #[serde(default)]
        owner: Option<String>,
        slug: String,
    }
    struct Counter;
    impl<'de> Visitor<'de> for Counter {
        type Value = Counts;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of catalog items")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Counts, A::Error> {
            let mut counts = Counts::default();
            while let Some(item) = seq.next_element::<Item>()? {
                counts.commands += 1;
                if let Some(lib) = item.library {
                    counts.library_commands += 1;
                    counts.libraries.insert((lib.owner, lib.slug));
                }
            }
            Ok(counts)
        }
    }
    d.deserialize_seq(Counter)
}

/// The profiles with a cached catalog, sorted.
pub fn cached_profiles(config_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(profiles_dir(config_dir)) else {
        return Vec::new();
    };
    let mut slugs: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|s| valid_slug(s) && catalog_path(config_dir, s).is_file())
        .collect();
    slugs.sort();
    slugs
}

/// Forgets the cached catalog of a profile (its spec bodies stay: others may share them).
pub fn remove_profile(config_dir: &Path, profile: &str) -> Result<()> {
    let dir = profiles_dir(config_dir).join(profile);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(Error::io(format!("cannot remove {}", dir.display()), e))
        }
        _ => Ok(()),
    }
}

/// Checks what the cache will use as paths and hashes: command ids are safe folder names,
/// spec hashes are lowercase hex SHA-256. The same check guards server answers and files
/// read back.
pub fn check_items(items: &[CatalogItem]) -> std::result::Result<(), String> {
    for item in items {
        let id = &item.command_id;
        let safe = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !safe {
            return Err(format!("command id {id:?} is not a safe name"));
        }
        if !valid_spec_hash(&item.spec_hash) {
            return Err(format!(
                "the spec_hash of {:?} is not a lowercase hex SHA-256",
                item.slug
            ));
        }
    }
    Ok(())
}

/// The cached body of `item`'s spec when it is there and matches its hash. A body that does
/// not match is reported, and left for the next sync to replace (a read never writes).
pub fn read_spec(config_dir: &Path, item: &CatalogItem) -> Result<Option<Vec<u8>>> {
    let path = spec_path(config_dir, item);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let got = spec_hash(&bytes);
    if got != item.spec_hash {
        return Err(Error::Cache(format!(
            "the cached spec of {:?} (v{}) does not match its SHA-256 (expected {}, found {got}): run `my library sync` to fetch it again",
            item.slug, item.version, item.spec_hash
        )));
    }
    Ok(Some(bytes))
}

/// Whether the body of `item`'s spec is cached and matches its hash (a sync fetches it
/// otherwise).
pub fn spec_is_cached(config_dir: &Path, item: &CatalogItem) -> bool {
    matches!(fs::read(spec_path(config_dir, item)), Ok(bytes) if spec_hash(&bytes) == item.spec_hash)
}

/// Stores a spec body already checked against `item.spec_hash`.
pub fn write_spec(config_dir: &Path, item: &CatalogItem, bytes: &[u8]) -> Result<()> {
    write_private(&spec_path(config_dir, item), bytes)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    write_atomic_unsynced(path, bytes)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

pub(super) fn corrupt(path: &Path, detail: &str) -> String {
    format!(
        "the cached catalog {} is corrupt ({detail})",
        path.display()
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic::tests::mode;
    use my_api::catalog::CatalogLibrary;

    fn item(id: &str, slug: &str, body: &[u8], library: Option<&str>) -> CatalogItem {
        CatalogItem {
            command_id: id.into(),
            slug: slug.into(),
            name: slug.into(),
            description: String::new(),
            aliases: vec![],
            version: 1,
            spec_hash: spec_hash(body),
            updated_at: "2026-01-01T00:00:00Z".into(),
            library: library.map(|l| CatalogLibrary {
                owner: None,
                slug: l.into(),
                aliases: vec![],
            }),
        }
    }

    fn file(items: Vec<CatalogItem>) -> CatalogFile {
        CatalogFile {
            profile: "work".into(),
            items,
            etag: Some("\"abc\"".into()),
            synced_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_sync_writes_the_summary_and_index_that_reads_use() {
        let tmp = tempfile::tempdir().unwrap();
        let f = file(vec![
            item("cmd_1", "mine", b"1", None),
            item("cmd_2", "apply", b"2", Some("kubernetes")),
        ]);
        store(tmp.path(), &f).unwrap();
        let summary = summary_path(tmp.path(), "work");
        assert_eq!(mode(&summary), 0o600);
        let index = read_names(tmp.path(), "work").expect("an index");
        assert_eq!(index.libraries()[0].named.slug, "kubernetes");
        let found = index.named("apply").unwrap();
        assert_eq!(found[0].spec, SpecRef::Item(Box::new(f.items[1].clone())));
        // Status takes the summary as it is: change its figure.
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
        v["commands"] = serde_json::json!(77);
        fs::write(&summary, serde_json::to_vec(&v).unwrap()).unwrap();
        let Read::Found(s) = Summary::read(tmp.path(), "work").unwrap() else {
            panic!("no summary")
        };
        assert_eq!(s.commands, 77);
        // Without a summary (damaged or missing) the catalog itself is counted, and a
        // corrupt one is reported; lookups have no index.
        for damaged in [&b"{not json"[..], b""] {
            fs::write(&summary, damaged).unwrap();
            assert!(read_names(tmp.path(), "work").is_none());
            let Read::Found(s) = Summary::read(tmp.path(), "work").unwrap() else {
                panic!("no summary")
            };
            assert_eq!((s.commands, s.libraries, s.library_commands), (2, 1, 1));
        }
        fs::write(catalog_path(tmp.path(), "work"), b"{not json").unwrap();
        assert!(matches!(
            Summary::read(tmp.path(), "work").unwrap(),
            Read::Corrupt(_)
        ));
    }

    #[test]
    fn a_304_touches_the_summary_only_while_it_describes_the_catalog() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = file(vec![item("cmd_1", "mine", b"1", None)]);
        // No summary yet: the caller must store everything.
        assert!(!touch_synced_at(tmp.path(), &f));
        store(tmp.path(), &f).unwrap();
        let before = fs::read(catalog_path(tmp.path(), "work")).unwrap();
        f.synced_at = "2026-02-02T00:00:00.000Z".into();
        assert!(touch_synced_at(tmp.path(), &f));
        assert_eq!(fs::read(catalog_path(tmp.path(), "work")).unwrap(), before);
        assert_eq!(
            synced_at(tmp.path(), "work", f.etag.as_deref()).as_deref(),
            Some("2026-02-02T00:00:00.000Z")
        );
        // Another catalog (another ETag) is not the one the summary describes.
        assert_eq!(synced_at(tmp.path(), "work", Some("\"other\"")), None);
        f.etag = Some("\"other\"".into());
        assert!(!touch_synced_at(tmp.path(), &f));
    }

    #[test]
    fn a_new_index_replaces_the_old_one_and_an_older_layout_is_cleared() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = profile_dir(tmp.path(), "work");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(LEGACY_INDEX),
            b"my-sidecar catalog-index 1 0 0 0\n",
        )
        .unwrap();
        store(tmp.path(), &file(vec![item("cmd_1", "mine", b"1", None)])).unwrap();
        store(tmp.path(), &file(vec![item("cmd_2", "yours", b"2", None)])).unwrap();
        assert!(!dir.join(LEGACY_INDEX).exists());
        let generations = fs::read_dir(dir.join("names")).unwrap().count();
        assert_eq!(generations, 1);
        let index = read_names(tmp.path(), "work").unwrap();
        assert!(index.named("mine").unwrap().is_empty());
        assert_eq!(index.named("yours").unwrap().len(), 1);
    }

    #[test]
    fn a_catalog_round_trips_privately_and_summarizes() {
        let tmp = tempfile::tempdir().unwrap();
        let items = vec![
            item("cmd_1", "mine", b"1", None),
            item("cmd_2", "apply", b"2", Some("kubernetes")),
            item("cmd_3", "logs", b"3", Some("kubernetes")),
            item("cmd_4", "deploy", b"4", Some("ops")),
        ];
        let f = file(items);
        store(tmp.path(), &f).unwrap();
        let path = catalog_path(tmp.path(), "work");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        match CatalogFile::read(tmp.path(), "work").unwrap() {
            Read::Found(back) => assert_eq!(back, f),
            other => panic!("{other:?}"),
        }
        match Summary::read(tmp.path(), "work").unwrap() {
            Read::Found(s) => assert_eq!(
                s,
                Summary {
                    synced_at: f.synced_at.clone(),
                    commands: 4,
                    libraries: 2,
                    library_commands: 3
                }
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            CatalogFile::read(tmp.path(), "other").unwrap(),
            Read::Missing
        ));
        assert_eq!(cached_profiles(tmp.path()), ["work"]);
        remove_profile(tmp.path(), "work").unwrap();
        assert!(cached_profiles(tmp.path()).is_empty());
    }

    #[test]
    fn corrupt_catalogs_are_reported_never_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let path = catalog_path(tmp.path(), "work");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let unsafe_id = serde_json::to_string(&file(vec![item("../x", "a", b"", None)])).unwrap();
        let other_profile = serde_json::to_string(&CatalogFile {
            profile: "default".into(),
            ..file(vec![])
        })
        .unwrap();
        for bytes in [
            "{\"profile\":".to_string(),
            "[]".into(),
            unsafe_id,
            other_profile,
        ] {
            fs::write(&path, &bytes).unwrap();
            let read = CatalogFile::read(tmp.path(), "work").unwrap();
            let Read::Corrupt(why) = read else {
                panic!("trusted {bytes}: {read:?}")
            };
            assert!(why.contains(&path.display().to_string()), "{why}");
            let e = CatalogFile::read(tmp.path(), "work")
                .unwrap()
                .trusted()
                .unwrap_err();
            assert!(e.to_string().contains("my library sync"), "{e}");
        }
        fs::write(&path, "{\"synced_at\":\"x\",\"items\":{}}").unwrap();
        assert!(matches!(
            Summary::read(tmp.path(), "work").unwrap(),
            Read::Corrupt(_)
        ));
    }

    #[test]
    fn a_spec_that_does_not_match_its_hash_is_refused_and_fetched_again() {
        let tmp = tempfile::tempdir().unwrap();
        let it = item("cmd_1", "deploy", b"{\"a\":1}", None);
        assert_eq!(read_spec(tmp.path(), &it).unwrap(), None);
        assert!(!spec_is_cached(tmp.path(), &it));
        write_spec(tmp.path(), &it, b"{\"a\":1}").unwrap();
        assert_eq!(
            read_spec(tmp.path(), &it).unwrap().as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        fs::write(spec_path(tmp.path(), &it), b"{\"a\":2}").unwrap();
        let e = read_spec(tmp.path(), &it).unwrap_err();
        assert!(
            e.to_string().contains("does not match") && e.to_string().contains("my library sync"),
            "{e}"
        );
        // Left in place by the read; the next sync sees it is not the body and fetches it.
        assert!(spec_path(tmp.path(), &it).exists());
        assert!(!spec_is_cached(tmp.path(), &it));
    }

    #[test]
    fn unsafe_ids_and_bad_hashes_are_refused() {
        assert!(check_items(&[item("cmd_1-a", "x", b"", None)]).is_ok());
        for id in ["", "..", "a/b", "a.b", &"a".repeat(129)] {
            assert!(check_items(&[item(id, "x", b"", None)]).is_err(), "{id}");
        }
        let mut bad = item("cmd_1", "x", b"", None);
        bad.spec_hash = bad.spec_hash.to_uppercase();
        assert!(check_items(&[bad]).is_err());
    }
}
