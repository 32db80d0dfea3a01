//! The loopback listener (RFC 8252 §7.3): a tiny_http server on 127.0.0.1 (or [::1]) with an
//! ephemeral port. The server's page redirects the browser here once the person confirmed,
//! so the CLI can finish at once instead of at its next poll. The callback carries no
//! secret; tokens always come from the token endpoint.

use std::time::{Duration, Instant};

/// The longest single wait handed to tiny_http, which adds it to the clock itself.
const DAY: Duration = Duration::from_secs(86_400);

/// Query parameters of a callback, percent-decoded.
pub(crate) type Query = Vec<(String, String)>;

pub(crate) fn param<'q>(query: &'q Query, name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A request target's path and its percent-decoded query parameters.
pub(crate) fn split(target: &str) -> (&str, Query) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (path, query)
}

pub(crate) struct Loopback {
    server: tiny_http::Server,
    redirect_uri: String,
    path: String,
}

impl Loopback {
    /// Binds 127.0.0.1 on a free port, falling back to [::1].
    pub(crate) fn bind(path: &str) -> Option<Loopback> {
        for host in ["127.0.0.1", "[::1]"] {
            let Ok(server) = tiny_http::Server::http(format!("{host}:0")) else {
                continue;
            };
            let port = server.server_addr().to_ip()?.port();
            return Some(Loopback {
                server,
                redirect_uri: format!("http://{host}:{port}{path}"),
                path: path.to_string(),
            });
        }
        None
    }

    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for a request on the callback path. `accept` looks at its
    /// query and returns the page to answer with, or `None` to treat the request as a stray
    /// (answered 400 and ignored: a forged or stale callback must not end the wait).
    /// Requests on other paths get 404.
    pub(crate) fn wait(
        &self,
        timeout: Duration,
        accept: impl Fn(&Query) -> Option<String>,
    ) -> Option<Query> {
        // A timeout too large for the clock waits as long as the clock can count.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return None;
            }
            let request = match self.server.recv_timeout(left.min(DAY)) {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(_) => {
                    std::thread::sleep(left.min(Duration::from_millis(50)));
                    continue;
                }
            };
            let url = request.url().to_string();
            let (path, query) = split(&url);
            if path != self.path || *request.method() != tiny_http::Method::Get {
                let _ = request.respond(page(404, "Not found", "Nothing here."));
                continue;
            }
            match accept(&query) {
                Some(html) => {
                    let _ = request.respond(html_response(200, html));
                    return Some(query);
                }
                None => {
                    let _ = request.respond(page(400, "Not accepted", "This request was ignored."));
                }
            }
        }
    }
}

/// A complete small HTML page. Both texts are plain text and are escaped here: a message
/// may quote what a callback carried.
pub(crate) fn html(title: &str, message: &str) -> String {
    let (title, message) = (escape(title), escape(message));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}</style>\
</head><body><h1>{title}</h1><p>{message}</p></body></html>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: u16, title: &str, message: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    html_response(status, html(title, message))
}

fn html_response(status: u16, body: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_string(body).with_status_code(status);
    for (k, v) in [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        ("Referrer-Policy", "no-referrer"),
    ] {
        if let Ok(h) = tiny_http::Header::from_bytes(k, v) {
            r.add_header(h);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::html;

    #[test]
    fn pages_escape_what_they_show() {
        let page = html("Sign-in <failed>", "error \"<script>x</script>\" & more");
        assert!(
            !page.contains("<script>") && !page.contains("<failed>"),
            "{page}"
        );
        assert!(
            page.contains("&lt;script&gt;") && page.contains("&amp; more"),
            "{page}"
        );
    }
}
