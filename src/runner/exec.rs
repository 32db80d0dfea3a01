//! Running one step: `<shell> -c <script>` in its own process group, with a timeout, and
//! with Ctrl-C stopping the step rather than leaving its children behind.
//!
//! The step gets a process group of its own so that a timeout or an interrupt can stop it
//! and everything it started. On a terminal the group is also made the terminal's foreground
//! group, as a shell does, so the step can read the keyboard and Ctrl-C reaches it directly;
//! `my` takes the terminal back when the step ends. The system calls are in `crate::sys`.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sys::process::GroupLeader;
use crate::sys::signal::{Interrupts, Signal, SIGINT, SIGKILL, SIGTERM};
use crate::sys::terminal;

/// How long a stopped step gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How often the wait looks for an interrupt.
const TICK: Duration = Duration::from_millis(50);

/// What to run.
pub struct Step<'a> {
    pub shell: &'a str,
    pub script: &'a str,
    /// Added to the inherited environment (after `remove`).
    pub env: &'a [(String, String)],
    /// Inherited variables the step must not see.
    pub remove: &'a [&'a str],
    pub timeout: Duration,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code (128 + signal for a step killed by a signal, as shells report it).
    Exited(i32),
    /// Stopped after its timeout.
    TimedOut,
    /// `my` was interrupted (SIGINT or SIGTERM, given); the step was stopped.
    Interrupted(Signal),
}

/// Checks that `shell` is an absolute path to an existing file (the spec only says absolute).
pub fn check_shell(shell: &str) -> Result<()> {
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
pub fn run_step(step: &Step) -> Result<Outcome> {
    let foreground = terminal::in_foreground();
    let mut cmd = Command::new(step.shell);
    cmd.arg("-c").arg(step.script);
    for name in step.remove {
        cmd.env_remove(name);
    }
    cmd.envs(step.env.iter().map(|(k, v)| (k, v)));
    cmd.process_group(0);
    if foreground {
        terminal::take_on_exec(&mut cmd);
    }
    // Caught from before the step starts until `my` has the terminal back.
    let interrupts = Interrupts::catch();
    let child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("cannot start {}", step.shell), e))?;
    let leader = GroupLeader::new(child);
    if foreground {
        terminal::give_to(leader.pgid());
    }
    let outcome = supervise(leader, &interrupts, step.timeout);
    if foreground {
        terminal::take_back();
    }
    Ok(outcome)
}

/// Waits for the step while watching the clock and the interrupts.
fn supervise(mut leader: GroupLeader, interrupts: &Interrupts, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if leader.exited_within(left.min(TICK)) {
            return exited(leader.reap());
        }
        if let Some(sig) = interrupts.received() {
            stop_group(leader, sig);
            return Outcome::Interrupted(sig);
        }
        if Instant::now() >= deadline {
            stop_group(leader, SIGTERM);
            return Outcome::TimedOut;
        }
    }
}

/// Sends `sig` to the step's group, gives it `GRACE` to end, then kills whatever is left
/// of the group (background children included). The leader is reaped only after the last
/// signal, so both reach this group and no other (see `sys::process`).
fn stop_group(mut leader: GroupLeader, sig: Signal) {
    // Errors are ESRCH at most: nothing left to stop.
    let _ = leader.signal_group(sig);
    leader.exited_within(GRACE);
    let _ = leader.signal_group(SIGKILL);
    if leader.exited_within(GRACE) {
        let _ = leader.reap();
    }
}

fn exited(status: std::io::Result<ExitStatus>) -> Outcome {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(SIGINT)) => Outcome::Interrupted(SIGINT),
            (None, Some(sig)) => Outcome::Exited(128 + sig),
            (None, None) => Outcome::Exited(1),
        },
        Err(_) => Outcome::Exited(1),
    }
}
