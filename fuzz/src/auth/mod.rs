//! The CLI's sign-in modules that parse what a server or a browser sends, compiled from
//! `src/auth/` unchanged.

#[path = "../../../src/auth/discovery.rs"]
pub(crate) mod discovery;
#[path = "../../../src/auth/jwt.rs"]
pub(crate) mod jwt;
#[path = "../../../src/auth/loopback.rs"]
pub(crate) mod loopback;
