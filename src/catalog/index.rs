//! `profiles/<slug>/index.tsv`: what finding a command by name needs of each cached catalog
//! item (slug, aliases, library; name and description for listings) and where the item sits
//! in `catalog.json`, so `my cli run` reads a few dozen kilobytes of plain text and one item
//! instead of parsing every item of a large catalog.
//!
//! It is a sidecar (`catalog::sidecar`): written with the catalog at sync, used only while
//! `catalog.json` has the stamp it records, and rebuilt from the catalog when it is stale,
//! missing or damaged. It is never trusted for what runs: the item a name resolves to is
//! read back from `catalog.json` at the recorded place and must be the item the index
//! described, and the `spec_hash` checked against the body comes from there.

use std::fs::File;
use std::io::Read as _;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use my_api::catalog::{CatalogItem, CatalogLibrary};

use super::cache::{self, catalog_path, profiles_dir, CatalogFile, Read};
use crate::catalog::sidecar::{read_table, Row, Rows, Stamp, Table};
use crate::error::{Error, Result};

const INDEX_FILE: &str = "index.tsv";
const KIND: &str = "catalog-index";
/// The index holds a row per library (`L`: slug, owner, aliases, how many commands, and
/// where the rows of its items start and end, counted from the first item row), in the
/// order the libraries first appear in the catalog; then a row per item (`I`: slug, name,
/// description, aliases, library slug, owner and aliases, and where the item starts and
/// ends in `catalog.json`), personal commands first, then each library's items together,
/// each in the catalog's order. Fields of an item row:
const SLUG: usize = 1;
const NAME: usize = 2;
const DESCRIPTION: usize = 3;
const ALIASES: usize = 4;
const LIB_SLUG: usize = 5;
const LIB_OWNER: usize = 6;
const LIB_ALIASES: usize = 7;
const START: usize = 8;
const END: usize = 9;

fn index_path(config_dir: &Path, profile: &str) -> PathBuf {
    profiles_dir(config_dir).join(profile).join(INDEX_FILE)
}

/// One catalog item as names find it (a row of the index).
#[derive(Clone, Copy)]
pub struct Entry<'a>(Row<'a>);

impl Entry<'_> {
    /// Whether `name` is its slug or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.0.is(SLUG, name) || self.0.has(ALIASES, name)
    }

    /// A personal command (no library).
    pub fn is_personal(&self) -> bool {
        self.0.raw(LIB_SLUG).is_empty()
    }

    pub fn slug(&self) -> String {
        self.0.str(SLUG)
    }

    pub fn name(&self) -> String {
        self.0.str(NAME)
    }

    pub fn description(&self) -> String {
        self.0.str(DESCRIPTION)
    }

    pub fn aliases(&self) -> Vec<String> {
        self.0.list(ALIASES)
    }

    pub fn library(&self) -> Option<CatalogLibrary> {
        Some(CatalogLibrary {
            slug: self.0.opt(LIB_SLUG)?,
            owner: self.0.opt(LIB_OWNER),
            aliases: self.0.list(LIB_ALIASES),
        })
    }

    /// The item's bytes in `catalog.json`, as the index says.
    fn span(&self) -> Option<Range<usize>> {
        Some(self.0.num(START)?..self.0.num(END)?).filter(|s| !s.is_empty())
    }

    /// Whether `item` is the item this row describes.
    fn describes(&self, item: &CatalogItem) -> bool {
        let row = &self.0;
        let library = item.library.as_ref();
        row.is(SLUG, &item.slug)
            && row.is(NAME, &item.name)
            && row.is(DESCRIPTION, &item.description)
            && row.is_list(ALIASES, &item.aliases)
            && row.is_opt(LIB_SLUG, library.map(|l| l.slug.as_str()))
            && row.is_opt(LIB_OWNER, library.and_then(|l| l.owner.as_deref()))
            && row.is_list(LIB_ALIASES, library.map_or(&[], |l| &l.aliases))
    }
}

/// A library of the catalog, as the index lists it.
pub struct Library<'a> {
    pub library: CatalogLibrary,
    /// How many commands it has.
    pub count: usize,
    /// The places of its items' rows.
    items: Range<usize>,
    names: &'a Names,
}

impl<'a> Library<'a> {
    /// Its items with their places, in order.
    pub fn items(&self) -> impl Iterator<Item = (usize, Entry<'a>)> + 'a {
        self.names.entries_between(self.items.clone())
    }

    /// The place of its first item that answers to `name`.
    pub fn command(&self, name: &str) -> Option<usize> {
        self.names.maybe_named(name).into_iter().find(|at| {
            let entry = self.names.entry(*at);
            // The row must also name this library: a damaged range must not lend it
            // another library's command.
            let ours = entry
                .library()
                .is_some_and(|l| l.slug == self.library.slug && l.owner == self.library.owner);
            self.items.contains(at) && ours && entry.answers_to(name)
        })
    }
}

/// The commands of one profile's cached catalog, by name.
pub struct Names {
    config_dir: PathBuf,
    profile: String,
    rows: Rows,
    /// Where the item rows start (after the library rows).
    base: usize,
}

impl Names {
    /// The names of `profile`'s cached catalog, from the index while it describes
    /// `catalog.json`, else from the catalog itself (writing the index again).
    pub fn load(config_dir: &Path, profile: &str) -> Result<Read<Names>> {
        let path = catalog_path(config_dir, profile);
        if let Some(stamp) = Stamp::of(&path) {
            let rows = read_table(&index_path(config_dir, profile), KIND, &stamp);
            if let Some(rows) = rows {
                return Ok(Read::Found(Names::new(config_dir, profile, rows)));
            }
        }
        Names::from_catalog(config_dir, profile)
    }

    /// The names read from `catalog.json` itself; the index is written again on the way
    /// (best effort).
    pub fn from_catalog(config_dir: &Path, profile: &str) -> Result<Read<Names>> {
        let path = catalog_path(config_dir, profile);
        let ctx = || format!("cannot read {}", path.display());
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Missing),
            Err(e) => return Err(Error::io(ctx(), e)),
        };
        // The stamp of the file the bytes come from, not of whatever is at the path later.
        let stamp = file.metadata().ok().and_then(|m| Stamp::of_meta(&m));
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(ctx(), e))?;
        let catalog = match CatalogFile::parse(&path, profile, &bytes) {
            Read::Found(c) => c,
            Read::Corrupt(why) => return Ok(Read::Corrupt(why)),
            Read::Missing => return Ok(Read::Missing),
        };
        let table = stamp.and_then(|stamp| table(&catalog.items, &bytes, &stamp));
        let Some(table) = table else {
            return Ok(Read::Corrupt(cache::corrupt(
                &path,
                "its items cannot be located",
            )));
        };
        let _ = table.save(&index_path(config_dir, profile));
        Rows::of(table)
            .map(|rows| Read::Found(Names::new(config_dir, profile, rows)))
            .ok_or_else(|| Error::Other(format!("cannot index {}", path.display())))
    }

    fn new(config_dir: &Path, profile: &str, rows: Rows) -> Names {
        let mut base = 0;
        while let Some((row, next)) = rows.row(base) {
            if row.raw(0) != "L" {
                break;
            }
            base = next;
        }
        Names {
            config_dir: config_dir.to_path_buf(),
            profile: profile.to_string(),
            rows,
            base,
        }
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    fn entries_between(&self, places: Range<usize>) -> impl Iterator<Item = (usize, Entry<'_>)> {
        self.rows
            .between(places.start, places.end)
            .map(|(at, row)| (at, Entry(row)))
    }

    /// The libraries, in the order they first appear in the catalog.
    pub fn libraries(&self) -> Vec<Library<'_>> {
        self.rows
            .between(0, self.base)
            .filter_map(|(_, row)| {
                let (start, end) = (row.num(5)?, row.num(6)?);
                let items = self.base.checked_add(start)?..self.base.checked_add(end)?;
                (start <= end && items.end <= self.rows.end()).then(|| Library {
                    library: CatalogLibrary {
                        slug: row.str(1),
                        owner: row.opt(2),
                        aliases: row.list(3),
                    },
                    count: row.num(4).unwrap_or(0),
                    items,
                    names: self,
                })
            })
            .collect()
    }

    /// The item at `place` (as [`Names::entries`] or [`Names::maybe_named`] gave it).
    pub fn entry(&self, place: usize) -> Entry<'_> {
        Entry(self.rows.row(place).map(|(row, _)| row).unwrap_or_default())
    }

    /// The places, in order, of the items that may answer to `name` (a superset: check
    /// each with [`Entry::answers_to`]).
    pub fn maybe_named(&self, name: &str) -> Vec<usize> {
        let mut places = self.rows.containing(name);
        places.retain(|&at| at >= self.base);
        places
    }

    /// The catalog item `entry` stands for, read back from `catalog.json`. `None` when the
    /// item there is not the one the index described (the index is stale or was tampered
    /// with): the caller reads the catalog itself with [`Names::from_catalog`].
    pub fn item(&self, entry: &Entry) -> Result<Option<CatalogItem>> {
        let path = catalog_path(&self.config_dir, &self.profile);
        let file = File::open(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let Some(span) = entry.span() else {
            return Ok(None);
        };
        // The span comes from the index: no larger than the file before anything is
        // allocated for it.
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        if u64::try_from(span.end).map_or(true, |end| end > len) {
            return Ok(None);
        }
        let mut bytes = vec![0; span.len()];
        if file.read_exact_at(&mut bytes, span.start as u64).is_err() {
            return Ok(None);
        }
        let Ok(item) = serde_json::from_slice::<CatalogItem>(&bytes) else {
            return Ok(None);
        };
        let same =
            cache::check_items(std::slice::from_ref(&item)).is_ok() && entry.describes(&item);
        Ok(same.then_some(item))
    }

    /// The spec body of `item`, checked against its `spec_hash` (a body that does not match
    /// is removed and reported; a missing one says to sync).
    pub fn spec_bytes(&self, item: &CatalogItem) -> Result<Vec<u8>> {
        super::spec_bytes(&self.config_dir, item)
    }
}

/// The index of `items`, serialized as `bytes` in the `catalog.json` that has `stamp`;
/// `None` when the items cannot be located in the bytes.
fn table(items: &[CatalogItem], bytes: &[u8], stamp: &Stamp) -> Option<Table> {
    let spans = item_spans(bytes).filter(|s| s.len() == items.len())?;
    // Personal commands, then each library's, by first appearance.
    let mut groups: Vec<(Option<&CatalogLibrary>, Vec<usize>)> = vec![(None, Vec::new())];
    for (i, item) in items.iter().enumerate() {
        let key = |l: &CatalogLibrary| (l.owner.clone(), l.slug.clone());
        let group = groups
            .iter_mut()
            .find(|(lib, _)| match (lib, &item.library) {
                (None, None) => true,
                (Some(a), Some(b)) => key(a) == key(b),
                _ => false,
            });
        match group {
            Some((_, members)) => members.push(i),
            None => groups.push((item.library.as_ref(), vec![i])),
        }
    }
    let mut table = Table::new(KIND, stamp);
    let mut rows = Table::rows();
    for (library, members) in &groups {
        let start = rows.len();
        for &i in members {
            let (item, span) = (&items[i], &spans[i]);
            let library = item.library.as_ref();
            rows.str("I")
                .str(&item.slug)
                .str(&item.name)
                .str(&item.description)
                .list(&item.aliases)
                .opt(library.map(|l| l.slug.as_str()))
                .opt(library.and_then(|l| l.owner.as_deref()))
                .list(library.map_or(&[], |l| &l.aliases))
                .num(span.start)
                .num(span.end)
                .end_row();
        }
        if let Some(l) = library {
            table
                .str("L")
                .str(&l.slug)
                .opt(l.owner.as_deref())
                .list(&l.aliases)
                .num(members.len())
                .num(start)
                .num(rows.len())
                .end_row();
        }
    }
    table.append(&rows);
    Some(table)
}

/// Writes `file` into the cache (see [`CatalogFile::write`]), then its index. The index is
/// best effort: without one, runs read the catalog itself.
pub(super) fn store(config_dir: &Path, file: &CatalogFile) -> Result<()> {
    let written = file.write(config_dir)?;
    if let Some(stamp) = &written.stamp {
        if let Some(table) = table(&file.items, &written.bytes, stamp) {
            let _ = table.save(&index_path(config_dir, &file.profile));
        }
    }
    Ok(())
}

/// The byte ranges of the elements of the `"items"` array of the JSON object in `bytes`;
/// `None` when there is no such array or the text is not well-formed enough to tell. It only
/// locates values: what they hold is parsed (and checked) by serde when read.
fn item_spans(bytes: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut found = None;
    loop {
        at = skip_ws(bytes, at);
        match bytes.get(at)? {
            b'}' => return found,
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(bytes, at)?;
        let is_items = key_is(&bytes[at..key_end], "items");
        at = skip_ws(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        if is_items && found.is_none() {
            let (spans, end) = array_elements(bytes, at)?;
            found = Some(spans);
            at = end;
        } else {
            at = skip_value(bytes, at)?;
        }
        at = skip_ws(bytes, at);
        match bytes.get(at)? {
            b',' => at += 1,
            b'}' => return found,
            _ => return None,
        }
    }
}

/// Whether the JSON string `quoted` (with its quotes) is `key`.
fn key_is(quoted: &[u8], key: &str) -> bool {
    let raw = &quoted[1..quoted.len() - 1];
    if raw.contains(&b'\\') {
        serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == key)
    } else {
        raw == key.as_bytes()
    }
}

/// The elements of the array starting at `at`, and where the array ends.
fn array_elements(bytes: &[u8], mut at: usize) -> Option<(Vec<Range<usize>>, usize)> {
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_ws(bytes, at + 1);
    let mut spans = Vec::new();
    if bytes.get(at) == Some(&b']') {
        return Some((spans, at + 1));
    }
    loop {
        let end = skip_value(bytes, at)?;
        spans.push(at..end);
        at = skip_ws(bytes, end);
        match bytes.get(at)? {
            b',' => at = skip_ws(bytes, at + 1),
            b']' => return Some((spans, at + 1)),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| b" \t\r\n".contains(b)) {
        at += 1;
    }
    at
}

/// The end of the string whose opening quote is at `at`.
fn skip_string(bytes: &[u8], mut at: usize) -> Option<usize> {
    at += 1;
    loop {
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
}

/// The end of the value starting at `at` (objects and arrays by their brackets, strings by
/// their quotes, anything else up to the next delimiter).
fn skip_value(bytes: &[u8], mut at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match bytes.get(at)? {
                    b'"' => {
                        at = skip_string(bytes, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let start = at;
            while bytes.get(at).is_some_and(|b| !b",}] \t\r\n".contains(b)) {
                at += 1;
            }
            (at > start).then_some(at)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use my_api::spec::spec_hash;
    use std::fs;

    fn item(n: u32, description: &str, library: Option<&str>) -> CatalogItem {
        CatalogItem {
            command_id: format!("cmd_{n}"),
            slug: format!("c{n}"),
            name: format!("Command {n}"),
            description: description.into(),
            aliases: vec![format!("a{n}")],
            version: 1,
            spec_hash: spec_hash(description.as_bytes()),
            updated_at: "2026-01-01T00:00:00Z".into(),
            library: library.map(|l| CatalogLibrary {
                owner: Some("acme".into()),
                slug: l.into(),
                aliases: vec!["x".into()],
            }),
        }
    }

    fn catalog(items: Vec<CatalogItem>) -> CatalogFile {
        CatalogFile {
            profile: "work".into(),
            items,
            etag: None,
            synced_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn spans_locate_each_item_whatever_its_strings_hold() {
        let items = vec![
            item(1, r#"tricky "items":[{"a":1}], \ and ] } { ["#, None),
            item(2, "plain", Some("ops")),
        ];
        let bytes = serde_json::to_vec(&catalog(items.clone())).unwrap();
        let spans = item_spans(&bytes).unwrap();
        let back: Vec<CatalogItem> = spans
            .iter()
            .map(|s| serde_json::from_slice(&bytes[s.clone()]).unwrap())
            .collect();
        assert_eq!(back, items);
        // Pretty-printed, with "items" escaped and after another key: the same items.
        let pretty = serde_json::to_string_pretty(&catalog(items.clone()))
            .unwrap()
            .replacen("\"items\"", "\"\\u0069tems\"", 1);
        let spans = item_spans(pretty.as_bytes()).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(
            serde_json::from_str::<CatalogItem>(&pretty[spans[1].clone()]).unwrap(),
            items[1]
        );
        for bad in ["", "[]", "{\"items\":", "{\"items\":[{]", "{\"a\":1}"] {
            assert_eq!(item_spans(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(item_spans(b"{\"items\":[]}"), Some(vec![]));
    }

    fn names(tmp: &Path) -> Names {
        match Names::load(tmp, "work").unwrap() {
            Read::Found(names) => names,
            other => panic!("no names: {:?}", matches!(other, Read::Missing)),
        }
    }

    fn nth(names: &Names, i: usize) -> Entry<'_> {
        let all = names.base..names.rows.end();
        names.entries_between(all).nth(i).unwrap().1
    }

    /// `text` with field `field` of its first line starting with `prefix` set to `value`.
    fn with_field(text: &str, prefix: &str, field: usize, value: &str) -> String {
        let mut done = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if done || !line.starts_with(prefix) {
                    return line.to_string();
                }
                done = true;
                let mut fields: Vec<&str> = line.split('\t').collect();
                fields[field] = value;
                fields.join("\t")
            })
            .collect();
        assert!(done, "no line starts with {prefix:?}");
        lines.join("\n") + "\n"
    }

    // Regression: a span past the end of the file was allocated before it was checked
    // (capacity overflow), and a library row whose range was widened lent its library
    // another library's command.
    #[test]
    fn hostile_numbers_in_the_index_are_refused_not_obeyed() {
        let tmp = tempfile::tempdir().unwrap();
        let items = vec![item(1, "one", Some("ops")), item(2, "two", Some("dev"))];
        store(tmp.path(), &catalog(items.clone())).unwrap();
        let index = index_path(tmp.path(), "work");
        let text = fs::read_to_string(&index).unwrap();

        fs::write(
            &index,
            with_field(&text, "I\t", END, &usize::MAX.to_string()),
        )
        .unwrap();
        let n = names(tmp.path());
        assert_eq!(n.item(&nth(&n, 0)).unwrap(), None);

        let dev_end = text
            .lines()
            .find(|l| l.starts_with("L\tdev\t"))
            .and_then(|l| l.split('\t').nth(6))
            .unwrap();
        let widened = with_field(&text, "L\tops\t", 6, dev_end);
        fs::write(&index, widened).unwrap();
        let n = names(tmp.path());
        let libraries = n.libraries();
        let ops = libraries.iter().find(|l| l.library.slug == "ops").unwrap();
        assert!(ops.command("c1").is_some());
        assert_eq!(ops.command("c2"), None, "dev's command lent to ops");

        let far = with_field(&text, "L\tops\t", 6, &usize::MAX.to_string());
        fs::write(&index, far).unwrap();
        let n = names(tmp.path());
        assert!(n.libraries().iter().all(|l| l.library.slug != "ops"));
    }

    #[test]
    fn the_index_is_used_while_fresh_and_never_trusted_over_the_catalog() {
        let tmp = tempfile::tempdir().unwrap();
        let items = vec![item(1, "one", None), item(2, "two", Some("ops"))];
        store(tmp.path(), &catalog(items.clone())).unwrap();
        let index = index_path(tmp.path(), "work");
        assert!(index.is_file(), "sync writes the index");
        let n = names(tmp.path());
        assert_eq!(n.entries_between(n.base..n.rows.end()).count(), 2);
        assert!(nth(&n, 0).is_personal() && !nth(&n, 1).is_personal());
        assert_eq!(nth(&n, 1).library(), items[1].library);
        assert!(nth(&n, 1).answers_to("a2") && !nth(&n, 1).answers_to("a1"));
        for (i, item) in items.iter().enumerate() {
            assert_eq!(n.item(&nth(&n, i)).unwrap().as_ref(), Some(item));
        }

        // Proof that the index is what answers: a name changed in it (stamp kept) shows...
        let text = fs::read_to_string(&index).unwrap();
        fs::write(&index, text.replace("\tCommand 2\t", "\tRenamed\t")).unwrap();
        let n = names(tmp.path());
        assert_eq!(nth(&n, 1).name(), "Renamed");
        // ...but the item read back must be the one described: not trusted.
        assert_eq!(n.item(&nth(&n, 1)).unwrap(), None);

        // An index that sends a name to another item's bytes (another spec and its hash).
        fs::write(
            &index,
            text.replace("c1\tCommand 1", "c2\tCommand 1")
                .replace("c2\tCommand 2", "c1\tCommand 2"),
        )
        .unwrap();
        let n = names(tmp.path());
        assert_eq!(nth(&n, 0).slug(), "c2");
        assert_eq!(n.item(&nth(&n, 0)).unwrap(), None);

        // A catalog written behind the index's back: the index is stale and rebuilt.
        let mut other = items.clone();
        other[0].slug = "renamed".into();
        let path = catalog_path(tmp.path(), "work");
        fs::write(&path, serde_json::to_vec(&catalog(other.clone())).unwrap()).unwrap();
        let n = names(tmp.path());
        assert_eq!(nth(&n, 0).slug(), "renamed");
        assert_eq!(n.item(&nth(&n, 0)).unwrap().as_ref(), Some(&other[0]));
        let stamp = Stamp::of(&path).unwrap();
        assert!(read_table(&index, KIND, &stamp).is_some());

        // Damaged indexes are ignored; a corrupt catalog is reported whatever the index says.
        for damaged in [
            "garbage",
            &fs::read_to_string(&index).unwrap().replace("\tone\t", "\t"),
        ] {
            fs::write(&index, damaged).unwrap();
            assert_eq!(nth(&names(tmp.path()), 0).slug(), "renamed");
        }
        fs::write(&path, b"{\"profile\":").unwrap();
        assert!(matches!(
            Names::load(tmp.path(), "work").unwrap(),
            Read::Corrupt(_)
        ));
        fs::remove_file(&path).unwrap();
        assert!(matches!(
            Names::load(tmp.path(), "work").unwrap(),
            Read::Missing
        ));
    }
}
