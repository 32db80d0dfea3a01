//! Running my-server in production: health probes, stopping on SIGTERM or SIGINT without
//! dropping requests in flight, settings from the environment, request logs.

use crate::util::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Acme with project shop (production) and a member; returns an API token of the member.
fn member_token(server: &Server) -> String {
    let seed = server.dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"organizations":[{"name":"Acme","slug":"acme","members":["ops@example.com"],
            "projects":[{"name":"Shop","slug":"shop","environments":["production"]}]}]}"#,
    )
    .unwrap();
    server.admin(&["seed", "--file", &seed.display().to_string()]);
    let env = TestEnv::new(server);
    env.login(server, "ops@example.com").ok();
    let created = env.run(&["cli", "token", "create", "ops", "--json"]).ok();
    created.json()["token"].as_str().unwrap().to_string()
}

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// Starts `GET /v1/logs?…&follow=1` on its own connection; the thread returns the raw
/// response (empty if the connection was cut) and when it ended.
fn long_poll(server: &Server, token: &str) -> std::thread::JoinHandle<(String, Instant)> {
    let mut stream = TcpStream::connect(address(server)).unwrap();
    let request = format!(
        "GET /v1/logs?organization=acme&project=shop&environment=production&after=0&follow=1 \
         HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    std::thread::spawn(move || {
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        (response, Instant::now())
    })
}

#[test]
fn health_probes_answer_over_http() {
    let server = Server::start(&[]);
    for path in ["/healthz", "/readyz"] {
        let (status, body) = get_page(&format!("{}{path}", server.url));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"],
            "ok"
        );
    }
}

#[test]
fn sigterm_finishes_requests_in_flight_refuses_new_ones_and_exits_0() {
    let mut server = Server::start(&["--long-poll", "3s", "--shutdown-timeout", "20s"]);
    let token = member_token(&server);
    let started = Instant::now();
    let poll = long_poll(&server, &token);
    // An idle keep-alive connection must not hold the stop up.
    let idle = TcpStream::connect(address(&server)).unwrap();
    std::thread::sleep(Duration::from_millis(700));

    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(address(&server)).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    let (response, answered) = poll.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert!(response.contains("\"lines\":[]"), "{response:?}");
    assert!(
        answered > signalled,
        "the long poll was answered before the signal"
    );
    assert!(answered - started >= Duration::from_millis(2900));

    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("still running");
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "the idle connection held the stop up"
    );
    let log = server.log();
    assert!(log.contains("stopping: finishing"), "{log}");
    assert!(log.lines().any(|l| l == "stopped"), "{log}");
    drop(idle);
}

#[test]
fn sigint_exits_0_at_the_shutdown_timeout_when_a_request_takes_longer() {
    let mut server = Server::start(&["--long-poll", "20s", "--shutdown-timeout", "1s"]);
    let token = member_token(&server);
    let poll = long_poll(&server, &token);
    std::thread::sleep(Duration::from_millis(700));
    let signalled = Instant::now();
    server.signal(libc::SIGINT);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("still running");
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    let (response, _) = poll.join().unwrap();
    assert_eq!(response, "", "the cut request got an answer");
    assert!(server
        .log()
        .contains("the shutdown timeout cut requests still in flight"));
}

fn issuer(server: &Server) -> String {
    let (_, body) = get_page(&format!(
        "{}/.well-known/oauth-authorization-server",
        server.url
    ));
    let metadata: serde_json::Value = serde_json::from_str(&body).unwrap();
    metadata["issuer"].as_str().unwrap().to_string()
}

#[test]
fn flags_come_from_the_environment_and_a_flag_wins() {
    let env = [("MY_SERVER_PUBLIC_URL", "http://env.example:8080/")];
    let server = Server::start_with_env(&[], &env);
    assert_eq!(issuer(&server), "http://env.example:8080");
    let server = Server::start_with_env(&["--public-url", "http://flag.example"], &env);
    assert_eq!(issuer(&server), "http://flag.example");

    let out = std::process::Command::new(server_bin())
        .env("MY_SERVER_ACCESS_TTL", "fast")
        .env("MY_SERVER_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--access-ttl"), "{stderr}");
    assert!(stderr.contains("MY_SERVER_ACCESS_TTL"), "{stderr}");
}

#[test]
fn help_says_where_secrets_and_environment_settings_come_from() {
    let out = std::process::Command::new(server_bin())
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("MY_SERVER_<OPTION>"), "{help}");
    assert!(
        help.contains("read only from files or the environment"),
        "{help}"
    );
}

/// Every magic link in the server's outbox.
fn mailed_links(server: &Server) -> Vec<String> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir(server.mail_dir()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let found = text.split_whitespace().filter(|w| w.contains("/magic/"));
        links.extend(found.map(String::from));
    }
    links
}

#[test]
fn json_log_has_one_object_per_request_and_no_secret() {
    let server = Server::start(&["--log-format", "json", "--trusted-proxy", "127.0.0.1"]);
    let token = member_token(&server);
    let mut response = browser()
        .get(&format!("{}/healthz?token=query-secret", server.url))
        .header("X-Forwarded-For", "203.0.113.9")
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let _ = response.body_mut().read_to_string();

    let log = server.log();
    let requests: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let probe = requests
        .iter()
        .find(|r| r["path"] == "/healthz")
        .unwrap_or_else(|| panic!("no /healthz line in {log}"));
    assert_eq!(probe["client"], "203.0.113.9", "{probe}");
    assert_eq!(
        (probe["method"].as_str(), probe["status"].as_u64()),
        (Some("GET"), Some(200))
    );
    assert!(probe["ms"].is_u64() && probe["time"].as_str().unwrap().ends_with('Z'));
    // The sign-in took several requests, the magic link's among them (its token cut off).
    assert!(requests.len() >= 5, "{log}");
    assert!(requests.iter().any(|r| r["path"] == "/magic/…"), "{log}");

    let links = mailed_links(&server);
    assert!(!links.is_empty());
    let secret_token = links[0].rsplit('/').next().unwrap().to_string();
    for secret in [token.as_str(), "query-secret", secret_token.as_str()] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

/// `dist/my-server.service`, with `ExecStart` pointing at the binary under test.
fn service_unit() -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/my-server.service");
    let unit = std::fs::read_to_string(path).unwrap();
    let local = unit.replace(
        "ExecStart=/usr/local/bin/my-server",
        &format!("ExecStart={}", server_bin().display()),
    );
    assert_ne!(
        unit, local,
        "the unit no longer starts /usr/local/bin/my-server"
    );
    (unit, local)
}

#[test]
fn the_systemd_unit_is_sandboxed_and_its_settings_start_the_server() {
    let (unit, local) = service_unit();
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=my-server",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == directive), "missing {directive}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my-server.service");
    std::fs::write(&file, &local).unwrap();
    let analyze = |args: &[&str]| {
        let out = std::process::Command::new("systemd-analyze")
            .args(args)
            .arg(&file)
            .output()
            .expect("systemd-analyze (scripts/deps.sh test installs systemd)");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "systemd-analyze {args:?}: {text}");
        text
    };
    analyze(&["verify"]);
    let security = analyze(&["security", "--offline=true", "--threshold=20"]);
    let score: f64 = security
        .split("Overall exposure level for my-server.service: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in {security}"));
    assert!(score <= 2.0, "exposure {score}: {security}");

    // Its settings are real flags: the server starts on them (database, mail folder and
    // address replaced by the test's), answers, and stops at SIGTERM with exit 0.
    let env: Vec<(&str, &str)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|l| l.split_once('='))
        .collect();
    assert!(env.len() >= 5 && env.iter().all(|(k, _)| k.starts_with("MY_SERVER_")));
    let stop: u64 = env
        .iter()
        .find(|(k, _)| *k == "MY_SERVER_SHUTDOWN_TIMEOUT")
        .unwrap()
        .1
        .trim_end_matches('s')
        .parse()
        .unwrap();
    let stop_sec: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(
        stop_sec > stop,
        "systemd would kill the server before it drains"
    );
    let mut server = Server::start_with_env(&[], &env);
    let (status, _) = get_page(&format!("{}/readyz", server.url));
    assert_eq!(status, 200);
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("still running");
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(
        server.log().contains("\"path\":\"/readyz\""),
        "{}",
        server.log()
    );
}
