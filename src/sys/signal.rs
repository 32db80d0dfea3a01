//! Signals: SIGINT and SIGTERM caught while a step runs, a quiet exit on Ctrl-C, and the
//! ignore/restore pairs the terminal hand-over needs.
//!
//! Dispositions are set with sigaction(2), whose meaning is the same everywhere (signal(2)
//! restarts interrupted calls on some systems and resets the handler on others), with no
//! `SA_RESTART`: a wait in poll(2) returns at once when a signal arrives. The handlers here
//! only store to an atomic or call `_exit`, both async-signal-safe.

use std::mem;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// A signal number.
pub type Signal = i32;

pub const SIGINT: Signal = libc::SIGINT;
pub const SIGTERM: Signal = libc::SIGTERM;
pub const SIGKILL: Signal = libc::SIGKILL;
pub(super) const SIGTTOU: Signal = libc::SIGTTOU;
pub(super) const SIGTSTP: Signal = libc::SIGTSTP;

/// The last signal [`Interrupts`] caught (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The exit code of [`exit_on_interrupt`].
static EXIT_CODE: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(sig: libc::c_int) {
    RECEIVED.store(sig, Ordering::SeqCst);
}

extern "C" fn exit_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe; it ends the process without running anything else.
    unsafe { libc::_exit(EXIT_CODE.load(Ordering::SeqCst)) }
}

/// SIGINT and SIGTERM caught, not acted on, while this value lives: [`Interrupts::received`]
/// says which came. Dropping it puts back what was there before. One at a time.
pub struct Interrupts {
    previous: [Disposition; 2],
}

impl Interrupts {
    pub fn catch() -> Interrupts {
        RECEIVED.store(0, Ordering::SeqCst);
        Interrupts {
            previous: [handle(SIGINT, record), handle(SIGTERM, record)],
        }
    }

    /// The signal that came last since [`Interrupts::catch`], if any.
    pub fn received(&self) -> Option<Signal> {
        match RECEIVED.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        restore(SIGINT, &self.previous[0]);
        restore(SIGTERM, &self.previous[1]);
    }
}

/// From now on SIGINT (Ctrl-C) ends the process at once with exit code `code`, for a command
/// that runs until it is interrupted. Nothing runs on the way out: what must be seen has to
/// be written already.
pub fn exit_on_interrupt(code: u8) {
    EXIT_CODE.store(i32::from(code), Ordering::SeqCst);
    handle(SIGINT, exit_now);
}

/// A signal's disposition as sigaction(2) returned it, to put back later.
pub(super) struct Disposition(libc::sigaction);

/// Ignores `sig`; returns what was there. Async-signal-safe (fit for a child between fork and
/// exec).
pub(super) fn ignore(sig: Signal) -> Disposition {
    // SAFETY: SIG_IGN is a valid disposition for any signal that can be caught.
    unsafe { set(sig, libc::SIG_IGN) }
}

/// Puts back a disposition [`ignore`] or [`handle`] returned. Async-signal-safe.
pub(super) fn restore(sig: Signal, previous: &Disposition) {
    // SAFETY: `previous` is a whole sigaction structure the kernel filled in for `sig`, valid
    // for the call; a null pointer asks for no old action back.
    unsafe { libc::sigaction(sig, &previous.0, ptr::null_mut()) };
}

/// Calls `handler` on `sig`; returns what was there. Private: every handler of this module is
/// async-signal-safe.
fn handle(sig: Signal, handler: extern "C" fn(libc::c_int)) -> Disposition {
    // SAFETY: `handler` is one of this module's functions, which only do async-signal-safe
    // things; as a sighandler_t it is the address sa_sigaction expects without SA_SIGINFO.
    unsafe { set(sig, handler as *const () as libc::sighandler_t) }
}

/// # Safety
/// `action` must be SIG_DFL, SIG_IGN or the address of an `extern "C" fn(c_int)` that is
/// async-signal-safe.
unsafe fn set(sig: Signal, action: libc::sighandler_t) -> Disposition {
    // SAFETY: all-zero is a valid sigaction (no flags, empty mask) and a valid out-parameter;
    // both structures live across the calls. Errors (an invalid signal) leave the old one in
    // place, and the zeroed `old` then restores SIG_DFL, which is what such a signal has.
    unsafe {
        let mut new: libc::sigaction = mem::zeroed();
        new.sa_sigaction = action;
        libc::sigemptyset(&mut new.sa_mask);
        let mut old: libc::sigaction = mem::zeroed();
        libc::sigaction(sig, &new, &mut old);
        Disposition(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupts_are_recorded_and_the_old_handling_comes_back() {
        // SIGTERM rather than SIGINT: the test harness leaves both at their default, and
        // neither reaches another test (they run in threads of this process, none waits on it).
        let before = ignore(SIGTERM);
        {
            let caught = Interrupts::catch();
            assert_eq!(caught.received(), None);
            // SAFETY: raise has no preconditions; the handler above records the signal.
            unsafe { libc::raise(SIGTERM) };
            assert_eq!(caught.received(), Some(SIGTERM));
        }
        // Ignored again once the catcher is gone: raising it does nothing.
        // SAFETY: as above; SIGTERM is ignored now.
        unsafe { libc::raise(SIGTERM) };
        restore(SIGTERM, &before);
    }
}
