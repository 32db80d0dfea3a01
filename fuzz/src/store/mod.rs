//! The CLI's local files, compiled from `src/store/` unchanged.

#[path = "../../../src/store/atomic.rs"]
pub(crate) mod atomic;
#[path = "../../../src/store/config.rs"]
pub(crate) mod config;
#[path = "../../../src/store/credentials.rs"]
mod credentials;
#[path = "../../../src/store/file.rs"]
pub(crate) mod file;

pub(crate) use self::credentials::{json_error_detail, Credentials};
