//! Hostile clients against the real `my-server` binary, over real sockets on loopback:
//! slow bodies and half-sent headers, a flood of idle connections under a low descriptor
//! limit, a huge header line, and ambiguous request framing (request smuggling).
//!
//! Every test is bounded in time: sockets carry read and write timeouts, and the clients
//! that misbehave on purpose stop after a few seconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const METADATA: &str = "/.well-known/oauth-authorization-server";

/// Raises this test process's soft open-file limit to its hard limit: the tests hold
/// over a thousand client sockets at once, and a soft limit of 1024 is common.
fn raise_own_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    let raised = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
        }
    };
    assert!(
        raised && limit.rlim_cur >= 4096,
        "these tests need an open-file limit of at least 4096 (hard limit: {})",
        limit.rlim_max
    );
}

/// The `--db` of one server: with `MY_SERVER_TEST_PG` set to the URL of a PostgreSQL
/// superuser, a database created for it (as the in-crate tests do); otherwise a SQLite
/// file in `dir`.
fn database(dir: &Path) -> std::ffi::OsString {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let admin = match std::env::var("MY_SERVER_TEST_PG") {
        Ok(admin) if !admin.is_empty() => admin,
        _ => return dir.join("my.db").into(),
    };
    let name = format!(
        "h_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .expect("MY_SERVER_TEST_PG accepts connections");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).expect("create a test database");
    }
    let (server, _) = admin
        .rsplit_once('/')
        .expect("MY_SERVER_TEST_PG ends in /DATABASE");
    format!("{server}/{name}").into()
}

/// A `my-server` on 127.0.0.1:0 with a temp database; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_with(&[])
    }

    fn start_with(flags: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_my-server"));
        command.args(flags);
        Server::spawn(command)
    }

    /// Started through `prlimit --nofile=N`, which execs the server (same pid).
    fn start_with_nofile(limit: u32) -> Server {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={limit}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_my-server"));
        Server::spawn(command)
    }

    fn spawn(mut command: Command) -> Server {
        raise_own_descriptor_limit();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--db")
            .arg(database(dir.path()))
            .arg("--mail-dir")
            .arg(dir.path().join("mail"))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start my-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("my-server listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line from my-server: {line:?}\n{}",
                    log_of(dir.path())
                )
            })
            .parse()
            .unwrap();
        Server { child, addr, dir }
    }

    fn log(&self) -> String {
        log_of(self.dir.path())
    }

    /// Resident memory of the server process, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Panics (with the log) if the process has ended.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("my-server exited ({status}); log:\n{}", self.log());
        }
    }

    /// One well-behaved request on a fresh connection; `Err` says what went wrong.
    fn request(&self, raw: &str, timeout: Duration) -> Result<Response, String> {
        let mut stream =
            TcpStream::connect_timeout(&self.addr, timeout).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(timeout)).unwrap();
        stream.set_write_timeout(Some(timeout)).unwrap();
        stream
            .write_all(raw.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let (bytes, closed) = read_all(&mut stream);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !closed {
            return Err(format!(
                "no complete answer within {timeout:?} (got {text:?})"
            ));
        }
        Response::parse(&text).ok_or_else(|| format!("not an HTTP response: {text:?}"))
    }

    fn get(&self, path: &str, timeout: Duration) -> Result<Response, String> {
        self.request(
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            timeout,
        )
    }

    /// Asserts that the metadata document and a form POST are answered as usual, promptly.
    fn assert_normal(&self) {
        let started = Instant::now();
        let meta = self
            .get(METADATA, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("metadata: {e}; log:\n{}", self.log()));
        assert_eq!(meta.status, 200, "{meta:?}");
        assert!(
            meta.body.contains("device_authorization_endpoint"),
            "{meta:?}"
        );
        let body = "grant_type=password";
        let post = self
            .request(
                &format!(
                    "POST /oauth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
                Duration::from_secs(5),
            )
            .unwrap_or_else(|e| panic!("token POST: {e}; log:\n{}", self.log()));
        assert_eq!(post.status, 400, "{post:?}");
        assert!(post.body.contains("unsupported_grant_type"), "{post:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "normal requests took {:?}",
            started.elapsed()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    // The end is what matters; a flood can log thousands of lines.
    let tail: Vec<&str> = log.lines().rev().take(40).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[derive(Debug)]
struct Response {
    status: u16,
    body: String,
}

impl Response {
    fn parse(text: &str) -> Option<Response> {
        let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n")?.1.to_string();
        Some(Response { status, body })
    }
}

/// Reads until the peer closes or the read timeout passes; `true` when it closed.
fn read_all(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (bytes, true),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // A reset after the answer (unread request bytes) also ends the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (bytes, true),
            Err(_) => return (bytes, false),
        }
    }
}

/// Asserts that what one connection received is exactly one response, with `status`
/// (each status line is one response: a second one would be a smuggled request's).
fn assert_one_response(bytes: &[u8], status: u16, context: &str) {
    let text = String::from_utf8_lossy(bytes);
    let statuses: Vec<&str> = text
        .split("\r\n")
        .filter(|line| line.starts_with("HTTP/1."))
        .collect();
    assert!(
        statuses.len() == 1 && statuses[0].starts_with(&format!("HTTP/1.1 {status} ")),
        "{context}: expected exactly one {status} response, got {statuses:?}"
    );
}

// Regression: 32 POSTs trickling their bodies pinned all 32 workers of the old server,
// which then answered nobody until they closed.
#[test]
fn slow_bodies_and_half_sent_headers_do_not_starve_other_clients() {
    let server = Server::start();
    let stop = Arc::new(AtomicBool::new(false));

    let mut slow = Vec::new();
    for _ in 0..32 {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        stream
            .write_all(
                b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 4096\r\n\r\ngrant_type=",
            )
            .unwrap();
        slow.push(stream);
        thread::sleep(Duration::from_millis(20));
    }
    // One byte on each slow body every half second, until told to stop.
    let trickle = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for stream in &mut slow {
                    let _ = stream.write_all(b"a");
                }
                thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let half_sent: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream
                .write_all(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bea")
                .unwrap();
            stream
        })
        .collect();
    thread::sleep(Duration::from_millis(300));

    for _ in 0..3 {
        let started = Instant::now();
        let answer = server.get(METADATA, Duration::from_secs(3));
        let took = started.elapsed();
        let answer = answer.unwrap_or_else(|e| {
            panic!(
                "a well-behaved client got no answer while 32 bodies trickled and 300 \
                 headers hung: {e}; log:\n{}",
                server.log()
            )
        });
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(took < Duration::from_secs(2), "the answer took {took:?}");
    }

    stop.store(true, Ordering::SeqCst);
    trickle.join().unwrap();
    drop(half_sent);
    server.assert_normal();
}

// Regression: ~480 idle connections under a 1024 descriptor limit made the old accept
// thread panic on EMFILE and stop listening for good, while the process stayed alive.
#[test]
fn idle_connection_flood_under_1024_descriptors() {
    let mut server = Server::start_with_nofile(1024);
    let mut flood = Vec::new();
    let mut refused = 0;
    for _ in 0..900 {
        match TcpStream::connect_timeout(&server.addr, Duration::from_millis(300)) {
            Ok(stream) => flood.push(stream),
            // The backlog is full; a few of these are fine, many mean nobody accepts.
            Err(_) => {
                refused += 1;
                if refused > 20 {
                    break;
                }
            }
        }
    }
    thread::sleep(Duration::from_millis(500));
    server.assert_running();
    drop(flood);
    thread::sleep(Duration::from_millis(200));
    server.assert_running();
    server.assert_normal();
}

// Regression: one request with a 200 MiB header line grew the old server from 32 to
// 240 MiB; header size was unbounded.
#[test]
fn a_64_mib_header_line_is_refused_without_growing_the_server() {
    let server = Server::start();
    for _ in 0..5 {
        assert_eq!(
            server.get(METADATA, Duration::from_secs(5)).unwrap().status,
            200
        );
    }
    let before = server.rss_kib();

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut sent = 0usize;
        if writer
            .write_all(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Long: ")
            .is_err()
        {
            return sent;
        }
        let chunk = vec![b'a'; 64 * 1024];
        while sent < 64 * 1024 * 1024 {
            if writer.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        let _ = writer.write_all(b"\r\n\r\n");
        sent
    });
    let (bytes, _) = read_all(&mut stream);
    let sent = sender.join().unwrap();
    assert_one_response(&bytes, 431, &format!("after {sent} header bytes"));

    let after = server.rss_kib();
    let grown = after.saturating_sub(before);
    eprintln!("VmRSS {before} KiB before, {after} KiB after {sent} header bytes");
    assert!(
        grown < 4 * 1024,
        "the server grew by {grown} KiB ({before} → {after}) reading a long header"
    );
    server.assert_normal();
}

// Regression: a request with both Content-Length and Transfer-Encoding (or a TE such as
// `xchunked`) was decoded as chunked and the rest parsed as a second request: a
// request-smuggling desync behind any proxy that frames it the other way.
#[test]
fn ambiguous_framing_gets_exactly_one_400_and_a_closed_connection() {
    let server = Server::start();
    let smuggled = "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    let cases = [
        (
            "Content-Length and Transfer-Encoding",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        ),
        (
            "Transfer-Encoding: xchunked",
            "Transfer-Encoding: xchunked\r\n",
        ),
        (
            "Transfer-Encoding: xchunked with a Content-Length",
            "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
        ),
        (
            "Transfer-Encoding: gzip, chunked",
            "Transfer-Encoding: gzip, chunked\r\n",
        ),
    ];
    for (case, headers) in cases {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        // Framed either way, this request alone would be answered 200.
        let raw = format!("GET {METADATA} HTTP/1.1\r\nHost: x\r\n{headers}\r\n0\r\n\r\n{smuggled}");
        stream.write_all(raw.as_bytes()).unwrap();
        let (bytes, closed) = read_all(&mut stream);
        assert_one_response(&bytes, 400, case);
        assert!(closed, "{case}: the connection was left open after the 400");
    }
    server.assert_normal();
}

#[test]
fn late_heads_late_bodies_and_large_bodies_are_cut_off() {
    let server = Server::start_with(&["--header-timeout", "1s", "--body-timeout", "1s"]);
    let open = |raw: &[u8]| {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(raw).unwrap();
        stream
    };

    // A connection that sends nothing, a head that never ends, and a keep-alive
    // connection left idle after its answer: each is closed once the header timeout
    // passes (and not before).
    let idle = format!("GET {METADATA} HTTP/1.1\r\nHost: x\r\n\r\n");
    for (what, raw, answers) in [
        ("a silent connection", &b""[..], 0),
        (
            "a half-sent head",
            &b"GET /v1/me HTTP/1.1\r\nHost: x\r\n"[..],
            0,
        ),
        ("an idle keep-alive connection", idle.as_bytes(), 1),
    ] {
        let started = Instant::now();
        let (bytes, closed) = read_all(&mut open(raw));
        let took = started.elapsed();
        assert!(closed, "{what} was kept open for 5 s");
        assert!(
            took >= Duration::from_millis(900),
            "{what} closed after {took:?}"
        );
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(
            text.matches("HTTP/1.1 200").count(),
            answers,
            "{what}: {text:?}"
        );
    }

    // One answer with `status`, then a closed connection; returns how long it took.
    let refused = |raw: &[u8], status: u16, what: &str| {
        let started = Instant::now();
        let (bytes, closed) = read_all(&mut open(raw));
        assert_one_response(&bytes, status, what);
        assert!(
            closed,
            "{what}: the connection stayed open after the {status}"
        );
        started.elapsed()
    };
    let form = "POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n";
    // A body that stops halfway: 408 once the body timeout passes.
    let raw = format!("{form}Content-Length: 100\r\n\r\ngrant_type=");
    let took = refused(raw.as_bytes(), 408, "a body that stopped");
    assert!(took >= Duration::from_millis(900), "408 after {took:?}");
    // A body announced larger than 64 KiB: 413 at once, without waiting for it.
    let raw = format!("{form}Content-Length: 70000\r\n\r\n");
    let took = refused(raw.as_bytes(), 413, "a 70,000-byte body");
    assert!(took < Duration::from_millis(900), "413 after {took:?}");
    server.assert_normal();
}
