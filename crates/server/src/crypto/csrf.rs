//! CSRF tokens for the forms of the sign-in pages.
//!
//! A token is an HMAC-SHA-256, under a key derived from the server secret, over what the
//! page is bound to: the magic-link token, the authorization request (and the browser's
//! web session), or for `/device`, which has neither, the time the page was served. So
//! nothing is stored, every process on the database agrees, and a token made for one page
//! is refused on another. Tokens are checked in constant time, before any database access.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The form field every page's forms carry.
pub(crate) const FIELD: &str = "csrf";

/// Which page a token is for; part of the MAC, so tokens do not cross pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The Confirm / Deny page of a magic link, bound to the link token.
    MagicLink,
    /// The browser sign-in email form, bound to the authorization request.
    SignIn,
    /// The "Authorize my CLI" page, bound to the request and the web session.
    Consent,
    /// The `/device` page, bound to the time it was served.
    Device,
    /// The sign-out button, bound to the web session.
    SignOut,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::MagicLink => "magic-link",
            Purpose::SignIn => "sign-in",
            Purpose::Consent => "consent",
            Purpose::Device => "device",
            Purpose::SignOut => "sign-out",
        }
    }
}

fn mac(server_key: &[u8; 32], purpose: Purpose, binding: &[&str]) -> HmacSha256 {
    // A key of its own, so a CSRF MAC can never be mistaken for a JWT signature.
    let mut derive = HmacSha256::new_from_slice(server_key).expect("HMAC accepts any key");
    derive.update(b"my-server csrf v1");
    let key = derive.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC accepts any key");
    // Length-prefixed parts: no two different bindings give the same message.
    for part in std::iter::once(purpose.label()).chain(binding.iter().copied()) {
        mac.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// The token for a page of `purpose` bound to `binding`.
pub(crate) fn token(server_key: &[u8; 32], purpose: Purpose, binding: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(mac(server_key, purpose, binding).finalize().into_bytes())
}

/// Whether `presented` is the token for `purpose` and `binding` (constant time).
pub(crate) fn verify(
    server_key: &[u8; 32],
    purpose: Purpose,
    binding: &[&str],
    presented: Option<&str>,
) -> bool {
    let Some(bytes) = presented.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok()) else {
        return false;
    };
    mac(server_key, purpose, binding)
        .verify_slice(&bytes)
        .is_ok()
}

/// A token bound to the time `now` it was made: `{now}.{mac}`, for a page with nothing
/// else to bind to.
pub(crate) fn timed_token(server_key: &[u8; 32], purpose: Purpose, now: i64) -> String {
    let issued = now.to_string();
    format!("{issued}.{}", token(server_key, purpose, &[&issued]))
}

/// Whether `presented` is a [`timed_token`] made at most `max_age` seconds before `now`.
pub(crate) fn verify_timed(
    server_key: &[u8; 32],
    purpose: Purpose,
    presented: Option<&str>,
    now: i64,
    max_age: i64,
) -> bool {
    let Some((issued, tag)) = presented.and_then(|p| p.split_once('.')) else {
        return false;
    };
    let Ok(at) = issued.parse::<i64>() else {
        return false;
    };
    // A little slack for another process on the same database with a clock ahead.
    (now - max_age..=now + 60).contains(&at) && verify(server_key, purpose, &[issued], Some(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn tokens_are_bound_to_purpose_and_binding() {
        let t = token(&KEY, Purpose::SignIn, &["azr_1"]);
        assert_eq!(t.len(), 43);
        assert!(verify(&KEY, Purpose::SignIn, &["azr_1"], Some(&t)));
        assert!(!verify(&KEY, Purpose::SignIn, &["azr_2"], Some(&t)));
        assert!(!verify(&KEY, Purpose::Consent, &["azr_1"], Some(&t)));
        assert!(!verify(&[8; 32], Purpose::SignIn, &["azr_1"], Some(&t)));
        assert!(!verify(&KEY, Purpose::SignIn, &["azr_1"], None));
        assert!(!verify(&KEY, Purpose::SignIn, &["azr_1"], Some("")));
        assert!(!verify(&KEY, Purpose::SignIn, &["azr_1"], Some(&t[..42])));
        // Parts are length-prefixed: ("ab", "c") is not ("a", "bc").
        let split = token(&KEY, Purpose::Consent, &["ab", "c"]);
        assert!(!verify(&KEY, Purpose::Consent, &["a", "bc"], Some(&split)));
    }

    #[test]
    fn timed_tokens_expire() {
        let t = timed_token(&KEY, Purpose::Device, 1_000);
        assert!(verify_timed(&KEY, Purpose::Device, Some(&t), 1_000, 60));
        assert!(verify_timed(&KEY, Purpose::Device, Some(&t), 1_060, 60));
        assert!(!verify_timed(&KEY, Purpose::Device, Some(&t), 1_061, 60));
        let forged = t.replacen("1000", "2000", 1);
        assert!(!verify_timed(
            &KEY,
            Purpose::Device,
            Some(&forged),
            2_000,
            60
        ));
        assert!(!verify_timed(&KEY, Purpose::Device, Some("x"), 1_000, 60));
    }
}
