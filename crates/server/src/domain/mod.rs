//! The rules the endpoints share, so that no endpoint needs another: who the caller is
//! (`caller`), sessions and their refresh families (`sessions`), the OAuth client rules
//! (`oauth`), authorization requests of the browser sign-in (`authorization`), magic links
//! (`magic_links`), the browser's web session (`web_session`), organization scoping
//! (`orgs`), the JWT signing keys (`keys`), who a client is for rate limits (`clients`),
//! and the catalog: profiles, libraries and the catalog a profile resolves to
//! (`catalog`), and publishing specs and releases into it (`publish`).
//!
//! Domain code speaks `web`'s `Request` and `Error` and runs inside `db` transactions; it
//! never knows which URL it serves.

pub(crate) mod authorization;
pub(crate) mod caller;
pub(crate) mod catalog;
pub(crate) mod clients;
pub(crate) mod keys;
pub(crate) mod magic_links;
pub(crate) mod oauth;
pub(crate) mod orgs;
pub(crate) mod publish;
pub(crate) mod sessions;
pub(crate) mod web_session;
