//! Running one step: `<shell> -c <script>` in its own process group, with a timeout, and
//! with Ctrl-C stopping the step rather than leaving its children behind.
//!
//! The step gets a process group of its own so that a timeout or an interrupt can stop it
//! and everything it started (`killpg`). On a terminal the group is also made the
//! terminal's foreground group, as a shell does, so the step can read the keyboard and
//! Ctrl-C reaches it directly; `my` takes the terminal back when the step ends.

use std::io::IsTerminal;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a stopped step gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How often the wait looks for an interrupt.
const TICK: Duration = Duration::from_millis(50);

/// What to run.
pub(crate) struct Step<'a> {
    pub(crate) shell: &'a str,
    pub(crate) script: &'a str,
    /// Added to the inherited environment (after `remove`).
    pub(crate) env: &'a [(String, String)],
    /// Inherited variables the step must not see.
    pub(crate) remove: &'a [&'a str],
    pub(crate) timeout: Duration,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit code (128 + signal for a step killed by a signal, as shells report it).
    Exited(i32),
    /// Stopped after its timeout.
    TimedOut,
    /// `my` was interrupted (SIGINT or SIGTERM, given); the step was stopped.
    Interrupted(i32),
}

/// The signal `my` received while a step ran (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
}

/// Checks that `shell` is an absolute path to an existing file (the spec only says absolute).
pub(crate) fn check_shell(shell: &str) -> Result<()> {
    let path = Path::new(shell);
    if path.is_absolute() && path.is_file() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "shell {shell} does not exist on this machine: change the spec's shell (the default is {})",
            my_api::spec::DEFAULT_SHELL
        )))
    }
}

/// Runs the step to its end, its timeout, or an interrupt.
pub(crate) fn run(step: &Step) -> Result<Outcome> {
    let foreground = owns_terminal();
    let mut cmd = Command::new(step.shell);
    cmd.arg("-c").arg(step.script);
    for name in step.remove {
        cmd.env_remove(name);
    }
    cmd.envs(step.env.iter().map(|(k, v)| (k, v)));
    cmd.process_group(0);
    if foreground {
        // SAFETY: only async-signal-safe calls (setpgid, signal, getpgrp, tcsetpgrp) between fork
        // and exec. Taking the terminal here as well as in the parent closes the race where
        // the step reads the keyboard before the parent has handed it over.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
                // A stopped step would leave `my` waiting with no terminal to resume it from.
                libc::signal(libc::SIGTSTP, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    RECEIVED.store(0, Ordering::SeqCst);
    let previous = catch_signals();
    let child = cmd.spawn();
    let outcome = match child {
        Ok(child) => {
            let pgid = child.id() as libc::pid_t;
            if foreground {
                give_terminal(pgid);
            }
            let outcome = supervise(child, pgid, step.timeout);
            if foreground {
                // SAFETY: plain libc calls on our own process.
                give_terminal(unsafe { libc::getpgrp() });
            }
            Ok(outcome)
        }
        Err(e) => Err(Error::io(format!("cannot start {}", step.shell), e)),
    };
    restore_signals(previous);
    outcome
}

/// Waits for the child in a thread (so its exit is seen at once) while this thread watches
/// the clock and the interrupt flag.
fn supervise(mut child: std::process::Child, pgid: libc::pid_t, timeout: Duration) -> Outcome {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(TICK)) {
            Ok(status) => return exited(status),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Outcome::Exited(1),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let sig = RECEIVED.load(Ordering::SeqCst);
        if sig != 0 {
            stop_group(pgid, sig, &rx);
            return Outcome::Interrupted(sig);
        }
        if Instant::now() >= deadline {
            stop_group(pgid, libc::SIGTERM, &rx);
            return Outcome::TimedOut;
        }
    }
}

/// Sends `sig` to the step's group, gives it `GRACE` to end, then kills whatever is left
/// of the group (background children included).
fn stop_group(
    pgid: libc::pid_t,
    sig: libc::c_int,
    rx: &mpsc::Receiver<std::io::Result<ExitStatus>>,
) {
    // SAFETY: signalling a process group we created.
    unsafe { libc::killpg(pgid, sig) };
    let _ = rx.recv_timeout(GRACE);
    // SAFETY: as above; ESRCH (nothing left) is fine.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    let _ = rx.recv_timeout(GRACE);
}

fn exited(status: std::io::Result<ExitStatus>) -> Outcome {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(sig)) if sig == libc::SIGINT => Outcome::Interrupted(sig),
            (None, Some(sig)) => Outcome::Exited(128 + sig),
            (None, None) => Outcome::Exited(1),
        },
        Err(_) => Outcome::Exited(1),
    }
}

/// Whether `my` runs in the foreground of the terminal on its stdin.
fn owns_terminal() -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    // SAFETY: plain libc queries.
    unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
}

/// Makes `pgid` the terminal's foreground group (SIGTTOU ignored meanwhile: a background
/// process that does this is otherwise stopped).
fn give_terminal(pgid: libc::pid_t) {
    // SAFETY: plain libc calls; the previous disposition is restored.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcsetpgrp(libc::STDIN_FILENO, pgid);
        libc::signal(libc::SIGTTOU, old);
    }
}

type Handlers = [libc::sighandler_t; 2];

fn catch_signals() -> Handlers {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        [
            libc::signal(libc::SIGINT, handler),
            libc::signal(libc::SIGTERM, handler),
        ]
    }
}

fn restore_signals(previous: Handlers) {
    // SAFETY: putting back what `catch_signals` replaced.
    unsafe {
        libc::signal(libc::SIGINT, previous[0]);
        libc::signal(libc::SIGTERM, previous[1]);
    }
}
