//! Sessions and their refresh-token families: starting one when a sign-in completes,
//! rotating its refresh token (with reuse detection and a short grace window), and the
//! token response that carries a fresh access token.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, DbResult, Session, Tx, User};
use crate::web::{Error, Reply};
use my_api::{AccessClaims, TokenResponse};

use super::keys;

/// Tokens minted inside a transaction, answered after it commits.
pub(crate) struct Issued {
    pub(crate) user: User,
    pub(crate) session: Session,
    pub(crate) refresh_token: String,
}

/// The token response for `issued`, with a fresh access token signed by the newest key.
pub(crate) fn token_response(
    app: &App,
    db: &mut Db,
    issued: &Issued,
    now_ms: i64,
) -> Result<Reply, Error> {
    let now = now_ms.div_euclid(1000);
    // Round the issue time up before adding the TTL, so a token lives at least
    // --access-ttl even though exp has whole-second resolution (matters for `1s`).
    let exp_base = now_ms.div_euclid(1000) + i64::from(now_ms.rem_euclid(1000) != 0);
    let claims = AccessClaims {
        iss: app.issuer.clone(),
        sub: issued.user.id.clone(),
        email: issued.user.email.clone(),
        sid: issued.session.id.clone(),
        iat: u64::try_from(now).unwrap_or(0),
        exp: u64::try_from(exp_base).unwrap_or(0) + app.settings.access_ttl,
    };
    Ok(Reply::json_no_store(
        200,
        &TokenResponse {
            access_token: keys::sign(app, db, &claims)?,
            token_type: "Bearer".into(),
            expires_in: Some(app.settings.access_ttl),
            refresh_token: Some(issued.refresh_token.clone()),
            refresh_token_expires_in: Some(
                u64::try_from(issued.session.expires_at - now).unwrap_or(0),
            ),
            scope: Some(issued.session.scope.clone()),
        },
    ))
}

/// Starts a session for `user_id` and returns it with its first refresh token.
pub(crate) fn start_session(
    tx: &Tx,
    app: &App,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> DbResult<Option<Issued>> {
    let Some(user) = tx.user(user_id)? else {
        return Ok(None);
    };
    let max_expires_at = now + clock::secs(app.settings.session_max);
    let session = Session {
        id: secrets::new_id("ses"),
        user_id: user.id.clone(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        refresh_count: 0,
        created_at: now,
        expires_at: (now + clock::secs(app.settings.session_ttl)).min(max_expires_at),
        max_expires_at,
        revoked_at: None,
    };
    tx.insert_session(&session)?;
    let refresh_token = secrets::token::<32>();
    tx.insert_refresh_token(&secrets::sha256_hex(&refresh_token), &session.id, now)?;
    Ok(Some(Issued {
        user,
        session,
        refresh_token,
    }))
}

/// What presenting a refresh token led to.
pub(crate) enum Refresh {
    Invalid(&'static str),
    /// A dead token was presented: the whole session was revoked.
    Reuse(String),
    Rotated(Issued),
    /// The immediate predecessor within the grace window: the current token again.
    Grace(Issued),
}

/// Rotates the `presented` refresh token, with reuse detection: a token already rotated is
/// a theft signal that revokes the whole session, except for its immediate successor's
/// twin within `--refresh-grace` (two processes refreshing at once). Run it in one
/// IMMEDIATE transaction, so that concurrent refreshes of one token are serialised.
///
/// For the grace window the successor is kept sealed under a key derived from the
/// presented token, which the database holds only as a hash: the database alone (or its
/// `-wal` file) never yields a usable refresh token.
pub(crate) fn refresh(tx: &Tx, app: &App, presented: &str, now: i64) -> DbResult<Refresh> {
    let hash = &secrets::sha256_hex(presented);
    let grace = clock::secs(app.settings.refresh_grace);
    tx.wipe_expired_grace(now - grace)?;
    let Some(token) = tx.refresh_token(hash)? else {
        return Ok(Refresh::Invalid("refresh token is not valid"));
    };
    let Some(mut session) = tx.session(&token.session_id)? else {
        return Ok(Refresh::Invalid("refresh token is not valid"));
    };
    if session.revoked_at.is_some() || token.revoked_at.is_some() {
        return Ok(Refresh::Invalid("session revoked"));
    }
    if now >= session.expires_at {
        return Ok(Refresh::Invalid("session expired"));
    }
    let Some(user) = tx.user(&session.user_id)? else {
        return Ok(Refresh::Invalid("refresh token is not valid"));
    };
    let Some(rotated_at) = token.rotated_at else {
        let successor = secrets::token::<32>();
        let successor_hash = secrets::sha256_hex(&successor);
        tx.insert_refresh_token(&successor_hash, &session.id, now)?;
        let keep = match grace > 0 {
            true => secrets::seal_successor(presented, &successor),
            false => None,
        };
        tx.mark_rotated(hash, now, &successor_hash, keep.as_deref())?;
        session.expires_at =
            (now + clock::secs(app.settings.session_ttl)).min(session.max_expires_at);
        session.refresh_count += 1;
        tx.record_refresh(&session.id, session.expires_at)?;
        return Ok(Refresh::Rotated(Issued {
            user,
            session,
            refresh_token: successor,
        }));
    };
    if now - rotated_at < grace {
        let successor = token
            .successor_sealed
            .as_deref()
            .and_then(|sealed| secrets::open_successor(presented, sealed));
        let successor = successor.filter(|s| token.successor_hash == Some(secrets::sha256_hex(s)));
        if let (Some(successor_hash), Some(successor)) = (&token.successor_hash, successor) {
            let current = tx
                .refresh_token(successor_hash)?
                .is_some_and(|s| s.rotated_at.is_none() && s.revoked_at.is_none());
            if current {
                return Ok(Refresh::Grace(Issued {
                    user,
                    session,
                    refresh_token: successor,
                }));
            }
        }
    }
    revoke_stolen(tx, &session.id, now)?;
    Ok(Refresh::Reuse(session.id))
}

/// Revokes a session that shows a theft signal (a reused refresh token or authorization
/// code) together with the API tokens it created, which the thief may hold as well.
/// Returns whether the session was live.
pub(crate) fn revoke_stolen(tx: &Tx, session_id: &str, now: i64) -> DbResult<bool> {
    let live = tx.revoke_session(session_id, now)?;
    let tokens = tx.revoke_session_tokens(session_id, now)?;
    if tokens > 0 {
        eprintln!("{tokens} API token(s) created by session {session_id} revoked with it");
    }
    Ok(live)
}
