//! Finding the OAuth endpoints: RFC 8414 metadata, falling back to OpenID Connect
//! discovery. Endpoints are never built from hard-coded paths, and never trusted blindly:
//! metadata is fetched without following redirects, and every endpoint it names must share
//! the issuer's origin, so a refresh token or a bearer token can only go back to the issuer.

use crate::api::{origin, same_origin, Client};
use crate::error::{Error, Result};
use my_api::AuthorizationServerMetadata;
use serde::Deserialize;

/// The metadata with what only OpenID Connect servers publish.
#[derive(Deserialize)]
pub struct Metadata {
    #[serde(flatten)]
    pub oauth: AuthorizationServerMetadata,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// The metadata URLs to try for an issuer, in order. RFC 8414 §3.1 puts the well-known
/// segment between the host and any path; OIDC appends it.
fn candidates(issuer: &str) -> Vec<String> {
    let base = origin(issuer);
    let path = &issuer[base.len()..];
    vec![
        format!("{base}{}{path}", my_api::METADATA_PATH),
        format!("{issuer}{}", my_api::OIDC_METADATA_PATH),
    ]
}

pub fn discover(client: &Client, issuer: &str) -> Result<AuthorizationServerMetadata> {
    Ok(fetch(client, issuer)?.oauth)
}

/// The OpenID Connect `userinfo_endpoint`, when the issuer publishes one.
pub fn userinfo_endpoint(client: &Client, issuer: &str) -> Result<Option<String>> {
    Ok(fetch(client, issuer)?.userinfo_endpoint)
}

fn fetch(client: &Client, issuer: &str) -> Result<Metadata> {
    for url in candidates(issuer) {
        let reply = client.get_no_redirect(&url)?;
        if reply.status == 404 {
            continue;
        }
        if (300..400).contains(&reply.status) {
            return Err(Error::Other(format!(
                "{url} answered with a redirect (HTTP {}); metadata is only read from the issuer itself: check MY_API_URL",
                reply.status
            )));
        }
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        let meta: Metadata = reply.json()?;
        verify(&meta, issuer)?;
        return Ok(meta);
    }
    Err(Error::Other(format!(
        "{issuer} publishes no OAuth metadata (RFC 8414 or OpenID Connect discovery): check MY_API_URL"
    )))
}

/// The metadata is the issuer's own (RFC 8414 §3.3) and names no endpoint elsewhere.
pub fn verify(meta: &Metadata, issuer: &str) -> Result<()> {
    if meta.oauth.issuer.trim_end_matches('/') != issuer {
        return Err(Error::Other(format!(
            "the server's metadata names the issuer {}, not {issuer}; refusing to sign in (RFC 8414 §3.3): check MY_API_URL",
            meta.oauth.issuer
        )));
    }
    check_origins(meta, issuer)
}

/// Every endpoint on the issuer's origin (same scheme, host and port).
fn check_origins(meta: &Metadata, issuer: &str) -> Result<()> {
    let m = &meta.oauth;
    let endpoints = [
        ("token_endpoint", Some(&m.token_endpoint)),
        ("authorization_endpoint", m.authorization_endpoint.as_ref()),
        (
            "device_authorization_endpoint",
            m.device_authorization_endpoint.as_ref(),
        ),
        ("revocation_endpoint", m.revocation_endpoint.as_ref()),
        ("userinfo_endpoint", meta.userinfo_endpoint.as_ref()),
    ];
    for (name, url) in endpoints {
        if let Some(url) = url.filter(|u| !same_origin(u, issuer)) {
            return Err(Error::Other(format!(
                "the server's metadata puts its {name} at {url}, outside {issuer}; refusing to use it: check MY_API_URL"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{candidates, check_origins, Metadata};

    #[test]
    fn well_known_urls() {
        assert_eq!(
            candidates("https://a.b/tenant"),
            [
                "https://a.b/.well-known/oauth-authorization-server/tenant",
                "https://a.b/tenant/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            candidates("http://127.0.0.1:7780")[0],
            "http://127.0.0.1:7780/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn endpoints_must_share_the_issuers_origin() {
        let meta = |token: &str, userinfo: &str| -> Metadata {
            serde_json::from_value(serde_json::json!({
                "issuer": "https://a.b",
                "token_endpoint": token,
                "userinfo_endpoint": userinfo,
            }))
            .unwrap()
        };
        assert!(check_origins(&meta("https://a.b/token", "https://a.b/me"), "https://a.b").is_ok());
        for (token, userinfo) in [
            ("https://a.b:8443/token", "https://a.b/me"),
            ("http://a.b/token", "https://a.b/me"),
            ("https://a.b/token", "https://evil.test/me"),
            ("https://a.b.evil.test/token", "https://a.b/me"),
        ] {
            let err = check_origins(&meta(token, userinfo), "https://a.b").unwrap_err();
            assert!(err.to_string().contains("outside https://a.b"), "{err}");
        }
    }
}
