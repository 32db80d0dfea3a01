//! Access tokens: compact JWTs signed with HMAC-SHA-256 (RFC 7519, RFC 7515).
//!
//! Only `HS256` is ever produced or accepted, so `alg: none` and algorithm-confusion
//! tricks are refused before any claim is read. Every token names its key in the header
//! (`kid`), so keys can be rotated: the keys live in the database, shared by every process
//! on it, and the caller says which key an id stands for.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use my_api::AccessClaims;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url parts, not JSON, or not HS256.
    Malformed,
    /// The signature does not match (tampered, or signed with another key).
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// The header names no key, or one the caller does not know (yet).
    UnknownKey,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: Option<&'a str>,
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts any key length")
}

/// Signs `claims` with the key `key` whose id is `kid`:
/// `base64url(header).base64url(claims).base64url(sig)`.
pub(crate) fn sign(claims: &AccessClaims, kid: &str, key: &[u8]) -> String {
    let header = Header {
        alg: "HS256",
        typ: "JWT",
        kid: Some(kid),
    };
    let header = serde_json::to_vec(&header).expect("a header serializes");
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let mut token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = mac(key);
    mac.update(token.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    token.push('.');
    token.push_str(&signature);
    token
}

/// Checks the signature (constant-time) with the key `key_for` gives for the header's
/// `kid`, and then `exp` against `now` (unix seconds): a token is valid while `now < exp`.
pub(crate) fn verify(
    token: &str,
    key_for: impl Fn(&str) -> Option<[u8; 32]>,
    now: u64,
) -> Result<AccessClaims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwtError::Malformed)?;
    let header_fields: Header =
        serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
    if header_fields.alg != "HS256" {
        return Err(JwtError::Malformed);
    }
    let key = header_fields
        .kid
        .and_then(key_for)
        .ok_or(JwtError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let mut mac = mac(&key);
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    let claims: AccessClaims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if now >= claims.exp {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

    fn ours(kid: &str) -> Option<[u8; 32]> {
        (kid == "k1").then_some(*KEY)
    }

    fn claims(exp: u64) -> AccessClaims {
        AccessClaims {
            iss: "http://127.0.0.1:7780".into(),
            sub: "usr_0000000000000000".into(),
            email: "a@example.com".into(),
            sid: "ses_0000000000000000".into(),
            iat: 1000,
            exp,
        }
    }

    #[test]
    fn sign_then_verify() {
        let token = sign(&claims(2000), "k1", KEY);
        assert_eq!(token.split('.').count(), 3);
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
        let back = verify(&token, ours, 1999).unwrap();
        assert_eq!(back.sub, "usr_0000000000000000");
        assert_eq!(back.sid, "ses_0000000000000000");
        assert_eq!(back.exp, 2000);
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = sign(&claims(2000), "k1", KEY);
        assert_eq!(verify(&token, ours, 2000).unwrap_err(), JwtError::Expired);
        assert_eq!(verify(&token, ours, 5000).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn wrong_key_or_tampering_is_refused() {
        let token = sign(&claims(2000), "k1", KEY);
        assert_eq!(
            verify(&token, |_| Some([9; 32]), 1500).unwrap_err(),
            JwtError::BadSignature
        );
        // A key id we do not know, or none at all, is refused before any MAC.
        let other = sign(&claims(2000), "k2", KEY);
        assert_eq!(
            verify(&other, ours, 1500).unwrap_err(),
            JwtError::UnknownKey
        );
        let parts: Vec<&str> = token.split('.').collect();
        let bare = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let no_kid = format!("{bare}.{}.{}", parts[1], parts[2]);
        assert_eq!(
            verify(&no_kid, ours, 1500).unwrap_err(),
            JwtError::UnknownKey
        );
        // swap in claims with a later expiry, keep the old signature
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9999)).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify(&forged, ours, 1500).unwrap_err(),
            JwtError::BadSignature
        );
        // flip one signature character
        let mut bad_sig = token.clone();
        let last = bad_sig.pop().unwrap();
        bad_sig.push(if last == 'A' { 'B' } else { 'A' });
        assert!(verify(&bad_sig, ours, 1500).is_err());
    }

    #[test]
    fn other_algorithms_and_garbage_are_malformed() {
        let token = sign(&claims(2000), "k1", KEY);
        let parts: Vec<&str> = token.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none}.{}.", parts[1]);
        assert_eq!(
            verify(&unsigned, ours, 1500).unwrap_err(),
            JwtError::Malformed
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.###", "myc_abc"] {
            assert_eq!(
                verify(garbage, ours, 1500).unwrap_err(),
                JwtError::Malformed
            );
        }
    }
}
