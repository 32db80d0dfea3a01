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

/// Threads serving requests, each with its own database connection: a slow client
/// holds up one of them, not the server. Long polls of the logs may hold at most
/// `app::MAX_LONG_POLLS` of them.
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
    let mode = match cli::parse(&args) {
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
    let result = match mode {
        Mode::Serve(settings) => run_server(settings),
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

/// Opens the database (one connection per worker), binds the socket, prints the one line
/// on stdout and serves until the process ends.
fn run_server(settings: Settings) -> Result<(), String> {
    let cannot_open =
        |e: rusqlite::Error| format!("cannot open database {}: {e}", settings.db.display());
    db::ensure_private(&settings.db)?;
    let mut first = Db::open(&settings.db).map_err(cannot_open)?;
    let key = first
        .migrate(secrets::random_bytes::<32>(), clock::now_secs())
        .map_err(cannot_open)?;
    let mut dbs = vec![first];
    for _ in 1..WORKERS {
        dbs.push(Db::open(&settings.db).map_err(cannot_open)?);
    }
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

    // The one line on stdout: tests and scripts read the URL from it.
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "my-server listening on http://{addr}");
    let _ = stdout.flush();
    drop(stdout);

    let app = App::new(settings.clone(), issuer, key);
    serve::run(
        listener,
        &settings,
        dbs,
        routes::body_limit,
        move |db, request| routes::dispatch(&app, db, request),
    )
}
