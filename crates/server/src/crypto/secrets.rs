//! Random secrets, identifiers and user codes, and the SHA-256 hashes secrets are stored as.
//!
//! Everything random comes from the operating system's CSPRNG (getrandom); nothing here
//! touches the database or the network, so it is all unit-testable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Letters of a user code (RFC 8628 §6.1): no vowels, no digits, so no words and no
/// look-alikes.
pub(crate) const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code, shown as `XXXX-XXXX`.
pub(crate) const USER_CODE_LEN: usize = 8;

use my_api::token::{TokenKind, BASE62, RANDOM_LEN};

/// `N` bytes from the OS random number generator.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS generator does not fail on supported systems; if it ever does, the request
    // fails with a 500 (panics are caught per request) rather than using weak randomness.
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// An opaque secret of `N` random bytes, base64url without padding.
pub(crate) fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// `count` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_chars(alphabet: &[u8], count: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for byte in random_bytes::<32>() {
            if (byte as usize) < limit && out.len() < count {
                out.push(alphabet[byte as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// A record identifier such as `usr_` + 16 base62 characters.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_chars(BASE62, 16))
}

/// A fresh API token of `kind` (`my_api::token`'s layout): 30 uniformly drawn base62
/// characters (about 178 bits) and their checksum. Shown once, stored as its SHA-256.
pub(crate) fn new_api_token(kind: TokenKind) -> String {
    my_api::token::assemble(kind, &random_chars(BASE62, RANDOM_LEN))
}

/// A fresh user code in its stored form: 8 letters, no dash.
pub(crate) fn new_user_code() -> String {
    random_chars(USER_CODE_ALPHABET, USER_CODE_LEN)
}

/// The stored form of what a person typed: upper-cased, dashes and spaces dropped.
/// `None` when it cannot be a user code at all.
pub(crate) fn normalize_user_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The display form `WDJB-MJHT` of a stored user code.
pub(crate) fn format_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// Seals `successor` (a [`token`] of 32 bytes) under a key derived from `predecessor`
/// (HMAC-SHA-256 with its own label, so it is not the stored SHA-256 of the predecessor):
/// only someone who holds the predecessor can open it. Each predecessor seals one
/// successor, so the keystream is never reused. `None` if `successor` is not such a token.
pub(crate) fn seal_successor(predecessor: &str, successor: &str) -> Option<Vec<u8>> {
    let plain = URL_SAFE_NO_PAD.decode(successor).ok()?;
    (plain.len() == 32).then(|| xor_keystream(predecessor, &plain))
}

/// Opens what [`seal_successor`] sealed, with the predecessor presented again.
pub(crate) fn open_successor(predecessor: &str, sealed: &[u8]) -> Option<String> {
    (sealed.len() == 32).then(|| URL_SAFE_NO_PAD.encode(xor_keystream(predecessor, sealed)))
}

fn xor_keystream(predecessor: &str, bytes: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<Sha256>::new_from_slice(predecessor.as_bytes()).expect("HMAC accepts any key");
    mac.update(b"my-server refresh grace v1");
    let stream = mac.finalize().into_bytes();
    bytes.iter().zip(stream).map(|(b, k)| b ^ k).collect()
}

/// Lower-case hex SHA-256 of a secret: the only form in which secrets are stored.
pub(crate) fn sha256_hex(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[(byte >> 4) as usize]));
        hex.push(char::from(b"0123456789abcdef"[(byte & 15) as usize]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet_and_format() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), 8);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            let shown = format_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(normalize_user_code(&shown).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn user_code_normalisation() {
        assert_eq!(
            normalize_user_code("wdjb-mjht").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize_user_code(" WDJB MJHT ").as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(normalize_user_code("WDJBMJHT").as_deref(), Some("WDJBMJHT"));
        assert_eq!(normalize_user_code("WDJB-MJH"), None);
        assert_eq!(normalize_user_code("WDJB-MJHTX"), None);
        // vowels and digits are never part of a code
        assert_eq!(normalize_user_code("WAJB-MJHT"), None);
        assert_eq!(normalize_user_code("WDJB-MJH1"), None);
        assert_eq!(normalize_user_code("ẞDJB-MJHT"), None);
    }

    #[test]
    fn ids_and_tokens() {
        let id = new_id("usr");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("usr_"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_id("usr"), new_id("usr"));
        // 16 bytes = 128 bits, 32 bytes = 256 bits
        assert_eq!(token::<16>().len(), 22);
        assert_eq!(token::<32>().len(), 43);
        assert!(token::<32>()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn api_tokens_parse_and_differ() {
        let personal = new_api_token(TokenKind::Personal);
        assert_eq!(personal.len(), my_api::token::TOKEN_LEN);
        assert!(personal.starts_with("myc_"));
        assert_eq!(my_api::token::parse(&personal), Ok(TokenKind::Personal));
        let key = new_api_token(TokenKind::Organization);
        assert!(key.starts_with("myo_"));
        assert_eq!(my_api::token::parse(&key), Ok(TokenKind::Organization));
        assert_ne!(new_api_token(TokenKind::Personal), personal);
    }

    #[test]
    fn random_chars_are_unbiased_in_range() {
        // Rejection sampling: every symbol of the alphabet shows up, nothing else does.
        let drawn = random_chars(BASE62, 62 * 200);
        for symbol in BASE62 {
            assert!(drawn.as_bytes().contains(symbol), "{}", *symbol as char);
        }
        assert!(drawn.bytes().all(|b| BASE62.contains(&b)));
    }

    #[test]
    fn sealed_successors_open_only_with_their_predecessor() {
        let (old, new) = (token::<32>(), token::<32>());
        let sealed = seal_successor(&old, &new).unwrap();
        assert_eq!(sealed.len(), 32);
        assert!(!sealed
            .windows(8)
            .any(|w| new.as_bytes().windows(8).any(|n| n == w)));
        assert_eq!(open_successor(&old, &sealed).as_deref(), Some(new.as_str()));
        assert_ne!(
            open_successor(&token::<32>(), &sealed).as_deref(),
            Some(new.as_str())
        );
        assert_ne!(
            open_successor(&sha256_hex(&old), &sealed).as_deref(),
            Some(new.as_str())
        );
        assert_eq!(seal_successor(&old, "short"), None);
    }

    #[test]
    fn sha256_hex_known_value() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
