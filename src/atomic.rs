//! Private folders and crash-safe file writes, shared by the credentials file and the config.
//!
//! A file is never rewritten in place: the new bytes go to a fresh temp file in the same
//! folder (created 0600, so a secret is never readable by others even for a moment), which
//! is fsynced and renamed over the old one. A crash leaves either the old file or the new
//! one, never half of each.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sys;

/// Mode of the config folder: only the owner may list or enter it.
const DIR_MODE: u32 = 0o700;
/// Mode of every file written here, secrets or not.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) if needed and sets it to mode 0700, also when it already
/// existed with wider permissions.
///
/// Parents keep the default mode: only the folder that holds our files is made private.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    set_mode(dir, DIR_MODE)
}

/// Replaces `path` with `bytes` atomically: a unique temp file in the same folder
/// (`.<name>.<pid>.<random>.tmp`, created with O_EXCL and mode 0600), written, fsynced,
/// renamed over `path`, then the folder fsynced so the rename itself survives a crash.
///
/// On any error the temp file is removed and `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, true)
}

/// [`write_atomic`] without the fsyncs, for cache files that are checked when read and
/// fetched again when lost (the catalog cache): a crash may lose the write, or leave an
/// empty file that the check refuses, but a reader never sees half of one. Syncing is what
/// made a 1,000-file cache write take seconds.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, false)
}

fn replace(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp, file) = create_temp(dir, path)?;
    let written = write_and_rename(file, &tmp, path, bytes, sync);
    if written.is_err() {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    if sync {
        sync_dir(dir)?;
    }
    sweep_stale_temps(dir, path);
    Ok(())
}

/// Removes temp files of `path` left by writers that died mid-write (a SIGKILL between
/// create and rename). A temp file is stale when the process in its name is gone (checked
/// through /proc on Linux) or it is older than an hour; one of a live writer is left alone.
fn sweep_stale_temps(dir: &Path, path: &Path) {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        let dead = cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists();
        if old || dead {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Opens a new temp file next to `path`. O_EXCL means a leftover or hostile file of the same
/// name is never reused; a clash only costs another name.
fn create_temp(dir: &Path, path: &Path) -> Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut last_error = None;
    for _ in 0..16 {
        let tmp = dir.join(format!(
            ".{name}.{}.{:016x}.tmp",
            std::process::id(),
            random_u64()
        ));
        match open_new_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot create a temp file in {}", dir.display()),
                    e,
                ))
            }
        }
    }
    let e = last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
    Err(Error::io(
        format!("cannot create a temp file in {}", dir.display()),
        e,
    ))
}

fn write_and_rename(
    mut file: File,
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    sync: bool,
) -> Result<()> {
    let context = || format!("cannot write {}", path.display());
    // The umask can only narrow the creation mode, but set it exactly anyway so the result
    // does not depend on the caller's umask.
    set_file_mode(&file, FILE_MODE).map_err(|e| Error::io(context(), e))?;
    file.write_all(bytes).map_err(|e| Error::io(context(), e))?;
    if sync {
        file.sync_all().map_err(|e| Error::io(context(), e))?;
    }
    drop(file);
    fs::rename(tmp, path).map_err(|e| Error::io(context(), e))
}

/// A per-call random number for temp names. `RandomState` is seeded randomly per process
/// and advances per call: unique enough for a name, and O_EXCL handles the rest.
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn open_new_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Opens (creating it 0600 if needed) the lock file, never through a symbolic link: a
/// link planted there could make us create or lock a file elsewhere.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    sys::fs::no_follow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE),
    )
    .open(path)
}

/// Reads a private file without following a symbolic link at its name; `None` when it
/// does not exist. Also returns who may read it, for the caller to warn about.
pub fn read_private(path: &Path) -> Result<Option<(Vec<u8>, Exposure)>> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let opened = sys::fs::no_follow(OpenOptions::new().read(true)).open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if is_symlink_error(&e) => {
            return Err(Error::Store(format!(
                "{} is a symbolic link; credentials are never read through one: replace it with the file itself",
                path.display()
            )))
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let me = sys::fs::effective_uid();
    let exposure = Exposure {
        mode: meta.mode() & 0o7777,
        other_owner: (meta.uid() != me).then_some(meta.uid()),
    };
    Ok(Some((bytes, exposure)))
}

/// The error an `O_NOFOLLOW` open gives when the name is a symbolic link.
pub use sys::fs::is_symlink_error;

/// Who besides us may read a file: its permission bits and, if not us, its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub mode: u32,
    pub other_owner: Option<u32>,
}

impl Exposure {
    /// One warning line about `path`, or `None` when only we can read it.
    pub fn warning(self, path: &Path) -> Option<String> {
        match self.other_owner {
            Some(uid) => Some(format!(
                "warning: {} belongs to another user (uid {uid}); it may not be yours: remove it and sign in again",
                path.display()
            )),
            None if self.mode & 0o077 != 0 => Some(format!(
                "warning: {} is readable by others (mode {:04o}); run `chmod 600 {}` (the next sign-in narrows it)",
                path.display(),
                self.mode,
                path.display()
            )),
            None => None,
        }
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        fs::metadata(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.permissions().mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| {
            Error::io(
                format!("cannot restrict {} to mode {mode:o}", path.display()),
                e,
            )
        })?;
    }
    Ok(())
}

fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

/// Makes a rename durable: the folder itself fsynced.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    pub fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    pub fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn private_dir_is_created_0700_and_an_existing_0755_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/my");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn write_atomic_replaces_the_file_0600_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials.json");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(mode(&path), 0o600);

        // A file someone widened is narrowed again by the next write.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(names(tmp.path()), ["credentials.json"]);
    }

    #[test]
    fn temp_files_of_dead_writers_are_swept_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials.json");
        // 4194305 is above Linux's pid_max, so no such process; pid 1 is always alive.
        let dead = tmp
            .path()
            .join(".credentials.json.4194305.00000000000000aa.tmp");
        let live = tmp.path().join(".credentials.json.1.00000000000000bb.tmp");
        let other = tmp.path().join(".config.json.4194305.00000000000000cc.tmp");
        for p in [&dead, &live, &other] {
            fs::write(p, b"{").unwrap();
        }
        write_atomic(&path, b"{}").unwrap();
        assert!(!dead.exists(), "a dead writer's temp file stays");
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn a_failed_write_removes_its_temp_file_and_keeps_the_target() {
        let tmp = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty folder fails after the temp file was written.
        let path = tmp.path().join("target");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let err = write_atomic(&path, b"new").unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(names(tmp.path()), ["target"]);
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
    }
}
