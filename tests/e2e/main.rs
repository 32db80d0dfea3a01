//! End-to-end tests: the real `my` against a real `my-server` over HTTP on loopback, with a
//! real SQLite file (or, in `postgres`, a real PostgreSQL), real credential files and (in
//! `keyring`) a real Secret Service.

mod browser;
mod catalog;
mod chrome;
mod context;
mod dist;
mod errors;
mod hostile;
mod keyring;
mod lifecycle;
mod mail_relay;
mod operations;
mod postgres;
mod refresh;
mod run;
mod security;
mod tokens;
mod util;
