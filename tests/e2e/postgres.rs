//! Two `my-server` processes on one PostgreSQL database behave as one server: a refresh
//! race spread over both, a magic link confirmed on one completing a login that polls the
//! other, `logs --follow` woken by a line the other appended, and a rate limit counted
//! across both.
//!
//! They need a PostgreSQL cluster: `MY_SERVER_TEST_PG` holds its admin URL (`make test`
//! starts a throwaway one) and each test creates a database of its own with `psql`.
//! Without it they fail under CI and are skipped elsewhere.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A database of its own on the test cluster, dropped at the end of the test.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    /// Creates `e2e_<what>_<pid>_<n>`; None (after saying so) when there is no cluster and
    /// this is not CI.
    fn create(what: &str) -> Option<Database> {
        let admin_url = match std::env::var("MY_SERVER_TEST_PG") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
                assert!(
                    !ci,
                    "MY_SERVER_TEST_PG is not set: the PostgreSQL tests need a cluster; \
                     run them with `make test` (or `make test-pg`), which starts one"
                );
                eprintln!(
                    "skipped: MY_SERVER_TEST_PG is not set (`make test` starts a PostgreSQL cluster)"
                );
                return None;
            }
        };
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "e2e_{what}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url, &name);
        Some(Database {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Best effort: the cluster is thrown away after the run anyway.
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &self.admin_url, "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs one SQL command with Debian's `psql` (no PostgreSQL crate in this test crate):
/// its output, unaligned and without headers.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("psql: {e} (install Debian's postgresql package: scripts/deps.sh test)")
        });
    assert!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `url` with its database (the path) replaced by `name`, query string kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..host_end])
}

/// Two servers on one database, with the same flags.
fn two_servers(db: &Database, flags: &[&str]) -> (Server, Server) {
    let servers = (
        Server::start_on(&db.url, flags),
        Server::start_on(&db.url, flags),
    );
    // A server that took the URL for a file name would pass every test on SQLite.
    let tables = psql(
        &db.url,
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    assert_ne!(tables, "0", "the servers created no tables in {}", db.name);
    servers
}

/// Lines of a server's log with this method and path (the text format: client, method,
/// path, status, time).
fn requests(server: &Server, method: &str, path: &str) -> Vec<String> {
    server
        .log()
        .lines()
        .filter(|l| {
            let mut words = l.split(' ').skip(1);
            words.next() == Some(method) && words.next() == Some(path)
        })
        .map(String::from)
        .collect()
}

/// Makes the session `env` signed in with at `from` also the one it uses at `to`, as if
/// both URLs led to the same server: the CLI keys credentials (and the weekly-refresh
/// clock) by API URL.
fn share_session(env: &TestEnv, from: &str, to: &str) {
    for file in ["credentials.json", "config.json"] {
        let path = env.config_dir().join(file);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let key = if file == "config.json" {
            "servers"
        } else {
            "credentials"
        };
        let entry = v[key][from].clone();
        assert!(!entry.is_null(), "{file} has no entry for {from}");
        v[key][to] = entry;
        std::fs::write(&path, v.to_string()).unwrap();
    }
}

#[test]
fn fifty_whoami_over_two_processes_after_expiry_make_one_refresh() {
    let Some(db) = Database::create("refresh") else {
        return;
    };
    let (a, b) = two_servers(&db, &["--refresh-grace", "60s"]);
    let env = TestEnv::new(&a);
    // Signed in while A's clock runs an hour behind: by the CLI's clock each access token
    // A issues has expired (the login's own requests refresh it too), so every whoami
    // below starts with a refresh. Then A is back on time (two processes on one database
    // share one clock, or a rotation at one looks an hour old at the other), and issues
    // the refreshed token with all its 15 minutes.
    a.set_clock(-3600);
    env.login(&a, "crowd@example.com").ok();
    a.set_clock(0);
    let count = a.sessions()[0]["refresh_count"].as_u64().unwrap();
    share_session(&env, &a.url, &b.url);
    let before = env.stored();
    let grants = |s: &Server| requests(s, "POST", "/oauth/token").len();
    let grants_before = (grants(&a), grants(&b));

    // Half through each process. They share one lock file, so one refreshes at A (or B)
    // and the first of the other half replays the rotated token at the other process,
    // which the grace window must answer with the same successor, not as reuse.
    let children: Vec<_> = (0..50)
        .map(|i| {
            let url = if i % 2 == 0 { &a.url } else { &b.url };
            env.cmd(&["cli", "whoami", "--json"])
                .env("MY_API_URL", url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs = finish_all_ok(children, Duration::from_secs(60));
    for r in &runs {
        assert_eq!(r.json()["email"], "crowd@example.com");
    }
    let sessions = a.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["revoked"], false);
    assert_eq!(
        sessions[0]["refresh_count"].as_u64(),
        Some(count + 1),
        "{sessions:?}"
    );

    let credentials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.credentials_file()).unwrap()).unwrap();
    let (at_a, at_b) = (
        &credentials["credentials"][&a.url],
        &credentials["credentials"][&b.url],
    );
    assert_ne!(
        at_a["refresh_token"], before["refresh_token"],
        "no rotation"
    );
    assert_eq!(
        at_a["refresh_token"], at_b["refresh_token"],
        "both processes handed out the same successor"
    );
    let refreshes = (grants(&a) - grants_before.0, grants(&b) - grants_before.1);
    eprintln!(
        "50 whoami over two processes: all succeeded, 1 refresh; refresh requests: {} at A, {} at B",
        refreshes.0, refreshes.1
    );
    assert!(
        refreshes.0 >= 1 && refreshes.1 >= 1,
        "each half refreshed through its own process: {refreshes:?}"
    );
}

#[test]
fn a_link_confirmed_on_one_process_completes_a_login_polling_the_other() {
    let Some(db) = Database::create("link") else {
        return;
    };
    let (a, b) = two_servers(&db, &["--device-interval", "1s"]);
    let env = TestEnv::new(&b);
    let child = env.spawn(&["cli", "login", "--email", "poll@example.com", "--json"]);
    let mailed = b.wait_for_link("poll@example.com");
    assert!(mailed.starts_with(&b.url), "{mailed}");
    let link = mailed.replacen(&b.url, &a.url, 1);
    // Not following the redirect to the CLI's loopback: only its polling of B can notice.
    assert_eq!(
        press_without_redirect(&link, "confirm"),
        303,
        "confirm on A"
    );

    let run = finish(child, Duration::from_secs(20)).ok();
    assert_eq!(run.json()["email"], "poll@example.com", "{}", run.stdout);
    assert_eq!(
        env.run(&["cli", "whoami", "--json"]).ok().json()["email"],
        "poll@example.com"
    );
    assert_eq!(requests(&a, "POST", "/magic/…").len(), 1, "{}", a.log());
    assert!(requests(&b, "POST", "/magic/…").is_empty(), "{}", b.log());
    assert!(
        requests(&a, "POST", "/oauth/token").is_empty(),
        "{}",
        a.log()
    );
    assert!(
        requests(&b, "POST", "/oauth/token")
            .iter()
            .any(|l| l.split(' ').nth(3) == Some("200")),
        "{}",
        b.log()
    );
    // Single use holds across processes too.
    let (status, _) = get_page(&mailed);
    assert_eq!(status, 404, "the used link, at B");
    assert_eq!(a.sessions().len(), 1);
}

#[test]
fn logs_follow_on_one_process_wakes_when_the_other_appends() {
    let Some(db) = Database::create("follow") else {
        return;
    };
    // A missed wake-up would show as waiting out the 25 s long poll.
    let (a, b) = two_servers(&db, &["--long-poll", "25s"]);
    acme(&a, &["tail@example.com"]);
    let env = TestEnv::new(&a);
    env.login(&a, "tail@example.com").ok();
    // A session's access token names its issuer, the process's own URL; an API token,
    // like a deploy bot's, is good at either.
    let created = env
        .run(&["cli", "token", "create", "appender", "--json"])
        .ok();
    let token = created.json()["token"].as_str().unwrap().to_string();
    let append = |message: &str| {
        let body = serde_json::json!({
            "organization": "acme",
            "project": "my-store",
            "environment": "production",
            "lines": [message],
        });
        let r = browser()
            .post(&format!("{}/v1/logs", b.url))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "append at B");
    };
    append("booted");

    // The login inferred the context: acme, my-store, production.
    let mut child = env.spawn(&["logs", "--follow"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("booted"), "{first}");
    // Let the follow reach its long poll at A before B appends.
    std::thread::sleep(Duration::from_millis(500));
    append("deployed v2");
    let appended = Instant::now();
    let line = lines.next().unwrap().unwrap();
    let took = appended.elapsed();
    assert!(line.contains("deployed v2"), "{line}");
    assert!(took < Duration::from_secs(2), "A woke after {took:?}");
    eprintln!("logs --follow at A saw B's line after {took:?}");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// POST /oauth/device_authorization as the CLI does: the status.
fn device_authorization(server_url: &str) -> u16 {
    browser()
        .post(&format!("{server_url}/oauth/device_authorization"))
        .send_form([("client_id", "my-cli"), ("scope", "openid")])
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_rate_limit_holds_across_processes() {
    let Some(db) = Database::create("limit") else {
        return;
    };
    let (a, b) = two_servers(&db, &["--rate-limit", "5"]);
    // Alternating A, B, A, …: the sixth request overall is the first refused, wherever
    // it lands; each process alone has seen at most three.
    let statuses: Vec<u16> = (0..8)
        .map(|i| device_authorization(if i % 2 == 0 { &a.url } else { &b.url }))
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    drop((a, b));

    // And when they arrive at once: 40 requests, 20 at each process, 10 allowed.
    let Some(db) = Database::create("burst") else {
        return;
    };
    let (a, b) = two_servers(&db, &["--rate-limit", "10"]);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let url = if i % 2 == 0 { &a.url } else { &b.url };
                scope.spawn(move || device_authorization(url))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let allowed = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((allowed, refused), (10, 30), "{statuses:?}");
}

#[test]
fn database_urls_keep_their_query() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h:1/postgres?sslmode=disable", "y"),
        "postgres://u@h:1/y?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "z"), "postgres://u@h/z");
}

/// Starts my-server on `url` with `env` and stops it again: `Ok` once it listens, else its
/// exit code and stderr.
fn try_serve(url: &str, env: &[(&str, &str)]) -> Result<(), (Option<i32>, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .envs(env.iter().copied())
        .env("HOME", dir.path())
        .args(["--listen", "127.0.0.1:0", "--db", url, "--mail-dir"])
        .arg(dir.path().join("mail"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start my-server");
    let line = first_line(&mut child);
    if line.starts_with("my-server listening on ") {
        child.kill().unwrap();
        child.wait().unwrap();
        return Ok(());
    }
    let out = child.wait_with_output().unwrap();
    Err((
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A new user `<prefix>_<db>` with `password` (and `options`), made the owner of `db` so that
/// my-server migrates it as that user; returns the user and the database URL for them (no
/// password in it).
fn owner_with_password(
    db: &Database,
    prefix: &str,
    password: &str,
    options: &str,
) -> (String, String) {
    let user = format!("{prefix}_{}", db.name);
    psql(
        &db.admin_url,
        &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}' {options}"),
    );
    psql(
        &db.admin_url,
        &format!("ALTER DATABASE {} OWNER TO {user}", db.name),
    );
    psql(&db.url, &format!("ALTER SCHEMA public OWNER TO {user}"));
    let url = db.url.replacen("postgres@", &format!("{user}@"), 1);
    (user, url)
}

// The password of a database user comes from MY_SERVER_DB_PASSWORD or a private pgpass file,
// never from the URL (it would show in `ps`), and every refusal is one line that names where
// a password may come from without echoing it.
#[test]
fn a_database_password_comes_from_the_environment_or_a_private_pgpass_file() {
    let Some(db) = Database::create("password") else {
        return;
    };
    let secret = "s3cret-Pa55word";
    let (user, url) = owner_with_password(&db, "pw", secret, "");
    let with_secret = db
        .url
        .replacen("postgres@", &format!("{user}:{secret}@"), 1);

    let one_line = |(code, stderr): (Option<i32>, String)| {
        assert_ne!(code, Some(0), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains(secret), "the password leaked: {stderr}");
        stderr
    };
    let refused = one_line(try_serve(&with_secret, &[]).unwrap_err());
    assert!(refused.contains("pgpass"), "{refused}");
    let missing = one_line(try_serve(&url, &[]).unwrap_err());
    assert!(missing.contains("MY_SERVER_DB_PASSWORD"), "{missing}");
    let wrong = one_line(try_serve(&url, &[("MY_SERVER_DB_PASSWORD", "wrong")]).unwrap_err());
    assert!(wrong.contains("password"), "{wrong}");

    try_serve(&url, &[("MY_SERVER_DB_PASSWORD", secret)]).expect("password from the environment");

    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, format!("127.0.0.1:*:*:{user}:{secret}\n")).unwrap();
    let pgpass_env = [("PGPASSFILE", pgpass.to_str().unwrap())];
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = one_line(try_serve(&url, &pgpass_env).unwrap_err());
    assert!(
        open.contains("pgpass") || open.contains(pgpass.to_str().unwrap()),
        "{open}"
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    try_serve(&url, &pgpass_env).expect("password from a private pgpass file");
    // The tables are the password user's: the server migrated as that user.
    let owner = psql(
        &db.url,
        "SELECT tableowner FROM pg_tables WHERE tablename = 'server_secret'",
    );
    assert_eq!(owner, user);
}

// A database user that may only connect over TLS (the test cluster's hba rejects it in
// plain text): my-server reaches it with `sslmode=verify-full` and the cluster's CA, and
// refuses a server whose certificate the system roots do not vouch for.
#[test]
fn a_database_over_verified_tls_needs_the_right_ca() {
    let Some(db) = Database::create("tls") else {
        return;
    };
    let ca = std::env::var("MY_SERVER_TEST_PG_CA")
        .expect("MY_SERVER_TEST_PG_CA names the test cluster's CA (scripts/test-pg.sh sets it)");
    let secret = "tls-Pa55word";
    let (user, url) = owner_with_password(&db, "tls", secret, "IN ROLE tls_only");
    let env = [("MY_SERVER_DB_PASSWORD", secret)];

    let plain = try_serve(&format!("{url}?sslmode=disable"), &env).unwrap_err();
    assert!(plain.1.contains("pg_hba.conf rejects"), "{plain:?}");
    let unknown = try_serve(&format!("{url}?sslmode=verify-full"), &env).unwrap_err();
    assert_eq!(unknown.1.trim_end().lines().count(), 1, "{unknown:?}");
    assert!(unknown.1.contains("UnknownIssuer"), "{unknown:?}");
    try_serve(&format!("{url}?sslmode=verify-full&sslrootcert={ca}"), &env)
        .expect("verified TLS with the cluster's CA");
    let owner = psql(
        &db.url,
        "SELECT tableowner FROM pg_tables WHERE tablename = 'server_secret'",
    );
    assert_eq!(owner, user);
}
