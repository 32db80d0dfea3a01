//! SQL for the periodic sweep: deleting what can never be used again — expired device
//! requests, magic links, authorization requests and codes, ended web sessions, dead
//! sessions with their refresh tokens, and rate-limit counts past their window — and the
//! row counts `my-server admin stats` prints.

use super::sql::params;
use super::{DbResult, Tx};

/// What one sweep deleted, by table.
pub(crate) type Swept = Vec<(&'static str, usize)>;

/// Deletions in an order that keeps every foreign key satisfied; `?1` is now, `?2` the
/// oldest moment whose rate-limit events still count (its slot is kept).
const SWEEP: &[(&str, &str)] = &[
    (
        "magic_links",
        "DELETE FROM magic_links WHERE expires_at <= ?1",
    ),
    (
        "authorization_codes",
        "DELETE FROM authorization_codes WHERE expires_at <= ?1 OR session_id IN
         (SELECT id FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= ?1)",
    ),
    (
        "authorization_requests",
        "DELETE FROM authorization_requests WHERE expires_at <= ?1
         AND id NOT IN (SELECT request_id FROM authorization_codes)
         AND id NOT IN (SELECT authorization_request_id FROM magic_links
                        WHERE authorization_request_id IS NOT NULL)",
    ),
    (
        "device_requests",
        "DELETE FROM device_requests WHERE expires_at <= ?1
         AND id NOT IN (SELECT device_request_id FROM magic_links
                        WHERE device_request_id IS NOT NULL)",
    ),
    (
        "web_sessions",
        "DELETE FROM web_sessions WHERE expires_at <= ?1 OR revoked_at IS NOT NULL",
    ),
    (
        "refresh_tokens",
        "DELETE FROM refresh_tokens WHERE session_id IN
         (SELECT id FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= ?1)",
    ),
    (
        "sessions",
        "DELETE FROM sessions WHERE (revoked_at IS NOT NULL OR expires_at <= ?1)
         AND id NOT IN (SELECT session_id FROM authorization_codes
                        WHERE session_id IS NOT NULL)",
    ),
    (
        "rate_counts",
        "DELETE FROM rate_counts WHERE slot < CAST(?1 AS BIGINT) / 10",
    ),
];

/// The tables `admin stats` counts.
const COUNTED: &[&str] = &[
    "users",
    "device_requests",
    "magic_links",
    "authorization_requests",
    "authorization_codes",
    "web_sessions",
    "sessions",
    "refresh_tokens",
    "api_tokens",
    "signing_keys",
    "rate_counts",
];

impl Tx<'_> {
    // ---- the sweep ---------------------------------------------------------------

    /// Deletes everything over at `now` (rate-limit events before `events_since`).
    pub(crate) fn sweep(&self, now: i64, events_since: i64) -> DbResult<Swept> {
        let mut swept = Vec::new();
        for (table, sql) in SWEEP {
            // Each statement's one parameter: the time before which rows are over.
            let before = if *table == "rate_counts" {
                events_since
            } else {
                now
            };
            let deleted = self.execute(sql, params![before])?;
            swept.push((*table, deleted));
        }
        Ok(swept)
    }

    /// The number of rows of each table the sweep keeps in check.
    pub(crate) fn table_counts(&self) -> DbResult<Vec<(&'static str, i64)>> {
        COUNTED
            .iter()
            .map(|table| {
                let count =
                    self.query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| {
                        r.get(0)
                    })?;
                Ok((*table, count))
            })
            .collect()
    }
}
