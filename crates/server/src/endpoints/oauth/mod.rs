//! The OAuth 2.0 endpoints under `/oauth`. Their errors follow RFC 6749 §5.2 and are never
//! cached, except the browser sign-in's, which are pages or redirects.

pub(crate) mod authorize;
pub(crate) mod device_authorization;
pub(crate) mod revoke;
pub(crate) mod token;
