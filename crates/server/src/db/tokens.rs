//! SQL for API tokens: personal tokens (`myc_`) and organization access keys (`myo_`).
//!
//! Only the SHA-256 hex of a token is stored, looked up through its unique index; the
//! display prefix is kept for lists. A token is *active* while it is neither revoked nor
//! expired; revoked rows stay (for the audit trail) but are never listed or accepted.

use super::sql::{params, Row};
use super::{DbResult, Tx};
use my_api::token::TokenKind;

/// A stored API token, with its creator's email and its organization's slug.
#[derive(Debug, Clone)]
pub(crate) struct ApiToken {
    /// `tok_…`
    pub(crate) id: String,
    pub(crate) kind: TokenKind,
    pub(crate) name: String,
    pub(crate) prefix: String,
    /// The owner of a personal token; the member who created an organization key.
    pub(crate) user_id: String,
    pub(crate) user_email: String,
    /// The user's username (read only).
    pub(crate) username: Option<String>,
    pub(crate) org_id: Option<String>,
    pub(crate) org_slug: Option<String>,
    /// The slug of the owner's profile the token is scoped to (stored as the profile's id).
    pub(crate) profile: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

/// Whose tokens a name must be unique among, and whose cap applies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TokenOwner<'a> {
    /// A user's personal tokens.
    User(&'a str),
    /// An organization's access keys.
    Organization(&'a str),
}

fn kind_str(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Personal => "personal",
        TokenKind::Organization => "organization",
    }
}

const TOKEN_SELECT: &str = "SELECT t.id, t.kind, t.name, t.prefix, t.user_id, u.email, t.org_id,
     o.slug, p.slug, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.username
     FROM api_tokens t JOIN users u ON u.id = t.user_id
     LEFT JOIN organizations o ON o.id = t.org_id
     LEFT JOIN profiles p ON p.id = t.profile_id";

/// Active at `?2`: neither revoked nor expired.
const ACTIVE: &str = "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)";

fn token_row(row: &Row) -> DbResult<ApiToken> {
    let kind: String = row.get(1)?;
    Ok(ApiToken {
        id: row.get(0)?,
        kind: if kind == "organization" {
            TokenKind::Organization
        } else {
            TokenKind::Personal
        },
        name: row.get(2)?,
        prefix: row.get(3)?,
        user_id: row.get(4)?,
        user_email: row.get(5)?,
        org_id: row.get(6)?,
        org_slug: row.get(7)?,
        profile: row.get(8)?,
        created_at: row.get(9)?,
        expires_at: row.get(10)?,
        last_used_at: row.get(11)?,
        revoked_at: row.get(12)?,
        username: row.get(13)?,
    })
}

impl Tx<'_> {
    /// Stores a new token under `token_hash`; `token.user_email`, `username` and `org_slug`
    /// are ignored, `token.profile` names one of the user's profiles (the caller checked
    /// it exists).
    pub(crate) fn insert_api_token(&self, token: &ApiToken, token_hash: &str) -> DbResult<()> {
        self.execute(
            "INSERT INTO api_tokens (id, token_hash, prefix, kind, name, user_id, org_id,
                 profile_id, created_at, expires_at, last_used_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
                 (SELECT id FROM profiles WHERE user_id = ?6 AND slug = ?8), ?9, ?10, ?11, ?12)",
            params![
                token.id,
                token_hash,
                token.prefix,
                kind_str(token.kind),
                token.name,
                token.user_id,
                token.org_id,
                token.profile,
                token.created_at,
                token.expires_at,
                token.last_used_at,
                token.revoked_at,
            ],
        )?;
        Ok(())
    }

    pub(crate) fn api_token_by_hash(&self, token_hash: &str) -> DbResult<Option<ApiToken>> {
        self.query_opt(
            &format!("{TOKEN_SELECT} WHERE t.token_hash = CAST(?1 AS TEXT)"),
            params![token_hash],
            token_row,
        )
    }

    pub(crate) fn api_token(&self, id: &str) -> DbResult<Option<ApiToken>> {
        self.query_opt(
            &format!("{TOKEN_SELECT} WHERE t.id = CAST(?1 AS TEXT)"),
            params![id],
            token_row,
        )
    }

    /// Records a use at `now` unless one was recorded after `before` (throttled writes);
    /// returns whether it wrote.
    pub(crate) fn touch_api_token(&self, id: &str, now: i64, before: i64) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE api_tokens SET last_used_at = ?2
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
            params![id, now, before],
        )?;
        Ok(changed == 1)
    }

    /// Active tokens of `owner` at `now`.
    pub(crate) fn count_active_tokens(&self, owner: TokenOwner, now: i64) -> DbResult<usize> {
        let (sql, key) = match owner {
            TokenOwner::User(user_id) => (
                format!(
                    "SELECT COUNT(*) FROM api_tokens t
                     WHERE t.user_id = ?1 AND t.kind = 'personal' AND {ACTIVE}"
                ),
                user_id,
            ),
            TokenOwner::Organization(org_id) => (
                format!("SELECT COUNT(*) FROM api_tokens t WHERE t.org_id = ?1 AND {ACTIVE}"),
                org_id,
            ),
        };
        let count: i64 = self.query_row(&sql, params![key, now], |r| r.get(0))?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Whether another active token of `owner` (not `except_id`) is called `name`.
    pub(crate) fn active_token_named(
        &self,
        owner: TokenOwner,
        name: &str,
        now: i64,
        except_id: Option<&str>,
    ) -> DbResult<bool> {
        let (filter, key) = match owner {
            TokenOwner::User(user_id) => ("t.user_id = ?1 AND t.kind = 'personal'", user_id),
            TokenOwner::Organization(org_id) => ("t.org_id = ?1", org_id),
        };
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM api_tokens t WHERE {filter} AND t.name = ?3
             AND t.id IS DISTINCT FROM ?4 AND {ACTIVE})"
        );
        self.query_row(&sql, params![key, now, name, except_id], |r| r.get(0))
    }

    /// Unrevoked tokens (expired ones included) a user can see: their personal tokens and
    /// the keys of every organization they belong to; oldest first (in creation order).
    pub(crate) fn tokens_visible_to(&self, user_id: &str) -> DbResult<Vec<ApiToken>> {
        let rows = self.query_map(
            &format!(
                "{TOKEN_SELECT} WHERE t.revoked_at IS NULL AND (
                 (t.kind = 'personal' AND t.user_id = CAST(?1 AS TEXT))
                 OR t.org_id IN (SELECT org_id FROM memberships WHERE user_id = ?1))
             ORDER BY t.created_at, t.rowid"
            ),
            params![user_id],
            token_row,
        )?;
        Ok(rows)
    }

    /// Unrevoked access keys of one organization, oldest first.
    pub(crate) fn organization_keys(&self, org_id: &str) -> DbResult<Vec<ApiToken>> {
        let rows = self.query_map(
            &format!(
                "{TOKEN_SELECT} WHERE t.revoked_at IS NULL AND t.org_id = CAST(?1 AS TEXT)
             ORDER BY t.created_at, t.rowid"
            ),
            params![org_id],
            token_row,
        )?;
        Ok(rows)
    }

    /// Sets every token's last use to `at`.
    #[cfg(test)]
    pub(crate) fn touch_api_token_at_for_test(&self, at: i64) -> DbResult<()> {
        self.execute("UPDATE api_tokens SET last_used_at = ?1", params![at])?;
        Ok(())
    }

    pub(crate) fn rename_api_token(&self, id: &str, name: &str) -> DbResult<()> {
        self.execute(
            "UPDATE api_tokens SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        Ok(())
    }

    /// Revokes a token; false if it already was.
    pub(crate) fn revoke_api_token(&self, id: &str, now: i64) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        Ok(changed == 1)
    }
}
