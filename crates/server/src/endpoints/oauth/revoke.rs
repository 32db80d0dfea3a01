//! `POST /oauth/revoke` (RFC 7009): a client signs out.

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, DbResult};
use crate::domain::keys;
use crate::domain::oauth::{check_client, invalid_request};
use crate::web::{Error, Params, Reply, Request};

/// `POST /oauth/revoke` (RFC 7009): a refresh token, or one of our access tokens,
/// revokes its whole session. Always 200 with an empty body, even for unknown tokens.
pub(crate) fn post(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = request.form().map_err(invalid_request)?;
    check_client(&form, false)?;
    let token = form
        .get("token")
        .ok_or_else(|| invalid_request("token is required"))?;
    let now = clock::now_secs();
    let hash = secrets::sha256_hex(token);
    let access_sid = keys::verify(app, db, token, u64::try_from(now).unwrap_or(0))?
        .ok()
        .map(|claims| claims.sid);
    let revoked = db.write(|tx| -> DbResult<Option<String>> {
        let session_id = match tx.refresh_token(&hash)? {
            Some(found) => Some(found.session_id),
            None => access_sid,
        };
        match session_id {
            Some(id) if tx.revoke_session(&id, now)? => Ok(Some(id)),
            _ => Ok(None),
        }
    })?;
    if let Some(session_id) = revoked {
        eprintln!("session {session_id} revoked by the client");
    }
    Ok(Reply::new(200)
        .header("Cache-Control", "no-store")
        .header("Pragma", "no-cache"))
}
