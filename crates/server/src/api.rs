//! The REST API's shared pieces, and `GET /v1/me`: who the bearer credential belongs to
//! and what kind of credential it is. Errors use `{"error": {"code": …, "message": …}}`;
//! the resource endpoints live in `tokens`, `orgs` and `logs`.

use crate::app::App;
use crate::auth::{self, Auth};
use crate::clock;
use crate::db::Db;
use crate::http::{Form, Reply, Request, ServerError};
use my_api::{codes, CredentialInfo, Me};
use serde::de::DeserializeOwned;

/// Why a REST handler stops early: an answer to send as it is (a 4xx), or a server error.
/// Returning it from inside [`Db::write`] also rolls the transaction back.
#[derive(Debug)]
pub(crate) enum Halt {
    Reply(Reply),
    Server(ServerError),
}

impl From<ServerError> for Halt {
    fn from(e: ServerError) -> Self {
        Halt::Server(e)
    }
}

impl From<rusqlite::Error> for Halt {
    fn from(e: rusqlite::Error) -> Self {
        Halt::Server(e.into())
    }
}

/// What REST handlers return.
pub(crate) type ApiResult = Result<Reply, Halt>;

/// Turns a handler's result into what the router sends.
pub(crate) fn finish(result: ApiResult) -> Result<Reply, ServerError> {
    match result {
        Ok(reply) | Err(Halt::Reply(reply)) => Ok(reply),
        Err(Halt::Server(e)) => Err(e),
    }
}

/// A REST error to stop with.
pub(crate) fn fail(status: u16, code: &str, message: &str) -> Halt {
    Halt::Reply(Reply::api_error(status, code, message))
}

/// 404 NOT_FOUND with `message`.
pub(crate) fn not_found(message: &str) -> Halt {
    fail(404, codes::NOT_FOUND, message)
}

/// 400 BAD_REQUEST with `message`.
pub(crate) fn bad_request(message: &str) -> Halt {
    fail(400, codes::BAD_REQUEST, message)
}

/// At most 40 characters of what the client sent, quoted and escaped, for a message.
pub(crate) fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{}\"", shown.escape_debug())
}

/// The caller, or the 401 to answer.
pub(crate) fn caller(app: &App, db: &mut Db, request: &Request) -> Result<Auth, Halt> {
    auth::authenticate(app, db, request)?.map_err(Halt::Reply)
}

/// The JSON body as `T`.
pub(crate) fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, Halt> {
    serde_json::from_slice(&request.body)
        .map_err(|e| bad_request(&format!("the request body is not the expected JSON: {e}")))
}

/// The query string's parameters.
pub(crate) fn query(request: &Request) -> Result<Form, Halt> {
    request
        .query_form()
        .map_err(|message| bad_request(&message))
}

/// A JSON answer that no cache may keep (everything here is per caller).
pub(crate) fn json<T: serde::Serialize>(status: u16, value: &T) -> Reply {
    Reply::json(status, value).header("Cache-Control", "no-store")
}

/// `GET /v1/me`.
pub(crate) fn me(app: &App, db: &mut Db, request: &Request) -> ApiResult {
    let auth = caller(app, db, request)?;
    Ok(json(
        200,
        &Me {
            id: auth.user_id,
            email: auth.email,
            credential: CredentialInfo {
                kind: auth.kind,
                expires_at: auth.expires_at.map(clock::rfc3339),
                name: auth.token_name,
                organization: auth.organization_id,
            },
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("ci"), "\"ci\"");
        assert_eq!(quote("déjà"), "\"déjà\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(quote(&"x".repeat(41)), format!("\"{}…\"", "x".repeat(40)));
    }
}
