//! The CLI against servers we did not write (issue 13): a foreign RFC 8628 server, one that
//! closes kept-alive connections under the client, and hostile ones that send huge numbers,
//! terminal escapes, file:// links, redirects to another origin, forged callbacks. Whatever
//! they do, `my` never panics and never lets an escape byte through (see [`clean`]).

mod files;
mod foreign;
mod foreign_servers;
mod server;
mod untrusted;

use crate::util::{Run, TestEnv, Watched};
use std::time::Duration;

/// A user of the server at `url` whose credentials go to the 0600 file store.
pub fn env_for(url: &str) -> TestEnv {
    TestEnv {
        home: tempfile::tempdir().unwrap(),
        api_url: url.to_string(),
        vars: vec![("MY_CREDENTIAL_STORE".into(), "file".into())],
    }
}

/// No panic (exit code 101, or 134 for an abort; "panicked" on stderr) and no ESC or BEL
/// byte on stdout or stderr.
#[track_caller]
pub fn clean(run: &Run) {
    assert!(
        ![101, 134, -1].contains(&run.code) && !run.stderr.contains("panicked"),
        "my crashed (exit {}):\n{}",
        run.code,
        run.stderr
    );
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "a terminal escape reached {name}: {text:?}"
        );
    }
}

/// [`clean`], exit code `code`, and `needle` on stdout or stderr.
#[track_caller]
pub fn expect(run: &Run, code: i32, needle: &str) {
    clean(run);
    assert!(
        run.code == code && (run.stdout.contains(needle) || run.stderr.contains(needle)),
        "wanted exit {code} and {needle:?}, got exit {}\nstdout: {}\nstderr: {}",
        run.code,
        run.stdout,
        run.stderr
    );
}

/// Starts `my cli login --email … --no-browser` against a foreign server and waits until it
/// shows the code to enter.
pub fn start_login(env: &TestEnv) -> Watched {
    let w = Watched::new(env.spawn(&[
        "cli",
        "login",
        "--email",
        "ada@foreign.example",
        "--no-browser",
    ]));
    w.wait_for(foreign::USER_CODE);
    w
}

pub const LIMIT: Duration = Duration::from_secs(30);
