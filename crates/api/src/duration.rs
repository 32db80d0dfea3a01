//! Token lifetimes as people type them: a positive whole number and one unit,
//! `s` (seconds), `m` (minutes), `h` (hours), `d` (days) or `y` (365 days): `12h`, `30d`,
//! `90d`, `1y`. Both sides parse with this; the server also enforces its own minimum.

use std::fmt;

/// The longest lifetime a token may have: 5 years.
pub const MAX_SECS: u64 = 5 * 365 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    Empty,
    NotANumber,
    Zero,
    UnknownUnit(String),
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str("it is empty"),
            DurationError::NotANumber => {
                f.write_str("it must be a positive whole number and a unit, like 12h, 30d or 1y")
            }
            DurationError::Zero => f.write_str("it must be longer than zero"),
            DurationError::UnknownUnit(u) => {
                write!(f, "unknown unit \"{u}\" (use s, m, h, d or y)")
            }
            DurationError::TooLong => f.write_str("it may be at most 5y"),
        }
    }
}

/// Seconds in a lifetime like `30d`.
pub fn parse_lifetime(text: &str) -> Result<u64, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(DurationError::NotANumber);
    }
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        "" => return Err(DurationError::UnknownUnit(String::new())),
        other => return Err(DurationError::UnknownUnit(other.to_string())),
    };
    // More than 20 digits cannot fit in u64 anyway.
    let n: u64 = digits.parse().map_err(|_| DurationError::TooLong)?;
    if n == 0 {
        return Err(DurationError::Zero);
    }
    let secs = n.checked_mul(unit_secs).ok_or(DurationError::TooLong)?;
    if secs > MAX_SECS {
        return Err(DurationError::TooLong);
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("12h"), Ok(43_200));
        assert_eq!(parse_lifetime("30d"), Ok(2_592_000));
        assert_eq!(parse_lifetime("1y"), Ok(31_536_000));
        assert_eq!(parse_lifetime("2s"), Ok(2));
        assert_eq!(parse_lifetime("0d"), Err(DurationError::Zero));
        assert_eq!(parse_lifetime("-1h"), Err(DurationError::NotANumber));
        assert_eq!(
            parse_lifetime("5x"),
            Err(DurationError::UnknownUnit("x".into()))
        );
        assert_eq!(parse_lifetime("99999y"), Err(DurationError::TooLong));
        assert_eq!(
            parse_lifetime("99999999999999999999999d"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_lifetime("30"),
            Err(DurationError::UnknownUnit(String::new()))
        );
        assert_eq!(parse_lifetime(""), Err(DurationError::Empty));
        assert_eq!(
            parse_lifetime("1.5d"),
            Err(DurationError::UnknownUnit(".5d".into()))
        );
    }
}
