//! SQL for device authorization requests (RFC 8628). The device code is stored only as
//! its SHA-256 hex; `last_poll_ms` keeps sub-second precision for `slow_down`.

use super::sql::{params, Row};
use super::{DbResult, Tx};

/// Where a device authorization request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    fn parse(value: &str) -> DeviceStatus {
        match value {
            "approved" => DeviceStatus::Approved,
            "denied" => DeviceStatus::Denied,
            "consumed" => DeviceStatus::Consumed,
            _ => DeviceStatus::Pending,
        }
    }
}

/// A device authorization request (RFC 8628), without its device code.
#[derive(Debug, Clone)]
pub(crate) struct DeviceRequest {
    pub(crate) id: String,
    /// Stored form: 8 letters, no dash.
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) email: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) client_ip: String,
    pub(crate) status: DeviceStatus,
    pub(crate) user_id: Option<String>,
    pub(crate) interval_secs: i64,
    pub(crate) last_poll_ms: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

const DEVICE_COLUMNS: &str = "id, user_code, client_id, scope, email, redirect_uri, client_ip, \
     status, user_id, interval_secs, last_poll_ms, created_at, expires_at";

fn device_row(row: &Row) -> DbResult<DeviceRequest> {
    Ok(DeviceRequest {
        id: row.get(0)?,
        user_code: row.get(1)?,
        client_id: row.get(2)?,
        scope: row.get(3)?,
        email: row.get(4)?,
        redirect_uri: row.get(5)?,
        client_ip: row.get(6)?,
        status: DeviceStatus::parse(&row.get::<String>(7)?),
        user_id: row.get(8)?,
        interval_secs: row.get(9)?,
        last_poll_ms: row.get(10)?,
        created_at: row.get(11)?,
        expires_at: row.get(12)?,
    })
}

impl Tx<'_> {
    // ---- device requests ---------------------------------------------------------

    /// Whether an unexpired, undecided request already uses this user code.
    pub(crate) fn user_code_in_use(&self, user_code: &str, now: i64) -> DbResult<bool> {
        self.query_row(
            "SELECT EXISTS (SELECT 1 FROM device_requests
                 WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2)",
            params![user_code, now],
            |r| r.get(0),
        )
    }

    pub(crate) fn insert_device_request(
        &self,
        request: &DeviceRequest,
        device_code_hash: &str,
    ) -> DbResult<()> {
        self.execute(
            "INSERT INTO device_requests (id, device_code_hash, user_code, client_id, scope,
                 email, redirect_uri, client_ip, status, user_id, interval_secs, last_poll_ms,
                 created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                request.id,
                device_code_hash,
                request.user_code,
                request.client_id,
                request.scope,
                request.email,
                request.redirect_uri,
                request.client_ip,
                request.status.as_str(),
                request.user_id,
                request.interval_secs,
                request.last_poll_ms,
                request.created_at,
                request.expires_at,
            ],
        )?;
        Ok(())
    }

    /// Deletes a device request (and its links) whose device code was never handed out.
    pub(crate) fn delete_device_request(&self, id: &str) -> DbResult<()> {
        self.execute(
            "DELETE FROM magic_links WHERE device_request_id = ?1",
            params![id],
        )?;
        self.execute("DELETE FROM device_requests WHERE id = ?1", params![id])?;
        Ok(())
    }

    pub(crate) fn device_by_code_hash(&self, hash: &str) -> DbResult<Option<DeviceRequest>> {
        self.query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM device_requests WHERE device_code_hash = ?1"),
            params![hash],
            device_row,
        )
    }

    pub(crate) fn device_by_id(&self, id: &str) -> DbResult<Option<DeviceRequest>> {
        self.query_opt(
            &format!("SELECT {DEVICE_COLUMNS} FROM device_requests WHERE id = ?1"),
            params![id],
            device_row,
        )
    }

    /// The pending, unexpired request with this (normalized) user code.
    pub(crate) fn pending_device_by_user_code(
        &self,
        user_code: &str,
        now: i64,
    ) -> DbResult<Option<DeviceRequest>> {
        self.query_opt(
            &format!(
                "SELECT {DEVICE_COLUMNS} FROM device_requests
                 WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?2
                 ORDER BY created_at DESC LIMIT 1"
            ),
            params![user_code, now],
            device_row,
        )
    }

    /// Remembers a poll (and a possibly raised interval after `slow_down`).
    pub(crate) fn record_poll(&self, id: &str, at_ms: i64, interval_secs: i64) -> DbResult<()> {
        self.execute(
            "UPDATE device_requests SET last_poll_ms = ?2, interval_secs = ?3 WHERE id = ?1",
            params![id, at_ms, interval_secs],
        )?;
        Ok(())
    }

    /// Moves a request from `from` to `to`; false if it was no longer in `from`.
    pub(crate) fn set_device_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        user_id: Option<&str>,
    ) -> DbResult<bool> {
        let changed = self.execute(
            "UPDATE device_requests SET status = ?3, user_id = COALESCE(?4, user_id)
                 WHERE id = ?1 AND status = ?2",
            params![id, from.as_str(), to.as_str(), user_id],
        )?;
        Ok(changed == 1)
    }
}
