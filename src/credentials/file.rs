//! The plaintext credentials file, `<dir>/credentials.json`: the fallback when there is no
//! usable OS keyring, and the only store in file mode.
//!
//! Format: `{"version":1,"credentials":{"<api_url>":{…}}}`, mode 0600 in a 0700 folder. A
//! file that does not parse, or has another version, is reported and never rewritten: it may
//! hold the only copy of someone's credentials, or come from a newer `my`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Credentials;
use crate::atomic::{ensure_private_dir, read_private, write_atomic};
use crate::error::{json_error_detail, Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// The file name inside the config folder.
pub const FILE_NAME: &str = "credentials.json";

/// The format version this build reads and writes.
const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
struct CredentialsFile {
    version: u64,
    #[serde(default)]
    credentials: BTreeMap<String, Credentials>,
}

/// Read first on its own, so that a file from a newer `my` is reported as such rather than
/// as whatever its new fields fail to parse as.
#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u64>,
}

/// Credentials per API URL in one JSON file. Every change rewrites the whole file
/// atomically; callers serialize read-modify-write cycles with `CredentialStore::lock`.
pub struct FileStore {
    dir: PathBuf,
    path: PathBuf,
}

impl FileStore {
    pub fn new(dir: &Path) -> FileStore {
        FileStore {
            dir: dir.to_path_buf(),
            path: dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials for `api_url`, or `None` when the file or the entry is missing.
    pub fn get(&self, api_url: &str) -> Result<Option<Credentials>> {
        Ok(self.read()?.remove(api_url))
    }

    /// Adds or replaces the entry for `api_url`, keeping the others.
    pub fn put(&self, api_url: &str, creds: &Credentials) -> Result<()> {
        let mut all = self.read()?;
        all.insert(api_url.to_owned(), creds.clone());
        self.write(all)
    }

    /// Removes the entry for `api_url`, keeping the others; `Ok(false)` (and no write) when
    /// there was none.
    pub fn remove(&self, api_url: &str) -> Result<bool> {
        let mut all = self.read()?;
        if all.remove(api_url).is_none() {
            return Ok(false);
        }
        self.write(all)?;
        Ok(true)
    }

    /// All entries; empty when the file does not exist. A symbolic link is refused. A file
    /// with wider permissions than 0600, or owned by someone else, is still read (refusing
    /// would lock people out) with a warning, once per process; the next write narrows it.
    fn read(&self) -> Result<BTreeMap<String, Credentials>> {
        let Some((bytes, exposure)) = read_private(&self.path)? else {
            return Ok(BTreeMap::new());
        };
        if let Some(warning) = exposure.warning(&self.path) {
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                crate::out::note(warning);
            }
        }
        parse(&bytes).map_err(|detail| Error::Corrupt {
            path: self.path.clone(),
            detail,
        })
    }

    /// Writes all entries, or removes the file once the last one is gone so that signing
    /// out leaves no plaintext file behind.
    fn write(&self, credentials: BTreeMap<String, Credentials>) -> Result<()> {
        if credentials.is_empty() {
            return match fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(
                    format!("cannot remove {}", self.path.display()),
                    e,
                )),
            };
        }
        let file = CredentialsFile {
            version: VERSION,
            credentials,
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::Store(format!("cannot encode the credentials file: {e}")))?;
        bytes.push(b'\n');
        ensure_private_dir(&self.dir)?;
        write_atomic(&self.path, &bytes)
    }
}

/// The entries of a credentials file's bytes, or what is wrong with them (never quoting a
/// value: the file's strings are tokens).
pub fn parse(bytes: &[u8]) -> std::result::Result<BTreeMap<String, Credentials>, String> {
    let version = serde_json::from_slice::<VersionOnly>(bytes)
        .map_err(|e| json_error_detail(&e))?
        .version;
    match version {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "unsupported version {v}; this my reads version {VERSION}"
            ))
        }
        None => return Err("missing field `version`".into()),
    }
    let file: CredentialsFile = serde_json::from_slice(bytes).map_err(|e| json_error_detail(&e))?;
    Ok(file.credentials)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic::tests::{mode, names};
    use crate::secret::Secret;
    use std::os::unix::fs::PermissionsExt;

    fn creds(token: &str) -> Credentials {
        Credentials {
            kind: my_api::CredentialKind::PersonalToken,
            access_token: Secret::new(token),
            refresh_token: None,
            access_expires_at: None,
            session_expires_at: None,
            user_id: Some("u1".into()),
            email: Some("a@example.com".into()),
            saved_at_ms: 7,
        }
    }

    #[test]
    fn round_trip_with_two_api_urls_and_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my");
        let store = FileStore::new(&dir);
        assert!(store.get("https://a.test").unwrap().is_none());

        store.put("https://a.test", &creds("tok-a")).unwrap();
        store.put("https://b.test", &creds("tok-b")).unwrap();
        let a = store.get("https://a.test").unwrap().unwrap();
        assert_eq!(a.access_token.expose(), "tok-a");
        assert_eq!(a.email.as_deref(), Some("a@example.com"));
        assert_eq!(a.saved_at_ms, 7);
        assert_eq!(
            store
                .get("https://b.test")
                .unwrap()
                .unwrap()
                .access_token
                .expose(),
            "tok-b"
        );
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(names(&dir), [FILE_NAME]);

        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(
            json["credentials"]["https://a.test"]["kind"],
            "personal_token"
        );
        assert!(json["credentials"]["https://a.test"]
            .get("refresh_token")
            .is_none());
    }

    #[test]
    fn removing_one_api_url_keeps_the_others_and_the_last_removes_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path());
        store.put("https://a.test", &creds("tok-a")).unwrap();
        store.put("https://b.test", &creds("tok-b")).unwrap();

        assert!(store.remove("https://a.test").unwrap());
        assert!(!store.remove("https://a.test").unwrap());
        assert!(store.get("https://a.test").unwrap().is_none());
        assert_eq!(
            store
                .get("https://b.test")
                .unwrap()
                .unwrap()
                .access_token
                .expose(),
            "tok-b"
        );

        assert!(store.remove("https://b.test").unwrap());
        assert!(!store.path().exists());
        assert!(!store.remove("https://b.test").unwrap());
        assert!(!store.path().exists());
    }

    #[test]
    fn a_wide_file_and_folder_are_read_and_narrowed_by_the_next_write() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my");
        let store = FileStore::new(&dir);
        store.put("https://a.test", &creds("tok-a")).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o644)).unwrap();

        assert!(store.get("https://a.test").unwrap().is_some());
        store.put("https://b.test", &creds("tok-b")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(names(&dir), [FILE_NAME]);
    }

    // Regression guard: a file we cannot parse may hold the only copy; never overwrite it.
    #[test]
    fn a_corrupt_file_fails_every_operation_and_is_left_untouched() {
        let cases: [&[u8]; 5] = [
            b"{not json",
            b"",
            br#"{"version":2,"credentials":{}}"#,
            br#"{"credentials":{}}"#,
            br#"{"version":1,"credentials":{"https://a.test":{"kind":"session","access_token":7}}}"#,
        ];
        for bytes in cases {
            let tmp = tempfile::tempdir().unwrap();
            let store = FileStore::new(tmp.path());
            fs::write(store.path(), bytes).unwrap();
            let check = |err: Error| match err {
                Error::Corrupt { path, detail } => {
                    assert_eq!(path, store.path());
                    assert!(!detail.is_empty());
                }
                other => panic!("{other:?}"),
            };
            check(store.get("https://a.test").unwrap_err());
            check(store.put("https://a.test", &creds("tok")).unwrap_err());
            check(store.remove("https://a.test").unwrap_err());
            assert_eq!(fs::read(store.path()).unwrap(), bytes);
            assert_eq!(names(tmp.path()), [FILE_NAME]);
        }
    }

    #[test]
    fn a_newer_version_is_named_in_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path());
        fs::write(
            store.path(),
            br#"{"version":2,"credentials":{"x":{"new":true}}}"#,
        )
        .unwrap();
        let err = store.get("x").unwrap_err();
        assert!(err.to_string().contains("unsupported version 2"), "{err}");
    }

    // Regression guard: a parse error must not quote the file, whose strings may be tokens.
    #[test]
    fn a_corrupt_entry_does_not_leak_its_values_into_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path());
        let bytes = br#"{"version":1,"credentials":{"u":{"kind":"session","access_token":"tok-x","access_expires_at":"myc_leak"}}}"#;
        fs::write(store.path(), bytes).unwrap();
        let err = store.get("u").unwrap_err().to_string();
        assert!(!err.contains("myc_leak") && !err.contains("tok-x"), "{err}");
    }

    #[test]
    fn a_symbolic_link_is_refused_and_its_target_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path());
        let elsewhere = tmp.path().join("elsewhere.json");
        fs::write(&elsewhere, br#"{"version":1,"credentials":{}}"#).unwrap();
        std::os::unix::fs::symlink(&elsewhere, store.path()).unwrap();
        let err = store.get("u").unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(store.put("u", &creds("tok")).is_err());
        assert_eq!(
            fs::read(&elsewhere).unwrap(),
            br#"{"version":1,"credentials":{}}"#
        );
    }

    #[test]
    fn wide_modes_and_other_owners_are_named() {
        use crate::atomic::Exposure;
        let p = Path::new("/c.json");
        let warn = |mode, other_owner| Exposure { mode, other_owner }.warning(p);
        assert_eq!(warn(0o600, None), None);
        assert!(warn(0o644, None)
            .unwrap()
            .contains("readable by others (mode 0644)"));
        assert!(warn(0o600, Some(0))
            .unwrap()
            .contains("another user (uid 0)"));
    }

    #[test]
    fn an_unreadable_file_is_an_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path());
        fs::create_dir(store.path()).unwrap();
        assert!(matches!(store.get("u").unwrap_err(), Error::Io { .. }));
    }
}
