//! [`Error`]: why a handler stops early. A client's mistake carries the answer it gets —
//! a REST error, an OAuth error (RFC 6749 §5.2) or any finished reply such as a page — and
//! the server's own failure (database, disk) carries only what to log; it is answered 500.
//!
//! Handlers return `Result<Reply, Error>` and use `?` throughout; returned from inside
//! `Db::write`, an error also rolls the transaction back.

use super::Reply;
use my_api::codes;

/// Why a handler stops early.
#[derive(Debug)]
pub(crate) enum Error {
    /// A REST error: `{"error": {"code": …, "message": …}}`.
    Api {
        status: u16,
        code: &'static str,
        message: String,
    },
    /// An OAuth error (RFC 6749 §5.2), never cached.
    OAuth {
        status: u16,
        error: &'static str,
        description: String,
    },
    /// A finished answer: a page, a redirect, or an error with headers of its own.
    Reply(Reply),
    /// The server's fault: logged with this message, answered with 500.
    Internal(String),
}

impl Error {
    /// A REST error.
    pub(crate) fn api(status: u16, code: &'static str, message: impl Into<String>) -> Error {
        Error::Api {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 BAD_REQUEST with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Error {
        Error::api(400, codes::BAD_REQUEST, message)
    }

    /// 404 NOT_FOUND with `message`.
    pub(crate) fn not_found(message: impl Into<String>) -> Error {
        Error::api(404, codes::NOT_FOUND, message)
    }

    /// An OAuth error.
    pub(crate) fn oauth(status: u16, error: &'static str, description: impl Into<String>) -> Error {
        Error::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    /// A server-rendered page as the answer.
    pub(crate) fn page(status: u16, html: String) -> Error {
        Error::Reply(Reply::html(status, html))
    }

    /// The answer to send; `Err` holds the message of a server failure, to log.
    pub(crate) fn render(self) -> Result<Reply, String> {
        match self {
            Error::Api {
                status,
                code,
                message,
            } => Ok(Reply::api_error(status, code, &message)),
            Error::OAuth {
                status,
                error,
                description,
            } => Ok(Reply::oauth_error(status, error, &description)),
            Error::Reply(reply) => Ok(reply),
            Error::Internal(message) => Err(message),
        }
    }
}

/// Any library error (SQLite, I/O) is the server's fault. `Error` itself is not a
/// `std::error::Error`, which is what lets this one impl cover them all.
impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Error::Internal(e.to_string())
    }
}

/// At most 40 characters of what the client sent, quoted and escaped, for a message.
pub(crate) fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{}\"", shown.escape_debug())
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

    #[test]
    fn errors_render_as_their_kind() {
        let api = Error::not_found("no such thing").render().unwrap();
        assert_eq!(api.status, 404);
        assert_eq!(api.body_json()["error"]["code"], "NOT_FOUND");
        let oauth = Error::oauth(400, "invalid_grant", "spent")
            .render()
            .unwrap();
        assert_eq!(oauth.body_json()["error"], "invalid_grant");
        assert_eq!(oauth.header_value("Cache-Control"), Some("no-store"));
        assert_eq!(
            Error::page(410, "<p>over</p>".into())
                .render()
                .unwrap()
                .status,
            410
        );
        let io = std::io::Error::other("disk full");
        assert_eq!(Error::from(io).render().unwrap_err(), "disk full");
    }
}
