//! SQL for rate limits: one row per counted event, by kind and key (a client address, a
//! lower-cased email), forgotten once older than the window.
//!
//! Every statement stays on the (kind, key, at) index, so a check costs what one key has
//! done, not what every client has: a count stops at the limit, a new event forgets only
//! its own key's old ones, and a sweep of every key runs once per [`SWEEP_EVERY`] events.

use super::{DbResult, Tx};
use rusqlite::params;

/// Events recorded between two sweeps of expired events of every key.
const SWEEP_EVERY: i64 = 1024;

impl Tx<'_> {
    // ---- rate limits -------------------------------------------------------------

    /// Events of `kind` for `key` at or after `since`, counted up to `limit`.
    pub(crate) fn rate_count(
        &self,
        kind: &str,
        key: &str,
        since: i64,
        limit: u32,
    ) -> DbResult<u32> {
        self.tx
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT 1 FROM rate_events
                 WHERE kind = ?1 AND key = ?2 AND at >= ?3 LIMIT ?4)",
            )?
            .query_row(params![kind, key, since, limit], |r| r.get(0))
    }

    /// When the oldest event of `kind` for `key` at or after `since` happened.
    pub(crate) fn rate_oldest(&self, kind: &str, key: &str, since: i64) -> DbResult<Option<i64>> {
        self.tx
            .prepare_cached(
                "SELECT MIN(at) FROM rate_events WHERE kind = ?1 AND key = ?2 AND at >= ?3",
            )?
            .query_row(params![kind, key, since], |r| r.get(0))
    }

    /// Records one event and forgets events of `kind` older than `forget_before`: this
    /// key's now, every key's at each sweep.
    pub(crate) fn rate_record(
        &self,
        kind: &str,
        key: &str,
        at: i64,
        forget_before: i64,
    ) -> DbResult<()> {
        self.tx
            .prepare_cached("DELETE FROM rate_events WHERE kind = ?1 AND key = ?2 AND at < ?3")?
            .execute(params![kind, key, forget_before])?;
        let id = self
            .tx
            .prepare_cached("INSERT INTO rate_events (kind, key, at) VALUES (?1, ?2, ?3)")?
            .insert(params![kind, key, at])?;
        if id % SWEEP_EVERY == 0 {
            self.tx
                .prepare_cached("DELETE FROM rate_events WHERE kind = ?1 AND at < ?2")?
                .execute(params![kind, forget_before])?;
        }
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
        if self.rate_count(kind, key, window_start, limit)? >= limit {
            return Ok(false);
        }
        self.rate_record(kind, key, now, window_start)?;
        Ok(true)
    }
}
