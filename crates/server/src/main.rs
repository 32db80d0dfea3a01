//! `my-server`: the reference My Cloud API server.
//!
//! This file only parses the command line, opens the database, binds the socket and hands
//! over to the worker pool in `http`; `my-server admin …` commands live here too because
//! they are a few lines each. See `config` for the flags.

mod api;
mod clock;
mod config;
mod db;
mod http;
mod jwt;
mod magic;
mod mail;
mod oauth;
mod pages;
mod secrets;

use config::{App, Mode, Settings};
use db::Db;
use serde::Serialize;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Threads serving requests, each with its own database connection: a slow client
/// holds up one of them, not the server.
const WORKERS: usize = 8;

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
    let mode = match config::parse(&args) {
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
        Mode::AdminSessions { db } => admin_sessions(&db),
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

    let app = Arc::new(App {
        settings,
        issuer,
        key,
    });
    http::serve(app, Arc::new(server), dbs)
}

/// One line of `my-server admin sessions`.
#[derive(Serialize)]
struct SessionLine {
    id: String,
    user_email: String,
    refresh_count: i64,
    revoked: bool,
    expires_at: String,
    created_at: String,
}

fn admin_sessions(path: &Path) -> Result<(), String> {
    let read = |e: rusqlite::Error| format!("cannot read sessions from {}: {e}", path.display());
    let mut db = Db::open_existing(path).map_err(read)?;
    let sessions = db.read(|tx| tx.session_summaries()).map_err(read)?;
    let mut stdout = io::stdout().lock();
    for session in sessions {
        let line = SessionLine {
            id: session.id,
            user_email: session.user_email,
            refresh_count: session.refresh_count,
            revoked: session.revoked,
            expires_at: clock::rfc3339(session.expires_at),
            created_at: clock::rfc3339(session.created_at),
        };
        let json = serde_json::to_string(&line).map_err(|e| e.to_string())?;
        match writeln!(stdout, "{json}") {
            Ok(()) => {}
            // `| head` closing the pipe is not an error.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(format!("cannot write output: {e}")),
        }
    }
    stdout.flush().or_else(|e| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(format!("cannot write output: {e}"))
        }
    })
}
