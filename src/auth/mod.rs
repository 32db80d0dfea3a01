//! Sign-in flows and keeping the session fresh: discovery, the device flow with its magic
//! link and loopback wake-up, and the bearer/refresh logic every API command goes through.

pub(crate) mod browser;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod jwt;
pub(crate) mod loopback;
pub(crate) mod session;

use crate::out;

/// Why a browser cannot be opened here, if it cannot: CI, an SSH session, or (on Linux and
/// BSD) no graphical display.
pub(crate) fn no_display_reason() -> Option<&'static str> {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if set("CI") {
        return Some("this looks like CI (CI is set)");
    }
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return Some("this is an SSH session");
    }
    if cfg!(all(unix, not(target_os = "macos"))) && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        return Some("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    }
    None
}

/// Tries to open `url` in a browser (honouring `BROWSER`); says on stderr when it cannot.
/// Returns whether a browser was started. The URL must already have been printed.
pub(crate) fn try_open_browser(url: &str) -> bool {
    if let Some(why) = no_display_reason() {
        out::note(format!("Not opening a browser: {why}."));
        return false;
    }
    match webbrowser::open(url) {
        Ok(()) => true,
        Err(e) => {
            out::note(format!("Could not open a browser ({e})."));
            false
        }
    }
}
