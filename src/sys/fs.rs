//! Files: opening one without following a symbolic link at its name, and who owns what we
//! create.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;

use rustix::fs::OFlags;
use rustix::io::Errno;

/// Makes `options` refuse to open a symbolic link at the last component of the path
/// (`O_NOFOLLOW`): such an open fails with an error [`is_symlink_error`] recognizes.
pub fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    options.custom_flags(OFlags::NOFOLLOW.bits().cast_signed())
}

/// Whether `e` is what a [`no_follow`] open gives when the name is a symbolic link (`ELOOP`).
pub fn is_symlink_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(Errno::LOOP.raw_os_error())
}

/// The effective user id of this process: the owner of the files it creates.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}
