//! The HTTP front: the only file that knows the HTTP library (tiny_http).
//!
//! It accepts connections on the listener, reads each request whole (refusing bodies over
//! the limit the route table gives for its method and path), turns it into a [`Request`],
//! hands it to the dispatcher it was given, and writes the [`Reply`] back with the headers
//! every answer carries, logging one line per request. Each worker thread owns one
//! database connection.

use crate::db::Db;
use crate::settings::Settings;
use crate::web::{log_path, Reply, Request};
use my_api::codes;
use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// REST error code the wire crate does not name (the CLI never needs to match it).
const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

/// Serves requests on `listener` with one worker thread per connection in `dbs`, each
/// answered by `dispatch`, until the process ends. `body_limit(method, path)` is the largest
/// body a request may carry.
pub(crate) fn run<F>(
    listener: TcpListener,
    settings: &Settings,
    dbs: Vec<Db>,
    body_limit: fn(&str, &str) -> usize,
    dispatch: F,
) -> Result<(), String>
where
    F: Fn(&mut Db, &Request) -> Reply + Send + Sync + 'static,
{
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let server = Arc::new(server);
    let dispatch = Arc::new(dispatch);
    let mut workers = Vec::new();
    for (index, mut db) in dbs.into_iter().enumerate() {
        let server = Arc::clone(&server);
        let dispatch = Arc::clone(&dispatch);
        let worker = thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || loop {
                match server.recv() {
                    Ok(request) => handle(&mut db, request, body_limit, &*dispatch),
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

fn handle(
    db: &mut Db,
    mut raw: tiny_http::Request,
    body_limit: fn(&str, &str) -> usize,
    dispatch: &impl Fn(&mut Db, &Request) -> Reply,
) {
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

    let reply = match read_body(&mut raw, body_limit(&method, &path)) {
        Err(reply) => reply,
        Ok(body) => dispatch(
            db,
            &Request {
                method: method.clone(),
                path: path.clone(),
                query,
                headers,
                body,
                ip: ip.clone(),
            },
        ),
    };

    let (status, headers, body) = reply.into_parts();
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    response.add_header(header("Server", "my-server"));
    response.add_header(header("X-Content-Type-Options", "nosniff"));
    for (name, value) in &headers {
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

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| tiny_http::Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).unwrap())
}

/// Reads the body, refusing more than `limit` bytes with 413.
fn read_body(raw: &mut tiny_http::Request, limit: usize) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        let size = match limit {
            l if l % (1024 * 1024) == 0 => format!("{} MiB", l / (1024 * 1024)),
            l => format!("{} KiB", l / 1024),
        };
        let message = format!("request body is larger than {size}");
        Reply::api_error(413, PAYLOAD_TOO_LARGE, &message).header("Connection", "close")
    };
    if raw.body_length().is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    raw.as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| {
            Reply::api_error(400, codes::BAD_REQUEST, "could not read the request body")
        })?;
    if body.len() > limit {
        return Err(too_large());
    }
    Ok(body)
}
