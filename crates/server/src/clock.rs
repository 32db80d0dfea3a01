//! Wall-clock time as the server stores and shows it: unix seconds (and milliseconds for
//! poll pacing), RFC 3339 for JSON and pages, RFC 5322 for mail headers.
//!
//! Every reading of the time comes from [`now_millis`]: nothing else asks the system, and no
//! SQL asks the database for its own time (`tests/layers.rs` keeps it so). That is what lets
//! a test move the server's clock instead of sleeping out a lifetime — and only a test can:
//!
//! - an in-process test (`cfg(test)`) moves the clock of its own thread, where the handlers
//!   it calls run ([`advance_this_thread`]);
//! - the end-to-end tests start a debug build with `MY_SERVER_TEST_CLOCK` naming a file that
//!   holds an offset in whole seconds (`3600`, `-90`); it is read at every reading, so a
//!   test moves the clock of a running server by rewriting the file. It is no flag, `--help`
//!   does not show it, and a release build refuses to start with it, so a server an
//!   operator runs keeps the real time.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable naming the test clock's offset file.
pub(crate) const TEST_CLOCK_ENV: &str = "MY_SERVER_TEST_CLOCK";

/// The offset file, once [`use_test_clock`] accepted it.
static TEST_CLOCK: OnceLock<PathBuf> = OnceLock::new();

#[cfg(test)]
thread_local! {
    /// Seconds this thread's clock runs ahead (in-process tests).
    static THREAD_OFFSET: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Reads the time with the offset in `file` from now on (`MY_SERVER_TEST_CLOCK`). Refused
/// by a release build, and when the file holds something other than whole seconds.
pub(crate) fn use_test_clock(file: PathBuf) -> Result<(), String> {
    if !cfg!(debug_assertions) {
        return Err(format!(
            "{TEST_CLOCK_ENV} is for the test suite, which runs a debug build; this release \
             build keeps the real time: unset it"
        ));
    }
    read_offset(&file)?;
    TEST_CLOCK
        .set(file)
        .map_err(|_| format!("{TEST_CLOCK_ENV} is already in use"))
}

/// The seconds a test wrote to `file`; nothing written yet is 0.
fn read_offset(file: &Path) -> Result<i64, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => text.trim().parse().map_err(|_| {
            format!(
                "{TEST_CLOCK_ENV}: {} holds {text:?}, not whole seconds",
                file.display()
            )
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!(
            "{TEST_CLOCK_ENV}: cannot read {}: {e}",
            file.display()
        )),
    }
}

/// Seconds the clock runs ahead of the system's (behind when negative): 0 but in tests.
fn offset_secs() -> i64 {
    // Accepted at start and written whole (renamed into place) by the tests: a file gone
    // bad later is a broken test, which should fail loudly.
    let offset = TEST_CLOCK.get().map_or(0, |file| {
        read_offset(file).unwrap_or_else(|e| panic!("{e}"))
    });
    #[cfg(test)]
    let offset = offset.saturating_add(THREAD_OFFSET.with(std::cell::Cell::get));
    offset
}

/// Moves the clock of the calling thread `secs` forward (backward when negative), for the
/// handlers an in-process test calls on it.
#[cfg(test)]
pub(crate) fn advance_this_thread(secs: i64) {
    THREAD_OFFSET.with(|offset| offset.set(offset.get().saturating_add(secs)));
}

/// Unix time in milliseconds.
pub(crate) fn now_millis() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let real = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    real.saturating_add(offset_secs().saturating_mul(1000))
}

/// Unix time in whole seconds (rounded down).
pub(crate) fn now_secs() -> i64 {
    now_millis().div_euclid(1000)
}

/// A duration setting (whole seconds) as an offset to add to a unix time.
pub(crate) fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX / 4)
}

/// `2026-11-23T18:42:05Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `2026-11-23T18:42:05.120Z`, from unix milliseconds.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(time).to_string()
}

/// `Mon, 23 Nov 2026 18:42:05 +0000` (RFC 5322 §3.3), for the mail `Date:` header.
pub(crate) fn rfc5322(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_moves_only_its_own_clock() {
        let before = now_secs();
        advance_this_thread(3600);
        let moved = now_secs();
        assert!(
            (3600..=3601).contains(&(moved - before)),
            "{before} → {moved}"
        );
        let other = std::thread::spawn(now_secs).join().unwrap();
        assert!(other < moved - 3000, "{other} {moved}");
        advance_this_thread(-3600);
        assert!(now_secs() - before <= 1);
    }

    #[test]
    fn the_offset_file_holds_whole_seconds() {
        let dir = std::env::temp_dir().join(format!("my-server-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("clock");
        assert_eq!(read_offset(&file), Ok(0), "nothing written yet");
        for (text, offset) in [("3600", 3600), ("-90\n", -90), (" 0 ", 0)] {
            std::fs::write(&file, text).unwrap();
            assert_eq!(read_offset(&file), Ok(offset), "{text:?}");
        }
        for bad in ["", "1h", "1.5", "99999999999999999999"] {
            std::fs::write(&file, bad).unwrap();
            let err = read_offset(&file).unwrap_err();
            assert!(err.contains("not whole seconds"), "{bad:?}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc3339(1_795_459_325), "2026-11-23T18:42:05Z");
        assert_eq!(
            rfc3339_millis(1_795_459_325_120),
            "2026-11-23T18:42:05.120Z"
        );
        assert_eq!(rfc5322(1_795_459_325), "Mon, 23 Nov 2026 18:42:05 +0000");
        // leap day
        assert_eq!(rfc5322(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
