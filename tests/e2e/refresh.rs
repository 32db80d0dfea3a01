//! Staying signed in: proactive and reactive refresh, rotation, replay refusal.

use crate::util::*;
use std::time::Duration;

fn refresh_token(env: &TestEnv) -> String {
    env.stored()["refresh_token"].as_str().unwrap().to_string()
}

fn replay(server: &Server, token: &str) -> (u16, serde_json::Value) {
    server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", token)])
}

/// Signs in while the server's clock runs an hour behind, where it stays until the test
/// moves it: by the CLI's clock each access token the server issues has expired (by the
/// server's it has most of its 15 minutes left), so each command refreshes first (the
/// login's own requests too) with no short lifetime to wait out. Returns the session's
/// refresh count after the login.
fn login_with_a_stale_token(server: &Server, env: &TestEnv, email: &str) -> u64 {
    server.set_clock(-3600);
    env.login(server, email).ok();
    refresh_count(server)
}

fn refresh_count(server: &Server) -> u64 {
    server.sessions()[0]["refresh_count"].as_u64().unwrap()
}

#[test]
fn an_expired_access_token_is_refreshed_and_the_old_refresh_token_dies() {
    let server = Server::start(&["--refresh-grace", "0s"]);
    let env = TestEnv::new(&server);
    // The server would still take the old access token: only the CLI's own look at its
    // expiry makes it refresh.
    let count = login_with_a_stale_token(&server, &env, "fresh@example.com");
    let before = refresh_token(&env);
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "fresh@example.com");
    let after = refresh_token(&env);
    assert_ne!(before, after, "the refresh token did not rotate");
    assert_eq!(refresh_count(&server), count + 1);

    // Replaying the rotated token is refused (and, RFC 9700, kills the session).
    let (status, body) = replay(&server, &before);
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[test]
fn a_rejected_access_token_is_refreshed_once_and_the_request_retried() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    env.login(&server, "retry@example.com").ok();
    // Break the signature of the stored JWT: the server answers 401, the CLI refreshes.
    let path = env.credentials_file();
    let text = std::fs::read_to_string(&path).unwrap();
    let jwt = env.stored()["access_token"].as_str().unwrap().to_string();
    let broken = format!("{}x", &jwt[..jwt.len() - 1]);
    std::fs::write(&path, text.replace(&jwt, &broken)).unwrap();
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "retry@example.com");
    assert_ne!(env.stored()["access_token"].as_str().unwrap(), broken);
    assert_eq!(server.sessions()[0]["refresh_count"], 1);
}

#[test]
fn fifty_processes_refreshing_at_once_do_not_log_each_other_out() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let count = login_with_a_stale_token(&server, &env, "crowd@example.com");
    // Back on time, the server issues the refreshed token with all its 15 minutes.
    server.set_clock(0);
    let children: Vec<_> = (0..50)
        .map(|_| env.spawn(&["cli", "whoami", "--json"]))
        .collect();
    let runs = finish_all_ok(children, Duration::from_secs(60));
    for r in &runs {
        assert_eq!(r.json()["email"], "crowd@example.com");
    }
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["revoked"], false);
    assert_eq!(
        sessions[0]["refresh_count"].as_u64(),
        Some(count + 1),
        "the others did not use the first one's refresh"
    );
    eprintln!("50 concurrent whoami: all succeeded, 1 refresh on the server");
    env.run(&["cli", "whoami"]).ok();
}

#[test]
fn a_replayed_refresh_token_outside_the_grace_window_ends_the_session() {
    let server = Server::start(&["--refresh-grace", "10s"]);
    let env = TestEnv::new(&server);
    login_with_a_stale_token(&server, &env, "replay@example.com");
    let old = refresh_token(&env);
    env.run(&["cli", "whoami"]).ok();
    assert_ne!(refresh_token(&env), old);
    // 11 s after the rotation by the server's clock: past the 10 s grace window.
    server.set_clock(-3600 + 11);
    let (status, body) = replay(&server, &old);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(server.sessions()[0]["revoked"], true);

    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("my cli login"), "{}", run.stderr);
    assert!(
        !env.credentials_file().exists() || env.stored().is_null(),
        "a dead session is cleared"
    );
}

#[test]
fn a_replay_inside_the_grace_window_gets_the_same_successor() {
    let server = Server::start(&["--refresh-grace", "30s"]);
    let env = TestEnv::new(&server);
    env.login(&server, "grace@example.com").ok();
    let r0 = refresh_token(&env);
    let (s1, a) = replay(&server, &r0);
    let (s2, b) = replay(&server, &r0);
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    let s = &server.sessions()[0];
    assert_eq!(
        (s["revoked"].as_bool(), s["refresh_count"].as_u64()),
        (Some(false), Some(1))
    );
}

#[test]
fn the_weekly_refresh_extends_the_session() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    env.login(&server, "weekly@example.com").ok();
    let before = server.sessions()[0].clone();
    let status_before = env.run(&["cli", "status", "--json"]).ok().json();
    // An ordinary command within the week does not refresh.
    env.run(&["cli", "whoami"]).ok();
    assert_eq!(server.sessions()[0]["refresh_count"], 0);

    // The weekly refresh falls due: what the CLI remembers of its last refresh (when, and
    // the session end it learned then) moves 8 days back.
    let week_ago = |file: &str, section: &str, field: &str| {
        let path = env.config_dir().join(file);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let at = &mut v[section][&env.api_url][field];
        *at = (at.as_u64().unwrap() - 8 * 24 * 3600).into();
        std::fs::write(&path, v.to_string()).unwrap();
    };
    week_ago("config.json", "servers", "last_refresh_at");
    week_ago("credentials.json", "credentials", "session_expires_at");
    let status_due = env.run(&["cli", "status", "--json"]).ok().json();
    // The server's clock moves on a minute, so the session it extends ends later than it
    // did; the access token still works there, so only the weekly rule can refresh it.
    server.set_clock(60);

    env.run(&["cli", "whoami"]).ok();
    let after = server.sessions()[0].clone();
    assert_eq!(after["refresh_count"], 1);
    assert!(
        after["expires_at"].as_str() > before["expires_at"].as_str(),
        "{before} → {after}"
    );
    let status_after = env.run(&["cli", "status", "--json"]).ok().json();
    for field in ["session_expires_at", "last_refresh_at"] {
        assert!(
            status_after[field].as_str() > status_due[field].as_str(),
            "{field}: {status_due} → {status_after}"
        );
        assert!(
            status_after[field].as_str() >= status_before[field].as_str(),
            "{field}: {status_before} → {status_after}"
        );
    }
}

/// Answers every request with a 500 on `addr` until dropped.
struct FailingServer {
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FailingServer {
    fn start(addr: &str) -> FailingServer {
        let mut server = None;
        for _ in 0..50 {
            match tiny_http::Server::http(addr) {
                Ok(s) => {
                    server = Some(std::sync::Arc::new(s));
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let server = server.expect("bind the failing server");
        let s = server.clone();
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let _ = req.respond(
                    tiny_http::Response::from_string(
                        "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"boom\"}}",
                    )
                    .with_status_code(500),
                );
            }
        });
        FailingServer {
            server,
            thread: Some(thread),
        }
    }
}

impl Drop for FailingServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_refresh_that_meets_a_dead_or_failing_server_keeps_the_credentials() {
    let mut server = Server::start(&[]);
    let env = TestEnv::new(&server);
    login_with_a_stale_token(&server, &env, "resilient@example.com");
    let before = std::fs::read(env.credentials_file()).unwrap();

    server.stop();
    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 4, "down: {}", run.stderr);
    assert_eq!(std::fs::read(env.credentials_file()).unwrap(), before);

    let addr = server.url.trim_start_matches("http://").to_string();
    {
        let _failing = FailingServer::start(&addr);
        let run = env.run(&["cli", "whoami"]);
        assert_eq!(run.code, 4, "500: {}", run.stderr);
        assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
        assert_eq!(std::fs::read(env.credentials_file()).unwrap(), before);
    }
    server.restart();
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "resilient@example.com");
}

#[test]
fn killing_my_in_the_middle_of_refreshes_never_breaks_the_credentials() {
    let server = Server::start(&["--refresh-grace", "60s"]);
    let env = TestEnv::new(&server);
    env.login(&server, "crash@example.com").ok();
    let config_path = env.config_dir().join("config.json");
    let iterations = 200;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    for i in 0..iterations {
        // Make the weekly refresh due, so each run refreshes, and dies at a random point.
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap())
                .unwrap_or_else(|e| panic!("iteration {i}: config.json does not parse ({e})"));
        config["servers"][&env.api_url]["last_refresh_at"] = 0.into();
        std::fs::write(&config_path, config.to_string()).unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = env.spawn(&["cli", "whoami"]);
        std::thread::sleep(Duration::from_micros(seed % 40_000));
        let _ = child.kill();
        let _ = child.wait();
        if env.credentials_file().exists() {
            let text = std::fs::read_to_string(env.credentials_file()).unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| {
                panic!("iteration {i}: credentials.json does not parse ({e}): {text}")
            });
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "crash@example.com");
    let s = &server.sessions()[0];
    assert_eq!(s["revoked"], false);
    eprintln!(
        "{iterations} killed runs: credentials parse, session alive, {} refreshes, {} stray temp files",
        s["refresh_count"],
        leftovers.len()
    );
}
