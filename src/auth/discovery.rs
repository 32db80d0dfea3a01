//! Finding the OAuth endpoints: RFC 8414 metadata, falling back to OpenID Connect
//! discovery. Endpoints are never built from hard-coded paths.

use crate::api::{origin, Client};
use crate::error::{Error, Result};
use my_api::AuthorizationServerMetadata;

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

pub(crate) fn discover(client: &Client, issuer: &str) -> Result<AuthorizationServerMetadata> {
    for url in candidates(issuer) {
        let reply = client.get(&url, None)?;
        if reply.status == 404 {
            continue;
        }
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        let meta: AuthorizationServerMetadata = reply.json()?;
        if meta.issuer.trim_end_matches('/') != issuer {
            return Err(Error::Other(format!(
                "the server's metadata names the issuer {}, not {issuer}; refusing to sign in (RFC 8414 §3.3): check MY_API_URL",
                meta.issuer
            )));
        }
        return Ok(meta);
    }
    Err(Error::Other(format!(
        "{issuer} publishes no OAuth metadata (RFC 8414 or OpenID Connect discovery): check MY_API_URL"
    )))
}

#[cfg(test)]
mod tests {
    use super::candidates;

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
}
