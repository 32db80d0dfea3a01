//! SQL for rate limits: one row per counted event, by kind and key (a client address, a
//! lower-cased email), forgotten once older than the window.

use super::{DbResult, Tx};
use rusqlite::params;

impl Tx<'_> {
    // ---- rate limits -------------------------------------------------------------

    /// Events of `kind` for `key` at or after `since`.
    pub(crate) fn rate_count(&self, kind: &str, key: &str, since: i64) -> DbResult<u32> {
        self.tx
            .prepare_cached(
                "SELECT COUNT(*) FROM rate_events WHERE kind = ?1 AND key = ?2 AND at >= ?3",
            )?
            .query_row(params![kind, key, since], |r| r.get(0))
    }

    /// When the oldest event of `kind` for `key` at or after `since` happened.
    pub(crate) fn rate_oldest(&self, kind: &str, key: &str, since: i64) -> DbResult<Option<i64>> {
        self.tx
            .prepare_cached(
                "SELECT MIN(at) FROM rate_events WHERE kind = ?1 AND key = ?2 AND at >= ?3",
            )?
            .query_row(params![kind, key, since], |r| r.get(0))
    }

    /// Records one event and forgets events of `kind` older than `forget_before`.
    pub(crate) fn rate_record(
        &self,
        kind: &str,
        key: &str,
        at: i64,
        forget_before: i64,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached("DELETE FROM rate_events WHERE kind = ?1 AND at < ?2")?
            .execute(params![kind, forget_before])?;
        self.tx
            .prepare_cached("INSERT INTO rate_events (kind, key, at) VALUES (?1, ?2, ?3)")?
            .execute(params![kind, key, at])?;
        Ok(())
    }

    /// Records an event unless `limit` events of `kind` for `key` happened since
    /// `window_start`; returns whether it was allowed.
    pub(crate) fn rate_allow(
        &self,
        kind: &str,
        key: &str,
        limit: u32,
        now: i64,
        window_start: i64,
    ) -> DbResult<bool> {
        if self.rate_count(kind, key, window_start)? >= limit {
            return Ok(false);
        }
        self.rate_record(kind, key, now, window_start)?;
        Ok(true)
    }
}
