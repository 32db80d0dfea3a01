//! The credentials lock: `<dir>/credentials.lock`, held exclusively by a process that reads,
//! refreshes and writes back a session, so two `my` processes never refresh one at once.
//!
//! Apart from the store policy (`credentials`) because it guards a whole read-refresh-write
//! cycle of the callers, not one store operation: the store's calls never take it
//! themselves.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::atomic;
use crate::error::{Error, Result};

/// Lock file next to the credentials. Its holder writes its PID into it, so a process that
/// waits too long can say who holds it.
pub(super) const LOCK_FILE: &str = "credentials.lock";
/// How long [`acquire`] waits for another process: longer than a refresh takes with every
/// timeout spent (30 s HTTP, 3 s keyring). `MY_LOCK_TIMEOUT` overrides it.
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Holds `<dir>/credentials.lock` exclusively. The lock is released when the guard is
/// dropped (closing the file releases it, and the descriptor is close-on-exec, so no child
/// process keeps it).
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard {
    _file: File,
}

/// Takes the exclusive lock on `<dir>/credentials.lock` (created 0600, folder 0700, never
/// through a symbolic link). Waits a bounded time for another process (`MY_LOCK_TIMEOUT`,
/// else 60 s): one suspended with Ctrl-Z mid-refresh must not hang every later run. The
/// error then names the holder's PID.
pub fn acquire(dir: &Path) -> Result<LockGuard> {
    acquire_within(dir, lock_timeout()?)
}

fn acquire_within(dir: &Path, timeout: Duration) -> Result<LockGuard> {
    use std::fs::TryLockError;
    use std::io::{Read, Seek, Write};
    atomic::ensure_private_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    let mut file = atomic::open_lock_file(&path).map_err(|e| {
        if atomic::is_symlink_error(&e) {
            Error::Store(format!(
                "{} is a symbolic link; remove it (my never follows one there)",
                path.display()
            ))
        } else {
            Error::io(format!("cannot open {}", path.display()), e)
        }
    })?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("another my process (PID {pid})"),
                    Err(_) => "another my process".to_string(),
                };
                return Err(Error::Store(format!(
                    "{holder} has held {} for {} s: if it is stopped (Ctrl-Z), resume it with `fg` or end it, then try again",
                    path.display(),
                    timeout.as_secs()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }
    // Best effort: the PID is only for the message of whoever waits too long.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()));
    Ok(LockGuard { _file: file })
}

/// `MY_LOCK_TIMEOUT` seconds (1 to 3600), else [`LOCK_TIMEOUT`].
fn lock_timeout() -> Result<Duration> {
    let Some(raw) = std::env::var_os("MY_LOCK_TIMEOUT") else {
        return Ok(LOCK_TIMEOUT);
    };
    raw.to_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            Error::Usage("MY_LOCK_TIMEOUT must be a whole number of seconds from 1 to 3600".into())
        })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic::tests::mode;

    #[test]
    fn a_second_lock_waits_until_the_first_guard_drops() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my");
        let first = acquire(&dir).unwrap();
        let lock_path = dir.join(LOCK_FILE);
        assert_eq!(mode(&lock_path), 0o600);
        assert_eq!(mode(&dir), 0o700);

        // Another open file description conflicts even within this process.
        let other = File::open(&lock_path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));

        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let second = acquire(&dir).unwrap();
                tx.send(()).unwrap();
                drop(second);
            });
            assert!(
                rx.recv_timeout(Duration::from_millis(200)).is_err(),
                "the second lock did not wait"
            );
            drop(first);
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the second lock was never granted");
        });
        other.try_lock().unwrap();
    }

    #[test]
    fn a_lock_held_too_long_is_an_error_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let held = acquire(tmp.path()).unwrap();
        let started = Instant::now();
        let err = acquire_within(tmp.path(), Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        drop(held);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert!(
            err.contains(&format!("another my process (PID {})", std::process::id())),
            "{err}"
        );
        let _again = acquire(tmp.path()).unwrap();
    }

    #[test]
    fn a_symlinked_lock_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my");
        std::fs::create_dir_all(&dir).unwrap();
        let target = tmp.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.join(LOCK_FILE)).unwrap();
        let err = acquire(&dir).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(!target.exists(), "the lock was created through the link");
    }
}
