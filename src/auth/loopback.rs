//! The loopback listener (RFC 8252 §7.3): a small HTTP/1.1 server on 127.0.0.1 (or [::1])
//! with an ephemeral port. The server's page redirects the browser here once the person
//! confirmed, so the CLI can finish at once instead of at its next poll. The callback
//! carries no secret; tokens always come from the token endpoint.
//!
//! It answers one GET per connection and closes it. Connections are watched together with
//! poll(2), so one a browser opened ahead and left idle cannot hold up the callback.

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The longest request head read; a larger one is dropped.
const MAX_HEAD: usize = 16 * 1024;
/// Connections kept open at once; past that the oldest is dropped.
const MAX_CONNECTIONS: usize = 32;
/// How long writing a page may take (a few hundred bytes, to a local socket).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

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
    listener: TcpListener,
    /// Accepted connections whose request head is not complete yet, kept between waits.
    pending: RefCell<Vec<Connection>>,
    redirect_uri: String,
    path: String,
}

struct Connection {
    stream: TcpStream,
    head: Vec<u8>,
}

impl Loopback {
    /// Binds 127.0.0.1 on a free port, falling back to [::1].
    pub fn bind(path: &str) -> Option<Loopback> {
        for host in ["127.0.0.1", "[::1]"] {
            let Ok(listener) = TcpListener::bind(format!("{host}:0")) else {
                continue;
            };
            listener.set_nonblocking(true).ok()?;
            let port = listener.local_addr().ok()?.port();
            return Some(Loopback {
                listener,
                pending: RefCell::new(Vec::new()),
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
        let mut pending = self.pending.borrow_mut();
        loop {
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return None;
            }
            let ready = poll_readable(&self.listener, &pending, left);
            // From the end, so removing one leaves the indices still to visit in place.
            for i in (0..ready.len().saturating_sub(1)).rev() {
                if !ready[i + 1] || i >= pending.len() {
                    continue;
                }
                match self.serve(&mut pending[i], &accept) {
                    Step::Wait => continue,
                    Step::Done => {
                        pending.swap_remove(i);
                    }
                    Step::Taken(query) => return Some(query),
                }
            }
            // New connections after the ones `ready` is about, at most a full table a round
            // (a connect flood cannot keep the wait from reading or timing out). A request
            // already sent is read at once; when the table is full, a connection that has
            // sent nothing makes room first, so idle ones cannot push a browser's out.
            if ready.first() == Some(&true) {
                for _ in 0..MAX_CONNECTIONS {
                    let Ok((stream, _)) = self.listener.accept() else {
                        break;
                    };
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let mut conn = Connection {
                        stream,
                        head: Vec::new(),
                    };
                    match self.serve(&mut conn, &accept) {
                        Step::Wait => {}
                        Step::Done => continue,
                        Step::Taken(query) => return Some(query),
                    }
                    if pending.len() == MAX_CONNECTIONS {
                        let silent = pending.iter().position(|c| c.head.is_empty());
                        pending.remove(silent.unwrap_or(0));
                    }
                    pending.push(conn);
                }
            }
        }
    }

    /// Reads what `conn` has sent and, once its request is whole, answers it.
    fn serve(&self, conn: &mut Connection, accept: &impl Fn(&Query) -> Option<String>) -> Step {
        match read_head(conn) {
            Head::Partial => Step::Wait,
            Head::Gone => Step::Done,
            Head::Complete(request_line) => {
                match self.answer(&mut conn.stream, &request_line, accept) {
                    Some(query) => Step::Taken(query),
                    None => Step::Done,
                }
            }
        }
    }

    /// Answers one request; returns its query when `accept` took it.
    fn answer(
        &self,
        stream: &mut TcpStream,
        request_line: &str,
        accept: &impl Fn(&Query) -> Option<String>,
    ) -> Option<Query> {
        let mut parts = request_line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (path, query) = split(target);
        if path != self.path || method != "GET" {
            respond(stream, 404, &html("Not found", "Nothing here."));
            return None;
        }
        match accept(&query) {
            Some(page) => {
                respond(stream, 200, &page);
                Some(query)
            }
            None => {
                respond(
                    stream,
                    400,
                    &html("Not accepted", "This request was ignored."),
                );
                None
            }
        }
    }
}

/// Which of the listener (first) and the pending connections can be read without blocking,
/// after waiting at most `timeout` for one of them. All false on a timeout or an
/// interrupted wait.
fn poll_readable(listener: &TcpListener, pending: &[Connection], timeout: Duration) -> Vec<bool> {
    let mut fds: Vec<libc::pollfd> = std::iter::once(listener.as_raw_fd())
        .chain(pending.iter().map(|c| c.stream.as_raw_fd()))
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Whole milliseconds, rounded up so a short wait does not spin; a day at most.
    let ms = timeout
        .as_millis()
        .saturating_add(u128::from(
            !timeout.subsec_nanos().is_multiple_of(1_000_000),
        ))
        .min(86_400_000) as libc::c_int;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    fds.iter().map(|p| n > 0 && p.revents != 0).collect()
}

enum Head {
    /// More bytes are needed (or none were there yet).
    Partial,
    /// Closed, failed or too large: drop the connection.
    Gone,
    /// The whole head arrived; its first line.
    Complete(String),
}

/// Reads what is there of a request head.
fn read_head(conn: &mut Connection) -> Head {
    let mut buf = [0u8; 4096];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Head::Gone,
            Ok(n) => conn.head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Head::Gone,
        }
        if conn.head.len() > MAX_HEAD {
            return Head::Gone;
        }
    }
    let head = &conn.head;
    let complete =
        head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n");
    if !complete {
        return Head::Partial;
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    Head::Complete(String::from_utf8_lossy(line).trim_end().to_string())
}

/// What became of a connection that was read.
enum Step {
    /// Its request is not whole yet.
    Wait,
    /// Answered (or gone) without ending the wait: forget it.
    Done,
    /// The callback: the wait is over.
    Taken(Query),
}

/// Sends a whole HTML page and closes the connection.
fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Cache-Control: no-store\r\n\
Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
Referrer-Policy: no-referrer\r\n\
Content-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Write);
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
    use super::{html, param, Loopback};
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    fn get(port_uri: &str, target: &str) -> std::thread::JoinHandle<String> {
        let addr = port_uri
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let target = target.to_string();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            reply
        })
    }

    #[test]
    fn an_idle_connection_does_not_hold_up_the_callback() {
        let l = Loopback::bind("/cb").unwrap();
        let uri = l.redirect_uri().to_string();
        // A browser may open a connection ahead and send nothing on it.
        let _idle =
            TcpStream::connect(uri.trim_start_matches("http://").trim_end_matches("/cb")).unwrap();
        let accept =
            |q: &super::Query| (param(q, "code") == Some("ok")).then(|| html("Done", "ok"));
        // A stray path and a refused callback are answered, and the wait goes on.
        for (target, status) in [("/other?code=ok", "404"), ("/cb?code=bad", "400")] {
            let client = get(&uri, target);
            assert!(l.wait(Duration::from_millis(300), accept).is_none());
            let reply = client.join().unwrap();
            assert!(reply.starts_with(&format!("HTTP/1.1 {status} ")), "{reply}");
        }
        let good = get(&uri, "/cb?code=ok&state=s%20t");
        let query = l
            .wait(Duration::from_secs(10), accept)
            .expect("the callback was taken");
        assert_eq!(param(&query, "state"), Some("s t"));
        let good = good.join().unwrap();
        assert!(good.starts_with("HTTP/1.1 200 OK\r\n"), "{good}");
        assert!(
            good.contains("Cache-Control: no-store") && good.ends_with("</html>"),
            "{good}"
        );
    }

    // Regression: when the table of connections was full, the oldest was dropped, so idle
    // connections opened after the browser's pushed its request out unread.
    #[test]
    fn idle_connections_opened_after_the_callback_cannot_push_it_out() {
        let l = Loopback::bind("/cb").unwrap();
        let addr = l
            .redirect_uri()
            .trim_start_matches("http://")
            .trim_end_matches("/cb")
            .to_string();
        let mut browser = TcpStream::connect(&addr).unwrap();
        write!(browser, "GET /cb?code=ok HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let _flood: Vec<TcpStream> = (0..2 * super::MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(&addr).unwrap())
            .collect();
        let accept =
            |q: &super::Query| (param(q, "code") == Some("ok")).then(|| html("Done", "ok"));
        let query = l.wait(Duration::from_secs(2), accept);
        assert_eq!(query.as_ref().and_then(|q| param(q, "code")), Some("ok"));
        let mut reply = String::new();
        browser.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    }

    #[test]
    fn a_wait_ends_at_its_timeout() {
        let l = Loopback::bind("/cb").unwrap();
        let started = std::time::Instant::now();
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
