//! Requests to the catalog endpoints (profiles, registry, personal commands, the catalog)
//! and what their refusals mean for the person: an unknown profile or library is "not
//! found" (its own exit code), an organization key is told it needs a personal credential,
//! bad input reads as the server's message.

use crate::api::{Method, Reply};
use crate::app::App;
use crate::auth::session;
use crate::error::{Error, Result};
use my_api::catalog::codes;
use serde::de::DeserializeOwned;

/// Sends a request with the active credential; an unsuccessful answer becomes its error,
/// a 404 the [`Error::NotFound`] that `not_found` phrases.
pub fn send(
    app: &App,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    not_found: &dyn Fn() -> String,
) -> Result<Reply> {
    let (reply, _) = session::send(app, method, path, body)?;
    if reply.is_success() {
        Ok(reply)
    } else {
        Err(refused(reply.into_error(), not_found))
    }
}

/// GET and decode.
pub fn get<T: DeserializeOwned>(
    app: &App,
    path: &str,
    not_found: &dyn Fn() -> String,
) -> Result<T> {
    send(app, Method::Get, path, None, not_found)?.json()
}

/// The server's refusal, phrased for the person.
pub fn refused(e: Error, not_found: &dyn Fn() -> String) -> Error {
    match e {
        Error::Api { status: 404, .. } => Error::NotFound(not_found()),
        Error::Api { code, message, .. } if code == codes::PERSONAL_CREDENTIAL_REQUIRED => {
            Error::Denied(message)
        }
        Error::Api { code, message, .. } if code == codes::PROFILE_SCOPE => Error::Denied(format!(
            "{message}: this API token is scoped to another profile; drop --profile / MY_PROFILE, or use a token for that profile"
        )),
        Error::Api { code, message, .. } if code == codes::HAS_SCOPED_TOKENS => Error::Other(
            format!("{message}: pass --force to delete it and revoke those tokens"),
        ),
        Error::Api { code, message, .. }
            if [codes::INVALID_SPEC, codes::INVALID_SLUG, codes::DEFAULT_PROFILE]
                .contains(&code.as_str()) =>
        {
            Error::Usage(message)
        }
        Error::Api { code, message, .. }
            if [
                codes::PROFILE_EXISTS,
                codes::RELEASE_EXISTS,
                codes::ALREADY_INSTALLED,
                codes::PAYLOAD_TOO_LARGE,
            ]
            .contains(&code.as_str()) =>
        {
            Error::Other(message)
        }
        e => e,
    }
}

/// The message of a 404 on a profile, for every command that names one.
pub fn profile_not_found(slug: &str) -> String {
    format!("profile {slug:?} not found (see `my cli profile list`)")
}
