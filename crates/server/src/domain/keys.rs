//! The JWT signing keys: the newest signs, every key still in the database verifies the
//! tokens that name it (`kid`). Each process keeps the keys it read for [`FRESH`], and
//! reads them again at once when a token names a key it does not know (another process
//! or `my-server admin rotate-key` added one).

use crate::app::App;
use crate::crypto::jwt::{self, JwtError};
use crate::crypto::secrets;
use crate::db::{Db, DbResult, SigningKey, Tx};
use crate::web::Error;
use my_api::AccessClaims;
use std::time::Duration;

/// How long keys read from the database are used before they are read again.
const FRESH: Duration = Duration::from_secs(30);
/// An unknown `kid` rereads the keys at most this often (forged ids cannot flood the
/// database with reads).
const REREAD: Duration = Duration::from_secs(1);
/// Keys kept by a rotation: the new one and the one before it.
pub(crate) const KEPT: usize = 2;

/// A fresh random key with a fresh id.
pub(crate) fn new_key() -> SigningKey {
    SigningKey {
        kid: secrets::new_id("key"),
        key: secrets::random_bytes::<32>(),
    }
}

/// The keys, newest first, read again if older than `max_age`; a database without any
/// gets its first one.
fn keys(app: &App, db: &mut Db, max_age: Duration) -> Result<Vec<SigningKey>, Error> {
    if let Some(keys) = app.cached_keys(max_age) {
        return Ok(keys);
    }
    let mut keys = db.read(|tx| tx.signing_keys())?;
    if keys.is_empty() {
        keys = db.write(|tx| -> DbResult<_> {
            if tx.signing_keys()?.is_empty() {
                tx.insert_signing_key(&new_key(), crate::clock::now_secs())?;
            }
            tx.signing_keys()
        })?;
    }
    app.cache_keys(keys.clone());
    Ok(keys)
}

/// The key to sign with: the newest.
pub(crate) fn current(app: &App, db: &mut Db) -> Result<SigningKey, Error> {
    keys(app, db, FRESH)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("no signing key".into()))
}

/// Signs `claims` with the newest key.
pub(crate) fn sign(app: &App, db: &mut Db, claims: &AccessClaims) -> Result<String, Error> {
    let key = current(app, db)?;
    Ok(jwt::sign(claims, &key.kid, &key.key))
}

/// Verifies an access token with the key it names, rereading the keys once if that one
/// is not known here.
pub(crate) fn verify(
    app: &App,
    db: &mut Db,
    token: &str,
    now: u64,
) -> Result<Result<AccessClaims, JwtError>, Error> {
    let check = |keys: &[SigningKey]| {
        jwt::verify(
            token,
            |kid| keys.iter().find(|k| k.kid == kid).map(|k| k.key),
            now,
        )
    };
    let result = check(&keys(app, db, FRESH)?);
    if result.as_ref().err() != Some(&JwtError::UnknownKey) {
        return Ok(result);
    }
    Ok(check(&keys(app, db, REREAD)?))
}

/// Adds a new signing key and deletes all but the [`KEPT`] newest: tokens signed by the
/// previous key stay valid until they expire. Returns the new key's id and how many keys
/// were deleted.
pub(crate) fn rotate(tx: &Tx, now: i64) -> DbResult<(String, usize)> {
    let key = new_key();
    tx.insert_signing_key(&key, now)?;
    let retired = tx.retire_signing_keys(KEPT)?;
    Ok((key.kid, retired))
}
