//! The platform seam: every system call `my` makes past std sits in this module, behind a
//! small safe function, and nowhere else. The rest of the CLI uses std and these functions,
//! so porting or auditing starts and ends here, as with std's own `sys`.
//!
//! The calls go through rustix, which wraps them safely (on Linux as raw system calls),
//! except signal dispositions and `_exit`, which rustix leaves to applications: those use
//! libc, in [`signal`]. The few `unsafe` blocks left (there, and around fork in [`terminal`])
//! each carry their SAFETY note.
//!
//! - [`fs`]: opening a file without following a symbolic link, our user id;
//! - [`signal`]: catching SIGINT/SIGTERM while a step runs, a quiet exit on Ctrl-C;
//! - [`terminal`]: the terminal's foreground process group, handed to a step and back;
//! - [`process`]: a step's process group, signalled only while its leader is not reaped.

// Steps run under a POSIX shell in process groups of their own, with the terminal handed over
// as a shell does: none of this has a Windows version, so the build stops here.
#[cfg(not(unix))]
compile_error!("my builds on Unix-like systems only (it is tested on Linux)");

pub mod fs;
pub mod process;
pub mod signal;
pub mod terminal;
