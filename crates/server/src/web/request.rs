//! [`Request`]: a request as handlers see it, its body already read; the [`Form`] of its
//! body or query string; the [`Params`] of its route; and how its path is logged.

use super::Error;
use my_api::paths;
use serde::de::DeserializeOwned;

/// A request whose body has been read.
#[derive(Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path without the query string.
    pub(crate) path: String,
    /// Raw query string, without `?`.
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client's IP address, as text: the peer's, or behind a `--trusted-proxy` the
    /// address that proxy forwarded for.
    pub(crate) ip: String,
}

impl Request {
    /// Every value of the headers called `name` (case-insensitive), in order.
    pub(crate) fn header_values<'r>(&'r self, name: &'r str) -> impl Iterator<Item = &'r str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the browser says this request was made by another site's page: a
    /// `Sec-Fetch-Site: cross-site`, or an `Origin` other than `own_origin` (`null`
    /// included). Clients that are not browsers send neither.
    pub(crate) fn made_by_another_site(&self, own_origin: &str) -> bool {
        let cross_site = self
            .header("Sec-Fetch-Site")
            .is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site"));
        let foreign_origin = self
            .header("Origin")
            .is_some_and(|origin| !origin.trim().eq_ignore_ascii_case(own_origin));
        cross_site || foreign_origin
    }

    /// Whether the body is a form (what a page posts).
    pub(crate) fn is_form(&self) -> bool {
        self.form().is_ok()
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

    /// The query string's parameters for the REST API: a malformed one is a 400.
    pub(crate) fn query_params(&self) -> Result<Form, Error> {
        self.query_form().map_err(Error::bad_request)
    }

    /// The JSON body as `T`: anything else is a 400.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::bad_request(format!("the request body is not the expected JSON: {e}"))
        })
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

/// The values of a route pattern's `{name}` segments, e.g. `id` in `/v1/tokens/{id}`.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(&'static str, String)>,
}

impl Params {
    /// Adds `name`'s value (the router does this while matching).
    pub(crate) fn push(&mut self, name: &'static str, value: &str) {
        self.pairs.push((name, value.to_string()));
    }

    /// The value of `{name}`; empty when the pattern has no such segment.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The path as logged: magic-link tokens replaced, odd characters neutralised.
pub(crate) fn log_path(path: &str) -> String {
    if path.starts_with(paths::MAGIC_LINK) {
        return format!("{}…", paths::MAGIC_LINK);
    }
    path.chars()
        .take(120)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
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
    fn other_sites_are_recognised() {
        let own = "http://127.0.0.1:7780";
        let mut r = request(Some("application/x-www-form-urlencoded"), "a=1");
        assert!(
            !r.made_by_another_site(own),
            "a client without browser headers"
        );
        r.headers.push(("Origin".into(), own.into()));
        r.headers
            .push(("Sec-Fetch-Site".into(), "same-origin".into()));
        assert!(!r.made_by_another_site(own));
        r.headers[1].1 = "http://evil.example".into();
        assert!(r.made_by_another_site(own));
        r.headers[1].1 = "null".into();
        assert!(r.made_by_another_site(own));
        r.headers[1].1 = own.into();
        r.headers[2].1 = "cross-site".into();
        assert!(r.made_by_another_site(own));
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
    fn magic_tokens_never_reach_the_log() {
        assert_eq!(log_path("/magic/secret-token"), "/magic/…");
        assert_eq!(log_path("/v1/me"), "/v1/me");
        assert_eq!(log_path("/a\nb"), "/a?b");
    }
}
