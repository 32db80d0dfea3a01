//! `my-server`: the reference My Cloud API server.
//!
//! This file only parses the command line (`cli`), then either runs a `my-server admin …`
//! command (`admin`) or wires the server together: it opens the database, binds the
//! socket and hands both to the HTTP front (`serve`) with the dispatcher of the route
//! table (`routes`).
//!
//! The house, top to bottom (each layer imports only layers below it; `tests/layers.rs`
//! keeps it so): `main`, `cli` → `serve`, `routes`, `admin` → `endpoints/` → `domain/` →
//! `app` → `mail` → the leaves `db/`, `crypto/`, `web/`, `pages`, `clock`, `names`,
//! `settings`.

// A panic in one request handler is caught and becomes a 500 for that request (`routes`);
// built with panic = "abort" it would stop the whole server instead, so that build is refused.
#[cfg(panic = "abort")]
compile_error!(
    "my-server must unwind on panic: build it with `--release` (`make release`), not with a \
     profile that sets panic = \"abort\" such as release-cli"
);

mod admin;
mod app;
mod cli;
mod clock;
mod crypto;
mod db;
mod domain;
mod endpoints;
mod mail;
mod names;
mod pages;
mod routes;
mod serve;
mod settings;
#[cfg(test)]
mod tests;
mod web;

use app::App;
use cli::Mode;
use crypto::secrets;
use db::Db;
use settings::Settings;
use std::io::{self, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

/// Threads answering requests, each with its own database connection. Requests reach
/// them fully read (`serve`), so a slow client never holds one; long polls of the logs
/// may hold at most `app::MAX_LONG_POLLS` of them.
const WORKERS: usize = 32;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("internal error: {}", info.to_string().replace('\n', " "));
    }));
    let args: Result<Vec<String>, _> = std::env::args_os().map(|a| a.into_string()).collect();
    let Ok(args) = args else {
        eprintln!("my-server: arguments must be valid UTF-8");
        return ExitCode::from(2);
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = |name: &str| std::env::var(name).ok();
    let mode = match cli::parse(&args, &env) {
        Ok(mode) => mode,
        Err(exit) => {
            if exit.code == 0 {
                println!("{}", exit.output);
            } else {
                eprintln!("{}", exit.output);
            }
            return ExitCode::from(exit.code);
        }
    };
    // The end-to-end tests' way to move the server's clock (see `clock`); never an option.
    if let Some(file) = env(clock::TEST_CLOCK_ENV).filter(|f| !f.is_empty()) {
        if let Err(message) = clock::use_test_clock(file.clone().into()) {
            eprintln!("my-server: {message}");
            return ExitCode::from(2);
        }
        eprintln!(
            "my-server: test clock: the time is offset by the seconds in {file} ({})",
            clock::TEST_CLOCK_ENV
        );
    }
    let result = match mode {
        Mode::Serve(settings) => run_server(*settings),
        Mode::Admin { db, task } => admin::run(&db, task),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("my-server: {message}");
            ExitCode::from(1)
        }
    }
}

/// Deletes what is over (expired sign-in requests, links and codes, ended web sessions,
/// dead sessions, old rate-limit events) every `interval_secs`, on a thread of its own
/// with its own connection, so nothing lingers in the database (or its backups).
fn start_sweep(mut db: Db, interval_secs: u64) -> Result<(), String> {
    let interval = std::time::Duration::from_secs(interval_secs);
    std::thread::Builder::new()
        .name("sweep".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            let now = clock::now_secs();
            match db.write(|tx| tx.sweep(now, now - settings::RATE_WINDOW_SECS)) {
                Ok(swept) => {
                    let deleted: Vec<String> = swept
                        .into_iter()
                        .filter(|(_, n)| *n > 0)
                        .map(|(table, n)| format!("{n} {table}"))
                        .collect();
                    if !deleted.is_empty() {
                        eprintln!("sweep deleted {}", deleted.join(", "));
                    }
                }
                Err(e) => eprintln!("sweep failed: {e}"),
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the sweep thread: {e}"))
}

/// Opens the database (one connection per worker), binds the socket, prints the one line
/// on stdout and serves until the process ends.
fn run_server(settings: Settings) -> Result<(), String> {
    let target = db::Target::parse(&settings.db)?;
    let cannot_open = |e: db::DbError| format!("cannot open database {target}: {e}");
    target.ensure_private()?;
    let mut first = Db::connect(&target).map_err(cannot_open)?;
    let key = first
        .migrate(secrets::random_bytes::<32>(), clock::now_secs())
        .map_err(cannot_open)?;
    let mut dbs = Vec::with_capacity(WORKERS);
    for _ in 1..WORKERS {
        dbs.push(first.sibling().map_err(cannot_open)?);
    }
    dbs.push(first);
    mail::prepare_outbox(&settings.mail_dir).map_err(|e| {
        format!(
            "cannot create mail folder {}: {e}",
            settings.mail_dir.display()
        )
    })?;

    let listener = TcpListener::bind(&settings.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let issuer = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));

    let app = App::new(settings.clone(), issuer, key)?;
    let bell = Arc::downgrade(&app.log_bell);
    let still = bell.clone();
    db::listen_for_log_lines(
        &target,
        move || {
            if let Some(bell) = bell.upgrade() {
                bell.ring();
            }
        },
        move || still.strong_count() > 0,
    )?;

    // The one line on stdout: tests and scripts read the URL from it.
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "my-server listening on http://{addr}");
    let _ = stdout.flush();
    drop(stdout);

    // A sibling: its deletions queue with the workers' writes on the shared writer.
    let sweeper = dbs[0].sibling().map_err(cannot_open)?;
    start_sweep(sweeper, settings.sweep_interval)?;

    serve::run(
        listener,
        &settings,
        dbs,
        routes::body_limit,
        move |db, request| routes::dispatch(&app, db, request),
    )
}
