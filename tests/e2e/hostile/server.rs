//! A small HTTP/1.1 server on 127.0.0.1 for servers we did not write: foreign OAuth servers
//! and hostile ones. Plain `std::net`, one thread per connection, keep-alive, and two ways
//! to misbehave with kept-alive connections: close them after an idle time, or drop a
//! request that arrives on one that was idle a while (the race where a server closes an
//! idle connection just as the client sends on it). Every request is recorded for the test to inspect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether it came on a connection that had already carried a request.
    pub reused: bool,
    /// This server's own URL, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field (or query parameter) of the request.
    pub fn param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.body.as_bytes())
            .chain(form_urlencoded::parse(self.query.as_bytes()))
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, body: serde_json::Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn redirect(to: &str) -> Resp {
        Resp {
            status: 302,
            headers: vec![("Location".into(), to.into())],
            body: Vec::new(),
        }
    }

    /// Close the connection without answering.
    pub fn hang_up() -> Resp {
        Resp {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn not_found() -> Resp {
        Resp::json(404, serde_json::json!({"error": "not_found"}))
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

#[derive(Clone, Copy, Default)]
pub struct Behaviour {
    /// Close a kept-alive connection once it has been idle this long.
    pub idle_close: Option<Duration>,
    /// Read a request that arrives on a connection idle at least this long, then close
    /// without answering.
    pub drop_reused_after: Option<Duration>,
}

pub struct Fake {
    pub url: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    pub fn start(
        behaviour: Behaviour,
        handler: impl Fn(&Req) -> Resp + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Req>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let l = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (l, h) = (l.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, behaviour, port, &l, &h));
            }
        });
        Fake {
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    /// Requests on `path` so far.
    pub fn requests_to(&self, path: &str) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Whether any request (path, query, headers or body) contained `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.requests().iter().any(|r| {
            r.path.contains(needle)
                || r.query.contains(needle)
                || r.body.contains(needle)
                || r.headers.iter().any(|(_, v)| v.contains(needle))
        })
    }
}

fn serve(stream: TcpStream, b: Behaviour, port: u16, log: &Mutex<Vec<Req>>, handler: &Handler) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut reused = false;
    let mut answered_at = std::time::Instant::now();
    loop {
        let wait = match (reused, b.idle_close) {
            (true, Some(idle)) => idle,
            _ => Duration::from_secs(30),
        };
        let _ = reader.get_ref().set_read_timeout(Some(wait));
        let Some(mut req) = read_request(&mut reader, reused) else {
            return;
        };
        req.base = format!("http://127.0.0.1:{port}");
        log.lock().unwrap().push(req.clone());
        if reused
            && b.drop_reused_after
                .is_some_and(|d| answered_at.elapsed() >= d)
        {
            let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
            return;
        }
        let resp = handler(&req);
        if resp.status == 0 {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: keep-alive\r\n",
            resp.status,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&resp.body).is_err() {
            return;
        }
        reused = true;
        answered_at = std::time::Instant::now();
    }
}

fn read_request(reader: &mut BufReader<TcpStream>, reused: bool) -> Option<Req> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    // A proxy sees absolute-form targets (or CONNECT host:port): keep them whole.
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        reused,
        base: String::new(),
    })
}
