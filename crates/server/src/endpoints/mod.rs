//! One file per URL family, named after the URL: `well_known` (the metadata documents),
//! `oauth/…` (the OAuth endpoints), `device` (`/device`), `magic` (`/magic/{token}`),
//! `sign_out` (`/sign-out`), `health` (`/healthz`, `/readyz`) and `v1/…` (the REST API). Every handler has the one signature of `routes::Handler`.
//!
//! No endpoint imports another: what two of them share lives in `domain`.

pub(crate) mod device;
pub(crate) mod health;
pub(crate) mod magic;
pub(crate) mod oauth;
pub(crate) mod sign_out;
pub(crate) mod v1;
pub(crate) mod well_known;
