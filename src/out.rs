//! Writing to stdout (data) and stderr (messages). A closed stdout pipe (`my … | head`)
//! ends the process quietly instead of panicking.

use serde::Serialize;
use std::io::{self, Write};

/// Prints one line of data on stdout.
pub(crate) fn line(text: impl std::fmt::Display) {
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|_| out.flush()) {
        exit_on_closed_pipe(e);
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => line(s),
        Err(e) => eprintln!("my: cannot encode JSON output: {e}"),
    }
}

/// Prints a message for the person on stderr.
pub(crate) fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

fn exit_on_closed_pipe(e: io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("my: cannot write to stdout: {e}");
    std::process::exit(i32::from(crate::error::EXIT_ERROR));
}
