//! The terminal on stdin: whether `my` is in its foreground, and handing the foreground to a
//! step's process group and back, as a shell does with a job (tcgetpgrp(3), tcsetpgrp(3)).

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::process::Pid;
use super::signal::{self, SIGTSTP, SIGTTOU};

/// Whether this process is in the foreground of the terminal on its stdin (false when stdin
/// is no terminal).
pub fn in_foreground() -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    // SAFETY: tcgetpgrp and getpgrp only read state; tcgetpgrp fails with -1 on a descriptor
    // that is not our controlling terminal, which no group equals.
    unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
}

/// Makes `pgid` the terminal's foreground group. Best effort: nothing happens when stdin is
/// not our controlling terminal.
pub fn give_to(pgid: Pid) {
    // A process outside the foreground group that does this is stopped by SIGTTOU, unless it
    // ignores the signal.
    let previous = signal::ignore(SIGTTOU);
    // SAFETY: tcsetpgrp takes a descriptor and a group id and changes no memory of ours.
    unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, pgid) };
    signal::restore(SIGTTOU, &previous);
}

/// Makes our own process group the terminal's foreground group again.
pub fn take_back() {
    // SAFETY: getpgrp has no preconditions and cannot fail.
    give_to(unsafe { libc::getpgrp() });
}

/// Makes the child `cmd` starts take the terminal for its own group before it runs (the
/// parent also does it, with [`give_to`], but a step may read the keyboard before the parent
/// gets there), and ignore SIGTSTP: a stopped step would leave `my` waiting with no terminal
/// to resume it from. `cmd` must give the child a group of its own (`process_group(0)`),
/// which std sets up before this runs.
pub fn take_on_exec(cmd: &mut Command) {
    let in_child = || {
        let previous = signal::ignore(SIGTTOU);
        // SAFETY: getpgrp and tcsetpgrp are async-signal-safe and touch no memory of ours.
        unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) };
        signal::restore(SIGTTOU, &previous);
        signal::ignore(SIGTSTP);
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: sigaction, sigemptyset, getpgrp and tcsetpgrp
    // are, and it allocates nothing and takes no lock.
    unsafe { cmd.pre_exec(in_child) };
}
