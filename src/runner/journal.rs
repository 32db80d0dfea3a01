//! `<config dir>/history.jsonl`: one JSON line per run (what ran, with which arguments, how
//! it ended, how long it took), for `my cli history`.
//!
//! Values of arguments whose names look secret (token, password, secret, key, …) are
//! written as `REDACTED`. The file is appended to (mode 0600) and trimmed to its newest
//! lines once it grows past a megabyte.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::template::Value;
use crate::atomic::{ensure_private_dir, write_atomic, FILE_MODE};
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "history.jsonl";
/// Past this size the file is cut down to its newest `KEEP` lines.
const MAX_BYTES: u64 = 1024 * 1024;
const KEEP: usize = 1000;
/// Parts of argument names whose values are never written.
const SECRET_WORDS: [&str; 7] = [
    "token",
    "password",
    "passwd",
    "secret",
    "key",
    "credential",
    "auth",
];

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC of the start.
    pub time: String,
    pub slug: String,
    /// The library the command came from, if any.
    pub library: Option<String>,
    /// The catalog version, for catalog commands.
    pub version: Option<u64>,
    /// `catalog`, `source` or `file`.
    pub source: String,
    /// Argument values by name, secret-looking ones redacted.
    pub args: BTreeMap<String, String>,
    pub exit_code: i32,
    pub duration_ms: u64,
}

pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// Whether an argument's value must not be recorded.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// The values to record: strings, with secret-looking names redacted.
pub fn redact(values: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret_name(k) {
                "REDACTED".to_string()
            } else {
                v.to_string()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Appends one entry.
pub fn append(config_dir: &Path, entry: &Entry) -> Result<()> {
    ensure_private_dir(config_dir)?;
    let path = path(config_dir);
    if fs::metadata(&path).is_ok_and(|m| m.len() > MAX_BYTES) {
        trim(&path)?;
    }
    let mut line = serde_json::to_vec(entry)
        .map_err(|e| Error::Other(format!("cannot encode the history entry: {e}")))?;
    line.push(b'\n');
    let ctx = || format!("cannot write {}", path.display());
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(|e| Error::io(ctx(), e))?;
    // One write of a whole line: concurrent runs append whole lines. No fsync: a power
    // failure may lose the newest line, which costs a history entry, not a run.
    file.write_all(&line).map_err(|e| Error::io(ctx(), e))
}

fn trim(path: &Path) -> Result<()> {
    let text = fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines[lines.len().saturating_sub(KEEP)..].join("\n") + "\n";
    write_atomic(path, kept.as_bytes())
}

/// The newest `n` entries, oldest first, and how many lines could not be read.
pub fn read_last(config_dir: &Path, n: usize) -> Result<(Vec<Entry>, usize)> {
    let path = path(config_dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let mut bad = 0;
    let mut entries: Vec<Entry> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let parsed = serde_json::from_str(l).ok();
            bad += usize::from(parsed.is_none());
            parsed
        })
        .collect();
    let skip = entries.len().saturating_sub(n);
    entries.drain(..skip);
    Ok((entries, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_redacted() {
        let values = BTreeMap::from([
            ("env".to_string(), Value::Str("staging".into())),
            ("api-token".to_string(), Value::Str("myc_x".into())),
            ("DB_PASSWORD".to_string(), Value::Str("hunter2".into())),
            ("ssh-key".to_string(), Value::Str("k".into())),
            ("force".to_string(), Value::Bool(true)),
        ]);
        let shown = redact(&values);
        assert_eq!(shown["env"], "staging");
        assert_eq!(shown["force"], "true");
        for k in ["api-token", "DB_PASSWORD", "ssh-key"] {
            assert_eq!(shown[k], "REDACTED", "{k}");
        }
    }

    #[test]
    fn appends_reads_back_and_skips_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |slug: &str| Entry {
            time: "2026-01-01T00:00:00Z".into(),
            slug: slug.into(),
            library: Some("ops".into()),
            version: None,
            source: "source".into(),
            args: BTreeMap::new(),
            exit_code: 0,
            duration_ms: 3,
        };
        for s in ["a", "b", "c"] {
            append(dir.path(), &entry(s)).unwrap();
        }
        fs::OpenOptions::new()
            .append(true)
            .open(path(dir.path()))
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        let (last, bad) = read_last(dir.path(), 2).unwrap();
        assert_eq!(last, [entry("b"), entry("c")]);
        assert_eq!(bad, 1);
        let mode = fs::metadata(path(dir.path())).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
