//! The REST API under `/v1`: one file per resource. Errors are
//! `{"error": {"code": …, "message": …}}` and no shared cache may keep an answer (the
//! catalog and spec bodies may be revalidated or kept by the caller's own client).

pub(crate) mod catalog;
pub(crate) mod commands;
pub(crate) mod environments;
pub(crate) mod libraries;
pub(crate) mod logs;
pub(crate) mod me;
pub(crate) mod organizations;
pub(crate) mod profiles;
pub(crate) mod projects;
pub(crate) mod tokens;
