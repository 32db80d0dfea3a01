//! SQL for rate limits: for each kind and key (a client address, a lower-cased email), how
//! many events happened in each 10-second slot, forgotten once the window has passed.
//!
//! A check reads at most the window's slots (60 rows for 10 minutes), whatever a client
//! sends: a log with one row per event grew with every request allowed and was counted in
//! full on each one. The window starts after the slot that `since` falls in, so an event
//! counts for 590 to 600 s of a 600 s window, and the oldest counted one leaves it at most
//! the window's length from now (what `Retry-After` promises).

use super::sql::params;
use super::{DbResult, Tx};
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds in one slot.
const SLOT_SECS: i64 = 10;

/// The latest slot in which this process swept the expired slots of every key.
static SWEPT: AtomicI64 = AtomicI64::new(i64::MIN);

/// The slot `at` (unix seconds) falls in.
fn slot(at: i64) -> i64 {
    at.div_euclid(SLOT_SECS)
}

impl Tx<'_> {
    /// Events of `kind` for `key` in the slots after the one `since` falls in.
    pub(crate) fn rate_count(&self, kind: &str, key: &str, since: i64) -> DbResult<u32> {
        let events: i64 = self.query_row(
            "SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM rate_counts
                 WHERE kind = ?1 AND key = ?2 AND slot > ?3",
            params![kind, key, slot(since)],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(events).unwrap_or(u32::MAX))
    }

    /// When the oldest slot that `rate_count` counts from `since` began: its events stop
    /// counting once the window starts after it (for `Retry-After`).
    pub(crate) fn rate_oldest(&self, kind: &str, key: &str, since: i64) -> DbResult<Option<i64>> {
        let oldest: Option<i64> = self.query_row(
            "SELECT MIN(slot) FROM rate_counts WHERE kind = ?1 AND key = ?2 AND slot > ?3",
            params![kind, key, slot(since)],
            |r| r.get(0),
        )?;
        Ok(oldest.map(|slot| slot * SLOT_SECS))
    }

    /// Records one event at `at` and forgets the slots before that of `forget_before`:
    /// this key's now, every key's (of this kind) with the first event of a new slot.
    pub(crate) fn rate_record(
        &self,
        kind: &str,
        key: &str,
        at: i64,
        forget_before: i64,
    ) -> DbResult<()> {
        let forget = slot(forget_before);
        self.execute(
            "DELETE FROM rate_counts WHERE kind = ?1 AND key = ?2 AND slot < ?3",
            params![kind, key, forget],
        )?;
        self.execute(
            "INSERT INTO rate_counts (kind, key, slot, events) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (kind, key, slot) DO UPDATE SET events = rate_counts.events + 1",
            params![kind, key, slot(at)],
        )?;
        if SWEPT.fetch_max(slot(at), Ordering::Relaxed) < slot(at) {
            self.execute(
                "DELETE FROM rate_counts WHERE kind = ?1 AND slot < ?2",
                params![kind, forget],
            )?;
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
        if self.rate_count(kind, key, window_start)? >= limit {
            return Ok(false);
        }
        self.rate_record(kind, key, now, window_start)?;
        Ok(true)
    }
}
