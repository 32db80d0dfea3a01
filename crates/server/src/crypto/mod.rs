//! The server's cryptography, each piece in its own file: CSRF tokens for the pages'
//! forms, HS256 access tokens, PKCE checks, and random secrets with their hashes.
//!
//! A leaf: it knows nothing of HTTP, the database or the flows that use it.

pub(crate) mod csrf;
pub(crate) mod jwt;
pub(crate) mod pkce;
pub(crate) mod secrets;
