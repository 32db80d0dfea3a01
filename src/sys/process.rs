//! A step's process: a child that leads a process group of its own, watched for its exit
//! without being reaped, so that its group can be signalled without ever reaching a stranger.
//!
//! A process group's id is its leader's pid. As long as the leader is not reaped (a zombie
//! included) the kernel gives that pid to no other process, so the id still names our group.
//! Once the leader is reaped and the rest of its group gone, the number is free: a later
//! killpg(2) could stop whatever process group got it next. So [`GroupLeader`] owns the child,
//! sees its exit without reaping it (a pidfd becoming readable on Linux 5.3 and later, else
//! waitid(2) with `WNOWAIT` in a thread), signals the group only while it holds the child, and
//! reaps it last, in [`GroupLeader::reap`], which consumes it.

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
pub use rustix::process::Pid;
use rustix::process::{WaitId, WaitIdOptions};

use super::signal::Signal;

/// A child leading its own process group, not reaped while this value lives.
pub struct GroupLeader {
    child: Child,
    pid: Pid,
    watch: Watch,
    exited: bool,
}

/// How the leader's exit is seen as it happens.
enum Watch {
    /// A pidfd of the child, readable once it has exited: no thread (its stack, its allocator
    /// arena) for every step.
    Pidfd(OwnedFd),
    /// A thread blocked in waitid(2) with `WNOWAIT`, which says when the child exited.
    Thread(mpsc::Receiver<()>),
}

impl GroupLeader {
    /// Takes over `child`, which must have been spawned with a process group of its own
    /// (`CommandExt::process_group(0)`) and not waited for.
    pub fn new(child: Child) -> GroupLeader {
        let pid = Pid::from_child(&child);
        let watch = pidfd_open(pid).map_or_else(|_| watch_in_thread(pid), Watch::Pidfd);
        GroupLeader {
            child,
            pid,
            watch,
            exited: false,
        }
    }

    /// The group's id (the leader's pid).
    pub fn pgid(&self) -> Pid {
        self.pid
    }

    /// Sends `sig` to every process of the group, the leader included until it exits. It
    /// cannot reach another group: the leader is not reaped while `self` lives.
    pub fn signal_group(&self, sig: Signal) -> io::Result<()> {
        let sig =
            rustix::process::Signal::from_named_raw(sig).ok_or(io::ErrorKind::InvalidInput)?;
        Ok(rustix::process::kill_process_group(self.pid, sig)?)
    }

    /// Whether the leader has exited, waiting up to `d` for it; it stays unreaped. False also
    /// when a signal interrupts the wait, for the caller to look at what came.
    pub fn exited_within(&mut self, d: Duration) -> bool {
        if !self.exited {
            self.exited = match &self.watch {
                Watch::Pidfd(fd) => match poll_readable(fd, d) {
                    Ok(ready) => ready,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                    // Not expected; a thread that waits does not need poll.
                    Err(_) => {
                        self.watch = watch_in_thread(self.pid);
                        return self.exited_within(d);
                    }
                },
                Watch::Thread(rx) => match rx.recv_timeout(d) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
                    Err(mpsc::RecvTimeoutError::Timeout) => false,
                },
            };
        }
        self.exited
    }

    /// Reaps the leader and returns how it ended, waiting for it if it has not exited yet.
    pub fn reap(mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }

    /// A leader watched by a thread even where a pidfd is there, to test that way too.
    #[cfg(test)]
    fn with_thread(child: Child) -> GroupLeader {
        let pid = Pid::from_child(&child);
        GroupLeader {
            child,
            pid,
            watch: watch_in_thread(pid),
            exited: false,
        }
    }
}

/// A pidfd for `pid`: Linux 5.3 and later.
#[cfg(target_os = "linux")]
fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    Ok(rustix::process::pidfd_open(
        pid,
        rustix::process::PidfdFlags::empty(),
    )?)
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: Pid) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Whether `fd` becomes readable within `d` (a `d` too long for the clock waits for it).
fn poll_readable(fd: &OwnedFd, d: Duration) -> io::Result<bool> {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    Ok(rustix::event::poll(&mut fds, Timespec::try_from(d).ok().as_ref())? > 0)
}

/// A thread that says when `pid` (our child) has exited, leaving it unreaped.
fn watch_in_thread(pid: Pid) -> Watch {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Ends on the exit, or on an error (no such child): either way the caller stops
        // waiting and `reap` says what happened.
        while let Err(e) = wait_exit_unreaped(pid) {
            if e.kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        let _ = tx.send(());
    });
    Watch::Thread(rx)
}

/// Blocks until the child `pid` has exited, without reaping it.
fn wait_exit_unreaped(pid: Pid) -> io::Result<()> {
    rustix::process::waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::signal::{SIGKILL, SIGTERM};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Command;
    use std::time::Instant;

    fn leader(script: &str) -> Child {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn both_watches_see_the_exit_and_time_out_before_it() {
        for code in [3, 4] {
            let child = leader(&format!("sleep 0.3; exit {code}"));
            let mut leader = match code {
                3 => GroupLeader::new(child),
                _ => GroupLeader::with_thread(child),
            };
            if code == 3 && cfg!(target_os = "linux") {
                assert!(matches!(leader.watch, Watch::Pidfd(_)), "no pidfd");
            }
            let t = Instant::now();
            assert!(!leader.exited_within(Duration::from_millis(20)));
            assert!(t.elapsed() >= Duration::from_millis(20));
            assert!(leader.exited_within(Duration::from_secs(10)));
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "the exit was seen late"
            );
            // Asked again once the step has ended (as stopping a group does): at once.
            let t = Instant::now();
            assert!(leader.exited_within(Duration::from_secs(10)));
            assert!(t.elapsed() < Duration::from_secs(1));
            // Seen, not reaped: the group can still be signalled, and the status is there.
            leader.signal_group(SIGTERM).unwrap();
            assert_eq!(leader.reap().unwrap().code(), Some(code));
        }
    }

    #[test]
    fn the_group_is_signalled_as_a_whole() {
        let mut leader = GroupLeader::new(leader("sleep 30 & wait"));
        leader.signal_group(SIGTERM).unwrap();
        assert!(leader.exited_within(Duration::from_secs(10)));
        assert_eq!(leader.reap().unwrap().signal(), Some(SIGTERM));
    }

    // What stopping a step relies on: after its leader exited, what it left running in its
    // group is still reached, because the leader is not reaped yet.
    #[cfg(target_os = "linux")]
    #[test]
    fn what_an_exited_leader_left_behind_is_still_reached() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; exit 0", pid_file.display());
        let mut leader = GroupLeader::new(leader(&script));
        assert!(leader.exited_within(Duration::from_secs(10)));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        // Alive unless gone or a zombie (whoever inherited it may not reap it at once).
        let alive = || {
            std::fs::read_to_string(&stat).is_ok_and(|s| {
                s.rsplit_once(") ")
                    .is_some_and(|(_, rest)| !rest.starts_with('Z'))
            })
        };
        assert!(alive());
        leader.signal_group(SIGKILL).unwrap();
        assert!(leader.reap().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive() {
            assert!(Instant::now() < deadline, "the background sleep lives on");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
