//! [`Reply`]: the status, headers and body a handler answers with, and the builders for
//! the shapes this server sends: JSON, REST and OAuth errors, pages, redirects.

use my_api::{codes, ApiError, ApiErrorResponse, OAuthError};
use serde::Serialize;

/// A response, built by handlers and written by the worker.
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

// The body may carry a secret (a token response), so Debug shows only its length.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Pages load nothing from elsewhere; forms post here, or follow a 303 to the CLI's
/// loopback listener.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self' http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'; \
     base-uri 'none'";

impl Reply {
    pub(crate) fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// The body as JSON (`null` when empty).
    #[cfg(test)]
    pub(crate) fn body_json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The body as text.
    #[cfg(test)]
    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header called `name`.
    #[cfg(test)]
    pub(crate) fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A JSON body.
    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Reply {
        let mut reply = Reply::new(status).header("Content-Type", "application/json");
        reply.body = serde_json::to_vec(value).unwrap_or_default();
        reply
    }

    /// A body of `content_type`, sent as it is.
    pub(crate) fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        let mut reply = Reply::new(status).header("Content-Type", content_type);
        reply.body = body;
        reply
    }

    /// A REST answer: JSON that no cache may keep (everything in the API is per caller).
    pub(crate) fn private_json<T: Serialize>(status: u16, value: &T) -> Reply {
        Reply::json(status, value).header("Cache-Control", "no-store")
    }

    /// A REST answer without a body: `204 No Content`, which no cache may keep either.
    pub(crate) fn no_content() -> Reply {
        Reply::new(204).header("Cache-Control", "no-store")
    }

    /// A JSON body that must never be cached (token and device responses).
    pub(crate) fn json_no_store<T: Serialize>(status: u16, value: &T) -> Reply {
        Reply::json(status, value)
            .header("Cache-Control", "no-store")
            .header("Pragma", "no-cache")
    }

    /// An RFC 6749 §5.2 error (never cached).
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
        Reply::json_no_store(
            status,
            &OAuthError {
                error: error.to_string(),
                error_description: Some(description.to_string()),
                interval: None,
            },
        )
    }

    /// A REST error: `{"error": {"code": …, "message": …}}`.
    pub(crate) fn api_error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            &ApiErrorResponse {
                error: ApiError {
                    code: code.to_string(),
                    message: message.to_string(),
                },
            },
        )
    }

    /// A server-rendered page with the headers every page carries. `same-origin`, not
    /// `no-referrer`: under `no-referrer` a browser posts the page's forms with
    /// `Origin: null`, which the cross-site check must refuse; another site still learns
    /// nothing.
    pub(crate) fn html(status: u16, page: String) -> Reply {
        let mut reply = Reply::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .header("Content-Security-Policy", CSP)
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "same-origin");
        reply.body = page.into_bytes();
        reply
    }

    /// 500, for a server failure (already logged).
    pub(crate) fn internal_error() -> Reply {
        Reply::api_error(500, codes::INTERNAL, "internal server error")
    }

    /// The status, the headers and the body, for the HTTP front to write.
    pub(crate) fn into_parts(self) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        (self.status, self.headers, self.body)
    }

    /// `303 See Other` to `location`.
    pub(crate) fn see_other(location: &str) -> Reply {
        Reply::new(303)
            .header("Location", location)
            .header("Cache-Control", "no-store")
            .header("Referrer-Policy", "no-referrer")
    }
}
