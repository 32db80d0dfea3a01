//! Unix time for the CLI: now, the latest time it keeps (the year 9999), and RFC 3339 for
//! output. A leaf: credentials, config and sessions all clamp to [`MAX_TIME`].

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The last second of the year 9999: RFC 3339 has four-digit years, and later times (from a
/// server or a file) are clamped to it rather than overflowing.
pub const MAX_TIME: u64 = 253_402_300_799;

/// `now + secs`, clamped to [`MAX_TIME`]: a server's huge `expires_in` cannot overflow.
pub fn after(now: u64, secs: u64) -> u64 {
    now.saturating_add(secs).min(MAX_TIME)
}

/// RFC 3339 UTC of a Unix time, for output; times past [`MAX_TIME`] show as that.
pub fn rfc3339(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.min(MAX_TIME));
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_past_the_year_9999_are_clamped() {
        // Formatting such a time used to panic (humantime refuses five-digit years).
        assert_eq!(super::rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::after(10, u64::MAX), super::MAX_TIME);
        assert_eq!(super::after(10, 5), 15);
    }
}
