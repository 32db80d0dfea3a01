//! `/v1/logs`: reading an environment's log (a page, or a long poll that waits for the
//! next line) and appending to it.
//!
//! A long poll must neither miss a line nor pin the server. Lines appended through this
//! process ring the app's `LogBell`, which wakes waiting polls at once, and so do lines
//! another process appends to the same PostgreSQL database (`db::listen_for_log_lines`);
//! on SQLite, lines appended by another process (`my-server admin log append`, or
//! another server on the same file) are found by re-reading the database every
//! [`RECHECK`], which stays the fallback on PostgreSQL too. At most
//! `app::MAX_LONG_POLLS` requests wait at a time; beyond that a poll answers at once with
//! no lines and `Retry-After`.

use crate::app::App;
use crate::clock;
use crate::db::{Db, EnvironmentRow, LogRow};
use crate::domain::{caller, orgs};
use crate::names;
use crate::web::{Error, Form, Params, Reply, Request};
use my_api::org::{AppendLogs, LogLine, LogPage, DEFAULT_LOG_PAGE, MAX_LOG_PAGE};
use std::time::{Duration, Instant};

/// How often a waiting poll re-reads the database for lines other processes appended.
pub(crate) const RECHECK: Duration = Duration::from_millis(200);
/// Lines one `POST /v1/logs` may append.
const MAX_APPEND: usize = 1000;
fn line(row: LogRow) -> LogLine {
    LogLine {
        seq: u64::try_from(row.seq).unwrap_or(0),
        time: clock::rfc3339_millis(row.time_ms),
        message: row.message,
    }
}

/// The page for `rows`: `next` is the last line's seq, or `cursor` when there is none.
fn page(rows: Vec<LogRow>, cursor: i64) -> LogPage {
    let next = rows.last().map_or(cursor, |row| row.seq);
    LogPage {
        lines: rows.into_iter().map(line).collect(),
        next: u64::try_from(next).unwrap_or(0),
    }
}

/// `after`, `limit` and `follow` from the query string.
fn paging(query: &Form) -> Result<(Option<i64>, usize, bool), Error> {
    let after = match query.get("after") {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| {
                    Error::bad_request("after must be a log line's seq (a whole number)")
                })?,
        ),
    };
    let limit = match query.get("limit") {
        None => DEFAULT_LOG_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LOG_PAGE).contains(n))
            .ok_or_else(|| Error::bad_request(format!("limit must be 1 to {MAX_LOG_PAGE}")))?,
    };
    let follow = match query.get("follow") {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(_) => return Err(Error::bad_request("follow must be 1 or 0")),
    };
    Ok((after, limit, follow))
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, Error> {
    value.ok_or_else(|| Error::bad_request(format!("{name} is required")))
}

/// `GET /v1/logs?organization=&project=&environment=[&after=SEQ][&limit=N][&follow=1]`.
///
/// Without `after`: the newest `limit` lines. With it: up to `limit` lines after that one;
/// and with `follow=1`, when there are none yet, the answer waits up to `--long-poll` for
/// the next line (an empty page when none comes).
pub(crate) fn read(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let query = request.query_params()?;
    let project_key = required(query.get("project"), "project")?;
    let env_name = required(query.get("environment"), "environment")?;
    let (after, limit, follow) = paging(&query)?;
    let (env, first) = db.read(|tx| -> Result<_, Error> {
        let org = orgs::scope(tx, &auth, query.get("organization"))?;
        let project = orgs::project(tx, &org, project_key)?;
        let env = orgs::environment(tx, &project, env_name)?;
        let first = match after {
            Some(after) => page(tx.log_after(&env.id, after, limit)?, after),
            None => page(tx.log_tail(&env.id, limit)?, tx.newest_log_seq(&env.id)?),
        };
        Ok((env, first))
    })?;
    if !follow || !first.lines.is_empty() {
        return Ok(Reply::private_json(200, &first));
    }
    let cursor = i64::try_from(first.next).unwrap_or(i64::MAX);
    let Some(_waiting) = app.log_bell.enter() else {
        return Ok(Reply::private_json(200, &first).header("Retry-After", "1"));
    };
    let timeout = Duration::from_secs(app.settings.long_poll);
    Ok(Reply::private_json(
        200,
        &wait_for_lines(app, db, &env, cursor, limit, timeout)?,
    ))
}

/// Waits until `env` has lines after `cursor` or `timeout` passes.
fn wait_for_lines(
    app: &App,
    db: &mut Db,
    env: &EnvironmentRow,
    cursor: i64,
    limit: usize,
    timeout: Duration,
) -> Result<LogPage, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = app.log_bell.count();
        let rows = db.read(|tx| tx.log_after(&env.id, cursor, limit))?;
        let now = Instant::now();
        if !rows.is_empty() || now >= deadline {
            return Ok(page(rows, cursor));
        }
        app.log_bell.wait(seen, RECHECK.min(deadline - now));
    }
}

/// `POST /v1/logs` (JSON `AppendLogs`): 201 with the appended lines.
pub(crate) fn append(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    let auth = caller::authenticate(app, db, request)?;
    let body: AppendLogs = request.json()?;
    if body.lines.is_empty() || body.lines.len() > MAX_APPEND {
        return Err(Error::bad_request(format!(
            "lines must hold 1 to {MAX_APPEND} entries"
        )));
    }
    for entry in &body.lines {
        names::log_line(entry).map_err(Error::bad_request)?;
    }
    let now_ms = clock::now_millis();
    let rows = db.write(|tx| -> Result<Vec<LogRow>, Error> {
        let org = orgs::scope(tx, &auth, body.organization.as_deref())?;
        let project = orgs::project(tx, &org, &body.project)?;
        let env = orgs::environment(tx, &project, &body.environment)?;
        let messages: Vec<&str> = body.lines.iter().map(String::as_str).collect();
        let seqs = tx.append_logs(&env.id, now_ms, &messages)?;
        Ok(seqs
            .into_iter()
            .zip(&body.lines)
            .map(|(seq, message)| LogRow {
                seq,
                time_ms: now_ms,
                message: message.clone(),
            })
            .collect())
    })?;
    app.log_bell.ring();
    Ok(Reply::private_json(201, &page(rows, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_the_cursor() {
        assert_eq!(page(Vec::new(), 7).next, 7);
        let rows = vec![LogRow {
            seq: 9,
            time_ms: 0,
            message: "up".into(),
        }];
        let p = page(rows, 7);
        assert_eq!(p.next, 9);
        assert_eq!(p.lines[0].time, "1970-01-01T00:00:00.000Z");
    }
}
