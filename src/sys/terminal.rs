//! The terminal on stdin: whether `my` is in its foreground, and handing the foreground to a
//! step's process group and back, as a shell does with a job (tcgetpgrp(3), tcsetpgrp(3)).

use std::io::IsTerminal;
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::process::{getpgrp, Pid};
use rustix::termios::{tcgetpgrp, tcsetpgrp};

use super::signal::{self, SIGTSTP, SIGTTOU};

/// Descriptor 0, without `std::io::stdin()`, which allocates on its first use (not allowed
/// between fork and exec).
fn stdin() -> BorrowedFd<'static> {
    // SAFETY: std's start-up opens /dev/null on descriptor 0 when it is closed, and neither
    // std nor `my` ever closes it: it stays open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// Whether this process is in the foreground of the terminal on its stdin (false when stdin
/// is no terminal).
pub fn in_foreground() -> bool {
    stdin().is_terminal() && tcgetpgrp(stdin()).is_ok_and(|group| group == getpgrp())
}

/// Makes `pgid` the terminal's foreground group. Best effort: nothing happens when stdin is
/// not our controlling terminal.
pub fn give_to(pgid: Pid) {
    // A process outside the foreground group that does this is stopped by SIGTTOU, unless it
    // ignores the signal.
    let previous = signal::ignore(SIGTTOU);
    let _ = tcsetpgrp(stdin(), pgid);
    signal::restore(SIGTTOU, &previous);
}

/// Makes our own process group the terminal's foreground group again.
pub fn take_back() {
    give_to(getpgrp());
}

/// Makes the child `cmd` starts take the terminal for its own group before it runs (the
/// parent also does it, with [`give_to`], but a step may read the keyboard before the parent
/// gets there), and ignore SIGTSTP: a stopped step would leave `my` waiting with no terminal
/// to resume it from. `cmd` must give the child a group of its own (`process_group(0)`),
/// which std sets up before this runs.
pub fn take_on_exec(cmd: &mut Command) {
    let in_child = || {
        let previous = signal::ignore(SIGTTOU);
        let _ = tcsetpgrp(stdin(), getpgrp());
        signal::restore(SIGTTOU, &previous);
        signal::ignore(SIGTSTP);
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: sigaction and sigemptyset are, and so are getpgrp
    // and tcsetpgrp (system calls, through rustix); it allocates nothing and takes no lock.
    unsafe { cmd.pre_exec(in_child) };
}
