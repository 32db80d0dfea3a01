//! The HTTP client: blocking ureq with timeouts on every request, proxies from the
//! environment (never for loopback hosts), the system trust store. It sees a bearer token
//! when given one and nothing else of the credentials; a redirect never carries the
//! Authorization header. An idempotent request that fails on a kept-alive connection the
//! server just closed is retried once on a fresh one.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde::de::DeserializeOwned;
use std::time::Duration;

const USER_AGENT: &str = concat!("my/", env!("CARGO_PKG_VERSION"));

/// A status and body, read whatever the status was. The body may hold tokens, so `Debug`
/// shows only its length.
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// The `ETag` header, for conditional requests.
    pub etag: Option<String>,
    pub url: String,
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
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Decodes a JSON body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.body).map_err(|e| {
            Error::Unavailable(format!(
                "{} answered HTTP {} with an unexpected body ({e})",
                self.url, self.status
            ))
        })
    }

    /// Decodes a successful JSON body, or turns the failure into the matching error.
    pub fn ok_json<T: DeserializeOwned>(self) -> Result<T> {
        if self.is_success() {
            self.json()
        } else {
            Err(self.into_error())
        }
    }

    /// The error for an unsuccessful REST reply: 5xx → unavailable, 401 → rejected,
    /// other 4xx → the server's `{"error": {"code", "message"}}`.
    pub fn into_error(self) -> Error {
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
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

pub struct Client {
    /// Through the proxy named in the environment, if any.
    agent: ureq::Agent,
    /// Never through a proxy: for loopback hosts, which a proxy would only see into.
    direct: ureq::Agent,
}

/// Whether a request may be sent twice: a retry must not repeat an effect (a refresh token
/// rotates once, a token is created once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Once,
    Never,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// Timeouts: 10 s to connect, 30 s for a whole request (`MY_HTTP_TIMEOUT` seconds
    /// overrides the latter, e.g. for slow links).
    pub fn new() -> Client {
        let total = std::env::var("MY_HTTP_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(30));
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(crate::tls::provider()))
            .build();
        let config = |proxy: Option<ureq::Proxy>| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(total))
                .timeout_connect(Some(Duration::from_secs(10).min(total)))
                .user_agent(USER_AGENT)
                .tls_config(tls.clone())
                .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
                // One idle connection per host: after a failure on it, a retry is fresh.
                .max_idle_connections_per_host(1)
                .proxy(proxy)
                .build()
                .new_agent()
        };
        Client {
            agent: config(ureq::Proxy::try_from_env()),
            direct: config(None),
        }
    }

    fn agent(&self, url: &str) -> &ureq::Agent {
        if url::Url::parse(url).is_ok_and(|u| is_loopback(&u)) {
            &self.direct
        } else {
            &self.agent
        }
    }

    pub fn get(&self, url: &str, bearer: Option<&Secret>) -> Result<Reply> {
        self.send(Method::Get, url, bearer, None)
    }

    /// A GET that does not follow redirects (OAuth metadata: a redirect could name endpoints
    /// on another origin). A 3xx comes back as the reply.
    pub fn get_no_redirect(&self, url: &str) -> Result<Reply> {
        self.with_retry(Retry::Once, url, || {
            let req = self.agent(url).get(url).config().max_redirects(0).build();
            with_headers(req, None, &[]).call()
        })
    }

    /// A REST request with an optional JSON body.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&Secret>,
        json: Option<&serde_json::Value>,
    ) -> Result<Reply> {
        self.send_with(method, url, bearer, json, &[])
    }

    /// [`Client::send`] with extra request headers (e.g. `If-None-Match`).
    pub fn send_with(
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
        let agent = self.agent(url);
        let retry = match method {
            Method::Get | Method::Delete => Retry::Once,
            Method::Post | Method::Patch => Retry::Never,
        };
        self.with_retry(retry, url, || match method {
            Method::Get => with_headers(agent.get(url), auth, headers).call(),
            Method::Delete => with_headers(agent.delete(url), auth, headers).call(),
            Method::Post => with_headers(agent.post(url), auth, headers)
                .header("Content-Type", "application/json")
                .send(body()),
            Method::Patch => with_headers(agent.patch(url), auth, headers)
                .header("Content-Type", "application/json")
                .send(body()),
        })
    }

    /// A form-encoded POST (what OAuth endpoints require), sent once.
    pub fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        bearer: Option<&Secret>,
    ) -> Result<Reply> {
        self.form(url, form, bearer, Retry::Never)
    }

    /// A form-encoded POST that is harmless to send twice (a device-flow poll, a
    /// revocation): retried once when the connection broke under it.
    pub fn post_form_idempotent(&self, url: &str, form: &[(&str, &str)]) -> Result<Reply> {
        self.form(url, form, None, Retry::Once)
    }

    fn form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        bearer: Option<&Secret>,
        retry: Retry,
    ) -> Result<Reply> {
        let auth = bearer.map(|t| format!("Bearer {}", t.expose()));
        self.with_retry(retry, url, || {
            with_headers(self.agent(url).post(url), auth.as_deref(), &[])
                .send_form(form.iter().copied())
        })
    }

    /// Sends, and with `Retry::Once` sends again once when the connection broke under the
    /// request: a server (Node's default is 5 s) may close an idle kept-alive connection just
    /// as the request goes out on it. ureq has dropped the broken connection, and keeps at
    /// most one idle per host, so the second attempt opens a fresh one.
    fn with_retry(
        &self,
        retry: Retry,
        url: &str,
        send: impl Fn() -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply> {
        match send() {
            Err(e) if retry == Retry::Once && is_broken_connection(&e) => Self::finish(url, send()),
            res => Self::finish(url, res),
        }
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

/// The connection went away under the request (reset, closed, or cut off mid-reply).
fn is_broken_connection(e: &ureq::Error) -> bool {
    use std::io::ErrorKind::*;
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
        ),
        ureq::Error::Protocol(_) => true,
        _ => false,
    }
}

/// Whether a URL's host is this machine: 127.0.0.0/8, ::1 or `localhost`. Plain `http://`
/// is only accepted for these, and they never go through a proxy.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether two URLs share scheme, host and port (default ports made explicit).
pub fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin().is_tuple() && a.origin() == b.origin(),
        _ => false,
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
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, origin, same_origin};

    #[test]
    fn origins_and_loopback_hosts() {
        assert!(same_origin("https://a.b/x", "https://A.b:443/y?z"));
        assert!(!same_origin("https://a.b", "http://a.b"));
        assert!(!same_origin("http://127.0.0.1:1/", "http://127.0.0.1:2/"));
        assert!(!same_origin(
            "http://127.0.0.1:1@evil.test/",
            "http://127.0.0.1:1/"
        ));
        assert!(!same_origin("file:///etc/passwd", "file:///etc/passwd"));
        let lo = |u: &str| is_loopback(&url::Url::parse(u).unwrap());
        assert!(lo("http://127.0.0.1:7780") && lo("http://[::1]:1/") && lo("http://LOCALHOST/"));
        assert!(lo("http://127.2.3.4/"));
        assert!(!lo("http://10.0.0.1/") && !lo("http://127.0.0.1.evil.test/"));
    }

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
