//! The HTTP client: blocking ureq with timeouts on every request, proxies from the
//! environment, the system trust store. It sees a bearer token when given one and nothing
//! else of the credentials; a redirect never carries the Authorization header.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde::de::DeserializeOwned;
use std::time::Duration;

const USER_AGENT: &str = concat!("my/", env!("CARGO_PKG_VERSION"));

/// A status and body, read whatever the status was. The body may hold tokens, so `Debug`
/// shows only its length.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    /// The `ETag` header, for conditional requests.
    pub(crate) etag: Option<String>,
    url: String,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("url", &self.url)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Decodes a JSON body.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.body).map_err(|e| {
            Error::Unavailable(format!(
                "{} answered HTTP {} with an unexpected body ({e})",
                self.url, self.status
            ))
        })
    }

    /// Decodes a successful JSON body, or turns the failure into the matching error.
    pub(crate) fn ok_json<T: DeserializeOwned>(self) -> Result<T> {
        if self.is_success() {
            self.json()
        } else {
            Err(self.into_error())
        }
    }

    /// The error for an unsuccessful REST reply: 5xx → unavailable, 401 → rejected,
    /// other 4xx → the server's `{"error": {"code", "message"}}`.
    pub(crate) fn into_error(self) -> Error {
        let api: Option<my_api::ApiErrorResponse> = serde_json::from_str(&self.body).ok();
        match self.status {
            500.. => Error::Unavailable(format!(
                "the server at {} failed (HTTP {}); try again later",
                origin(&self.url),
                self.status
            )),
            401 => Error::Rejected(match api {
                Some(a) => format!("the server rejected the credential ({})", a.error.message),
                None => "the server rejected the credential".into(),
            }),
            status => match api {
                Some(a) => Error::Api {
                    status,
                    code: a.error.code,
                    message: a.error.message,
                },
                None => Error::Api {
                    status,
                    code: "HTTP".into(),
                    message: format!("{} answered HTTP {status}", self.url),
                },
            },
        }
    }
}

/// The HTTP methods the REST API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

pub(crate) struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// Timeouts: 10 s to connect, 30 s for a whole request (`MY_HTTP_TIMEOUT` seconds
    /// overrides the latter, e.g. for slow links).
    pub(crate) fn new() -> Client {
        let total = std::env::var("MY_HTTP_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(30));
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(total))
            .timeout_connect(Some(Duration::from_secs(10).min(total)))
            .user_agent(USER_AGENT)
            .tls_config(tls)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .build()
            .new_agent();
        Client { agent }
    }

    pub(crate) fn get(&self, url: &str, bearer: Option<&Secret>) -> Result<Reply> {
        self.send(Method::Get, url, bearer, None)
    }

    /// A REST request with an optional JSON body.
    pub(crate) fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&Secret>,
        json: Option<&serde_json::Value>,
    ) -> Result<Reply> {
        self.send_with(method, url, bearer, json, &[])
    }

    /// [`Client::send`] with extra request headers (e.g. `If-None-Match`).
    pub(crate) fn send_with(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&Secret>,
        json: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply> {
        let auth = bearer.map(|t| format!("Bearer {}", t.expose()));
        let auth = auth.as_deref();
        let body = || json.map(|j| j.to_string()).unwrap_or_default();
        let res = match method {
            Method::Get => with_headers(self.agent.get(url), auth, headers).call(),
            Method::Delete => with_headers(self.agent.delete(url), auth, headers).call(),
            Method::Post => with_headers(self.agent.post(url), auth, headers)
                .header("Content-Type", "application/json")
                .send(body()),
            Method::Patch => with_headers(self.agent.patch(url), auth, headers)
                .header("Content-Type", "application/json")
                .send(body()),
        };
        Self::finish(url, res)
    }

    /// A form-encoded POST (what OAuth endpoints require).
    pub(crate) fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        bearer: Option<&Secret>,
    ) -> Result<Reply> {
        let mut req = self.agent.post(url).header("Accept", "application/json");
        if let Some(token) = bearer {
            req = req.header("Authorization", format!("Bearer {}", token.expose()));
        }
        Self::finish(url, req.send_form(form.iter().copied()))
    }

    fn finish(
        url: &str,
        res: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply> {
        let mut res = res.map_err(|e| transport_error(url, e))?;
        let status = res.status().as_u16();
        let etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = res
            .body_mut()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| transport_error(url, e))?;
        Ok(Reply {
            status,
            body,
            etag,
            url: url.to_string(),
        })
    }
}

/// Accept JSON, the Authorization header when there is a token, and `extra`.
fn with_headers<B>(
    mut req: ureq::RequestBuilder<B>,
    auth: Option<&str>,
    extra: &[(&str, &str)],
) -> ureq::RequestBuilder<B> {
    req = req.header("Accept", "application/json");
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req
}

fn transport_error(url: &str, e: ureq::Error) -> Error {
    let why = match &e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        other => other.to_string(),
    };
    Error::Unavailable(format!(
        "cannot reach the server at {} ({why}); check MY_API_URL and your network",
        origin(url)
    ))
}

/// `scheme://host[:port]` of a URL, for messages.
pub(crate) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origin_of_urls() {
        assert_eq!(
            origin("http://127.0.0.1:7780/v1/me"),
            "http://127.0.0.1:7780"
        );
        assert_eq!(origin("https://a.b"), "https://a.b");
    }

    #[test]
    fn a_reply_never_debug_prints_its_body() {
        let r = super::Reply {
            status: 200,
            body: "{\"access_token\":\"eyJsecret\"}".into(),
            etag: None,
            url: "http://x/oauth/token".into(),
        };
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("eyJsecret") && shown.contains("bytes"),
            "{shown}"
        );
    }
}
