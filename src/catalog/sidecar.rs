//! Sidecar files: a small file beside a large one (the cached catalog, the sources
//! registry) that answers the frequent question without parsing the large one.
//!
//! A sidecar carries the [`Stamp`] of the file it was made from and counts only while that
//! file still has it. Anything else (another stamp, a missing, truncated or damaged sidecar)
//! means "read the large file", never an error, so sidecars are written without fsync:
//! losing one costs a few milliseconds once, not data. What a sidecar says is a shortcut to
//! find things, not an authority: callers check what they find against the large file
//! (see `catalog::index`) or against what it leads to (see `catalog::sources`).
//!
//! The text sidecars ([`Table`]) are rows of tab-separated fields, one row a line, after a
//! header line naming their kind and the stamp. Control characters and `\` in a field are
//! written as `\xHH`, so a field never holds a separator and every value round-trips.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic_unsynced;
use crate::error::Result;

/// Identifies one written version of a file: its length, modification time and inode
/// (every atomic write renames a new inode into place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    len: u64,
    mtime_ns: u128,
    ino: u64,
}

impl Stamp {
    /// The stamp of `path`; `None` when it cannot be read (a missing file, for one).
    pub fn of(path: &Path) -> Option<Stamp> {
        Stamp::of_meta(&fs::metadata(path).ok()?)
    }

    /// The stamp of a file already opened (`File::metadata`), so the stamp and the bytes
    /// read come from the same file.
    pub fn of_meta(meta: &fs::Metadata) -> Option<Stamp> {
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(Stamp {
            len: meta.len(),
            mtime_ns: mtime.as_nanos(),
            ino: meta.ino(),
        })
    }
}

const MAGIC: &str = "my-sidecar";
/// Separates the items of a list field (a control character, so never part of an item).
const ITEM_END: char = '\u{1f}';

/// A text sidecar being written: a header, then rows of fields.
pub struct Table {
    text: String,
    row_started: bool,
}

impl Table {
    /// A table of `kind` (a word) describing the file that has `stamp`.
    pub fn new(kind: &str, stamp: &Stamp) -> Table {
        Table {
            text: format!(
                "{MAGIC} {kind} 1 {} {} {}\n",
                stamp.len, stamp.mtime_ns, stamp.ino
            ),
            row_started: false,
        }
    }

    /// Rows without a header, to be added to a table with [`Table::append`].
    pub fn rows() -> Table {
        Table {
            text: String::new(),
            row_started: false,
        }
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether it holds nothing yet.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Adds the rows of `rows` (made with [`Table::rows`]).
    pub fn append(&mut self, rows: &Table) {
        self.text.push_str(&rows.text);
    }

    fn field(&mut self) -> &mut String {
        if self.row_started {
            self.text.push('\t');
        }
        self.row_started = true;
        &mut self.text
    }

    pub fn str(&mut self, s: &str) -> &mut Table {
        escape(self.field(), s);
        self
    }

    /// `None` and `Some("")` stay apart.
    pub fn opt(&mut self, s: Option<&str>) -> &mut Table {
        let text = self.field();
        if let Some(s) = s {
            text.push('=');
            escape(text, s);
        }
        self
    }

    pub fn list(&mut self, items: &[String]) -> &mut Table {
        let text = self.field();
        for item in items {
            escape(text, item);
            text.push(ITEM_END);
        }
        self
    }

    pub fn num(&mut self, n: usize) -> &mut Table {
        let _ = write!(self.field(), "{n}");
        self
    }

    pub fn end_row(&mut self) {
        self.text.push('\n');
        self.row_started = false;
    }

    /// Writes the table to `path` atomically (without fsync: see the module doc).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic_unsynced(path, self.text.as_bytes())
    }
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        if c < ' ' || c == '\\' {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// `s` as a field holds it.
fn escaped(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b < b' ' || b == b'\\') {
        let mut out = String::with_capacity(s.len() + 8);
        escape(&mut out, s);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// The text a field stands for. Lossy on a damaged field (it is kept as it is): what a
/// sidecar leads to is checked where it matters, and a damaged field only shows as itself.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let byte = rest
            .get(at + 1..at + 4)
            .and_then(|e| e.strip_prefix('x'))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| *b < 0x80);
        match byte {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A table read back. A row is known by the offset where it starts; fields are split and
/// decoded only when asked for, and [`Rows::containing`] finds the rows that may hold a
/// value with one substring search, so finding a name among thousands of rows touches few
/// of them and never walks the others.
pub struct Rows {
    text: String,
}

impl Rows {
    /// The rows of `text` (rows of fields, as a [`Table`] writes them after its header);
    /// `None` when the last row is cut short.
    pub fn parse(text: String) -> Option<Rows> {
        (text.is_empty() || text.ends_with('\n')).then_some(Rows { text })
    }

    /// The rows of a table as written, without its header.
    pub fn of(table: Table) -> Option<Rows> {
        let mut text = table.text;
        let body = text.find('\n').map_or(0, |n| n + 1);
        text.drain(..body);
        Rows::parse(text)
    }

    /// The offset just past the last row.
    pub fn end(&self) -> usize {
        self.text.len()
    }

    /// The row starting at `at` (an offset a row starts at), and where the next one starts;
    /// `None` at the end.
    pub fn row(&self, at: usize) -> Option<(Row<'_>, usize)> {
        let rest = self.text.get(at..).filter(|r| !r.is_empty())?;
        let len = rest.find('\n')?;
        Some((Row { line: &rest[..len] }, at + len + 1))
    }

    /// Every row from `at` to `end`, in order, with its offset.
    pub fn between(&self, mut at: usize, end: usize) -> impl Iterator<Item = (usize, Row<'_>)> {
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let (row, next) = self.row(at)?;
            let this = at;
            at = next;
            Some((this, row))
        })
    }

    /// The offsets, in order, of the rows whose text may hold `value` in a field or list
    /// item: every row that does is among them (a superset; check each with [`Row::is`]
    /// or [`Row::has`]).
    pub fn containing(&self, value: &str) -> Vec<usize> {
        let needle = escaped(value);
        let mut rows: Vec<usize> = Vec::new();
        for (at, _) in self.text.match_indices(needle.as_ref()) {
            let start = self.text[..at].rfind('\n').map_or(0, |n| n + 1);
            if rows.last() != Some(&start) {
                rows.push(start);
            }
        }
        rows
    }
}

/// The rows of the `kind` table at `path` if it describes the file that has `stamp`;
/// `None` when it is missing, of another kind or version, stale or cut short.
pub fn read_table(path: &Path, kind: &str, stamp: &Stamp) -> Option<Rows> {
    let mut text = fs::read_to_string(path).ok()?;
    let header_end = text.find('\n')?;
    if Table::new(kind, stamp).text != text[..=header_end] {
        return None;
    }
    text.drain(..=header_end);
    Rows::parse(text)
}

/// One row of a [`Rows`]. Field getters take the field's position; a field past the
/// row's end reads as empty (what a damaged row leads to is checked where it is used).
#[derive(Clone, Copy, Default)]
pub struct Row<'a> {
    line: &'a str,
}

impl<'a> Row<'a> {
    /// The field as written (escaped).
    pub fn raw(&self, i: usize) -> &'a str {
        self.line.split('\t').nth(i).unwrap_or("")
    }

    /// Whether field `i` holds `value`.
    pub fn is(&self, i: usize, value: &str) -> bool {
        self.raw(i) == escaped(value)
    }

    /// Whether field `i` holds `value` (`None` and `Some("")` apart).
    pub fn is_opt(&self, i: usize, value: Option<&str>) -> bool {
        let raw = self.raw(i);
        match value {
            None => raw.is_empty(),
            Some(v) => raw.strip_prefix('=').is_some_and(|r| r == escaped(v)),
        }
    }

    /// Whether field `i` holds exactly the list `items`.
    pub fn is_list(&self, i: usize, items: &[String]) -> bool {
        let mut raw = self.raw(i).split_terminator(ITEM_END);
        items.iter().all(|item| raw.next() == Some(&escaped(item))) && raw.next().is_none()
    }

    /// Whether the list in field `i` holds `value`.
    pub fn has(&self, i: usize, value: &str) -> bool {
        let value = escaped(value);
        self.raw(i)
            .split_terminator(ITEM_END)
            .any(|item| item == value)
    }

    pub fn str(&self, i: usize) -> String {
        unescape(self.raw(i))
    }

    pub fn opt(&self, i: usize) -> Option<String> {
        let raw = self.raw(i);
        (!raw.is_empty()).then(|| unescape(raw.strip_prefix('=').unwrap_or(raw)))
    }

    pub fn list(&self, i: usize) -> Vec<String> {
        self.raw(i)
            .split_terminator(ITEM_END)
            .map(unescape)
            .collect()
    }

    /// A number field; `None` when it is not one.
    pub fn num(&self, i: usize) -> Option<usize> {
        self.raw(i).parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_any_text_and_only_for_their_stamp() {
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big.json");
        fs::write(&big, b"{}").unwrap();
        let stamp = Stamp::of(&big).unwrap();
        let side = tmp.path().join("big.idx");
        let odd = "tab\there, new\nline, back\\slash \\x41, unit\u{1f}sep, ünïcode";
        let list = vec!["a".to_string(), String::new(), odd.to_string()];
        let mut t = Table::new("test", &stamp);
        t.str(odd)
            .opt(None)
            .opt(Some(""))
            .list(&list)
            .num(42)
            .end_row();
        t.str("second").list(&[]).opt(Some(odd)).end_row();
        t.save(&side).unwrap();

        let rows = read_table(&side, "test", &stamp).unwrap();
        let all: Vec<usize> = rows.between(0, rows.end()).map(|(at, _)| at).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(rows.containing("second"), [all[1]]);
        assert_eq!(rows.containing(odd), all);
        assert!(rows.containing("absent").is_empty());
        let (r, next) = rows.row(0).unwrap();
        assert_eq!(next, all[1]);
        assert_eq!(r.str(0), odd);
        assert!(r.is(0, odd) && !r.is(0, "tab"));
        assert_eq!((r.opt(1), r.opt(2)), (None, Some(String::new())));
        assert!(r.is_opt(1, None) && r.is_opt(2, Some("")) && !r.is_opt(2, None));
        assert_eq!(r.list(3), list);
        assert!(r.is_list(3, &list) && !r.is_list(3, &list[..2]));
        assert!(r.has(3, odd) && r.has(3, "") && !r.has(3, "b"));
        assert_eq!(r.num(4), Some(42));
        let (r, end) = rows.row(all[1]).unwrap();
        assert!(end == rows.end() && rows.row(end).is_none());
        assert_eq!(r.str(0), "second");
        assert!(r.list(1).is_empty() && r.is_list(1, &[]) && !r.is_list(1, &[String::new()]));
        assert_eq!(r.opt(2).as_deref(), Some(odd));
        assert_eq!(r.raw(7), "");

        // Another kind, or the big file written again: the sidecar does not count.
        assert!(read_table(&side, "other", &stamp).is_none());
        fs::write(&big, b"{\"a\":1}").unwrap();
        assert!(read_table(&side, "test", &Stamp::of(&big).unwrap()).is_none());
        // Cut short by a crash: not read.
        let text = fs::read_to_string(&side).unwrap();
        fs::write(&side, &text[..text.len() - 1]).unwrap();
        assert!(read_table(&side, "test", &stamp).is_none());
        // A damaged escape reads as itself.
        assert_eq!(unescape("a\\x"), "a\\x");
        assert_eq!(unescape("\\xzz\\x41"), "\\xzzA");
    }
}
