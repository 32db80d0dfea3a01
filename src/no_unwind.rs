//! The unwinder entry points, as no-ops, for the `make release` build of `my` (compiled
//! with `--cfg my_no_unwind`).
//!
//! That build aborts on panic and links no unwind tables (`.eh_frame` is discarded, see
//! `scripts/no-eh-frame.ld`), so nothing could ever unwind: a panic prints its message and
//! aborts, and a backtrace has no frames to walk (a stripped binary had no names to show
//! anyway). The standard library is precompiled for unwinding and still refers to these
//! functions of libgcc_s; defining them here means libgcc_s is not loaded at start-up, and
//! link-time optimization sees that `_Unwind_Backtrace` never calls back, so the backtrace
//! symbolizer (DWARF parser, decompressor, demangler: ~0.2 MB) is dropped as dead code.
//!
//! The functions are exported (libgcc_s, on the link line, defines them too), so this is only
//! for a `my` that loads nothing but libc: builds that link system libraries
//! (`SYSTEM_LIBS=1`) or keep unwind tables (`cargo build`, `DEBUGINFO=1`) do not compile this
//! file and use the system unwinder as usual.

#[cfg(not(panic = "abort"))]
compile_error!("`--cfg my_no_unwind` needs panic = \"abort\" (the release-cli profile)");

use std::ffi::{c_int, c_void};

/// `_URC_END_OF_STACK`: the walk ends before the first frame.
const END_OF_STACK: c_int = 5;

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Backtrace(_trace: *const c_void, _arg: *mut c_void) -> c_int {
    END_OF_STACK
}

/// Only a landing pad calls this, after an unwind that cannot start.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
    std::process::abort()
}

// What the personality routine and the backtrace code read from a frame: there are none.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetIP(_context: *mut c_void) -> usize {
    0
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetIPInfo(_context: *mut c_void, _before: *mut c_int) -> usize {
    0
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetLanguageSpecificData(_context: *mut c_void) -> *mut c_void {
    std::ptr::null_mut()
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetRegionStart(_context: *mut c_void) -> usize {
    0
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetTextRelBase(_context: *mut c_void) -> usize {
    0
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetDataRelBase(_context: *mut c_void) -> usize {
    0
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_SetGR(_context: *mut c_void, _index: c_int, _value: usize) {}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_SetIP(_context: *mut c_void, _value: usize) {}

// What a static glibc refers to (for thread cancellation, which `my` never uses): defined here
// so its linking does not pull the real unwinder from libgcc_eh.a, which would clash with the
// functions above.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_ForcedUnwind(
    _exception: *mut c_void,
    _stop: *const c_void,
    _arg: *mut c_void,
) -> c_int {
    END_OF_STACK
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_GetCFA(_context: *mut c_void) -> usize {
    0
}
