//! `my`: parse the command line, run the command, print the error once and choose the
//! exit code. Nothing else happens here.

mod api;
mod app;
mod auth;
mod catalog;
mod cli;
mod cmd;
mod error;
#[cfg(my_no_unwind)]
mod no_unwind;
mod out;
mod run;
mod secret;
mod settings;
mod store;
mod tls;

use std::process::ExitCode;

/// The binary's name, in one place (a distro that renames it stays consistent).
pub(crate) const BIN: &str = "my";

fn main() -> ExitCode {
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
            return ExitCode::from(error::EXIT_USAGE);
        }
    };
    if matches!(args.as_slice(), [a] if a == "--version" || a == "-V") {
        out::line(format!("{BIN} {}", env!("CARGO_PKG_VERSION")));
        return ExitCode::SUCCESS;
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let parsed = match cli::parse_invocation(BIN, &args) {
        Ok(parsed) => parsed,
        Err(early) => {
            return if early.status.is_ok() {
                out::line(early.output.trim_end());
                ExitCode::SUCCESS
            } else {
                eprintln!("{BIN}: {}", out::sanitize(early.output.trim_end()));
                ExitCode::from(error::EXIT_USAGE)
            };
        }
    };
    match cmd::run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages may quote what a server sent: one line, no terminal escapes.
            eprintln!("{BIN}: {}", out::one_line(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}
