//! `my`: parse the command line, run the command, print the error once and choose the
//! exit code. Nothing else happens here: what the commands work with is the `mycli` library
//! (`src/lib.rs`).

mod cli;
mod cmd;
#[cfg(my_no_unwind)]
mod no_unwind;

use std::process::ExitCode;

use cli::BIN;
use mycli::{error, out};

fn main() -> ExitCode {
    ExitCode::from(invoke())
}

/// The exit code of the invocation.
fn invoke() -> u8 {
    // `args_os`: `env::args` panics on an argument that is not UTF-8.
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(args) => args,
        Err(bad) => {
            eprintln!(
                "{BIN}: the argument {} is not valid UTF-8",
                out::sanitize(&bad.to_string_lossy())
            );
            return error::EXIT_USAGE;
        }
    };
    if matches!(args.as_slice(), [a] if a == "--version" || a == "-V") {
        out::line(format!("{BIN} {}", env!("CARGO_PKG_VERSION")));
        return 0;
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let parsed = match cli::parse_invocation(BIN, &args) {
        Ok(parsed) => parsed,
        Err(early) => {
            return if early.status.is_ok() {
                out::line(early.output.trim_end());
                0
            } else {
                eprintln!("{BIN}: {}", out::sanitize(early.output.trim_end()));
                error::EXIT_USAGE
            };
        }
    };
    match cmd::dispatch(parsed) {
        Ok(()) => 0,
        Err(e) => {
            // Messages may quote what a server sent: one line, no terminal escapes.
            eprintln!("{BIN}: {}", out::one_line(&e.to_string()));
            e.exit_code()
        }
    }
}
