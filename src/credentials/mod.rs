//! Where credentials live: the OS keyring, or `<dir>/credentials.json` (plaintext, 0600)
//! when there is no usable keyring or when asked to, and the rules that choose between them.
//!
//! `MY_CREDENTIAL_STORE` picks the mode. `auto` saves to the keyring and falls back to the
//! file, with a warning, when the keyring is unreachable or locked; `keyring` fails closed;
//! `file` never touches the keyring. In auto mode both places can hold an entry for one API
//! URL (a save fell back while the keyring was locked, and the old entry could not be
//! removed): the one saved last wins, so a stale copy never shadows a newer one.
//!
//! The backends live beside it, one file each (`keyring`, `file`), with the stored record
//! (`entry`) and the lock that callers hold around a read-refresh-write cycle (`lock`).

mod entry;
pub mod file;
mod keyring;
mod lock;

pub use self::entry::Credentials;
pub use self::lock::LockGuard;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use self::file::FileStore;
use self::keyring::{Keyring, KeyringError, SERVICE};
use crate::error::{json_error_detail, Error, Result};

/// The value of `MY_CREDENTIAL_STORE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The keyring, or the file (with a warning) when the keyring is unusable.
    Auto,
    /// The keyring only: fail rather than write a plaintext file.
    Keyring,
    /// The file only: never call the keyring.
    File,
}

impl StoreChoice {
    /// Unset or empty means `auto`; anything but `auto`, `keyring` or `file` is a usage error.
    pub fn parse(value: Option<&str>) -> Result<StoreChoice> {
        match value.unwrap_or("") {
            "" | "auto" => Ok(StoreChoice::Auto),
            "keyring" => Ok(StoreChoice::Keyring),
            "file" => Ok(StoreChoice::File),
            other => Err(Error::Usage(format!(
                "MY_CREDENTIAL_STORE must be auto, keyring or file (got {other:?})"
            ))),
        }
    }
}

/// Where a credential was found or saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Keyring,
    File,
}

impl Location {
    /// For messages: "Credentials stored in the OS keyring (Secret Service)."
    pub fn describe(self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Location::Keyring => "OS keyring (Secret Service)",
            #[cfg(not(target_os = "linux"))]
            Location::Keyring => "OS keyring",
            Location::File => "file (plaintext, 0600)",
        }
    }
}

/// The credentials of every API URL, in the keyring or the file as [`StoreChoice`] says.
///
/// Loading, saving and deleting do not lock: a caller that reads, refreshes and writes back
/// holds [`CredentialStore::lock`] around the whole cycle, so that two `my` processes never
/// refresh the same session at once.
pub struct CredentialStore {
    choice: StoreChoice,
    dir: PathBuf,
    file: FileStore,
    keyring: Arc<Keyring>,
    /// Prints the fallback warning; tests capture it instead.
    warn: Box<dyn Fn(&str) + Send + Sync>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore")
            .field("choice", &self.choice)
            .field("dir", &self.dir)
            .finish()
    }
}

impl CredentialStore {
    /// A store for the config folder `config_dir`. Cheap: nothing is read and the keyring
    /// is not contacted until a call needs it; the keyring connection is then made once per
    /// process and shared.
    pub fn new(config_dir: &Path, choice: StoreChoice) -> CredentialStore {
        CredentialStore::with_parts(
            config_dir,
            choice,
            Keyring::shared(),
            Box::new(|line| eprintln!("{line}")),
        )
    }

    fn with_parts(
        config_dir: &Path,
        choice: StoreChoice,
        keyring: Arc<Keyring>,
        warn: Box<dyn Fn(&str) + Send + Sync>,
    ) -> CredentialStore {
        CredentialStore {
            choice,
            dir: config_dir.to_path_buf(),
            file: FileStore::new(config_dir),
            keyring,
            warn,
        }
    }

    /// The credentials for `api_url` and where they were found, or `None` when there are none.
    ///
    /// In auto mode a keyring that cannot be read is not an error (the file may hold the
    /// credentials, as it does whenever a save fell back); when both places have an entry
    /// the one saved last is returned. A corrupt file or keyring entry is an error in every
    /// mode: guessing past it could sign someone in with the wrong credentials.
    pub fn load(&self, api_url: &str) -> Result<Option<(Credentials, Location)>> {
        match self.choice {
            StoreChoice::File => Ok(self.file.get(api_url)?.map(|c| (c, Location::File))),
            StoreChoice::Keyring => {
                let raw = self.keyring.get(api_url).map_err(fail_closed)?;
                Ok(raw
                    .map(|raw| parse_keyring_entry(api_url, &raw))
                    .transpose()?
                    .map(|c| (c, Location::Keyring)))
            }
            StoreChoice::Auto => {
                // The file first: it is local and cheap, and a corrupt one stops us anyway.
                let in_file = self.file.get(api_url)?;
                let in_keyring = match self.keyring.get(api_url) {
                    Ok(raw) => raw
                        .map(|raw| parse_keyring_entry(api_url, &raw))
                        .transpose()?,
                    Err(_) => None,
                };
                Ok(newer(in_keyring, in_file))
            }
        }
    }

    /// Saves the credentials for `api_url`, replacing any, and says where they went. Sets
    /// `creds.saved_at_ms` to now.
    ///
    /// Auto mode tries the keyring and then removes any copy from the file, so the two never
    /// disagree. When the keyring is unreachable, locked or silent, it prints one warning
    /// line on stderr and writes the file instead.
    pub fn save(&self, api_url: &str, creds: &mut Credentials) -> Result<Location> {
        creds.saved_at_ms = now_ms();
        match self.choice {
            StoreChoice::File => {
                self.file.put(api_url, creds)?;
                Ok(Location::File)
            }
            StoreChoice::Keyring => {
                self.keyring
                    .set(api_url, keyring_entry(creds)?)
                    .map_err(fail_closed)?;
                Ok(Location::Keyring)
            }
            StoreChoice::Auto => {
                // Read the file before anything changes: a corrupt file must stop the save
                // while both places still hold what they held.
                let in_file = self.file.get(api_url)?.is_some();
                match self.keyring.set(api_url, keyring_entry(creds)?) {
                    Ok(()) => {
                        if in_file {
                            self.file.remove(api_url)?;
                        }
                        Ok(Location::Keyring)
                    }
                    Err(e) if e.is_unavailable() => {
                        (self.warn)(&format!(
                            "warning: the OS keyring is unavailable ({e}); storing credentials in {} (plaintext, mode 0600)",
                            self.file.path().display()
                        ));
                        self.file.put(api_url, creds)?;
                        // An older entry may sit in the keyring from when it was usable. Remove
                        // it if we can; if it stays, `load` still prefers this newer copy.
                        let _ = self.keyring.delete(api_url);
                        Ok(Location::File)
                    }
                    Err(e) => Err(Error::Store(format!(
                        "the OS keyring could not store the credentials for {api_url}: {e}"
                    ))),
                }
            }
        }
    }

    /// Removes the credentials for `api_url` from the keyring and the file (as the mode
    /// allows); `Ok` when there were none.
    ///
    /// In auto mode an unreachable keyring is ignored (there is nothing to remove from it
    /// that `load` could find), but a keyring that refuses, typically because it is locked,
    /// is an error after the file copy is gone: its entry would come back once unlocked.
    pub fn delete(&self, api_url: &str) -> Result<()> {
        match self.choice {
            StoreChoice::File => self.file.remove(api_url).map(drop),
            StoreChoice::Keyring => self.keyring.delete(api_url).map(drop).map_err(fail_closed),
            StoreChoice::Auto => {
                let from_keyring = match self.keyring.delete(api_url) {
                    Ok(_) | Err(KeyringError::Unreachable(_)) => Ok(()),
                    Err(KeyringError::Refused(e)) => Err(Error::Store(format!(
                        "the OS keyring refused to delete the credentials for {api_url} ({e}); unlock it and try again"
                    ))),
                    Err(KeyringError::Failed(e)) => Err(Error::Store(format!(
                        "the OS keyring could not delete the credentials for {api_url}: {e}"
                    ))),
                };
                let from_file = self.file.remove(api_url).map(drop);
                from_keyring.and(from_file)
            }
        }
    }

    /// Takes the credentials lock of this store's folder (see [`lock::acquire`]): a caller
    /// that reads, refreshes and writes back holds it around the whole cycle.
    pub fn lock(&self) -> Result<LockGuard> {
        lock::acquire(&self.dir)
    }

    /// Moves the credentials for `api_url` from the file into the keyring: writes the
    /// keyring entry, reads it back and compares, and only then removes the file's copy.
    /// `Ok(false)` when the file holds none. Any failure leaves the file as it was. The
    /// caller holds the lock.
    pub fn migrate_to_keyring(&self, api_url: &str) -> Result<bool> {
        if self.choice == StoreChoice::File {
            return Err(Error::Usage(
                "MY_CREDENTIAL_STORE=file keeps credentials in the file: unset it to use the keyring".into(),
            ));
        }
        let Some(creds) = self.file.get(api_url)? else {
            return Ok(false);
        };
        let entry = keyring_entry(&creds)?;
        let kept = |why: String| {
            Error::Store(format!(
                "{why}; the credentials stay in {}",
                self.file.path().display()
            ))
        };
        self.keyring.set(api_url, entry.clone()).map_err(|e| {
            kept(format!(
                "the OS keyring could not store the credentials ({e})"
            ))
        })?;
        match self.keyring.get(api_url) {
            Ok(Some(back)) if back == entry => {}
            Ok(_) => return Err(kept("the OS keyring did not return what was stored".into())),
            Err(e) => return Err(kept(format!("the OS keyring could not be read back ({e})"))),
        }
        self.file.remove(api_url)?;
        Ok(true)
    }

    /// Whether an OS keyring answers now (auto mode only; never in file mode).
    pub fn keyring_answers(&self) -> bool {
        self.choice == StoreChoice::Auto && self.keyring.probe().is_ok()
    }

    /// `<dir>/credentials.json`, whether or not it exists.
    pub fn credentials_path(&self) -> PathBuf {
        self.file.path().to_path_buf()
    }

    /// Fails now when saving for `api_url` is bound to fail: a corrupted credentials file or
    /// keyring entry (never overwritten), or a keyring-only store whose keyring does not
    /// answer. Called before a sign-in, so nobody confirms a link whose result cannot be
    /// stored. (A locked keyring can pass and still refuse the write.)
    pub fn preflight(&self, api_url: &str) -> Result<()> {
        self.load(api_url)?;
        if self.choice == StoreChoice::Keyring {
            self.keyring.probe().map_err(fail_closed)?;
        }
        Ok(())
    }
}

/// The copy to use when the keyring and the file may both have credentials for one API URL:
/// the one saved last. On a tie the keyring wins, as the place auto mode saves to first.
fn newer(
    keyring: Option<Credentials>,
    file: Option<Credentials>,
) -> Option<(Credentials, Location)> {
    match (keyring, file) {
        (Some(k), Some(f)) if f.saved_at_ms > k.saved_at_ms => Some((f, Location::File)),
        (Some(k), _) => Some((k, Location::Keyring)),
        (None, Some(f)) => Some((f, Location::File)),
        (None, None) => None,
    }
}

fn keyring_entry(creds: &Credentials) -> Result<String> {
    serde_json::to_string(creds)
        .map_err(|e| Error::Store(format!("cannot encode the credentials: {e}")))
}

fn parse_keyring_entry(api_url: &str, raw: &str) -> Result<Credentials> {
    serde_json::from_str(raw).map_err(|e| {
        Error::Store(format!(
            "the keyring entry for {api_url} (service {SERVICE}) is not valid ({}); delete it{} and sign in again",
            json_error_detail(&e),
            delete_hint(api_url)
        ))
    })
}

#[cfg(target_os = "linux")]
fn delete_hint(api_url: &str) -> String {
    format!(" (`secret-tool clear service {SERVICE} username {api_url}`)")
}

#[cfg(not(target_os = "linux"))]
fn delete_hint(_api_url: &str) -> String {
    String::new()
}

fn fail_closed(e: KeyringError) -> Error {
    Error::Store(format!(
        "the OS keyring is unavailable ({e}); MY_CREDENTIAL_STORE=keyring does not allow the file fallback"
    ))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(all(test, unix))]
mod tests {
    use super::keyring::testing::{Broken, BrokenStore};
    use super::*;
    use crate::atomic::tests::{mode, names};
    use crate::secret::Secret;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    fn creds(token: &str, saved_at_ms: u64) -> Credentials {
        Credentials {
            kind: my_api::CredentialKind::Session,
            access_token: Secret::new(token),
            refresh_token: Some(Secret::new(format!("{token}-refresh"))),
            access_expires_at: Some(1_900_000_000),
            session_expires_at: Some(1_900_086_400),
            user_id: Some("u1".into()),
            email: Some("a@example.com".into()),
            saved_at_ms,
        }
    }

    fn token(found: &Option<(Credentials, Location)>) -> Option<(&str, Location)> {
        found.as_ref().map(|(c, l)| (c.access_token.expose(), *l))
    }

    struct Harness {
        tmp: tempfile::TempDir,
        store: CredentialStore,
        keyring: Arc<Keyring>,
        warnings: Arc<Mutex<Vec<String>>>,
    }

    impl Harness {
        fn new(choice: StoreChoice, keyring: Keyring) -> Harness {
            let tmp = tempfile::tempdir().unwrap();
            let keyring = Arc::new(keyring);
            let warnings = Arc::new(Mutex::new(Vec::new()));
            let sink = warnings.clone();
            let store = CredentialStore::with_parts(
                &tmp.path().join("my"),
                choice,
                keyring.clone(),
                Box::new(move |line| sink.lock().unwrap().push(line.to_owned())),
            );
            Harness {
                tmp,
                store,
                keyring,
                warnings,
            }
        }

        fn with_store(choice: StoreChoice, store: Arc<keyring_core::CredentialStore>) -> Harness {
            Harness::new(choice, Keyring::with_store(store, Duration::from_secs(3)))
        }

        fn in_memory(choice: StoreChoice) -> Harness {
            Harness::with_store(choice, keyring_core::mock::Store::new().unwrap())
        }

        /// The file as another mode would see it, to seed or inspect it directly.
        fn file(&self) -> FileStore {
            FileStore::new(&self.tmp.path().join("my"))
        }

        fn warnings(&self) -> Vec<String> {
            self.warnings.lock().unwrap().clone()
        }
    }

    const A: &str = "https://a.test";
    const B: &str = "https://b.test";

    #[test]
    fn store_choice_parses_the_environment_value() {
        assert_eq!(StoreChoice::parse(None).unwrap(), StoreChoice::Auto);
        assert_eq!(StoreChoice::parse(Some("")).unwrap(), StoreChoice::Auto);
        assert_eq!(StoreChoice::parse(Some("auto")).unwrap(), StoreChoice::Auto);
        assert_eq!(
            StoreChoice::parse(Some("keyring")).unwrap(),
            StoreChoice::Keyring
        );
        assert_eq!(StoreChoice::parse(Some("file")).unwrap(), StoreChoice::File);
        for bad in ["x", "File", " file", "plaintext"] {
            let err = StoreChoice::parse(Some(bad)).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!("MY_CREDENTIAL_STORE must be auto, keyring or file (got {bad:?})")
            );
        }
    }

    #[test]
    fn locations_describe_themselves() {
        assert!(Location::Keyring.describe().starts_with("OS keyring"));
        assert_eq!(Location::File.describe(), "file (plaintext, 0600)");
    }

    #[test]
    fn the_newer_copy_wins_and_a_tie_goes_to_the_keyring() {
        let pick = |k: Option<u64>, f: Option<u64>| {
            newer(k.map(|t| creds("k", t)), f.map(|t| creds("f", t)))
                .map(|(c, l)| (c.access_token.expose().to_owned(), l))
        };
        assert_eq!(pick(None, None), None);
        assert_eq!(pick(Some(5), None), Some(("k".into(), Location::Keyring)));
        assert_eq!(pick(None, Some(5)), Some(("f".into(), Location::File)));
        assert_eq!(pick(Some(5), Some(9)), Some(("f".into(), Location::File)));
        assert_eq!(
            pick(Some(9), Some(5)),
            Some(("k".into(), Location::Keyring))
        );
        assert_eq!(
            pick(Some(5), Some(5)),
            Some(("k".into(), Location::Keyring))
        );
        // Entries written before saved_at_ms existed read as 0 and lose to any saved copy.
        assert_eq!(pick(Some(0), Some(1)), Some(("f".into(), Location::File)));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let text = format!("{:?}", creds("tok-secret", 1));
        assert!(!text.contains("tok-secret"), "{text}");
        assert!(text.contains("a@example.com"), "{text}");
        let h = Harness::in_memory(StoreChoice::Auto);
        assert!(format!("{:?}", h.store).starts_with("CredentialStore { choice: Auto"));
    }

    #[test]
    fn json_errors_never_quote_values() {
        let detail =
            |s: &str| json_error_detail(&serde_json::from_str::<Credentials>(s).unwrap_err());
        let d = detail(
            r#"{"kind":"session","access_token":"t","email":{"x":"tok-1"},"user_id":"tok-2"}"#,
        );
        assert!(!d.contains("tok-"), "{d}");
        let d = detail(r#"{"kind":"session","access_token":"t","access_expires_at":"tok-3"}"#);
        assert_eq!(d, "unexpected value at line 1 column 64");
        assert!(detail(r#"{"kind":"session"}"#).starts_with("missing field `access_token`"));
        assert!(detail("{").starts_with("EOF while parsing"));
    }

    #[test]
    fn file_mode_never_calls_the_keyring() {
        use std::sync::atomic::{AtomicBool, Ordering};
        static CALLED: AtomicBool = AtomicBool::new(false);
        let keyring = Keyring::new(
            || {
                CALLED.store(true, Ordering::SeqCst);
                Err(keyring_core::Error::NoDefaultStore)
            },
            Duration::from_secs(3),
        );
        let h = Harness::new(StoreChoice::File, keyring);
        assert_eq!(
            h.store.save(A, &mut creds("tok-a", 0)).unwrap(),
            Location::File
        );
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("tok-a", Location::File))
        );
        h.store.delete(A).unwrap();
        assert!(h.store.load(A).unwrap().is_none());
        assert!(!CALLED.load(Ordering::SeqCst));
        assert!(h.warnings().is_empty());
        assert_eq!(
            h.store.credentials_path(),
            h.tmp.path().join("my").join(file::FILE_NAME)
        );
    }

    #[test]
    fn auto_saves_to_the_keyring_and_moves_the_entry_out_of_the_file() {
        let h = Harness::in_memory(StoreChoice::Auto);
        h.file().put(A, &creds("old-a", 1)).unwrap();
        h.file().put(B, &creds("tok-b", 1)).unwrap();

        let mut new = creds("new-a", 0);
        let before = now_ms();
        assert_eq!(h.store.save(A, &mut new).unwrap(), Location::Keyring);
        assert!(new.saved_at_ms >= before);
        assert!(h.file().get(A).unwrap().is_none());
        assert_eq!(
            h.file().get(B).unwrap().unwrap().access_token.expose(),
            "tok-b"
        );
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("new-a", Location::Keyring))
        );
        assert_eq!(
            token(&h.store.load(B).unwrap()),
            Some(("tok-b", Location::File))
        );
        assert!(h.warnings().is_empty());

        // Compact JSON with the secrets, small enough for any keyring.
        let raw = h.keyring.get(A).unwrap().unwrap();
        assert!(
            !raw.contains(' ') && raw.contains("\"access_token\":\"new-a\""),
            "{raw}"
        );
        assert!(raw.len() < 600, "{}", raw.len());

        h.store.delete(A).unwrap();
        assert!(h.store.load(A).unwrap().is_none());
        assert_eq!(h.keyring.get(A).unwrap(), None);
        h.store.delete(A).unwrap();
    }

    #[test]
    fn a_stale_copy_never_shadows_a_newer_one() {
        let h = Harness::in_memory(StoreChoice::Auto);
        h.keyring
            .set(A, keyring_entry(&creds("keyring-old", 100)).unwrap())
            .unwrap();
        h.file().put(A, &creds("file-new", 200)).unwrap();
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("file-new", Location::File))
        );

        h.keyring
            .set(A, keyring_entry(&creds("keyring-new", 300)).unwrap())
            .unwrap();
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("keyring-new", Location::Keyring))
        );

        // Delete clears both places.
        h.store.delete(A).unwrap();
        assert!(h.store.load(A).unwrap().is_none());
        assert!(!h.file().path().exists());
    }

    #[test]
    fn migrate_moves_the_file_copy_into_the_keyring_after_reading_it_back() {
        let h = Harness::in_memory(StoreChoice::Auto);
        h.file().put(A, &creds("tok-a", 7)).unwrap();
        h.file().put(B, &creds("tok-b", 7)).unwrap();
        assert!(h.store.keyring_answers());
        assert!(h.store.migrate_to_keyring(A).unwrap());
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("tok-a", Location::Keyring))
        );
        assert!(h.file().get(A).unwrap().is_none());
        assert!(
            h.file().get(B).unwrap().is_some(),
            "another URL's entry stays"
        );
        assert!(
            !h.store.migrate_to_keyring(A).unwrap(),
            "nothing left to move"
        );
    }

    #[test]
    fn migrate_keeps_the_file_when_the_keyring_refuses() {
        let h = Harness::with_store(StoreChoice::Auto, BrokenStore::shared(Broken::Locked));
        h.file().put(A, &creds("tok-a", 7)).unwrap();
        assert!(!h.store.keyring_answers());
        let err = h.store.migrate_to_keyring(A).unwrap_err().to_string();
        assert!(err.contains("the credentials stay in"), "{err}");
        assert!(h.file().get(A).unwrap().is_some());
        let h = Harness::in_memory(StoreChoice::File);
        assert!(!h.store.keyring_answers());
        assert!(matches!(
            h.store.migrate_to_keyring(A),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn auto_falls_back_to_the_file_with_one_warning_when_the_keyring_is_locked() {
        let h = Harness::with_store(StoreChoice::Auto, BrokenStore::shared(Broken::Locked));
        assert_eq!(
            h.store.save(A, &mut creds("tok-a", 0)).unwrap(),
            Location::File
        );
        let path = h.store.credentials_path();
        assert_eq!(
            h.warnings(),
            [format!(
                "warning: the OS keyring is unavailable (Couldn't access platform storage: SS error: object locked); \
                 storing credentials in {} (plaintext, mode 0600)",
                path.display()
            )]
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(names(&h.tmp.path().join("my")), [file::FILE_NAME]);
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("tok-a", Location::File))
        );

        // A locked keyring may still hold an entry that would return once unlocked: say so,
        // after removing the file copy.
        let err = h.store.delete(A).unwrap_err();
        assert!(
            matches!(&err, Error::Store(m) if m.contains("refused to delete") && m.contains("object locked")),
            "{err:?}"
        );
        assert!(h.file().get(A).unwrap().is_none());
        assert_eq!(h.warnings().len(), 1);
    }

    #[test]
    fn auto_falls_back_when_there_is_no_keyring_and_ignores_it_on_delete() {
        let keyring = Keyring::new(
            || {
                Err(keyring_core::Error::PlatformFailure(
                    "D-Bus error: no session bus".into(),
                ))
            },
            Duration::from_secs(3),
        );
        let h = Harness::new(StoreChoice::Auto, keyring);
        assert!(h.store.load(A).unwrap().is_none());
        assert_eq!(
            h.store.save(A, &mut creds("tok-a", 0)).unwrap(),
            Location::File
        );
        assert_eq!(h.warnings().len(), 1);
        assert!(
            h.warnings()[0].contains("(Platform failure: D-Bus error: no session bus)"),
            "{:?}",
            h.warnings()
        );
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("tok-a", Location::File))
        );
        h.store.delete(A).unwrap();
        assert!(h.store.load(A).unwrap().is_none());
        assert!(h
            .store
            .keyring
            .probe()
            .unwrap_err()
            .to_string()
            .contains("no session bus"));
    }

    // Regression guard: a Secret Service that never answers must not hang a login.
    #[test]
    fn auto_falls_back_when_the_keyring_does_not_answer() {
        let keyring = Keyring::with_store(
            BrokenStore::shared(Broken::Hangs),
            Duration::from_millis(100),
        );
        let h = Harness::new(StoreChoice::Auto, keyring);
        let start = Instant::now();
        assert_eq!(
            h.store.save(A, &mut creds("tok-a", 0)).unwrap(),
            Location::File
        );
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("tok-a", Location::File))
        );
        h.store.delete(A).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(h.warnings().len(), 1);
        assert!(
            h.warnings()[0].contains("(the OS keyring did not answer within 100 ms)"),
            "{:?}",
            h.warnings()
        );
    }

    #[test]
    fn keyring_mode_fails_closed_and_never_touches_the_file() {
        let h = Harness::with_store(StoreChoice::Keyring, BrokenStore::shared(Broken::Locked));
        let expected = "the OS keyring is unavailable (Couldn't access platform storage: SS error: object locked); \
                        MY_CREDENTIAL_STORE=keyring does not allow the file fallback";
        for err in [
            h.store.save(A, &mut creds("tok-a", 0)).unwrap_err(),
            h.store.load(A).unwrap_err(),
            h.store.delete(A).unwrap_err(),
        ] {
            assert!(matches!(&err, Error::Store(m) if m == expected), "{err:?}");
        }
        assert!(!h.tmp.path().join("my").exists());
        assert!(h.warnings().is_empty());
    }

    #[test]
    fn keyring_mode_ignores_the_file() {
        let h = Harness::in_memory(StoreChoice::Keyring);
        h.file().put(A, &creds("in-file", 1)).unwrap();
        assert!(h.store.load(A).unwrap().is_none());
        assert_eq!(
            h.store.save(A, &mut creds("in-keyring", 0)).unwrap(),
            Location::Keyring
        );
        assert_eq!(
            token(&h.store.load(A).unwrap()),
            Some(("in-keyring", Location::Keyring))
        );
        h.store.delete(A).unwrap();
        assert_eq!(
            h.file().get(A).unwrap().unwrap().access_token.expose(),
            "in-file"
        );
    }

    #[test]
    fn a_corrupt_keyring_entry_is_an_error_that_names_it_without_its_contents() {
        for choice in [StoreChoice::Auto, StoreChoice::Keyring] {
            let h = Harness::in_memory(choice);
            h.keyring
                .set(
                    A,
                    r#"{"kind":"session","access_token":"tok-secret","saved_at_ms":"tok-2"}"#
                        .into(),
                )
                .unwrap();
            let err = h.store.load(A).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Store(_)), "{err:?}");
            assert!(
                text.starts_with(&format!(
                    "the keyring entry for {A} (service mycli) is not valid"
                )),
                "{text}"
            );
            assert!(!text.contains("tok-"), "{text}");
        }
    }

    #[test]
    fn a_corrupt_file_stops_an_auto_save_before_the_keyring_changes() {
        let h = Harness::in_memory(StoreChoice::Auto);
        std::fs::create_dir_all(h.tmp.path().join("my")).unwrap();
        std::fs::write(h.store.credentials_path(), b"{oops").unwrap();
        assert!(matches!(
            h.store.save(A, &mut creds("tok-a", 0)).unwrap_err(),
            Error::Corrupt { .. }
        ));
        assert!(matches!(
            h.store.load(A).unwrap_err(),
            Error::Corrupt { .. }
        ));
        assert!(matches!(
            h.store.delete(A).unwrap_err(),
            Error::Corrupt { .. }
        ));
        assert_eq!(h.keyring.get(A).unwrap(), None);
        assert_eq!(std::fs::read(h.store.credentials_path()).unwrap(), b"{oops");
    }

    /// Tests against a real Secret Service run only under `scripts/with-keyring.sh`, which
    /// sets `MY_TEST_KEYRING=1`. Under CI a missing service is a failure, never a skip.
    fn real_keyring_wanted() -> bool {
        if std::env::var("MY_TEST_KEYRING").as_deref() == Ok("1") {
            return true;
        }
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("CI is set but MY_TEST_KEYRING is not: run the tests through scripts/with-keyring.sh");
        }
        eprintln!("skipped: needs a Secret Service; run the tests through scripts/with-keyring.sh");
        false
    }

    /// An API URL no other test (or earlier run) uses, so tests can share the keyring.
    fn unique_url(name: &str) -> String {
        format!("https://{name}-{}-{}.test", std::process::id(), now_ms())
    }

    fn secret_tool(args: &[&str]) -> String {
        let out = std::process::Command::new("secret-tool")
            .args(args)
            .output()
            .expect("secret-tool runs");
        assert!(
            out.status.success(),
            "secret-tool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // `search` prints the attributes on stderr with some libsecret versions.
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    #[test]
    fn real_keyring_round_trip_visible_to_secret_tool() {
        if !real_keyring_wanted() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(tmp.path(), StoreChoice::Keyring);
        store.keyring.probe().unwrap();
        let url = unique_url("round-trip");
        let mut saved = creds("tok-real", 0);
        assert_eq!(store.save(&url, &mut saved).unwrap(), Location::Keyring);
        let (loaded, location) = store.load(&url).unwrap().unwrap();
        assert_eq!(location, Location::Keyring);
        assert_eq!(loaded.access_token.expose(), "tok-real");
        assert_eq!(
            loaded.refresh_token.as_ref().map(Secret::expose),
            Some("tok-real-refresh")
        );
        assert_eq!(loaded.saved_at_ms, saved.saved_at_ms);
        assert!(!store.credentials_path().exists());

        let found = secret_tool(&["search", "--all", "service", SERVICE, "username", &url]);
        assert!(
            found.contains(&format!("attribute.service = {SERVICE}")),
            "{found}"
        );
        assert!(
            found.contains(&format!("attribute.username = {url}")),
            "{found}"
        );
        let raw = secret_tool(&["lookup", "service", SERVICE, "username", &url]);
        assert_eq!(raw.trim_end(), keyring_entry(&saved).unwrap());

        store.delete(&url).unwrap();
        assert!(store.load(&url).unwrap().is_none());
        store.delete(&url).unwrap();
    }

    #[test]
    fn real_keyring_auto_mode_moves_the_file_entry_and_the_newer_copy_wins() {
        if !real_keyring_wanted() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let auto = CredentialStore::new(tmp.path(), StoreChoice::Auto);
        let file_only = CredentialStore::new(tmp.path(), StoreChoice::File);
        let (url, other) = (unique_url("auto"), unique_url("auto-other"));
        file_only.save(&url, &mut creds("file-old", 0)).unwrap();
        file_only.save(&other, &mut creds("file-other", 0)).unwrap();

        assert_eq!(
            auto.save(&url, &mut creds("keyring-new", 0)).unwrap(),
            Location::Keyring
        );
        assert!(file_only.load(&url).unwrap().is_none());
        assert_eq!(
            token(&auto.load(&url).unwrap()),
            Some(("keyring-new", Location::Keyring))
        );
        assert_eq!(
            token(&auto.load(&other).unwrap()),
            Some(("file-other", Location::File))
        );

        // A later fallback copy in the file beats the keyring entry it could not replace.
        std::thread::sleep(Duration::from_millis(2));
        file_only.save(&url, &mut creds("file-newer", 0)).unwrap();
        assert_eq!(
            token(&auto.load(&url).unwrap()),
            Some(("file-newer", Location::File))
        );

        auto.delete(&url).unwrap();
        auto.delete(&other).unwrap();
        assert!(auto.load(&url).unwrap().is_none());
        assert!(!auto.credentials_path().exists());
        let left = secret_tool(&["search", "--all", "service", SERVICE, "username", &url]);
        assert!(!left.contains("attribute.username"), "{left}");
    }

    /// The name libtest knows this module by, for re-running one of its tests.
    fn test_name(name: &str) -> String {
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest);
        format!("{module}::{name}")
    }

    // Regression guard: with no reachable session bus, keyring mode must fail at once and
    // auto mode must fall back with exactly one warning on stderr. Runs the real D-Bus
    // client in a child process whose bus address points at a socket that does not exist.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_unreachable_session_bus_fails_closed_or_falls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                &test_name("dead_bus_child"),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", tmp.path().join("no-bus").display()),
            )
            .env("MY_TEST_DEAD_BUS", "1")
            .env_remove("MY_KEYRING_TIMEOUT_MS")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("1 passed"), "{stdout}");
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .collect();
        assert_eq!(warnings.len(), 1, "{stderr}");
        assert!(
            warnings[0].starts_with("warning: the OS keyring is unavailable (Platform failure: "),
            "{stderr}"
        );
        assert!(
            warnings[0].ends_with("credentials.json (plaintext, mode 0600)"),
            "{stderr}"
        );
    }

    #[test]
    #[ignore = "run by an_unreachable_session_bus_fails_closed_or_falls_back in a child process"]
    fn dead_bus_child() {
        if std::env::var_os("MY_TEST_DEAD_BUS").is_none() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let keyring_only = CredentialStore::new(tmp.path(), StoreChoice::Keyring);
        let start = Instant::now();
        let err = keyring_only.save(A, &mut creds("tok-a", 0)).unwrap_err();
        // Well under the 3 s timeout: a missing bus is reported, not waited out.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        let text = err.to_string();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        assert!(
            text.starts_with("the OS keyring is unavailable (Platform failure: "),
            "{text}"
        );
        assert!(
            text.ends_with("; MY_CREDENTIAL_STORE=keyring does not allow the file fallback"),
            "{text}"
        );
        assert!(matches!(keyring_only.load(A), Err(Error::Store(_))));
        assert!(matches!(keyring_only.delete(A), Err(Error::Store(_))));
        assert!(!keyring_only.credentials_path().exists());
        assert!(keyring_only.keyring.probe().is_err());
        let err = keyring_only.preflight(A).unwrap_err().to_string();
        assert!(err.ends_with("does not allow the file fallback"), "{err}");

        let auto = CredentialStore::new(tmp.path(), StoreChoice::Auto);
        assert_eq!(
            auto.save(A, &mut creds("tok-a", 0)).unwrap(),
            Location::File
        );
        assert_eq!(mode(&auto.credentials_path()), 0o600);
        assert_eq!(
            token(&auto.load(A).unwrap()),
            Some(("tok-a", Location::File))
        );
        auto.delete(A).unwrap();
        assert!(auto.load(A).unwrap().is_none());
    }
}
