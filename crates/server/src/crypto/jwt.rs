//! Access tokens: compact JWTs signed with HMAC-SHA-256 (RFC 7519, RFC 7515).
//!
//! Only `HS256` is ever produced or accepted, so `alg: none` and algorithm-confusion
//! tricks are refused before any claim is read. The key is the server secret stored in
//! the database, shared by every process on that database.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use my_api::AccessClaims;
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only header we issue.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url parts, not JSON, or not HS256.
    Malformed,
    /// The signature does not match (tampered, or signed with another key).
    BadSignature,
    /// `exp` has passed.
    Expired,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts any key length")
}

/// Signs `claims` with `key`: `base64url(header).base64url(claims).base64url(sig)`.
pub(crate) fn sign(claims: &AccessClaims, key: &[u8]) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    let mut token = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = mac(key);
    mac.update(token.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    token.push('.');
    token.push_str(&signature);
    token
}

/// Checks the signature (constant-time) and then `exp` against `now` (unix seconds):
/// a token is valid while `now < exp`.
pub(crate) fn verify(token: &str, key: &[u8], now: u64) -> Result<AccessClaims, JwtError> {
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
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let mut mac = mac(key);
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

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

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
        let token = sign(&claims(2000), KEY);
        assert_eq!(token.split('.').count(), 3);
        assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
        let back = verify(&token, KEY, 1999).unwrap();
        assert_eq!(back.sub, "usr_0000000000000000");
        assert_eq!(back.sid, "ses_0000000000000000");
        assert_eq!(back.exp, 2000);
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = sign(&claims(2000), KEY);
        assert_eq!(verify(&token, KEY, 2000).unwrap_err(), JwtError::Expired);
        assert_eq!(verify(&token, KEY, 5000).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn wrong_key_or_tampering_is_refused() {
        let token = sign(&claims(2000), KEY);
        assert_eq!(
            verify(&token, b"another key", 1500).unwrap_err(),
            JwtError::BadSignature
        );
        // swap in claims with a later expiry, keep the old signature
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9999)).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify(&forged, KEY, 1500).unwrap_err(),
            JwtError::BadSignature
        );
        // flip one signature character
        let mut bad_sig = token.clone();
        let last = bad_sig.pop().unwrap();
        bad_sig.push(if last == 'A' { 'B' } else { 'A' });
        assert!(verify(&bad_sig, KEY, 1500).is_err());
    }

    #[test]
    fn other_algorithms_and_garbage_are_malformed() {
        let token = sign(&claims(2000), KEY);
        let parts: Vec<&str> = token.split('.').collect();
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none}.{}.", parts[1]);
        assert_eq!(
            verify(&unsigned, KEY, 1500).unwrap_err(),
            JwtError::Malformed
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.###", "myc_abc"] {
            assert_eq!(verify(garbage, KEY, 1500).unwrap_err(), JwtError::Malformed);
        }
    }
}
