//! `my`: parse the command line, run the command, print the error once and choose the
//! exit code. Nothing else happens here.

mod api;
mod app;
mod auth;
mod catalog;
mod cli;
mod cmd;
mod error;
mod out;
mod run;
mod secret;
mod settings;
mod store;

use std::process::ExitCode;

/// The binary's name, in one place (a distro that renames it stays consistent).
pub(crate) const BIN: &str = "my";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
                eprintln!("{BIN}: {}", early.output.trim_end());
                ExitCode::from(error::EXIT_USAGE)
            };
        }
    };
    match cmd::run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{BIN}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
