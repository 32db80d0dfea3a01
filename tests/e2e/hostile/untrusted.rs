//! Points 2 and 3 of issue 13: what a hostile server (or a hostile environment) sends never
//! crashes `my`, never drives the terminal, and never gets a token sent elsewhere.

use super::foreign::{Foreign, State, REFRESH_TOKEN, USER_CODE};
use super::server::{Behaviour, Fake, Req, Resp};
use super::{clean, env_for, expect, start_login, LIMIT};
use crate::util::{TestEnv, Watched};
use serde_json::json;
use std::time::{Duration, Instant};

fn foreign() -> Foreign {
    Foreign::start(Behaviour::default(), State::default())
}

/// Signs in to `server` (approving at once) and checks it worked.
fn signed_in(server: &Foreign) -> TestEnv {
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "");
    env
}

/// Wakes the CLI's loopback listener the way the real server's page would: the status and
/// page, or `None` when nothing listens (the CLI is gone).
fn wake(redirect_uri: &str) -> Option<(u16, String)> {
    let mut r = crate::util::browser()
        .get(&format!("{redirect_uri}?status=approved"))
        .call()
        .ok()?;
    Some((r.status().as_u16(), r.body_mut().read_to_string().ok()?))
}

/// The device code's redirect_uri, once the CLI has asked for one.
fn redirect_uri(server: &Foreign) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(uri) = server.state.redirect_uri.lock().unwrap().clone() {
            return uri;
        }
        assert!(Instant::now() < deadline, "no device authorization request");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn huge_expiry_and_interval_from_the_server_are_clamped() {
    // Regression: `Instant + Duration::from_secs(u64::MAX)` and `mul_f64` aborted the CLI.
    let server = foreign();
    let max = json!(u64::MAX);
    *server.state.device_extra.lock().unwrap() = json!({"expires_in": max, "interval": max});
    *server.state.token_extra.lock().unwrap() =
        json!({"expires_in": max, "refresh_token_expires_in": max});
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    let uri = redirect_uri(&server);
    server.approve();
    // The interval is clamped to a minute: the wake-up makes the CLI poll at once.
    std::thread::sleep(Duration::from_millis(300));
    let woke = wake(&uri);
    let run = login.finish(LIMIT);
    expect(&run, 0, "");
    assert_eq!(woke.map(|w| w.0), Some(200));
    let run = env.run(&["cli", "status"]);
    expect(&run, 0, "Session expires: 9999-12-31T23:59:59Z");
}

#[test]
fn numbers_too_big_for_any_field_are_a_clear_error() {
    let server = foreign();
    *server.state.device_extra.lock().unwrap() = json!({"expires_in": 1e300, "interval": -1});
    let env = env_for(&server.fake.url);
    let run = env.run(&["cli", "login", "--email", "a@b.c", "--no-browser"]);
    expect(&run, 4, "unexpected body");
}

#[test]
fn bad_local_input_is_a_clear_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let server = foreign();
    let env = env_for(&server.fake.url);
    // A non-UTF-8 argument (env::args used to panic on it).
    let out = env
        .cmd(&["cli", "login", "--email"])
        .arg(std::ffi::OsStr::from_bytes(b"a\xff@b.c"))
        .output()
        .unwrap();
    let run: crate::util::Run = out.into();
    expect(&run, 2, "not valid UTF-8");

    // A login timeout too large for the clock.
    *server.state.metadata_extra.lock().unwrap() =
        json!({"authorization_endpoint": format!("{}/authorize", server.fake.url)});
    let mut env = env_for(&server.fake.url);
    env.set("MY_LOGIN_TIMEOUT", "18446744073709551615");
    let run = env.run(&["cli", "login", "--web", "--no-browser"]);
    expect(&run, 2, "MY_LOGIN_TIMEOUT must be");

    // A date past the year 9999 in config.json.
    let env = env_for(&server.fake.url);
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_dir().join("config.json"),
        format!(
            r#"{{"servers":{{"{}":{{"last_refresh_at":18446744073709551615}}}}}}"#,
            server.fake.url
        ),
    )
    .unwrap();
    let run = env.run(&["cli", "status"]);
    expect(&run, 5, "after the year 9999");
}

const ESCAPES: &str = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}]8;;https://evil.example\u{7}x\u{1b}]8;;\u{7}\u{1b}[2J\u{9b}31m";

#[test]
fn terminal_escapes_from_the_server_never_reach_the_terminal() {
    let server = foreign();
    *server.state.device_extra.lock().unwrap() = json!({
        "user_code": format!("{ESCAPES}{USER_CODE}"),
        "verification_uri": format!("{}/device{ESCAPES}", server.fake.url),
    });
    *server.state.token_reply.lock().unwrap() = Some((
        400,
        json!({"error": format!("access_denied_{ESCAPES}"), "error_description": ESCAPES}),
    ));
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    let run = login.finish(LIMIT);
    expect(&run, 3, "\u{fffd}]52;c;");

    // whoami's fields and a REST error message.
    let server = foreign();
    let env = signed_in(&server);
    *server.state.me.lock().unwrap() = Some(Resp::json(
        200,
        json!({"id": format!("u{ESCAPES}"), "email": format!("{ESCAPES}@e.example")}),
    ));
    let run = env.run(&["cli", "whoami"]);
    expect(&run, 0, "");
    *server.state.me.lock().unwrap() = Some(Resp::json(
        403,
        json!({"error": {"code": format!("denied{ESCAPES}"), "message": format!("no\n{ESCAPES}")}}),
    ));
    let run = env.run(&["cli", "whoami"]);
    expect(&run, 1, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn metadata_redirected_to_another_origin_never_gets_the_refresh_token() {
    // Regression: discovery followed a 302 to another port whose metadata named a token
    // endpoint there, and the CLI POSTed the refresh token to it.
    let evil = foreign();
    let victim = foreign();
    *evil.state.metadata_extra.lock().unwrap() = json!({"issuer": victim.fake.url});
    let env = signed_in(&victim);
    *victim.state.redirect_metadata_to.lock().unwrap() = Some(evil.fake.url.clone());
    *victim.state.me.lock().unwrap() = Some(Resp::json(401, json!({"error": "invalid_token"})));
    let run = env.run(&["cli", "whoami"]);
    assert!(
        !evil.fake.saw(REFRESH_TOKEN),
        "the refresh token reached {}",
        evil.fake.url
    );
    assert!(evil.fake.requests().is_empty());
    clean(&run);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("redirect"), "{}", run.stderr);
    // The stored session is kept: nothing said it ended.
    assert_eq!(env.stored()["refresh_token"], REFRESH_TOKEN);
}

#[test]
fn endpoints_on_another_origin_are_refused() {
    let evil = foreign();
    let victim = foreign();
    let env = signed_in(&victim);
    *victim.state.metadata_extra.lock().unwrap() =
        json!({"token_endpoint": format!("{}/token", evil.fake.url)});
    *victim.state.me.lock().unwrap() = Some(Resp::json(401, json!({"error": "invalid_token"})));
    let run = env.run(&["cli", "whoami"]);
    assert!(
        !evil.fake.saw(REFRESH_TOKEN),
        "the refresh token reached evil"
    );
    clean(&run);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "token_endpoint at {}/token, outside",
            evil.fake.url
        )),
        "{}",
        run.stderr
    );
    assert!(!evil.fake.saw(REFRESH_TOKEN));
    assert!(evil.fake.requests().is_empty());
}

#[test]
fn plain_http_is_refused_beyond_loopback() {
    let mut env = env_for("http://api.example");
    env.set("MY_API_URL", "http://api.example");
    let run = env.run(&["cli", "status"]);
    expect(&run, 2, "only allowed for 127.0.0.1");
}

/// Runs a device login that opens a browser (a script recording its URL) on
/// `verification_uri_complete`; returns what the browser was given, if anything.
fn browser_given(server: &Foreign, complete: &str) -> Option<String> {
    *server.state.device_extra.lock().unwrap() = json!({ "verification_uri_complete": complete });
    let mut env = env_for(&server.fake.url);
    let url_file = crate::browser::fake_browser(&mut env);
    let login = Watched::new(env.spawn(&["cli", "login", "--email", "a@b.c"]));
    login.wait_for("Waiting for you to confirm");
    std::thread::sleep(Duration::from_millis(500));
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "");
    std::fs::read_to_string(url_file).ok()
}

#[test]
fn only_http_pages_on_the_issuer_reach_the_browser() {
    let server = foreign();
    let good = format!("{}/device?user_code=WDJBMJHT", server.fake.url);
    assert_eq!(
        browser_given(&server, &good).as_deref().map(str::trim),
        Some(good.as_str())
    );
    for bad in [
        "file:///etc/passwd".to_string(),
        "javascript:alert(1)".to_string(),
        "https://evil.example/device".to_string(),
    ] {
        let server = foreign();
        assert_eq!(browser_given(&server, &bad), None, "{bad} was opened");
    }
}

#[test]
fn forged_loopback_callbacks_change_nothing() {
    // Regression: any local process could GET /callback?status=approved: each showed
    // "Signed in" and triggered a poll, and the server raised the interval to 30 s.
    let server = foreign();
    *server.state.device_extra.lock().unwrap() = json!({"interval": 5});
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    let uri = redirect_uri(&server);
    let port = uri.split(':').nth(2).unwrap().split('/').next().unwrap();
    assert!(
        uri.len() > format!("http://127.0.0.1:{port}/callback/").len() + 20,
        "{uri}"
    );
    for forged in [
        "/callback?status=approved",
        "/callback/?status=approved",
        "/?status=approved",
    ] {
        for _ in 0..2 {
            let (status, page) = crate::util::get_page(&format!("http://127.0.0.1:{port}{forged}"));
            assert_eq!(status, 404, "{forged}: {page}");
            assert!(!page.contains("Signed in"), "{page}");
        }
    }
    // The real callback, with the random path, still wakes it at once. The one thread
    // that answers callbacks also polls, and a poll is answered before the next callback
    // is: so "Signed in" is answered after every poll a forged callback could have made,
    // and the one poll the real callback makes is all there may be.
    let started = Instant::now();
    server.approve();
    let (status, page) = wake(&uri).expect("the CLI listens");
    assert_eq!(status, 200);
    assert!(page.contains("Signed in"), "{page}");
    let run = login.finish(LIMIT);
    expect(&run, 0, "");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.polls(), 1, "a forged callback made the CLI poll");
}

#[test]
fn loopback_traffic_bypasses_the_proxy() {
    // Regression: HTTP(S)_PROXY also carried requests to a http://127.0.0.1 API, so the
    // proxy saw the bearer token.
    let proxy = Fake::start(Behaviour::default(), |_: &Req| Resp::json(502, json!({})));
    let server = foreign();
    let mut env = env_for(&server.fake.url);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.set(var, &proxy.url);
    }
    env.set("NO_PROXY", "");
    let login = start_login(&env);
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "");
    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        proxy.requests().is_empty(),
        "the proxy saw {:?}",
        proxy.requests()
    );
}
