//! [`App`]: what every worker shares — the settings, the issuer URL, the server secret, the
//! signing keys last read from the database — and the [`LogBell`] that wakes long polls of
//! the logs when this process appends lines.
//!
//! Built once at start-up and read by all; nothing here touches HTTP or the database.

use crate::db::SigningKey;
use crate::mail::Mailer;
use crate::settings::Settings;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Everything a request handler needs: the settings, the issuer URL, the signing key and
/// the state shared by the workers.
pub(crate) struct App {
    pub(crate) settings: Settings,
    /// The public URL, no trailing slash; also the JWT `iss`.
    pub(crate) issuer: String,
    /// The server secret, for CSRF tokens (access tokens use the signing keys).
    pub(crate) key: [u8; 32],
    /// The JWT signing keys as last read from the database, and when.
    signing: RwLock<(Vec<SigningKey>, Option<Instant>)>,
    /// Wakes `GET /v1/logs` long polls when this process appends lines.
    pub(crate) log_bell: Arc<LogBell>,
    /// Where sign-in mail goes: the outbox folder or the SMTP relay.
    pub(crate) mailer: Mailer,
}

impl App {
    /// The origin (`scheme://host[:port]`) browsers see this server at.
    pub(crate) fn origin(&self) -> &str {
        let after_scheme = self.issuer.find("://").map_or(0, |at| at + 3);
        match self.issuer[after_scheme..].find('/') {
            Some(slash) => &self.issuer[..after_scheme + slash],
            None => &self.issuer,
        }
    }

    /// `{issuer}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Default settings, a fixed key and `issuer`.
    #[cfg(test)]
    pub(crate) fn for_test(issuer: &str) -> App {
        App::new(Settings::default(), issuer.to_string(), [3; 32]).expect("the outbox mailer")
    }

    /// The state for serving with `settings` as `issuer`, signing with `key`. The error
    /// says what is wrong with the mail settings.
    pub(crate) fn new(settings: Settings, issuer: String, key: [u8; 32]) -> Result<App, String> {
        Ok(App {
            mailer: Mailer::new(&settings)?,
            settings,
            issuer,
            key,
            signing: RwLock::new((Vec::new(), None)),
            log_bell: Arc::default(),
        })
    }

    /// The signing keys (newest first) if they were read less than `max_age` ago.
    pub(crate) fn cached_keys(&self, max_age: Duration) -> Option<Vec<SigningKey>> {
        let cache = self.signing.read().unwrap_or_else(PoisonError::into_inner);
        let (keys, loaded) = &*cache;
        loaded
            .filter(|at| at.elapsed() < max_age && !keys.is_empty())
            .map(|_| keys.clone())
    }

    /// Remembers the signing keys just read from the database.
    pub(crate) fn cache_keys(&self, keys: Vec<SigningKey>) {
        let mut cache = self.signing.write().unwrap_or_else(PoisonError::into_inner);
        *cache = (keys, Some(Instant::now()));
    }
}

/// Requests that may wait for log lines at once (the worker pool is larger).
pub(crate) const MAX_LONG_POLLS: usize = 16;
/// Wakes long polls when this process appends log lines (on PostgreSQL, when any process
/// does: see `db::listen_for_log_lines`).
#[derive(Default)]
pub(crate) struct LogBell {
    /// Counts appends; a poll waits for it to move past what it saw.
    rung: Mutex<u64>,
    changed: Condvar,
    waiting: AtomicUsize,
}

impl LogBell {
    /// The current count, read before looking at the database so no ring is missed.
    pub(crate) fn count(&self) -> u64 {
        *self.rung.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every waiting poll.
    pub(crate) fn ring(&self) {
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        *rung = rung.wrapping_add(1);
        self.changed.notify_all();
    }

    /// Waits until the count moves past `seen`, or `timeout`.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) {
        let rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        let _unused = self
            .changed
            .wait_timeout_while(rung, timeout, |rung| *rung == seen)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// A place among the waiting polls, or `None` when all are taken.
    pub(crate) fn enter(&self) -> Option<Waiting<'_>> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_LONG_POLLS {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Waiting(&self.waiting))
    }
}

/// One waiting poll; leaving (even by a panic) frees its place.
pub(crate) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;
    use std::time::Instant;

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            App::for_test("http://127.0.0.1:7780").origin(),
            "http://127.0.0.1:7780"
        );
        assert_eq!(
            App::for_test("https://my.example/api").origin(),
            "https://my.example"
        );
    }

    #[test]
    fn a_ring_wakes_a_waiting_poll_at_once() {
        let bell = Arc::new(LogBell::default());
        let seen = bell.count();
        let ringer = Arc::clone(&bell);
        let started = Instant::now();
        let handle = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            ringer.ring();
        });
        bell.wait(seen, Duration::from_secs(10));
        assert!(started.elapsed() < Duration::from_secs(5));
        handle.join().unwrap();
        // A ring before the wait is not lost: the count has already moved.
        let seen = bell.count();
        bell.ring();
        let started = Instant::now();
        bell.wait(seen, Duration::from_secs(10));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn waiting_places_are_capped_and_freed() {
        let bell = LogBell::default();
        let places: Vec<_> = (0..MAX_LONG_POLLS).map(|_| bell.enter().unwrap()).collect();
        assert!(bell.enter().is_none());
        drop(places);
        assert!(bell.enter().is_some());
    }
}
