//! The API token format, shared so both sides reject a mistyped token without a lookup.
//!
//! `<prefix>_` + 30 base62 characters from a CSPRNG + 6 base62 characters of the CRC32 of
//! those 30 (zero-padded): GitHub's scannable layout. 40 characters in all; the underscore
//! is not a base64 character, so a double-click selects the whole token.

use std::fmt;

/// Prefix of personal API tokens (reach every organization the user belongs to).
pub const PERSONAL_PREFIX: &str = "myc_";
/// Prefix of organization access keys (bound to one organization).
pub const ORGANIZATION_PREFIX: &str = "myo_";
/// Length of the random part.
pub const RANDOM_LEN: usize = 30;
/// Length of the checksum part.
pub const CHECKSUM_LEN: usize = 6;
/// Whole length of a token.
pub const TOKEN_LEN: usize = 4 + RANDOM_LEN + CHECKSUM_LEN;
/// How many characters of a token are shown in lists (prefix + 6), followed by "...".
pub const DISPLAY_LEN: usize = 10;

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which kind of token a well-formed string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Personal,
    Organization,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Personal => PERSONAL_PREFIX,
            TokenKind::Organization => ORGANIZATION_PREFIX,
        }
    }

    pub fn credential_kind(self) -> crate::CredentialKind {
        match self {
            TokenKind::Personal => crate::CredentialKind::PersonalToken,
            TokenKind::Organization => crate::CredentialKind::OrganizationKey,
        }
    }
}

/// Why a string is not a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    UnknownPrefix,
    WrongLength,
    BadCharacter,
    ChecksumMismatch,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormatError::UnknownPrefix => "it does not start with myc_ or myo_",
            FormatError::WrongLength => "wrong length (truncated?)",
            FormatError::BadCharacter => "it contains a character tokens never have",
            FormatError::ChecksumMismatch => "checksum mismatch",
        })
    }
}

/// The 6-character base62 CRC32 of the random part, zero-padded.
pub fn checksum(random: &str) -> String {
    let mut n = crc32(random.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

/// CRC-32 (ISO-HDLC, as zlib and gzip compute it), bit by bit: it only ever sees the 30
/// characters of a token, so a 1 KB lookup table (crc32fast's slice-by-16 took 16 KB) buys nothing.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Builds a token from its random part (30 base62 characters, from a CSPRNG).
pub fn assemble(kind: TokenKind, random: &str) -> String {
    debug_assert_eq!(random.len(), RANDOM_LEN);
    format!("{}{random}{}", kind.prefix(), checksum(random))
}

/// Checks a token's shape and checksum, without any lookup.
pub fn parse(token: &str) -> Result<TokenKind, FormatError> {
    let kind = if token.starts_with(PERSONAL_PREFIX) {
        TokenKind::Personal
    } else if token.starts_with(ORGANIZATION_PREFIX) {
        TokenKind::Organization
    } else {
        return Err(FormatError::UnknownPrefix);
    };
    let body = &token[4..];
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FormatError::BadCharacter);
    }
    if body.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(FormatError::WrongLength);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum(random) != sum {
        return Err(FormatError::ChecksumMismatch);
    }
    Ok(kind)
}

/// The redacted preview shown in lists and prompts: `myc_3f12c4...`.
pub fn display_prefix(token: &str) -> String {
    // By characters: a byte slice would panic inside a multi-byte character.
    format!("{}...", token.chars().take(DISPLAY_LEN).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "3f12c4AbCdEfGhIjKlMnOpQrStUvWx";

    #[test]
    fn round_trip_and_layout() {
        let t = assemble(TokenKind::Personal, RANDOM);
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.starts_with("myc_3f12c4"));
        assert_eq!(parse(&t), Ok(TokenKind::Personal));
        let o = assemble(TokenKind::Organization, RANDOM);
        assert_eq!(parse(&o), Ok(TokenKind::Organization));
        assert_eq!(display_prefix(&t), "myc_3f12c4...");
        assert_eq!(display_prefix("myc_ééééééééé"), "myc_éééééé...");
        assert_eq!(display_prefix("x"), "x...");
    }

    #[test]
    fn crc32_matches_the_standard_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xe8b7_be43);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn checksum_is_crc32_in_base62() {
        // crc32("") = 0 → all zeros; crc32("a") = 0xe8b7be43 = 3904355907.
        assert_eq!(checksum(""), "000000");
        let mut n = 3_904_355_907u64;
        let mut expect = Vec::new();
        for _ in 0..6 {
            expect.push(BASE62[(n % 62) as usize]);
            n /= 62;
        }
        expect.reverse();
        assert_eq!(checksum("a").as_bytes(), expect.as_slice());
    }

    #[test]
    fn typos_and_truncation_are_caught() {
        let t = assemble(TokenKind::Personal, RANDOM);
        let mut typo = t.clone().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            parse(std::str::from_utf8(&typo).unwrap()),
            Err(FormatError::ChecksumMismatch)
        );
        assert_eq!(parse(&t[..t.len() - 1]), Err(FormatError::WrongLength));
        assert_eq!(parse(&format!("{t} ")), Err(FormatError::BadCharacter));
        assert_eq!(parse("ghp_abc"), Err(FormatError::UnknownPrefix));
        assert_eq!(parse(""), Err(FormatError::UnknownPrefix));
    }
}
