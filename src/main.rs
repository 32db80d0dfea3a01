//! `my`: parse the command line, run the command, print the error once and choose the
//! exit code. Nothing else happens here.
//!
//! `main` is the C one (`no_main`): std's runtime start-up would also install a stack
//! overflow handler, which reads /proc/self/maps and maps an alternate signal stack at every
//! start (~0.1 ms, a tenth of `my --version`). [`start`] keeps the rest of what it does.

#![cfg_attr(not(test), no_main)]

mod api;
mod app;
mod auth;
mod catalog;
mod cli;
mod clock;
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

use cli::BIN;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    start();
    let code = invoke();
    // `exit` flushes stdout, as returning from a Rust `main` would.
    std::process::exit(i32::from(code))
}

/// What std does before a Rust `main`, but for the stack overflow handler: file
/// descriptors 0–2 are made valid (else the first file `my` opens would become its stdout),
/// and SIGPIPE is ignored, so a closed stdout is an error `out` handles, not a kill. Child
/// processes get the default SIGPIPE back (std's `Command` restores it).
#[cfg(unix)]
#[cfg_attr(test, allow(dead_code))]
fn start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: plain system calls on a local array and a NUL-terminated path.
    unsafe {
        if libc::poll(fds.as_mut_ptr(), 3, 0) != -1 {
            for fd in fds {
                if fd.revents & libc::POLLNVAL != 0
                    && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1
                {
                    libc::abort();
                }
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
fn start() {}

/// The exit code of the invocation.
#[cfg_attr(test, allow(dead_code))]
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
    match cmd::run(parsed) {
        Ok(()) => 0,
        Err(e) => {
            // Messages may quote what a server sent: one line, no terminal escapes.
            eprintln!("{BIN}: {}", out::one_line(&e.to_string()));
            e.exit_code()
        }
    }
}
