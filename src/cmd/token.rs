//! `my cli token create|list|rename|revoke`: API tokens (`myc_…`) and organization access
//! keys (`myo_…`). Managing them needs an interactive session; the server enforces it and
//! the CLI explains it.

use crate::cli::{
    TokenArgs, TokenCommand, TokenCreateArgs, TokenListArgs, TokenRenameArgs, TokenRevokeArgs,
};
use my_api::{codes, paths, CreatedToken, TokenInfo, TokenList};
use mycli::api::{Method, Reply};
use mycli::app::App;
use mycli::auth::session;
use mycli::error::{Error, Result};
use mycli::out;
use serde::de::DeserializeOwned;

pub(crate) fn run(app: &App, args: TokenArgs) -> Result<()> {
    match args.command {
        TokenCommand::Create(a) => create(app, a),
        TokenCommand::List(a) => list(app, a),
        TokenCommand::Rename(a) => rename(app, a),
        TokenCommand::Revoke(a) => revoke(app, a),
    }
}

fn create(app: &App, a: TokenCreateArgs) -> Result<()> {
    let name = check_name(&a.name)?;
    if let Some(d) = &a.expires_in {
        my_api::duration::parse_lifetime(d).map_err(|e| {
            Error::Usage(format!("--expires-in {d:?} is not a valid lifetime: {e}"))
        })?;
    }
    let body = serde_json::to_value(my_api::CreateToken {
        name,
        expires_in: a.expires_in,
        profile: a.profile,
        organization: a.organization,
    })
    .map_err(|e| Error::Other(format!("cannot encode the request: {e}")))?;
    let (reply, _) = session::send(app, Method::Post, paths::TOKENS, Some(&body))?;
    let t: CreatedToken = decode(reply)?;
    if a.json {
        out::json(&serde_json::json!({
            "id": t.id,
            "name": t.name,
            "token": t.token,
            "prefix": t.prefix,
            "kind": t.kind,
            "expires_at": t.expires_at,
            "organization": t.organization,
            "profile": t.profile,
        }));
    } else {
        out::line(format!("Token: {}", t.token));
        out::line("Save this token — it won't be shown again.");
        out::line("Use it with: export MY_API_TOKEN=<token>");
    }
    Ok(())
}

fn list(app: &App, a: TokenListArgs) -> Result<()> {
    let tokens = fetch(app, a.organization.as_deref())?;
    if a.json {
        out::json(&tokens);
        return Ok(());
    }
    if tokens.is_empty() {
        out::note("No tokens. Create one with `my cli token create NAME`.");
        return Ok(());
    }
    let now = mycli::app::rfc3339(mycli::app::now());
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let expires = match &t.expires_at {
                None => "never".to_string(),
                Some(e) if *e <= now => format!("expired {}", short_time(e)),
                Some(e) => short_time(e),
            };
            let mut scope = match &t.organization_slug.as_ref().or(t.organization.as_ref()) {
                Some(org) => format!("org:{org}"),
                None => "personal".to_string(),
            };
            if let Some(p) = &t.profile {
                scope.push_str(&format!(" profile:{p}"));
            }
            vec![
                t.name.clone(),
                t.prefix.clone(),
                t.last_used_at.as_deref().map_or("never".into(), short_time),
                expires,
                short_time(&t.created_at),
                scope,
            ]
        })
        .collect();
    out::table(
        &["NAME", "PREFIX", "LAST USED", "EXPIRES", "CREATED", "SCOPE"],
        rows,
    );
    Ok(())
}

fn rename(app: &App, a: TokenRenameArgs) -> Result<()> {
    let new_name = check_name(&a.new_name)?;
    let t = resolve(app, &a.token)?;
    let body = serde_json::json!({ "name": new_name });
    let path = format!("{}/{}", paths::TOKENS, t.id);
    let (reply, _) = session::send(app, Method::Patch, &path, Some(&body))?;
    let renamed: TokenInfo = decode(reply)?;
    if a.json {
        out::json(&renamed);
    } else {
        out::note(format!(
            "Renamed token \"{}\" ({}) to \"{}\".",
            t.name, t.prefix, renamed.name
        ));
    }
    Ok(())
}

fn revoke(app: &App, a: TokenRevokeArgs) -> Result<()> {
    let t = resolve(app, &a.token)?;
    if !a.force && !confirm(&t)? {
        out::note("Not revoked.");
        return Ok(());
    }
    let path = format!("{}/{}", paths::TOKENS, t.id);
    let (reply, _) = session::send(app, Method::Delete, &path, None)?;
    if !reply.is_success() {
        return Err(friendly(reply.into_error()));
    }
    if a.json {
        out::json(&serde_json::json!({ "id": t.id, "name": t.name, "revoked": true }));
    } else {
        out::note(format!("Revoked token \"{}\" ({}).", t.name, t.prefix));
    }
    Ok(())
}

/// The seed's prompt, `Revoke token "ci-deploy" (myc_3f12c4...)? [y/N]`. Never asked without
/// a terminal: that fails and names `--force`.
fn confirm(t: &TokenInfo) -> Result<bool> {
    let answer = out::ask(
        &format!("Revoke token \"{}\" ({})? [y/N] ", t.name, t.prefix),
        Error::Usage(format!(
            "not revoking \"{}\" without confirmation: stdin is not a terminal; pass --force",
            t.name
        )),
    )?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn fetch(app: &App, organization: Option<&str>) -> Result<Vec<TokenInfo>> {
    let path = match organization {
        Some(org) => format!(
            "{}?organization={}",
            paths::TOKENS,
            form_urlencoded::byte_serialize(org.as_bytes()).collect::<String>()
        ),
        None => paths::TOKENS.to_string(),
    };
    let (reply, _) = session::send(app, Method::Get, &path, None)?;
    Ok(decode::<TokenList>(reply)?.tokens)
}

/// A token by ID, else by name; a name shared by several tokens must be given as an ID.
fn resolve(app: &App, ident: &str) -> Result<TokenInfo> {
    let tokens = fetch(app, None)?;
    if let Some(t) = tokens.iter().find(|t| t.id == ident) {
        return Ok(t.clone());
    }
    let named: Vec<&TokenInfo> = tokens.iter().filter(|t| t.name == ident).collect();
    match named.as_slice() {
        [t] => Ok((*t).clone()),
        [] => Err(Error::Other(format!(
            "no token has the ID or name \"{ident}\" (see `my cli token list`)"
        ))),
        many => Err(Error::Usage(format!(
            "several tokens are named \"{ident}\": give its ID instead ({})",
            many.iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Error::Usage("the token name is empty".into()));
    }
    if chars > my_api::MAX_TOKEN_NAME_CHARS {
        return Err(Error::Usage(format!(
            "the token name is {chars} characters long; the limit is {}",
            my_api::MAX_TOKEN_NAME_CHARS
        )));
    }
    Ok(name.to_string())
}

fn decode<T: DeserializeOwned>(reply: Reply) -> Result<T> {
    reply.ok_json().map_err(friendly)
}

/// The server's refusals, phrased for this command.
fn friendly(e: Error) -> Error {
    match e {
        Error::Api { code, .. } if code == codes::SESSION_REQUIRED => Error::Denied(
            "token management needs an interactive login (`my cli login`); API tokens cannot manage tokens"
                .into(),
        ),
        Error::Api { code, message, .. }
            if [codes::TOKEN_LIMIT_REACHED, codes::NAME_TAKEN, codes::INVALID_NAME, codes::INVALID_EXPIRY]
                .contains(&code.as_str()) =>
        {
            Error::Other(message)
        }
        e => e,
    }
}

/// `2026-11-23T19:04:05Z` → `2026-11-23 19:04`.
fn short_time(rfc3339: &str) -> String {
    rfc3339
        .get(..16)
        .map_or_else(|| rfc3339.to_string(), |s| s.replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_any_request() {
        assert_eq!(check_name("  ci-deploy ").unwrap(), "ci-deploy");
        assert!(check_name("   ").is_err());
        assert!(check_name(&"é".repeat(100)).is_ok());
        assert!(check_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn times_are_shortened_for_tables() {
        assert_eq!(short_time("2026-11-23T19:04:05Z"), "2026-11-23 19:04");
        assert_eq!(short_time("soon"), "soon");
    }
}
