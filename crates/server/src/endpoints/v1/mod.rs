//! The REST API under `/v1`: one file per resource. Errors are
//! `{"error": {"code": …, "message": …}}` and no answer may be cached.

pub(crate) mod environments;
pub(crate) mod logs;
pub(crate) mod me;
pub(crate) mod organizations;
pub(crate) mod projects;
pub(crate) mod tokens;
