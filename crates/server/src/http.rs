//! HTTP plumbing: the worker pool, routing, request bodies and forms, response helpers,
//! and the one-line request log.
//!
//! Handlers (in `oauth`, `authorize`, `magic`, `api`, `tokens`, `orgs`, `logs`) get a fully read [`Request`] and return a
//! [`Reply`]; they never touch tiny_http. Each worker owns one database connection, and a
//! panic in a handler becomes a 500 for that request only.

use crate::app::App;
use crate::db::Db;
use crate::{api, authorize, logs, magic, oauth, orgs, tokens};
use my_api::org::paths as org_paths;
use my_api::{codes, paths, ApiError, ApiErrorResponse, OAuthError};
use serde::Serialize;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// Largest request body accepted (413 above).
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// REST error codes the wire crate does not name (the CLI never needs to match them).
const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

/// A request whose body has been read.
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path without the query string.
    pub(crate) path: String,
    /// Raw query string, without `?`.
    pub(crate) query: String,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The peer's IP address, as text.
    pub(crate) ip: String,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as an `application/x-www-form-urlencoded` form; the error is a message
    /// fit for `error_description`.
    pub(crate) fn form(&self) -> Result<Form, String> {
        let content_type = self.header("Content-Type").unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err("expected an application/x-www-form-urlencoded body".into());
        }
        parse_form(&self.body)
    }

    /// The query string as a form.
    pub(crate) fn query_form(&self) -> Result<Form, String> {
        parse_form(self.query.as_bytes())
    }
}

#[cfg(test)]
impl Request {
    /// A request as a client would send it: `target` may carry a query string.
    pub(crate) fn for_test(
        method: &str,
        target: &str,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers = Vec::new();
        if let Some(token) = bearer {
            headers.push(("Authorization".to_string(), format!("Bearer {token}")));
        }
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            ip: "127.0.0.1".into(),
        }
    }

    /// A form post as a browser sends it, with an optional `Cookie` header.
    pub(crate) fn form_for_test(target: &str, form: &str, cookie: Option<&str>) -> Request {
        let mut request = Request::for_test("POST", target, None, None);
        request.set_header_for_test("Content-Type", "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request.set_header_for_test("Cookie", cookie);
        }
        request.body = form.as_bytes().to_vec();
        request
    }

    /// Sets (replacing) a header.
    pub(crate) fn set_header_for_test(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }
}

/// Decoded form or query parameters.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `a=1&b=x%20y`; a parameter given twice is an error (RFC 6749 §3.1).
pub(crate) fn parse_form(input: &[u8]) -> Result<Form, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(input) {
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(format!("parameter `{name}` was given more than once"));
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(Form { pairs })
}

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

    /// A server-rendered page with the headers every page carries.
    pub(crate) fn html(status: u16, page: String) -> Reply {
        let mut reply = Reply::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .header("Content-Security-Policy", CSP)
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "no-referrer");
        reply.body = page.into_bytes();
        reply
    }

    /// `303 See Other` to `location`.
    pub(crate) fn see_other(location: &str) -> Reply {
        Reply::new(303)
            .header("Location", location)
            .header("Cache-Control", "no-store")
            .header("Referrer-Policy", "no-referrer")
    }
}

/// A failure that is the server's fault (database, disk): logged, answered with 500.
#[derive(Debug)]
pub(crate) struct ServerError(String);

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError(format!("database: {e}"))
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> Self {
        ServerError(format!("io: {e}"))
    }
}

/// Serves requests on one thread per connection in `dbs` until the process ends.
pub(crate) fn serve(
    app: Arc<App>,
    server: Arc<tiny_http::Server>,
    dbs: Vec<Db>,
) -> Result<(), String> {
    let mut workers = Vec::new();
    for (index, mut db) in dbs.into_iter().enumerate() {
        let app = Arc::clone(&app);
        let server = Arc::clone(&server);
        let worker = thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || loop {
                match server.recv() {
                    Ok(request) => handle(&app, &mut db, request),
                    Err(e) => eprintln!("accept failed: {e}"),
                }
            })
            .map_err(|e| format!("cannot start worker thread: {e}"))?;
        workers.push(worker);
    }
    for worker in workers {
        // Workers loop forever; a join only returns if one died.
        let _ = worker.join();
    }
    Err("all worker threads stopped".into())
}

fn handle(app: &App, db: &mut Db, mut raw: tiny_http::Request) {
    let started = Instant::now();
    let (path, query) = match raw.url().split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (raw.url().to_string(), String::new()),
    };
    let method = raw.method().as_str().to_string();
    let ip = raw
        .remote_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let headers = raw
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();

    let reply = match read_body(&mut raw) {
        Err(reply) => reply,
        Ok(body) => {
            let request = Request {
                method: method.clone(),
                path: path.clone(),
                query,
                headers,
                body,
                ip: ip.clone(),
            };
            guarded(&request, || route(app, db, &request))
        }
    };

    let status = reply.status;
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(status);
    response.add_header(header("Server", "my-server"));
    response.add_header(header("X-Content-Type-Options", "nosniff"));
    for (name, value) in &reply.headers {
        response.add_header(header(name, value));
    }
    let sent = raw.respond(response);
    eprintln!(
        "{ip} {method} {} {status} {}ms{}",
        log_path(&path),
        started.elapsed().as_millis(),
        if sent.is_err() { " (client gone)" } else { "" }
    );
}

/// Runs a handler; its server errors and panics become a logged 500 for this request only.
fn guarded(request: &Request, handler: impl FnOnce() -> Result<Reply, ServerError>) -> Reply {
    match panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(Ok(reply)) => reply,
        Ok(Err(ServerError(message))) => {
            let path = log_path(&request.path);
            eprintln!("internal error on {} {path}: {message}", request.method);
            internal_error()
        }
        // The panic hook has already logged it.
        Err(_) => internal_error(),
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| tiny_http::Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).unwrap())
}

fn internal_error() -> Reply {
    Reply::api_error(500, codes::INTERNAL, "internal server error")
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes with 413.
fn read_body(raw: &mut tiny_http::Request) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::api_error(413, PAYLOAD_TOO_LARGE, "request body is larger than 64 KiB")
            .header("Connection", "close")
    };
    if raw.body_length().is_some_and(|len| len > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    raw.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| {
            Reply::api_error(400, codes::BAD_REQUEST, "could not read the request body")
        })?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(body)
}

/// The path as logged: magic-link tokens replaced, odd characters neutralised.
fn log_path(path: &str) -> String {
    if path.starts_with(paths::MAGIC_LINK) {
        return format!("{}…", paths::MAGIC_LINK);
    }
    path.chars()
        .take(120)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn method_not_allowed(allow: &'static str) -> Reply {
    Reply::api_error(405, METHOD_NOT_ALLOWED, "method not allowed on this path")
        .header("Allow", allow)
}

/// The route table.
pub(crate) fn route(app: &App, db: &mut Db, request: &Request) -> Result<Reply, ServerError> {
    let method = request.method.as_str();
    let path = request.path.as_str();
    if path == my_api::METADATA_PATH || path == my_api::OIDC_METADATA_PATH {
        return Ok(match method {
            "GET" => oauth::metadata(app),
            _ => method_not_allowed("GET"),
        });
    }
    if let Some(token) = path.strip_prefix(paths::MAGIC_LINK) {
        return match method {
            "GET" => magic::show_link(app, db, token),
            "POST" => magic::act_on_link(app, db, token, request),
            _ => Ok(method_not_allowed("GET, POST")),
        };
    }
    if let Some(id) = path
        .strip_prefix(paths::TOKENS)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        return match method {
            "PATCH" => api::finish(tokens::rename(app, db, request, id)),
            "DELETE" => api::finish(tokens::revoke(app, db, request, id)),
            _ => Ok(method_not_allowed("PATCH, DELETE")),
        };
    }
    match (path, method) {
        (paths::DEVICE_AUTHORIZATION, "POST") => oauth::device_authorization(app, db, request),
        (paths::TOKEN, "POST") => oauth::token(app, db, request),
        (paths::REVOCATION, "POST") => oauth::revoke(app, db, request),
        (paths::DEVICE_AUTHORIZATION | paths::TOKEN | paths::REVOCATION, _) => {
            Ok(method_not_allowed("POST"))
        }
        (paths::AUTHORIZATION, "GET") => authorize::authorize(app, db, request),
        (paths::AUTHORIZATION, _) => Ok(method_not_allowed("GET")),
        (paths::AUTHORIZE_SIGN_IN, "POST") => authorize::sign_in_submit(app, db, request),
        (paths::AUTHORIZE_CONSENT, "POST") => authorize::consent_submit(app, db, request),
        (paths::AUTHORIZE_SIGN_IN | paths::AUTHORIZE_CONSENT, _) => Ok(method_not_allowed("POST")),
        (paths::DEVICE_PAGE, "GET") => Ok(magic::device_page(app, request)),
        (paths::DEVICE_PAGE, "POST") => magic::device_submit(app, db, request),
        (paths::DEVICE_PAGE, _) => Ok(method_not_allowed("GET, POST")),
        (paths::ME, "GET") => api::finish(api::me(app, db, request)),
        (paths::TOKENS, "GET") => api::finish(tokens::list(app, db, request)),
        (paths::TOKENS, "POST") => api::finish(tokens::create(app, db, request)),
        (paths::TOKENS, _) => Ok(method_not_allowed("GET, POST")),
        (org_paths::ORGANIZATIONS, "GET") => api::finish(orgs::organizations(app, db, request)),
        (org_paths::PROJECTS, "GET") => api::finish(orgs::projects(app, db, request)),
        (org_paths::ENVIRONMENTS, "GET") => api::finish(orgs::environments(app, db, request)),
        (org_paths::LOGS, "GET") => api::finish(logs::read(app, db, request)),
        (org_paths::LOGS, "POST") => api::finish(logs::append(app, db, request)),
        (org_paths::LOGS, _) => Ok(method_not_allowed("GET, POST")),
        (
            paths::ME | org_paths::ORGANIZATIONS | org_paths::PROJECTS | org_paths::ENVIRONMENTS,
            _,
        ) => Ok(method_not_allowed("GET")),
        _ => Ok(Reply::api_error(404, codes::NOT_FOUND, "no such endpoint")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let form =
            parse_form(b"grant_type=refresh_token&scope=openid+email&x=a%26b%3D&empty=").unwrap();
        assert_eq!(form.get("grant_type"), Some("refresh_token"));
        assert_eq!(form.get("scope"), Some("openid email"));
        assert_eq!(form.get("x"), Some("a&b="));
        assert_eq!(form.get("empty"), None);
        assert_eq!(form.get("missing"), None);
        assert_eq!(
            parse_form(b"login_hint=a%40example.com")
                .unwrap()
                .get("login_hint"),
            Some("a@example.com")
        );
        assert!(parse_form(b"").unwrap().get("a").is_none());
    }

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(parse_form(b"client_id=a&client_id=b").is_err());
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/oauth/token".into(),
            query: String::new(),
            headers: content_type
                .map(|ct| vec![("content-type".to_string(), ct.to_string())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn form_bodies_need_the_form_content_type() {
        let ok = request(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "a=1",
        );
        assert_eq!(ok.form().unwrap().get("a"), Some("1"));
        assert!(request(Some("application/json"), "{\"a\":1}")
            .form()
            .is_err());
        assert!(request(None, "a=1").form().is_err());
    }

    #[test]
    fn handler_panics_become_500() {
        let req = request(None, "");
        let reply = guarded(&req, || panic!("boom"));
        assert_eq!(reply.status, 500);
        assert!(String::from_utf8_lossy(&reply.body).contains("INTERNAL"));
        let reply = guarded(&req, || Err(ServerError("disk full".into())));
        assert_eq!(reply.status, 500);
        assert_eq!(guarded(&req, || Ok(Reply::new(204))).status, 204);
    }

    #[test]
    fn magic_tokens_never_reach_the_log() {
        assert_eq!(log_path("/magic/secret-token"), "/magic/…");
        assert_eq!(log_path("/v1/me"), "/v1/me");
        assert_eq!(log_path("/a\nb"), "/a?b");
    }
}
