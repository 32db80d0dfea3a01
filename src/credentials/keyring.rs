//! The OS keyring behind a timeout: one connection per process, and every call (connecting
//! included) on a helper thread that the caller waits for at most 3 s, so a locked, absent
//! or wedged Secret Service can never hang the CLI.
//!
//! This file only talks to the keyring and sorts its failures; the choice between keyring
//! and file lives in `mod.rs`, which is tested against in-memory stores.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use keyring_core::CredentialStore as OsStore;

/// The keyring service of every entry; the account (`username` attribute) is the API URL.
pub const SERVICE: &str = "mycli";

/// The account read by [`Keyring::probe`]; not a URL, so it can never hold credentials.
const PROBE_USER: &str = "mycli-probe";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Overrides the timeout (milliseconds), so tests of a hanging keyring finish quickly.
const TIMEOUT_ENV: &str = "MY_KEYRING_TIMEOUT_MS";

/// Why a keyring call failed. Callers treat these differently: auto mode falls back to the
/// file when the keyring is unreachable or refuses access, but a logout that cannot remove a
/// locked entry must say so, or the entry would come back once the keyring is unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No keyring to talk to: no session bus or Secret Service, a D-Bus failure, no answer
    /// in time.
    Unreachable(String),
    /// The keyring answered but denied access, typically because it is locked.
    Refused(String),
    /// The keyring answered and the operation failed for another reason (ambiguous entry,
    /// invalid or too long value, unreadable data).
    Failed(String),
}

impl KeyringError {
    /// Unreachable or refused: the cases where auto mode may use the file instead.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            KeyringError::Unreachable(_) | KeyringError::Refused(_)
        )
    }
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Unreachable(m) | KeyringError::Refused(m) | KeyringError::Failed(m) => {
                f.write_str(m)
            }
        }
    }
}

type Connect = fn() -> keyring_core::Result<Arc<OsStore>>;

/// A lazily connected keyring. The process shares one ([`Keyring::shared`]); tests build
/// their own around in-memory stores.
pub struct Keyring {
    connect: Connect,
    store: OnceLock<Result<Arc<OsStore>, KeyringError>>,
    timeout: Duration,
    /// Set once a call has timed out. Its helper thread may still hold the connection (the
    /// stores serialize calls behind a mutex), so later calls would only queue behind it:
    /// they fail at once instead of costing another timeout each.
    stuck: AtomicBool,
}

impl Keyring {
    /// The process-wide keyring. Connecting costs a Secret Service round trip (~10 ms), so
    /// it happens at the first call that needs it and is then reused; creating a
    /// `CredentialStore` that never touches the keyring costs nothing.
    pub fn shared() -> Arc<Keyring> {
        static SHARED: OnceLock<Arc<Keyring>> = OnceLock::new();
        SHARED
            .get_or_init(|| Arc::new(Keyring::new(connect_os, timeout_from_env())))
            .clone()
    }

    /// A keyring that runs `connect` at its first call and gives every call `timeout`.
    pub fn new(connect: Connect, timeout: Duration) -> Keyring {
        Keyring {
            connect,
            store: OnceLock::new(),
            timeout,
            stuck: AtomicBool::new(false),
        }
    }

    /// A keyring already connected to `store`.
    #[cfg(test)]
    pub fn with_store(store: Arc<OsStore>, timeout: Duration) -> Keyring {
        let keyring = Keyring::new(|| unreachable!("already connected"), timeout);
        let _ = keyring.store.set(Ok(store));
        keyring
    }

    /// The stored secret for `user`, or `None` when there is no entry.
    pub fn get(&self, user: &str) -> Result<Option<String>, KeyringError> {
        let store = self.store()?;
        let user = user.to_owned();
        self.run(
            move || match store.build(SERVICE, &user, None)?.get_password() {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// Creates or replaces the entry for `user`.
    pub fn set(&self, user: &str, secret: String) -> Result<(), KeyringError> {
        let store = self.store()?;
        let user = user.to_owned();
        self.run(move || store.build(SERVICE, &user, None)?.set_password(&secret))
    }

    /// Removes the entry for `user`; `Ok(false)` when there was none.
    pub fn delete(&self, user: &str) -> Result<bool, KeyringError> {
        let store = self.store()?;
        let user = user.to_owned();
        self.run(
            move || match store.build(SERVICE, &user, None)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            },
        )
    }

    /// Connects and reads an entry that never exists. A locked keyring can pass this (a
    /// lookup that finds nothing needs no unlocking) and still refuse the next write, which
    /// is why saving falls back at write time too.
    pub fn probe(&self) -> Result<(), KeyringError> {
        self.get(PROBE_USER).map(drop)
    }

    fn store(&self) -> Result<Arc<OsStore>, KeyringError> {
        self.store
            .get_or_init(|| {
                let connect = self.connect;
                // Whatever stops the connection, there is no keyring to use.
                self.run(connect).map_err(|e| match e {
                    KeyringError::Refused(m) | KeyringError::Failed(m) => {
                        KeyringError::Unreachable(m)
                    }
                    other => other,
                })
            })
            .clone()
    }

    /// Runs `op` on a helper thread and waits for it at most `self.timeout`. On timeout the
    /// thread is abandoned (it ends with the process); the keyring gives no way to cancel a
    /// D-Bus call.
    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, KeyringError> {
        if self.stuck.load(Ordering::Relaxed) {
            return Err(self.timed_out());
        }
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                // The receiver is gone only after a timeout; nobody wants the result then.
                let _ = tx.send(op());
            })
            .map_err(|e| {
                KeyringError::Unreachable(format!("cannot start a thread for the OS keyring: {e}"))
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result.map_err(classify),
            Err(RecvTimeoutError::Timeout) => {
                self.stuck.store(true, Ordering::Relaxed);
                Err(self.timed_out())
            }
            Err(RecvTimeoutError::Disconnected) => Err(KeyringError::Unreachable(
                "the OS keyring client failed unexpectedly".into(),
            )),
        }
    }

    fn timed_out(&self) -> KeyringError {
        KeyringError::Unreachable(format!(
            "the OS keyring did not answer within {}",
            describe_timeout(self.timeout)
        ))
    }
}

/// Sorts keyring errors by what the caller can do about them. The messages come from the
/// keyring crates and never contain a secret (`BadEncoding` and `BadDataFormat` carry the
/// raw bytes, but their `Display` leaves them out).
fn classify(e: keyring_core::Error) -> KeyringError {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(_) => KeyringError::Refused(e.to_string()),
        E::PlatformFailure(_) | E::NoDefaultStore => KeyringError::Unreachable(e.to_string()),
        _ => KeyringError::Failed(e.to_string()),
    }
}

/// "3 s", or "250 ms" for a test override that is not whole seconds.
fn describe_timeout(timeout: Duration) -> String {
    let ms = timeout.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// `MY_KEYRING_TIMEOUT_MS` when it is a positive whole number, else 3 s. A test knob, so a
/// bad value is ignored rather than reported.
fn timeout_from_env() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

/// The Secret Service over libdbus. Fails in about a millisecond when there is no session
/// bus; a bus without a Secret Service fails with `ServiceUnknown`.
#[cfg(all(feature = "keyring", target_os = "linux"))]
fn connect_os() -> keyring_core::Result<Arc<OsStore>> {
    let store: Arc<OsStore> = dbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

/// The macOS Keychain.
#[cfg(all(feature = "keyring", target_os = "macos"))]
fn connect_os() -> keyring_core::Result<Arc<OsStore>> {
    let store: Arc<OsStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

// Without a store for this platform (or built without the `keyring` feature) the keyring
// counts as unreachable, so auto mode uses the file and keyring mode fails closed.
#[cfg(not(all(feature = "keyring", any(target_os = "linux", target_os = "macos"))))]
fn connect_os() -> keyring_core::Result<Arc<OsStore>> {
    Err(keyring_core::Error::NotSupportedByStore(
        "this build of my has no OS keyring support on this platform".into(),
    ))
}

/// Keyring stores that misbehave on purpose, for the tests here and in `mod.rs`.
#[cfg(test)]
pub mod testing {
    use std::any::Any;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};
    use keyring_core::{Entry, Error, Result};

    /// How every call on a [`BrokenStore`] entry fails.
    #[derive(Debug, Clone, Copy)]
    pub enum Broken {
        /// Like a locked gnome-keyring: connecting works, using it does not.
        Locked,
        /// Never answers in time.
        Hangs,
    }

    #[derive(Debug)]
    pub struct BrokenStore(pub Broken);

    impl BrokenStore {
        pub fn shared(how: Broken) -> Arc<super::OsStore> {
            Arc::new(BrokenStore(how))
        }
    }

    impl CredentialStoreApi for BrokenStore {
        fn vendor(&self) -> String {
            "broken test store".into()
        }

        fn id(&self) -> String {
            format!("{:?}", self.0)
        }

        fn build(&self, _: &str, _: &str, _: Option<&HashMap<&str, &str>>) -> Result<Entry> {
            Ok(Entry::new_with_credential(Arc::new(BrokenCred(self.0))))
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[derive(Debug)]
    struct BrokenCred(Broken);

    impl BrokenCred {
        fn fail<T>(&self) -> Result<T> {
            match self.0 {
                Broken::Locked => Err(Error::NoStorageAccess("SS error: object locked".into())),
                Broken::Hangs => {
                    std::thread::sleep(Duration::from_secs(3));
                    Err(Error::PlatformFailure("answered too late".into()))
                }
            }
        }
    }

    impl CredentialApi for BrokenCred {
        fn set_secret(&self, _: &[u8]) -> Result<()> {
            self.fail()
        }

        fn get_secret(&self) -> Result<Vec<u8>> {
            self.fail()
        }

        fn delete_credential(&self) -> Result<()> {
            self.fail()
        }

        fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
            self.fail()
        }

        fn get_specifiers(&self) -> Option<(String, String)> {
            None
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Broken, BrokenStore};
    use super::*;
    use std::time::Instant;

    #[test]
    fn an_in_memory_store_round_trips_and_reports_missing_entries() {
        let keyring =
            Keyring::with_store(keyring_core::mock::Store::new().unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(keyring.get("https://a.test"), Ok(None));
        keyring.set("https://a.test", "s3".into()).unwrap();
        assert_eq!(keyring.get("https://a.test"), Ok(Some("s3".into())));
        assert_eq!(keyring.get("https://b.test"), Ok(None));
        assert_eq!(keyring.delete("https://a.test"), Ok(true));
        assert_eq!(keyring.delete("https://a.test"), Ok(false));
        assert_eq!(keyring.probe(), Ok(()));
    }

    #[test]
    fn a_locked_keyring_is_refused_not_unreachable() {
        let keyring = Keyring::with_store(BrokenStore::shared(Broken::Locked), DEFAULT_TIMEOUT);
        let err = keyring.set("https://a.test", "s".into()).unwrap_err();
        assert!(
            matches!(&err, KeyringError::Refused(m) if m.contains("object locked")),
            "{err:?}"
        );
        assert!(err.is_unavailable());
    }

    #[test]
    fn a_failed_connection_is_unreachable_and_tried_once() {
        use std::sync::atomic::AtomicUsize;
        static CONNECTS: AtomicUsize = AtomicUsize::new(0);
        let keyring = Keyring::new(
            || {
                CONNECTS.fetch_add(1, Ordering::SeqCst);
                Err(keyring_core::Error::NoStorageAccess(
                    "no session bus".into(),
                ))
            },
            DEFAULT_TIMEOUT,
        );
        for _ in 0..3 {
            let err = keyring.get("https://a.test").unwrap_err();
            assert!(
                matches!(&err, KeyringError::Unreachable(m) if m.contains("no session bus")),
                "{err:?}"
            );
        }
        assert_eq!(CONNECTS.load(Ordering::SeqCst), 1);
    }

    // Regression guard: a Secret Service that never answers must not hang the CLI.
    #[test]
    fn a_hanging_keyring_times_out_once_then_fails_at_once() {
        let keyring = Keyring::with_store(
            BrokenStore::shared(Broken::Hangs),
            Duration::from_millis(500),
        );
        let start = Instant::now();
        let err = keyring.set("https://a.test", "s".into()).unwrap_err();
        assert_eq!(
            err,
            KeyringError::Unreachable("the OS keyring did not answer within 500 ms".into())
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );

        // Without the short cut this call would wait out another 500 ms.
        let start = Instant::now();
        assert_eq!(keyring.get("https://a.test").unwrap_err(), err);
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_hanging_connection_times_out() {
        let keyring = Keyring::new(
            || {
                std::thread::sleep(Duration::from_secs(3));
                Err(keyring_core::Error::NoDefaultStore)
            },
            Duration::from_millis(50),
        );
        let err = keyring.probe().unwrap_err();
        assert_eq!(
            err,
            KeyringError::Unreachable("the OS keyring did not answer within 50 ms".into())
        );
    }

    #[test]
    fn timeouts_read_naturally() {
        assert_eq!(describe_timeout(DEFAULT_TIMEOUT), "3 s");
        assert_eq!(describe_timeout(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn errors_are_sorted_by_what_can_be_done() {
        use keyring_core::Error as E;
        assert!(matches!(
            classify(E::NoStorageAccess("locked".into())),
            KeyringError::Refused(_)
        ));
        assert!(matches!(
            classify(E::PlatformFailure("dbus".into())),
            KeyringError::Unreachable(_)
        ));
        assert!(matches!(
            classify(E::TooLong("secret".into(), 2560)),
            KeyringError::Failed(_)
        ));
        // The bytes of an undecodable secret stay out of the message.
        let err = classify(E::BadEncoding(b"hunter2\xff".to_vec()));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
