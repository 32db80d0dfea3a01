//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and its OpenID Connect twin:
//! the metadata document clients discover the endpoints from.

use crate::app::App;
use crate::crypto::pkce;
use crate::db::Db;
use crate::web::{Error, Params, Reply, Request};
use my_api::{grants, paths, AuthorizationServerMetadata};

/// The metadata document: the shared fields plus what the wire crate does not model.
#[derive(serde::Serialize)]
struct Metadata {
    #[serde(flatten)]
    standard: AuthorizationServerMetadata,
    /// RFC 9207: callbacks carry `iss`, which the client may check.
    authorization_response_iss_parameter_supported: bool,
}

/// `GET /.well-known/oauth-authorization-server` (and the OpenID Connect twin).
pub(crate) fn get(app: &App, _: &mut Db, _: &Request, _: &Params) -> Result<Reply, Error> {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    let standard = AuthorizationServerMetadata {
        issuer: app.issuer.clone(),
        authorization_endpoint: Some(app.url(paths::AUTHORIZATION)),
        token_endpoint: app.url(paths::TOKEN),
        device_authorization_endpoint: Some(app.url(paths::DEVICE_AUTHORIZATION)),
        revocation_endpoint: Some(app.url(paths::REVOCATION)),
        response_types_supported: strings(&["code"]),
        grant_types_supported: strings(&[
            grants::DEVICE_CODE,
            grants::REFRESH_TOKEN,
            grants::AUTHORIZATION_CODE,
        ]),
        code_challenge_methods_supported: strings(&[pkce::S256]),
        token_endpoint_auth_methods_supported: strings(&["none"]),
    };
    Ok(Reply::json(
        200,
        &Metadata {
            standard,
            authorization_response_iss_parameter_supported: true,
        },
    ))
}
