//! The wire contract between `my` and `my-server`: paths, OAuth and REST message shapes,
//! error codes. Both sides depend on this crate so they cannot drift apart.
//!
//! The OAuth half is standard (RFC 8414, 8628, 6749, 7009): the CLI must also work against
//! other servers, so it reads endpoints from the metadata and never builds them from the
//! constants here, which only the server uses to lay out its routes.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod catalog;
pub mod duration;
pub mod manifest;
pub mod org;
pub mod spec;
pub mod token;

/// The public OAuth client the CLI identifies as (no secret).
pub const CLIENT_ID: &str = "my-cli";
/// Scope the CLI requests: one that standard servers know.
pub const SCOPE: &str = "openid email";
/// Where the reference server listens by default, and so the CLI's default API URL.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7780";
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:7780";

/// RFC 8414 metadata, and the OpenID Connect discovery fallback.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const OIDC_METADATA_PATH: &str = "/.well-known/openid-configuration";

/// Server route layout (the CLI learns the OAuth ones from the metadata instead).
pub mod paths {
    pub const DEVICE_AUTHORIZATION: &str = "/oauth/device_authorization";
    pub const TOKEN: &str = "/oauth/token";
    pub const REVOCATION: &str = "/oauth/revoke";
    pub const AUTHORIZATION: &str = "/oauth/authorize";
    /// The browser sign-in page's email form (and its Cancel button) posts here.
    pub const AUTHORIZE_SIGN_IN: &str = "/oauth/authorize/sign-in";
    /// The "Authorize my CLI" page's buttons post here.
    pub const AUTHORIZE_CONSENT: &str = "/oauth/authorize/consent";
    /// Page where a user without a mailed link types the user code (RFC 8628 §3.3).
    pub const DEVICE_PAGE: &str = "/device";
    /// Prefix of magic links: `/magic/{link_token}`.
    pub const MAGIC_LINK: &str = "/magic/";
    pub const ME: &str = "/v1/me";
    /// `GET` lists, `POST` creates; `/v1/tokens/{id}`: `PATCH` renames, `DELETE` revokes.
    pub const TOKENS: &str = "/v1/tokens";
}

/// OAuth grant type names.
pub mod grants {
    pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const AUTHORIZATION_CODE: &str = "authorization_code";
}

/// OAuth error codes (RFC 6749 §5.2, RFC 8628 §3.5).
pub mod oauth_errors {
    pub const AUTHORIZATION_PENDING: &str = "authorization_pending";
    pub const SLOW_DOWN: &str = "slow_down";
    pub const ACCESS_DENIED: &str = "access_denied";
    pub const EXPIRED_TOKEN: &str = "expired_token";
    /// Spelling used by some servers for `expired_token`.
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const INVALID_GRANT: &str = "invalid_grant";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const INVALID_CLIENT: &str = "invalid_client";
    pub const UNSUPPORTED_GRANT_TYPE: &str = "unsupported_grant_type";
    pub const INVALID_SCOPE: &str = "invalid_scope";
}

/// REST error codes, in `{"error": {"code": …, "message": …}}`.
pub mod codes {
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL: &str = "INTERNAL";
    /// 409: the per-user (or per-organization) token cap is reached.
    pub const TOKEN_LIMIT_REACHED: &str = "TOKEN_LIMIT_REACHED";
    /// 409: the owner already has a token with that name.
    pub const NAME_TAKEN: &str = "NAME_TAKEN";
    /// 400: the token name is empty, too long (> 100 characters) or has control characters.
    pub const INVALID_NAME: &str = "INVALID_NAME";
    /// 400: `expires_in` is not a valid lifetime (see `duration`), or below the server's minimum.
    pub const INVALID_EXPIRY: &str = "INVALID_EXPIRY";
    /// 403: token management needs an interactive (JWT) session, not an API token.
    pub const SESSION_REQUIRED: &str = "SESSION_REQUIRED";
}

/// Longest token name, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// Personal tokens per user.
pub const MAX_PERSONAL_TOKENS: usize = 10;
/// Organization access keys per organization.
pub const MAX_ORGANIZATION_KEYS: usize = 50;

/// `POST /v1/tokens` body (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateToken {
    pub name: String,
    /// A lifetime like `30d` (see `duration`); absent means the token never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
    /// Profile slug the token's catalog reads are scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Organization id (`org_…`) or slug: makes an organization access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

/// `POST /v1/tokens` answer (201): the only time the raw token is ever sent.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub token: String,
    /// Display prefix, e.g. `myc_3f12c4...`.
    pub prefix: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    pub kind: CredentialKind,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &"REDACTED")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// One entry of `GET /v1/tokens` (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenInfo {
    /// `tok_…`
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub kind: CredentialKind,
    /// RFC 3339 UTC.
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    /// Organization id, for organization access keys.
    #[serde(default)]
    pub organization: Option<String>,
    /// Organization slug, for display.
    #[serde(default)]
    pub organization_slug: Option<String>,
    /// Email of the member who created it.
    #[serde(default)]
    pub created_by: Option<String>,
}

/// `GET /v1/tokens` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// `PATCH /v1/tokens/{id}` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenameToken {
    pub name: String,
}

/// RFC 8414 authorization server metadata (only the fields the CLI reads are required).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// RFC 8628 §3.2 device authorization response. `device_code` is a secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    /// Seconds between polls; absent means 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// Our extension: true when a magic link was mailed to the `login_hint` address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_sent: bool,
}

impl fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("device_code", &"REDACTED")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// RFC 6749 §5.1 token response. Both tokens are secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the session (the refresh token) expires, as GitHub names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"REDACTED")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "REDACTED"),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish()
    }
}

/// RFC 6749 §5.2 error response (plus RFC 8628's `interval` on `slow_down`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

/// REST error envelope: `{"error": {"code": "TOKEN_LIMIT_REACHED", "message": "…"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiErrorResponse {
    pub error: ApiError,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// What kind of credential authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A JWT from an interactive sign-in (device flow or browser).
    Session,
    /// A `myc_` personal API token.
    PersonalToken,
    /// An organization access key.
    OrganizationKey,
}

impl CredentialKind {
    pub fn describe(self) -> &'static str {
        match self {
            CredentialKind::Session => "interactive session",
            CredentialKind::PersonalToken => "personal API token",
            CredentialKind::OrganizationKey => "organization access key",
        }
    }
}

/// `GET /v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    /// The user's username (library owners are named by it); absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub credential: CredentialInfo,
}

/// The credential that made the request (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub kind: CredentialKind,
    /// RFC 3339 UTC, or absent when it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The token's name, for API tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organization an organization key is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

/// Claims of the access-token JWT (HS256). The CLI reads only `exp`, unverified, to
/// refresh before expiry; the server verifies everything.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// User id.
    pub sub: String,
    pub email: String,
    /// Session id (the refresh-token family).
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
}
