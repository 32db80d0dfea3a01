//! The sign-in life cycle: magic link, loopback wake-up, Confirm/Deny, link expiry.

use crate::util::*;
use std::time::{Duration, Instant};

#[test]
fn login_whoami_status_logout() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let login = env.login(&server, "ada@example.com").ok();
    let j = login.json();
    assert_eq!(j["email"], "ada@example.com");
    assert_eq!(j["store"], "file");

    let who = env.run(&["cli", "whoami"]).ok();
    assert!(
        who.stdout.contains("Email: ada@example.com"),
        "{}",
        who.stdout
    );
    assert!(who.stdout.contains("ID:    usr_"), "{}", who.stdout);
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "ada@example.com");
    assert!(who["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(who["credential"]["kind"], "session");
    assert_eq!(who["credential"]["source"], "file");

    let status = env.run(&["cli", "status"]).ok();
    assert!(
        status
            .stdout
            .contains(&format!("API URL:         {} (environment)", server.url)),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("yes, as ada@example.com"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("plaintext file"),
        "{}",
        status.stdout
    );
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(status["logged_in"], true);
    assert_eq!(status["source"], "file");
    assert_eq!(status["plaintext_file"], true);
    assert!(status["session_expires_at"].as_str().is_some());

    // The credential file: 0600 in a 0700 folder, holding no more than it should.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.credentials_file()), 0o600);
    assert_eq!(mode(&env.config_dir()), 0o700);

    let out = env.run(&["cli", "logout"]).ok();
    assert!(out.stderr.contains("Logged out"), "{}", out.stderr);
    // The session is revoked on the server, not only forgotten here.
    let sessions = server.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["revoked"], true);

    let who = env.run(&["cli", "whoami"]);
    assert_eq!(who.code, 3, "{}", who.stderr);
    assert!(who.stderr.contains("my cli login"), "{}", who.stderr);
    assert_eq!(who.stderr.lines().count(), 1, "{}", who.stderr);
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(status["logged_in"], false);
}

#[test]
fn loopback_callback_wakes_the_cli_long_before_the_next_poll() {
    let server = Server::start(&["--device-interval", "30s"]);
    let env = TestEnv::new(&server);
    let child = env.spawn(&["cli", "login", "--email", "fast@example.com"]);
    let link = server.wait_for_link("fast@example.com");
    let (status, body) = press(&link, "confirm");
    let confirmed = Instant::now();
    // The browser followed the redirect to the CLI's loopback page.
    assert_eq!(status, 200);
    assert!(body.contains("Signed in"), "{body}");
    let run = finish(child, Duration::from_secs(25)).ok();
    assert!(
        confirmed.elapsed() < Duration::from_secs(5),
        "took {:?}",
        confirmed.elapsed()
    );
    assert!(
        run.stderr.contains("Signed in as fast@example.com"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Your code is "), "{}", run.stderr);
    env.run(&["cli", "whoami"]).ok();
}

#[test]
fn the_code_shown_by_the_cli_is_the_code_in_the_mail_and_on_the_page() {
    let server = Server::start(&["--device-interval", "1s"]);
    let env = TestEnv::new(&server);
    let mut child = env.spawn(&["cli", "login", "--email", "cmp@example.com"]);
    let link = server.wait_for_link("cmp@example.com");
    let (status, page) = get_page(&link);
    assert_eq!(status, 200);
    // A GET (what mail scanners do) signs no one in: the CLI keeps waiting.
    assert!(still_running_after(&mut child, Duration::from_secs(3)));
    // The CLI's next poll finishes the login. Following the redirect to its loopback
    // listener too would race that poll: a CLI that exits first drops the connection
    // ("Peer disconnected" in this client).
    assert_eq!(press_without_redirect(&link, "confirm"), 303);
    let run = finish(child, Duration::from_secs(20)).ok();
    let code = run
        .stderr
        .split("Your code is ")
        .nth(1)
        .and_then(|s| s.get(..9))
        .unwrap_or_else(|| panic!("{}", run.stderr))
        .to_string();
    assert!(
        code.chars().enumerate().all(|(i, c)| if i == 4 {
            c == '-'
        } else {
            "BCDFGHJKLMNPQRSTVWXZ".contains(c)
        }),
        "{code}"
    );
    assert!(page.contains(&code), "page lacks {code}");
}

#[test]
fn deny_stops_the_cli_and_a_used_link_is_dead() {
    let server = Server::start(&["--device-interval", "1s"]);
    let env = TestEnv::new(&server);
    let child = env.spawn(&["cli", "login", "--email", "deny@example.com"]);
    let link = server.wait_for_link("deny@example.com");
    let form = hidden_fields(&get_page(&link).1);
    let (status, _) = submit(&link, &form, "deny");
    assert_eq!(status, 200);
    let run = finish(child, Duration::from_secs(20));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("denied"), "{}", run.stderr);
    assert!(!env.credentials_file().exists());
    // The link was consumed: neither Confirm (even with the page's own form) nor the page
    // work any more.
    let (status, _) = submit(&link, &form, "confirm");
    assert_eq!(status, 404);
    let (status, page) = get_page(&link);
    assert_eq!(status, 404);
    assert!(page.contains("not valid or was already used"), "{page}");
}

#[test]
fn a_confirmed_link_cannot_be_used_again() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let child = env.spawn(&["cli", "login", "--email", "once@example.com"]);
    let link = server.wait_for_link("once@example.com");
    let form = hidden_fields(&get_page(&link).1);
    submit(&link, &form, "confirm");
    finish(child, Duration::from_secs(20)).ok();
    let (status, _) = submit(&link, &form, "confirm");
    assert_eq!(status, 404);
    assert_eq!(server.sessions().len(), 1);
}

#[test]
fn an_expired_link_shows_a_clear_page_and_the_cli_reports_the_expiry() {
    // The sign-in request outlives its link; both end by the server's clock alone.
    let server = Server::start(&[
        "--link-ttl",
        "5m",
        "--device-ttl",
        "10m",
        "--device-interval",
        "1s",
    ]);
    let env = TestEnv::new(&server);
    let child = env.spawn(&["cli", "login", "--email", "late@example.com"]);
    let link = server.wait_for_link("late@example.com");
    let (status, page) = get_page(&link);
    assert_eq!(status, 200, "the page while the link is fresh: {page}");
    let form = hidden_fields(&page);
    server.set_clock(5 * 60 + 1);
    let (status, page) = get_page(&link);
    assert_eq!(status, 410);
    assert!(page.contains("expired"), "{page}");
    let (status, _) = submit(&link, &form, "confirm");
    assert_eq!(status, 410);
    // The CLI, still polling, hears of the request's end from the server.
    server.set_clock(10 * 60 + 1);
    let run = finish(child, Duration::from_secs(20));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
    assert!(!env.credentials_file().exists());
}

#[test]
fn a_post_without_the_pages_csrf_token_is_refused() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let mut child = env.spawn(&["cli", "login", "--email", "csrf@example.com"]);
    let link = server.wait_for_link("csrf@example.com");
    let (status, _) = submit(&link, &[], "confirm");
    assert_eq!(status, 403);
    assert!(still_running_after(&mut child, Duration::from_millis(300)));
    press(&link, "confirm");
    finish(child, Duration::from_secs(20)).ok();
}
