//! What names, slugs and log lines may look like. Pure functions shared by the REST
//! handlers and the admin commands, so both refuse the same input with the same words.

use my_api::MAX_TOKEN_NAME_CHARS;

/// Longest slug (organizations, projects, profiles) and environment name.
pub(crate) const MAX_SLUG_CHARS: usize = 64;
/// Longest organization or project name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 100;
/// Longest log line, in bytes.
pub(crate) const MAX_LOG_LINE_BYTES: usize = 16 * 1024;

/// Whether `c` is a Unicode format character (general category Cf, Unicode 16): invisible,
/// and the bidirectional ones (U+202A–U+202E, U+2066–U+2069) reorder how the rest of a
/// line is shown, so a name `"\u{202e}gnp.exe"` prints as `exe.png`. Names refuse them.
pub(crate) fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Whether a name may hold `c`: no control characters, no format characters.
fn unprintable(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// A token name, trimmed: 1 to 100 characters (not bytes), no control or format
/// characters.
pub(crate) fn token_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_TOKEN_NAME_CHARS {
        return Err(format!(
            "a token name must be 1 to {MAX_TOKEN_NAME_CHARS} characters long (this one has {chars})"
        ));
    }
    if name.chars().any(unprintable) {
        return Err(
            "a token name must not contain control or invisible formatting characters \
             (such as U+202E, which reverses the text after it)"
                .into(),
        );
    }
    Ok(name.to_string())
}

/// An organization, project, profile or library name, trimmed: 1 to 100 characters, no
/// control or format characters.
pub(crate) fn display_name(what: &str, raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(unprintable) {
        return Err(format!(
            "{what} must be 1 to {MAX_NAME_CHARS} characters long, without control or \
             invisible formatting characters"
        ));
    }
    Ok(name.to_string())
}

/// A slug (also an environment name): 1 to 64 of `a-z`, `0-9` and `-`, not starting with
/// `-`. Never contains `_`, so it cannot be mistaken for an `org_…`/`proj_…` id.
pub(crate) fn slug(what: &str, raw: &str) -> Result<String, String> {
    let ok = (1..=MAX_SLUG_CHARS).contains(&raw.len())
        && !raw.starts_with('-')
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "{what} \"{}\" must be 1 to {MAX_SLUG_CHARS} of a-z, 0-9 and -",
            raw.escape_debug()
        ))
    }
}

/// One log line: no line breaks, at most 16 KiB.
pub(crate) fn log_line(raw: &str) -> Result<&str, String> {
    if raw.contains(['\n', '\r']) {
        return Err("a log line must not contain line breaks: send one entry per line".into());
    }
    if raw.len() > MAX_LOG_LINE_BYTES {
        return Err(format!(
            "a log line may be at most {} KiB",
            MAX_LOG_LINE_BYTES / 1024
        ));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names() {
        assert_eq!(token_name("  ci-deploy ").unwrap(), "ci-deploy");
        assert_eq!(token_name(&"x".repeat(100)).unwrap().len(), 100);
        // 100 characters of 2 bytes each: the limit counts characters.
        assert!(token_name(&"é".repeat(100)).is_ok());
        let too_long = token_name(&"x".repeat(101)).unwrap_err();
        assert!(too_long.contains("1 to 100 characters"), "{too_long}");
        assert!(too_long.contains("has 101"), "{too_long}");
        assert!(token_name("").is_err());
        assert!(token_name("   ").is_err());
        assert!(token_name("a\u{7}b").is_err());
        assert!(token_name("a\nb").is_err());
        assert_eq!(token_name("déploiement prod").unwrap(), "déploiement prod");
        for hidden in [
            "\u{202e}gnp.exe",
            "a\u{200b}b",
            "\u{2066}x",
            "x\u{feff}",
            "\u{e0041}",
        ] {
            assert!(token_name(hidden).is_err(), "{hidden:?}");
            assert!(display_name("name", hidden).is_err(), "{hidden:?}");
        }
        assert!(token_name("naïve ☃ 東京").is_ok());
    }

    #[test]
    fn slugs() {
        for ok in ["acme", "my-store", "a", "prod-2", &"a".repeat(64)] {
            assert!(slug("slug", ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "my_store", "-x", "a b", "é", &"a".repeat(65)] {
            assert!(slug("slug", bad).is_err(), "{bad}");
        }
        assert_eq!(
            slug("profile", "A\n").unwrap_err(),
            "profile \"A\\n\" must be 1 to 64 of a-z, 0-9 and -"
        );
    }

    #[test]
    fn names_and_lines() {
        assert_eq!(display_name("name", " Acme Inc ").unwrap(), "Acme Inc");
        assert!(display_name("name", "").is_err());
        assert!(display_name("name", "a\tb").is_err());
        assert!(log_line("GET / 200 \u{1b}[32mok\u{1b}[0m").is_ok());
        assert!(log_line("two\nlines").is_err());
        assert!(log_line(&"x".repeat(MAX_LOG_LINE_BYTES + 1)).is_err());
    }
}
