//! The one error type of the CLI, its one-line messages and its exit codes.
//!
//! Exit codes (documented in the README and tested):
//! 0 ok · 1 error · 2 usage · 3 not signed in or credential rejected ·
//! 4 server unreachable or failing · 5 local credential store, config or cache unusable ·
//! 6 not found (an unknown profile, library or command).
//! A command run from a spec (`my cli run`, `my <library> <command>`) exits with the code of
//! its failing step, or 124 (a step timed out), 127 (a dependency is missing), 130
//! (interrupted).

use std::fmt;
use std::io;
use std::path::PathBuf;

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_AUTH: u8 = 3;
pub const EXIT_UNAVAILABLE: u8 = 4;
pub const EXIT_STORE: u8 = 5;
pub const EXIT_NOT_FOUND: u8 = 6;
pub const EXIT_TIMEOUT: u8 = 124;
pub const EXIT_MISSING_DEPENDENCY: u8 = 127;
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug)]
pub enum Error {
    /// Bad flags or arguments, or a prompt that cannot be shown (names the flag to use).
    Usage(String),
    /// No stored credential and no MY_API_TOKEN.
    NotSignedIn,
    /// The server refused the credential (401), or the session is gone (`invalid_grant`).
    Rejected(String),
    /// The server refused the token in MY_API_TOKEN (revoked, expired or unknown).
    EnvTokenRejected(String),
    /// The credential works but may not do this (e.g. an API token managing tokens).
    Denied(String),
    /// The sign-in did not complete: denied, expired, refused by the server.
    Login(String),
    /// The server could not be reached, timed out, or answered 5xx.
    Unavailable(String),
    /// The server answered a request with a 4xx error (REST `code` and `message`).
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// A credential or config file exists but cannot be used (never overwritten silently).
    Corrupt { path: PathBuf, detail: String },
    /// The credential store (keyring or file) failed.
    Store(String),
    /// The local catalog cache is missing, incomplete or corrupt (the message says to sync).
    Cache(String),
    /// A local I/O failure, with what was being done.
    Io { context: String, source: io::Error },
    /// The profile, library or command named does not exist (or is not the caller's).
    NotFound(String),
    /// A command run from a spec ended unsuccessfully: its step's exit code, or one of the
    /// run codes above.
    Exit { code: u8, message: String },
    /// Anything else, already phrased for the user.
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::NotSignedIn
            | Error::Rejected(_)
            | Error::EnvTokenRejected(_)
            | Error::Denied(_)
            | Error::Login(_) => EXIT_AUTH,
            Error::Unavailable(_) => EXIT_UNAVAILABLE,
            Error::Corrupt { .. } | Error::Store(_) | Error::Cache(_) => EXIT_STORE,
            Error::NotFound(_) => EXIT_NOT_FOUND,
            Error::Exit { code, .. } => *code,
            Error::Api { status, .. } if *status == 401 => EXIT_AUTH,
            Error::Api { status, .. } if *status == 404 => EXIT_NOT_FOUND,
            Error::Api { .. } | Error::Io { .. } | Error::Other(_) => EXIT_ERROR,
        }
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m)
            | Error::Denied(m)
            | Error::Login(m)
            | Error::Unavailable(m)
            | Error::Store(m)
            | Error::Cache(m)
            | Error::NotFound(m)
            | Error::Exit { message: m, .. }
            | Error::Other(m) => f.write_str(m),
            Error::NotSignedIn => {
                f.write_str("not signed in: run `my cli login`, or set MY_API_TOKEN")
            }
            Error::Rejected(m) => write!(f, "{m}: run `my cli login` to sign in again"),
            Error::EnvTokenRejected(why) => write!(
                f,
                "the server rejected MY_API_TOKEN ({why}): it is revoked, expired or unknown; set a valid token or unset MY_API_TOKEN"
            ),
            Error::Api {
                status,
                code,
                message,
            } => {
                write!(
                    f,
                    "the server refused the request ({status} {code}): {message}"
                )
            }
            Error::Corrupt { path, detail } => write!(
                f,
                "{} is not valid ({detail}); fix or remove it (it was left untouched)",
                path.display()
            ),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A JSON parse error as text that never quotes the input: serde_json quotes a string value
/// of the wrong type, and a string in a credentials file may be a token. Syntax errors and
/// missing fields say nothing about values, so they keep serde's words.
pub fn json_error_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    match e.classify() {
        Category::Data if !text.starts_with("missing field") => {
            format!(
                "unexpected value at line {} column {}",
                e.line(),
                e.column()
            )
        }
        _ => text,
    }
}
