//! The loopback listener (RFC 8252 §7.3): a tiny_http server on 127.0.0.1 (or [::1]) with an
//! ephemeral port. The server's page redirects the browser here once the person confirmed,
//! so the CLI can finish at once instead of at its next poll. The callback carries no
//! secret; tokens always come from the token endpoint.
//!
//! tiny_http reads each connection in a thread of its own and queues whole requests, so a
//! connection a browser opened ahead and left idle cannot hold up the callback. Its limits
//! as a public server (a thread per connection, no read timeout, no size limit on a request
//! head) do not matter for one short exchange on loopback.

use std::time::{Duration, Instant};

/// The longest single wait handed to tiny_http, which adds it to the clock itself.
const DAY: Duration = Duration::from_secs(86_400);
/// How long to wait before asking again when the listener reported an error (its accept
/// thread ended): the wait still lasts its time.
const AFTER_ERROR: Duration = Duration::from_millis(50);

/// Query parameters of a callback, percent-decoded.
pub type Query = Vec<(String, String)>;

pub fn param<'q>(query: &'q Query, name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A request target's path and its percent-decoded query parameters.
pub fn split(target: &str) -> (&str, Query) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (path, query)
}

pub struct Loopback {
    server: tiny_http::Server,
    redirect_uri: String,
    path: String,
}

impl Loopback {
    /// Binds 127.0.0.1 on a free port, falling back to [::1].
    pub fn bind(path: &str) -> Option<Loopback> {
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

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for a request on the callback path. `accept` looks at its
    /// query and returns the page to answer with, or `None` to treat the request as a stray
    /// (answered 400 and ignored: a forged or stale callback must not end the wait).
    /// Requests on other paths get 404.
    pub fn wait(
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
                Ok(None) => continue,
                Err(_) => {
                    std::thread::sleep(left.min(AFTER_ERROR));
                    continue;
                }
            };
            let (path, query) = split(request.url());
            if path != self.path || *request.method() != tiny_http::Method::Get {
                respond(request, 404, html("Not found", "Nothing here."));
                continue;
            }
            match accept(&query) {
                Some(page) => {
                    respond(request, 200, page);
                    return Some(query);
                }
                None => respond(
                    request,
                    400,
                    html("Not accepted", "This request was ignored."),
                ),
            }
        }
    }
}

/// Answers `request` with a whole HTML page that is neither cached nor allowed to load
/// anything, nor to tell the next page where the browser came from.
fn respond(request: tiny_http::Request, status: u16, body: String) {
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    for (name, value) in [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        ("Referrer-Policy", "no-referrer"),
    ] {
        if let Ok(header) = tiny_http::Header::from_bytes(name, value) {
            response.add_header(header);
        }
    }
    // A browser that went away first is no reason to fail the sign-in.
    let _ = request.respond(response);
}

/// A complete small HTML page. Both texts are plain text and are escaped here: a message
/// may quote what a callback carried.
pub fn html(title: &str, message: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::{html, param, Loopback, Query};
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    fn addr(l: &Loopback) -> String {
        let uri = l.redirect_uri().trim_start_matches("http://");
        uri.split('/').next().unwrap().to_string()
    }

    /// Sends a GET for `target` on `s` in a thread; its reply and how long it took.
    fn get_on(mut s: TcpStream, target: &str) -> std::thread::JoinHandle<(String, Duration)> {
        let target = target.to_string();
        std::thread::spawn(move || {
            let started = Instant::now();
            write!(
                s,
                "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            (reply, started.elapsed())
        })
    }

    fn accept(q: &Query) -> Option<String> {
        (param(q, "code") == Some("ok")).then(|| html("Done", "ok"))
    }

    // Regression: a browser opens connections ahead (preconnect) and may send nothing on
    // them; the callback, on a connection of its own or on one opened ahead, must still be
    // answered at once.
    #[test]
    fn idle_connections_opened_ahead_do_not_hold_up_the_callback() {
        let l = Loopback::bind("/cb").unwrap();
        let _idle = TcpStream::connect(addr(&l)).unwrap();
        let ahead = TcpStream::connect(addr(&l)).unwrap();
        // A stray path and a refused callback are answered, and the wait goes on.
        for (target, status) in [("/other?code=ok", "404"), ("/cb?code=bad", "400")] {
            let client = get_on(TcpStream::connect(addr(&l)).unwrap(), target);
            assert!(l.wait(Duration::from_millis(300), accept).is_none());
            let (reply, _) = client.join().unwrap();
            assert!(reply.starts_with(&format!("HTTP/1.1 {status} ")), "{reply}");
        }
        let good = get_on(ahead, "/cb?code=ok&state=s%20t");
        let query = l
            .wait(Duration::from_secs(10), accept)
            .expect("the callback was taken");
        assert_eq!(param(&query, "state"), Some("s t"));
        let (reply, took) = good.join().unwrap();
        assert!(took < Duration::from_secs(1), "the callback took {took:?}");
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        for header in [
            "Content-Type: text/html; charset=utf-8",
            "Cache-Control: no-store",
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'",
            "Referrer-Policy: no-referrer",
        ] {
            assert!(reply.contains(&format!("{header}\r\n")), "{reply}");
        }
        assert!(reply.ends_with("</html>"), "{reply}");
    }

    // Regression: when the listener kept a table of connections, idle ones opened after
    // the browser's pushed its request out unread.
    #[test]
    fn idle_connections_opened_after_the_callback_cannot_push_it_out() {
        let l = Loopback::bind("/cb").unwrap();
        let browser = get_on(TcpStream::connect(addr(&l)).unwrap(), "/cb?code=ok");
        let _flood: Vec<TcpStream> = (0..64)
            .map(|_| TcpStream::connect(addr(&l)).unwrap())
            .collect();
        let query = l.wait(Duration::from_secs(2), accept);
        assert_eq!(query.as_ref().and_then(|q| param(q, "code")), Some("ok"));
        let (reply, _) = browser.join().unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    }

    #[test]
    fn a_wait_ends_at_its_timeout() {
        let l = Loopback::bind("/cb").unwrap();
        let started = Instant::now();
        assert!(l.wait(Duration::from_millis(50), |_| None).is_none());
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

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
