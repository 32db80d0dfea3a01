//! Reading the claims of an access token without verifying it: the CLI only needs `exp`
//! to refresh ahead of time, and `sub`/`email` to say who signed in. The server verifies.

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    pub exp: Option<u64>,
    pub iat: Option<u64>,
    pub sub: Option<String>,
    pub email: Option<String>,
}

/// The claims of a JWT, or `None` when the token is not a JWT (opaque tokens are fine).
pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::claims;

    #[test]
    fn reads_exp_and_sub() {
        // {"alg":"HS256"}.{"sub":"usr_1","email":"a@b.c","exp":1700000000}.sig
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSIsImVtYWlsIjoiYUBiLmMiLCJleHAiOjE3MDAwMDAwMDB9.c2ln";
        let c = claims(t).unwrap();
        assert_eq!(c.exp, Some(1_700_000_000));
        assert_eq!(c.sub.as_deref(), Some("usr_1"));
        assert_eq!(c.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert!(claims("myc_abc").is_none());
        assert!(claims("a.b.c.d").is_none());
        assert!(claims("a.!!!.c").is_none());
    }
}
