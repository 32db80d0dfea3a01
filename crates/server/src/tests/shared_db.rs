//! Several connections on one database, as several my-server processes use it: racing
//! refreshes of one refresh token, and log appends that wake another process's polls.
//! On SQLite each `Db` here has its own writer, as a second process would; with
//! `MY_SERVER_TEST_PG` set they are PostgreSQL connections (see `db::test_target`).

use crate::app::App;
use crate::clock;
use crate::crypto::secrets;
use crate::db::{self, Db, DbResult, Target};
use crate::domain::sessions::{self, Refresh};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A migrated database of the backend under test, and its folder.
fn database() -> (Target, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let target = db::test_target(dir.path());
    target.ensure_private().unwrap();
    Db::connect(&target).unwrap().migrate([3; 32], 0).unwrap();
    (target, dir)
}

// Two processes that refresh with the same token at once must not see a reuse (which
// revokes the session): one rotates, the other gets the same successor.
#[test]
fn connections_racing_one_refresh_token_get_one_successor_and_no_reuse_alarm() {
    let (target, _dir) = database();
    let app = Arc::new(App::for_test("http://127.0.0.1:1"));
    let now = clock::now_secs();
    let issued = Db::connect(&target)
        .unwrap()
        .write(|tx| -> DbResult<_> {
            let user = tx.ensure_user("ann@example.com", &secrets::new_id("usr"), now)?;
            sessions::start_session(tx, &app, &user.id, "my-cli", "openid", now)
        })
        .unwrap()
        .unwrap();
    let racers = 8;
    let barrier = Arc::new(Barrier::new(racers));
    let threads: Vec<_> = (0..racers)
        .map(|_| {
            let (target, app, barrier) = (target.clone(), Arc::clone(&app), Arc::clone(&barrier));
            let presented = issued.refresh_token.clone();
            std::thread::spawn(move || {
                let mut db = Db::connect(&target).unwrap();
                barrier.wait();
                let outcome = db
                    .write(|tx| sessions::refresh(tx, &app, &presented, now))
                    .unwrap();
                match outcome {
                    Refresh::Rotated(next) => ("rotated", next.refresh_token),
                    Refresh::Grace(next) => ("grace", next.refresh_token),
                    Refresh::Reuse(_) => ("reuse", String::new()),
                    Refresh::Invalid(why) => ("invalid", why.to_string()),
                }
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let rotated = outcomes
        .iter()
        .filter(|(kind, _)| *kind == "rotated")
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    let successor = &outcomes
        .iter()
        .find(|(kind, _)| *kind == "rotated")
        .unwrap()
        .1;
    for (kind, token) in &outcomes {
        assert!(
            *kind == "rotated" || (*kind == "grace" && token == successor),
            "{outcomes:?}"
        );
    }
    let session = Db::connect(&target)
        .unwrap()
        .read(|tx| tx.session(&issued.session.id))
        .unwrap()
        .unwrap();
    assert_eq!(
        (session.revoked_at, session.refresh_count),
        (None, 1),
        "one refresh, no revocation"
    );
}

// A long poll served by one process wakes at once for a line another process appends:
// on PostgreSQL through LISTEN/NOTIFY. SQLite has no such signal (its polls re-read).
#[test]
fn an_append_on_one_connection_rings_another_apps_bell() {
    let (target, _dir) = database();
    let app = App::for_test("http://127.0.0.1:1");
    let bell = Arc::downgrade(&app.log_bell);
    let still = bell.clone();
    let listening = db::listen_for_log_lines(
        &target,
        move || {
            if let Some(bell) = bell.upgrade() {
                bell.ring();
            }
        },
        move || still.strong_count() > 0,
    )
    .unwrap();
    assert_eq!(listening, matches!(target, Target::Pg(_)));
    if !listening {
        return;
    }
    // The listener rings once it listens.
    let start = Instant::now();
    app.log_bell.wait(0, Duration::from_secs(10));
    assert!(app.log_bell.count() > 0, "the listener never connected");
    let mut writer = Db::connect(&target).unwrap();
    writer
        .write(|tx| {
            tx.execute_batch(
                "INSERT INTO organizations (id, name, slug, created_at)
                     VALUES ('org_1', 'Acme', 'acme', 0);
                 INSERT INTO projects (id, org_id, name, slug, created_at)
                     VALUES ('prj_1', 'org_1', 'Store', 'store', 0);
                 INSERT INTO environments (id, project_id, name, created_at)
                     VALUES ('env_1', 'prj_1', 'prod', 0);",
            )
        })
        .unwrap();
    let seen = app.log_bell.count();
    let appended = Instant::now();
    writer
        .write(|tx| tx.append_logs("env_1", 0, &["hello"]))
        .unwrap();
    app.log_bell.wait(seen, Duration::from_secs(5));
    assert!(app.log_bell.count() > seen, "no ring after the append");
    assert!(
        appended.elapsed() < Duration::from_secs(1),
        "the ring took {:?} (started {:?} ago)",
        appended.elapsed(),
        start.elapsed()
    );
}

// A silent database or client must not hold the one write lock for hours: every PostgreSQL
// connection waits for a lock no longer than SQLite's busy timeout, and the server ends a
// transaction left idle. (SQLite has its busy timeout of its own: nothing to check there.)
#[test]
fn postgres_connections_give_up_on_locks_and_idle_transactions() {
    let (target, _dir) = database();
    if !matches!(target, Target::Pg(_)) {
        return;
    }
    let mut db = Db::connect(&target).unwrap();
    let (lock, idle) = db
        .read(|tx| -> DbResult<(String, String)> {
            Ok((
                tx.query_row("SHOW lock_timeout", &[], |r| r.get(0))?,
                tx.query_row("SHOW idle_in_transaction_session_timeout", &[], |r| {
                    r.get(0)
                })?,
            ))
        })
        .unwrap();
    assert_eq!((lock.as_str(), idle.as_str()), ("15s", "1min"));
}
