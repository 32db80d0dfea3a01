//! Running one step: `<shell> -c <script>` in its own process group, with a timeout, and
//! with Ctrl-C stopping the step rather than leaving its children behind.
//!
//! The step gets a process group of its own so that a timeout or an interrupt can stop it
//! and everything it started (`killpg`). On a terminal the group is also made the
//! terminal's foreground group, as a shell does, so the step can read the keyboard and
//! Ctrl-C reaches it directly; `my` takes the terminal back when the step ends.

use std::io::IsTerminal;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

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
    Interrupted(i32),
}

/// The signal `my` received while a step ran (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
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

/// Waits for the child while watching the clock and the interrupt flag.
fn supervise(child: Child, pgid: libc::pid_t, timeout: Duration) -> Outcome {
    let mut waiter = Waiter::new(child);
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(status) = waiter.wait_for(left.min(TICK)) {
            return exited(status);
        }
        let sig = RECEIVED.load(Ordering::SeqCst);
        if sig != 0 {
            stop_group(pgid, sig, &mut waiter);
            return Outcome::Interrupted(sig);
        }
        if Instant::now() >= deadline {
            stop_group(pgid, libc::SIGTERM, &mut waiter);
            return Outcome::TimedOut;
        }
    }
}

/// Sends `sig` to the step's group, gives it `GRACE` to end, then kills whatever is left
/// of the group (background children included).
fn stop_group(pgid: libc::pid_t, sig: libc::c_int, waiter: &mut Waiter) {
    // SAFETY: signalling a process group we created.
    unsafe { libc::killpg(pgid, sig) };
    let _ = waiter.wait_for(GRACE);
    // SAFETY: as above; ESRCH (nothing left) is fine.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    let _ = waiter.wait_for(GRACE);
}

/// Sees the step's exit as soon as it happens while the caller keeps a clock: by polling
/// a pidfd of the child (Linux 5.3 and later), or else by a thread blocked in `wait`.
/// The pidfd spares every run a thread (its stack, its allocator arena), which is a
/// measurable part of what `my` adds to a short step.
enum Waiter {
    Pidfd { child: Child, fd: OwnedFd },
    Thread(mpsc::Receiver<std::io::Result<ExitStatus>>),
}

impl Waiter {
    fn new(child: Child) -> Waiter {
        Waiter::pidfd(child).unwrap_or_else(Waiter::thread)
    }

    /// A pidfd waiter; the child back when the kernel has no pidfd for it.
    fn pidfd(child: Child) -> std::result::Result<Waiter, Child> {
        #[cfg(target_os = "linux")]
        {
            let pid = child.id() as libc::pid_t;
            // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if let Ok(fd) = RawFd::try_from(fd) {
                if fd >= 0 {
                    // SAFETY: a descriptor just opened, owned by nothing else.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    return Ok(Waiter::Pidfd { child, fd });
                }
            }
        }
        Err(child)
    }

    fn thread(mut child: Child) -> Waiter {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        Waiter::Thread(rx)
    }

    /// The child's status if it ends within `d`; `None` when `d` passes first or a signal
    /// interrupts the wait (the caller then looks at the interrupt flag).
    fn wait_for(&mut self, d: Duration) -> Option<std::io::Result<ExitStatus>> {
        match self {
            Waiter::Pidfd { child, fd } => {
                let mut pfd = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // Rounded up, so a wait shorter than a millisecond does not spin.
                let ms =
                    libc::c_int::try_from(d.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
                // SAFETY: one pollfd that lives across the call.
                match unsafe { libc::poll(&mut pfd, 1, ms) } {
                    n if n > 0 => Some(child.wait()),
                    0 => None,
                    _ if std::io::Error::last_os_error().kind()
                        == std::io::ErrorKind::Interrupted =>
                    {
                        None
                    }
                    // Not expected; without a usable poll, look now and then.
                    _ => {
                        std::thread::sleep(d.min(TICK));
                        child.try_wait().transpose()
                    }
                }
            }
            Waiter::Thread(rx) => match rx.recv_timeout(d) {
                Ok(status) => Some(status),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Some(Err(std::io::Error::other("the wait for the step ended")))
                }
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_waiters_see_the_exit_and_time_out_before_it() {
        let start = |code: &str| {
            Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("sleep 0.3; exit {code}"))
                .spawn()
                .unwrap()
        };
        for code in [3, 4] {
            let child = start(&code.to_string());
            let mut waiter = match code {
                3 => Waiter::pidfd(child).map_err(|_| "no pidfd").unwrap(),
                _ => Waiter::thread(child),
            };
            let t = Instant::now();
            assert!(waiter.wait_for(Duration::from_millis(20)).is_none());
            assert!(t.elapsed() >= Duration::from_millis(20));
            let status = waiter.wait_for(Duration::from_secs(10)).unwrap().unwrap();
            assert_eq!(status.code(), Some(code));
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "the exit was seen late"
            );
            // Asked again once the step has ended (as stopping a group does): at once.
            let t = Instant::now();
            assert!(waiter.wait_for(Duration::from_secs(10)).is_some());
            assert!(t.elapsed() < Duration::from_secs(1));
        }
    }
}
