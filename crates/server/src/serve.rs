//! The HTTP front: the only file that knows the HTTP library (hyper 1 on a one-thread
//! tokio runtime) and the socket.
//!
//! It reads each request whole, under limits a hostile client cannot stretch: the request
//! line and headers are capped (431) and must arrive within the header timeout, which also
//! ends idle keep-alive connections; the body must fit its route's limit (413) and arrive within
//! the body deadline (408); a request with any `Transfer-Encoding` gets one 400 and a
//! closed connection, so no two parsers can frame it differently (request smuggling). Only
//! then is the request handed to a fixed pool of synchronous worker threads, each owning
//! its state (a database connection), through a bounded queue (full: 503); the async side
//! writes the reply. Slow clients therefore cost a few kilobytes of memory, never a worker.
//!
//! Open connections are capped below the process's descriptor limit (raised to its hard
//! limit at start): past the cap new clients wait in the kernel's backlog. An accept error
//! (EMFILE, ENOBUFS…) backs off and retries; the listener ends only when the socket itself
//! is unusable, and then the process exits non-zero so a supervisor restarts it.
//!
//! SIGTERM or SIGINT stops it: the listener closes (new clients are refused), idle
//! connections close, requests in flight are answered within the shutdown timeout, then
//! `run` returns and the process exits 0.

use crate::clock;
use crate::domain::clients::forwarded_client;
use crate::settings::{LogFormat, Settings};
use crate::web::{log_path, Reply, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, CONNECTION, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use my_api::codes;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{oneshot, Semaphore};

/// REST error codes the wire crate does not name (the CLI never needs to match them).
const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
const UNAVAILABLE: &str = "UNAVAILABLE";
/// Largest request line plus headers (431 above).
const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in one request (431 above).
const MAX_HEADERS: usize = 64;
/// Descriptors kept free of connections: stdio, the listener, the runtime's own, mail
/// files, the shared writer and checkpoint connections, and three per worker (its
/// connection's database, WAL and shared-memory files).
const RESERVED_FDS_BASE: u64 = 64;
const RESERVED_FDS_PER_WORKER: u64 = 3;
/// Requests that may wait for a worker, per worker: enough to absorb a burst, few enough
/// that a queued request waits milliseconds, not seconds (503 past it).
const QUEUE_PER_WORKER: usize = 4;
/// Accept errors back off from the first to the last delay, doubling.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(1));

/// What the front allows one client (from the settings).
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    body_timeout: Duration,
    /// How long requests in flight may take to finish once a stop is asked for.
    shutdown_timeout: Duration,
}

/// One request on its way to a worker, and where its reply goes.
struct Job {
    request: Request,
    reply: oneshot::Sender<Reply>,
}

/// What every connection task shares.
struct Shared {
    jobs: SyncSender<Job>,
    limits: Limits,
    /// The largest body a request with this method and path may carry.
    body_limit: fn(&str, &str) -> usize,
    log_format: LogFormat,
    /// Proxies whose `X-Forwarded-For` names the client the log line shows.
    trusted_proxies: Vec<std::net::IpAddr>,
}

/// Serves `listener` until SIGTERM or SIGINT: one worker thread per element of `states`
/// (a database connection each), each answering requests with `dispatch`;
/// `body_limit(method, path)` is the largest body a request may carry. Returns `Ok` once
/// a stop was asked for and the requests in flight are answered (or their time is up), an
/// error when serving has become impossible.
pub(crate) fn run<S, H>(
    listener: TcpListener,
    settings: &Settings,
    states: Vec<S>,
    body_limit: fn(&str, &str) -> usize,
    dispatch: H,
) -> Result<(), String>
where
    S: Send + 'static,
    H: Fn(&mut S, &Request) -> Reply + Send + Sync + 'static,
{
    let workers = states.len();
    let descriptors = raise_descriptor_limit();
    let reserved = RESERVED_FDS_BASE + RESERVED_FDS_PER_WORKER * workers as u64;
    let fit = usize::try_from(descriptors.saturating_sub(reserved)).unwrap_or(usize::MAX);
    let max_connections = settings.max_connections.min(fit);
    if max_connections == 0 {
        return Err(format!(
            "the open-file limit ({descriptors}) leaves no room for connections: raise it \
             (ulimit -n) above {reserved}"
        ));
    }
    if max_connections < settings.max_connections {
        log_line(&format!(
            "serving at most {max_connections} connections at once (open-file limit {descriptors})"
        ));
    }

    let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE_PER_WORKER * workers.max(1));
    let queue = Arc::new(Mutex::new(queue));
    let dispatch = Arc::new(dispatch);
    for (index, mut state) in states.into_iter().enumerate() {
        let queue = Arc::clone(&queue);
        let dispatch = Arc::clone(&dispatch);
        thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || loop {
                let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok(job) = job else { return };
                let reply = dispatch(&mut state, &job.request);
                // The client may have gone; its reply is then dropped.
                let _ = job.reply.send(reply);
            })
            .map_err(|e| format!("cannot start worker thread: {e}"))?;
    }

    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot use the listening socket: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    let limits = Limits {
        header_timeout: Duration::from_secs(settings.header_timeout),
        body_timeout: Duration::from_secs(settings.body_timeout),
        shutdown_timeout: Duration::from_secs(settings.shutdown_timeout),
    };
    let shared = Arc::new(Shared {
        jobs,
        limits,
        body_limit,
        log_format: settings.log_format,
        trusted_proxies: settings.trusted_proxies.clone(),
    });
    runtime.block_on(accept_loop(listener, shared, max_connections))
}

/// Accepts connections while fewer than `max_connections` are open, until a stop signal;
/// then lets the open connections finish.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    max_connections: usize,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| format!("cannot use the listening socket: {e}"))?;
    let mut stop = StopSignals::new()?;
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout)
        .max_header_size(MAX_HEAD)
        .max_headers(MAX_HEADERS);
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        // Past the cap, new clients wait in the kernel's backlog.
        let Some(permit) = stop.unless(Arc::clone(&open).acquire_owned()).await else {
            break;
        };
        let Ok(permit) = permit else {
            return Err("the connection counter was closed".into());
        };
        let Some(accepted) = stop.unless(listener.accept()).await else {
            break;
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = ACCEPT_BACKOFF.0;
                accepted
            }
            Err(e) if listener_is_broken(&e) => {
                return Err(format!("cannot accept connections: {e}"));
            }
            Err(e) => {
                // Out of descriptors or buffers, or a client that gave up: wait, retry.
                if backoff == ACCEPT_BACKOFF.0 {
                    log_line(&format!("accept failed, retrying: {e}"));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let service = service_fn(move |request| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(respond(&shared, peer, request).await) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Timeouts, resets and malformed requests end the connection; hyper has
            // already answered what deserved an answer (400, 431).
            let _ = connection.await;
            drop(permit);
        });
    }
    // Closing the listener refuses new clients at once.
    drop(listener);
    let open_now = graceful.count();
    log_line(&format!(
        "stopping: finishing {open_now} open connection(s) within {}s",
        shared.limits.shutdown_timeout.as_secs()
    ));
    let drained = tokio::time::timeout(shared.limits.shutdown_timeout, graceful.shutdown());
    match stop.unless(drained).await {
        Some(Ok(())) => log_line("stopped"),
        Some(Err(_)) => log_line("stopped: the shutdown timeout cut requests still in flight"),
        None => log_line("stopped at a second signal: requests still in flight were cut"),
    }
    Ok(())
}

/// SIGTERM (from a supervisor) and SIGINT (Ctrl-C), registered before the first accept so
/// neither ever kills the process mid-request.
struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    fn new() -> Result<StopSignals, String> {
        let listen =
            |kind| signal(kind).map_err(|e| format!("cannot listen for stop signals: {e}"));
        Ok(StopSignals {
            term: listen(SignalKind::terminate())?,
            int: listen(SignalKind::interrupt())?,
        })
    }

    /// `work`'s output, or `None` if a stop signal arrives first.
    async fn unless<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        let mut work = std::pin::pin!(work);
        poll_fn(|cx| {
            if self.term.poll_recv(cx).is_ready() || self.int.poll_recv(cx).is_ready() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

/// Errors after which the listening socket can never accept again.
fn listener_is_broken(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT)
    )
}

/// Reads the rest of `request`, has a worker answer it, and returns the response.
async fn respond(
    shared: &Shared,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let (head, body) = request.into_parts();
    let method = head.method.as_str().to_string();
    let path = head.uri.path().to_string();
    let mut client = peer.ip().to_string();
    let reply = match read_body(shared, &head, body).await {
        Err(refusal) => refusal,
        Ok(body) => {
            let headers = head
                .headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_string(), value)
                })
                .collect();
            let request = Request {
                method: method.clone(),
                path: path.clone(),
                query: head.uri.query().unwrap_or("").to_string(),
                headers,
                body,
                ip: client.clone(),
            };
            if let Some(forwarded) = forwarded_client(&shared.trusted_proxies, &request) {
                client = forwarded;
            }
            dispatch(shared, request).await
        }
    };
    let (path, ms) = (log_path(&path), started.elapsed().as_millis());
    log_line(&match shared.log_format {
        LogFormat::Text => format!("{client} {method} {path} {} {ms}ms", reply.status),
        // Only what the text line says: a query string, header or body may hold a secret.
        LogFormat::Json => serde_json::json!({
            "time": clock::rfc3339_millis(clock::now_millis()),
            "client": client,
            "method": method,
            "path": path,
            "status": reply.status,
            "ms": ms,
        })
        .to_string(),
    });
    response(reply)
}

/// The body, or the refusal to send instead. Refusals close the connection: what the
/// client sends next cannot be trusted to start a request.
async fn read_body(
    shared: &Shared,
    head: &hyper::http::request::Parts,
    body: Incoming,
) -> Result<Vec<u8>, Reply> {
    let refuse = |status, code, message: &str| {
        Err(Reply::api_error(status, code, message).header("Connection", "close"))
    };
    // hyper refuses a TE other than chunked and drops Content-Length beside chunked; any
    // TE at all is refused here, so both framings of one request can never disagree.
    if head.headers.contains_key(TRANSFER_ENCODING) {
        return refuse(
            400,
            codes::BAD_REQUEST,
            "Transfer-Encoding is not accepted: send the body with a Content-Length",
        );
    }
    let limit = (shared.body_limit)(head.method.as_str(), head.uri.path());
    let length = hyper::body::Body::size_hint(&body).exact().unwrap_or(0);
    if length > limit as u64 {
        let size = match limit {
            l if l % (1024 * 1024) == 0 => format!("{} MiB", l / (1024 * 1024)),
            l => format!("{} KiB", l / 1024),
        };
        let message = format!("request body is larger than {size}");
        return refuse(413, PAYLOAD_TOO_LARGE, &message);
    }
    if length == 0 {
        return Ok(Vec::new());
    }
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(shared.limits.body_timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(_)) => refuse(400, codes::BAD_REQUEST, "could not read the request body"),
        Err(_) => refuse(
            408,
            REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        ),
    }
}

/// Queues `request` for a worker and waits for its reply; 503 when the queue is full.
async fn dispatch(shared: &Shared, request: Request) -> Reply {
    let (reply, answer) = oneshot::channel();
    match shared.jobs.try_send(Job { request, reply }) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Reply::api_error(503, UNAVAILABLE, "the server is busy: try again")
                .header("Retry-After", "1");
        }
        Err(TrySendError::Disconnected(_)) => {
            // Handler panics are caught, so this cannot happen; if it does, nothing will
            // ever be answered again: exit, so that a supervisor restarts the server.
            log_line("my-server: every worker thread has stopped");
            std::process::exit(1);
        }
    }
    // A worker answers every job it takes (handler panics become a 500 there).
    answer.await.unwrap_or_else(|_| Reply::internal_error())
}

/// The wire response for `reply`, with the headers every response carries.
fn response(reply: Reply) -> hyper::Response<Full<Bytes>> {
    let (status, headers, body) = reply.into_parts();
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    map.insert("server", HeaderValue::from_static("my-server"));
    map.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            log_line(&format!("dropped an invalid response header: {name}"));
            continue;
        };
        if name == CONNECTION {
            map.insert(name, value);
        } else {
            map.append(name, value);
        }
    }
    response
}

/// Writes one line to stderr in one call, so lines from many threads never interleave.
fn log_line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// Raises the soft open-file limit to the hard one; returns the soft limit in force.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}
