//! The HTTP vocabulary every handler speaks: a fully read [`Request`] with its path
//! [`Params`] and [`Form`]s, the [`Reply`] to send, and the [`Error`] a handler stops with,
//! which renders itself as a REST, OAuth or page answer.
//!
//! A leaf: it knows no HTTP library (`serve` translates), no database and no flow, so
//! everything above can use it and nothing in it can reach back up.

mod error;
mod reply;
mod request;

pub(crate) use error::{quote, Error};
pub(crate) use reply::Reply;
#[cfg(test)]
pub(crate) use request::parse_form;
pub(crate) use request::{log_path, Form, Params, Request};

/// Largest request body accepted (413 above).
pub(crate) const MAX_BODY: usize = 64 * 1024;
