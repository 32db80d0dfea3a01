//! `/v1/tokens`: create, list, rename and revoke API tokens — personal tokens (`myc_`) and
//! organization access keys (`myo_`).
//!
//! Managing tokens needs an interactive sign-in: an API token cannot mint, list, rename or
//! revoke tokens (so a leaked token cannot entrench itself). A personal token is its
//! owner's alone; an organization key belongs to the organization, so any member manages
//! it. Everything else is answered 404, so existence does not leak.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{ApiToken, Db, TokenOwner, Tx};
use crate::domain::caller::{self, Auth};
use crate::domain::catalog;
use crate::names;
use crate::web::{quote, Error, Params, Reply, Request};
use my_api::org::Organization;
use my_api::token::{self, TokenKind};
use my_api::{
    codes, duration, CreateToken, CreatedToken, RenameToken, TokenInfo, TokenList,
    MAX_ORGANIZATION_KEYS, MAX_PERSONAL_TOKENS,
};

const SESSION_REQUIRED: &str = "token management needs an interactive login (`my cli login`); \
     API tokens cannot manage tokens";

/// The caller, if they signed in interactively.
fn manager(app: &App, db: &mut Db, request: &Request) -> Result<Auth, Error> {
    let auth = caller::authenticate(app, db, request)?;
    if !auth.is_session() {
        return Err(Error::api(403, codes::SESSION_REQUIRED, SESSION_REQUIRED));
    }
    Ok(auth)
}

/// `3600` → `1h`: the largest unit that divides the value.
fn short_duration(secs: u64) -> String {
    for (unit, size) in [("y", 365 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// Seconds in `expires_in`, at least `min`; the error is the 400 message.
fn lifetime(expires_in: &str, min: u64) -> Result<u64, String> {
    let secs = duration::parse_lifetime(expires_in)
        .map_err(|e| format!("invalid expiry {}: {e}", quote(expires_in)))?;
    if secs < min {
        return Err(format!(
            "invalid expiry {}: it must be at least {}",
            quote(expires_in),
            short_duration(min)
        ));
    }
    Ok(secs)
}

fn invalid_name(message: String) -> Error {
    Error::api(400, codes::INVALID_NAME, message)
}

fn name_taken(name: &str) -> Error {
    Error::api(
        409,
        codes::NAME_TAKEN,
        format!("a token named {} already exists", quote(name)),
    )
}

fn token_not_found() -> Error {
    Error::not_found("token not found")
}

/// The organization `key` (id or slug) names, if `user_id` is a member; 404 otherwise.
fn membership(tx: &Tx, user_id: &str, key: &str) -> Result<Organization, Error> {
    tx.member_organization(user_id, key)?
        .ok_or_else(|| Error::not_found("organization not found"))
}

fn owner(token: &ApiToken) -> TokenOwner<'_> {
    match &token.org_id {
        Some(org_id) => TokenOwner::Organization(org_id),
        None => TokenOwner::User(&token.user_id),
    }
}

fn info(token: &ApiToken) -> TokenInfo {
    TokenInfo {
        id: token.id.clone(),
        name: token.name.clone(),
        prefix: token.prefix.clone(),
        kind: token.kind.credential_kind(),
        created_at: clock::rfc3339(token.created_at),
        last_used_at: token.last_used_at.map(clock::rfc3339),
        expires_at: token.expires_at.map(clock::rfc3339),
        profile: token.profile.clone(),
        organization: token.org_id.clone(),
        organization_slug: token.org_slug.clone(),
        created_by: Some(token.user_email.clone()),
    }
}

/// `POST /v1/tokens`: 201 with the raw token, the only time it is ever sent.
pub(crate) fn create(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    let auth = manager(app, db, request)?;
    let body: CreateToken = request.json()?;
    let name = names::token_name(&body.name).map_err(invalid_name)?;
    let lifetime = match body.expires_in.as_deref() {
        None => None,
        Some(text) => Some(
            lifetime(text, app.settings.min_token_ttl)
                .map_err(|m| Error::api(400, codes::INVALID_EXPIRY, m))?,
        ),
    };
    let profile = match body.profile.as_deref() {
        None => None,
        Some(profile) => Some(names::slug("profile", profile).map_err(Error::bad_request)?),
    };
    let kind = match body.organization {
        Some(_) => TokenKind::Organization,
        None => TokenKind::Personal,
    };
    // A profile is a person's: an organization key scoped to one would be revoked when
    // its creator deletes that profile.
    if kind == TokenKind::Organization && profile.is_some() {
        return Err(Error::bad_request(
            "an organization access key has no profile: --profile scopes personal tokens",
        ));
    }
    let now_ms = clock::now_millis();
    let now = now_ms.div_euclid(1000);
    // Rounded up to the next second, so a token lives at least as long as asked.
    let expires_at = lifetime.map(|secs| {
        now + i64::from(now_ms.rem_euclid(1000) != 0) + i64::try_from(secs).unwrap_or(0)
    });
    let raw = secrets::new_api_token(kind);
    let created = db.write(|tx| -> Result<ApiToken, Error> {
        if let Some(slug) = &profile {
            catalog::profile(tx, &auth.user_id, slug)?;
        }
        let org = match body.organization.as_deref() {
            None => None,
            Some(key) => Some(membership(tx, &auth.user_id, key)?),
        };
        let token = ApiToken {
            id: secrets::new_id("tok"),
            kind,
            name,
            prefix: token::display_prefix(&raw),
            user_id: auth.user_id.clone(),
            user_email: auth.email.clone(),
            username: None,
            org_id: org.as_ref().map(|o| o.id.clone()),
            org_slug: org.map(|o| o.slug),
            profile,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        // One IMMEDIATE transaction: concurrent creations are serialised, so the cap and
        // the unique name hold under races.
        let (cap, full) = match owner(&token) {
            TokenOwner::User(_) => (
                MAX_PERSONAL_TOKENS,
                format!(
                    "you have {MAX_PERSONAL_TOKENS} API tokens, the limit: revoke one first \
                     (`my cli token revoke NAME`)"
                ),
            ),
            TokenOwner::Organization(_) => (
                MAX_ORGANIZATION_KEYS,
                format!(
                    "this organization has {MAX_ORGANIZATION_KEYS} access keys: revoke one first"
                ),
            ),
        };
        if tx.count_active_tokens(owner(&token), now)? >= cap {
            return Err(Error::api(409, codes::TOKEN_LIMIT_REACHED, full));
        }
        if tx.active_token_named(owner(&token), &token.name, now, None)? {
            return Err(name_taken(&token.name));
        }
        tx.insert_api_token(&token, &secrets::sha256_hex(&raw))?;
        if let Some(session_id) = &auth.session_id {
            tx.record_token_session(&token.id, session_id)?;
        }
        Ok(token)
    })?;
    eprintln!(
        "{} {} created by {}",
        created.kind.credential_kind().describe(),
        created.id,
        created.user_id
    );
    Ok(Reply::private_json(
        201,
        &CreatedToken {
            id: created.id,
            name: created.name,
            token: raw,
            prefix: created.prefix,
            expires_at: created.expires_at.map(clock::rfc3339),
            kind: created.kind.credential_kind(),
            organization: created.org_id,
            profile: created.profile,
        },
    )
    .header("Pragma", "no-cache"))
}

/// `GET /v1/tokens[?organization=ID|SLUG]`: unrevoked tokens (expired ones included, with
/// their past `expires_at`), oldest first, never the secret.
pub(crate) fn list(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = manager(app, db, request)?;
    let query = request.query_params()?;
    let tokens = db.read(|tx| -> Result<Vec<ApiToken>, Error> {
        match query.get("organization") {
            None => Ok(tx.tokens_visible_to(&auth.user_id)?),
            Some(key) => {
                let org = membership(tx, &auth.user_id, key)?;
                Ok(tx.organization_keys(&org.id)?)
            }
        }
    })?;
    Ok(Reply::private_json(
        200,
        &TokenList {
            tokens: tokens.iter().map(info).collect(),
        },
    ))
}

/// The unrevoked token `id` if `user_id` may manage it: their own personal token, or a key
/// of an organization they belong to.
fn manageable(tx: &Tx, user_id: &str, id: &str) -> Result<ApiToken, Error> {
    let token = tx
        .api_token(id)?
        .filter(|t| t.revoked_at.is_none())
        .ok_or_else(token_not_found)?;
    let allowed = match &token.org_id {
        None => token.user_id == user_id,
        Some(org_id) => tx.member_organization(user_id, org_id)?.is_some(),
    };
    if allowed {
        Ok(token)
    } else {
        Err(token_not_found())
    }
}

/// `PATCH /v1/tokens/{id}`: 200 with the renamed token.
pub(crate) fn rename(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let id = params.get("id");
    let auth = manager(app, db, request)?;
    let body: RenameToken = request.json()?;
    let name = names::token_name(&body.name).map_err(invalid_name)?;
    let now = clock::now_secs();
    let renamed = db.write(|tx| -> Result<ApiToken, Error> {
        let mut token = manageable(tx, &auth.user_id, id)?;
        if tx.active_token_named(owner(&token), &name, now, Some(&token.id))? {
            return Err(name_taken(&name));
        }
        tx.rename_api_token(&token.id, &name)?;
        token.name = name;
        Ok(token)
    })?;
    Ok(Reply::private_json(200, &info(&renamed)))
}

/// `DELETE /v1/tokens/{id}`: 204; the token is refused from the next request on.
pub(crate) fn revoke(
    app: &App,
    db: &mut Db,
    request: &Request,
    params: &Params,
) -> Result<Reply, Error> {
    let id = params.get("id");
    let auth = manager(app, db, request)?;
    let now = clock::now_secs();
    let revoked = db.write(|tx| -> Result<ApiToken, Error> {
        let token = manageable(tx, &auth.user_id, id)?;
        tx.revoke_api_token(&token.id, now)?;
        Ok(token)
    })?;
    eprintln!("API token {} revoked by {}", revoked.id, auth.user_id);
    Ok(Reply::no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_the_minimum() {
        assert_eq!(lifetime("2s", 1), Ok(2));
        assert_eq!(lifetime("90d", 3600), Ok(90 * 86_400));
        assert_eq!(
            lifetime("30m", 3600).unwrap_err(),
            "invalid expiry \"30m\": it must be at least 1h"
        );
        assert_eq!(
            lifetime("0d", 1).unwrap_err(),
            "invalid expiry \"0d\": it must be longer than zero"
        );
        for bad in ["-1h", "5x", "99999y", "", "1.5d"] {
            assert!(lifetime(bad, 1).is_err(), "{bad}");
        }
        let long = lifetime(&"9".repeat(100), 1).unwrap_err();
        assert!(long.contains("…"), "{long}");
    }

    #[test]
    fn short_durations() {
        assert_eq!(short_duration(3600), "1h");
        assert_eq!(short_duration(1), "1s");
        assert_eq!(short_duration(90), "90s");
        assert_eq!(short_duration(120), "2m");
        assert_eq!(short_duration(86_400 * 7), "7d");
        assert_eq!(short_duration(365 * 86_400), "1y");
        assert_eq!(short_duration(0), "0s");
    }
}
