//! The CLI `my` as a library: everything but the command line. `src/main.rs` parses the
//! arguments (`cli`) and dispatches them (`cmd`); the commands work with what is here, and so
//! do the fuzz targets (`fuzz/`).
//!
//! From the ground up: `error`, `clock`, `secret`, `out` and `sys` (the platform) are
//! leaves; `atomic` writes files; `tls` and `api` talk HTTP; `config` and `credentials` keep
//! what is stored; `settings` resolves them into one view, `app` bundles it with the store and
//! the client; `auth` signs in and keeps the session fresh; `catalog` syncs, caches and
//! resolves commands (the server's and local sources'); `runner` runs a command's steps.

pub mod api;
pub mod app;
pub mod atomic;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod out;
pub mod runner;
pub mod secret;
pub mod settings;
pub mod sys;
pub mod tls;

/// The binary's name, as messages and usage lines show it.
pub const BIN: &str = "my";
