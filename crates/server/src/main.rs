//! `my-server`: the reference My Cloud API server.
//!
//! This file only parses the command line, opens the database, binds the socket and hands
//! over to the worker pool in `http` (or runs a `my-server admin …` command from `admin`).
//! See `cli` for the flags.

mod admin;
mod api;
#[cfg(test)]
mod api_tests;
mod app;
mod auth;
mod authorize;
#[cfg(test)]
mod browser_tests;
mod cli;
mod clock;
mod crypto;
mod db;
mod http;
mod logs;
mod magic;
mod mail;
mod names;
mod oauth;
mod orgs;
mod pages;
mod settings;
mod tokens;
mod websession;

use app::App;
use cli::Mode;
use crypto::secrets;
use db::Db;
use settings::Settings;
use std::io::{self, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

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
        Mode::Serve(settings) => serve(settings),
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

fn serve(settings: Settings) -> Result<(), String> {
    let cannot_open =
        |e: rusqlite::Error| format!("cannot open database {}: {e}", settings.db.display());
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
    let server = tiny_http::Server::from_listener(listener, None)
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

    let app = Arc::new(App::new(settings, issuer, key));
    http::serve(app, Arc::new(server), dbs)
}
