//! The browser sign-in (`my cli login --web`), driven in a real headless Chromium through
//! chromedriver: the email form, the mailed link, Confirm, the one-click Authorize page, Deny,
//! and the refusals around the loopback redirect and the code exchange.

use crate::chrome::Chrome;
use crate::util::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Points BROWSER at a script that hands the URL to the test (written to a file), and
/// pretends a display exists so the CLI tries to open it.
pub fn fake_browser(env: &mut TestEnv) -> PathBuf {
    let dir = env.home.path().join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("open-url");
    let url_file = dir.join("url");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\n",
            url_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set("BROWSER", &script.display().to_string());
    env.set("DISPLAY", ":99");
    url_file
}

fn wait_for_url(file: &PathBuf) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if text.ends_with('\n') {
                let _ = std::fs::remove_file(file);
                return text.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the CLI never opened the browser"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signs in through the email form in `chrome` (a browser without a web session).
fn sign_in_by_mail(chrome: &Chrome, server: &Server, url: &str, email: &str, shots: bool) {
    chrome.goto(url);
    chrome.find("#email");
    if shots {
        chrome.screenshot("sign-in");
    }
    chrome.type_into("#email", email);
    chrome.click("#send");
    chrome.wait_for_text("inbox");
    let link = server.wait_for_link(email);
    chrome.goto(&link);
    chrome.find("#confirm");
    if shots {
        chrome.screenshot("confirm");
    }
    chrome.click("#confirm");
}

#[test]
fn web_login_in_a_real_browser_then_one_click_authorize() {
    let server = Server::start(&[]);
    let chrome = Chrome::start();
    let mut env = TestEnv::new(&server);
    let url_file = fake_browser(&mut env);

    let login = Watched::new(env.spawn(&["cli", "login", "--web", "--json"]));
    let url = wait_for_url(&url_file);
    // The URL is printed before the browser is tried.
    login.wait_for(&url);
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let redirect = query_param(&url, "redirect_uri").unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");

    // A forged callback (wrong state) is ignored; the real one still completes.
    let (status, _) = get_page(&format!("{redirect}?code=forged&state=wrong"));
    assert_eq!(status, 400);

    sign_in_by_mail(&chrome, &server, &url, "web@example.com", true);
    chrome.wait_for_text("Signed in");
    let run = login.finish(Duration::from_secs(20)).ok();
    assert_eq!(run.json()["email"], "web@example.com");
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(
        (who["email"].as_str(), who["credential"]["kind"].as_str()),
        (Some("web@example.com"), Some("session"))
    );

    // The same browser now has a web session: one click on Authorize is enough.
    let login = Watched::new(env.spawn(&["cli", "login", "--web"]));
    let url = wait_for_url(&url_file);
    chrome.goto(&url);
    chrome.find("#authorize");
    chrome.screenshot("authorize");
    chrome.click("#authorize");
    chrome.wait_for_text("Signed in");
    let run = login.finish(Duration::from_secs(20)).ok();
    assert!(
        run.stderr.contains("Signed in as web@example.com"),
        "{}",
        run.stderr
    );
    env.run(&["cli", "whoami"]).ok();
    assert_eq!(server.sessions().len(), 2);
}

#[test]
fn deny_in_the_browser_stops_the_cli() {
    let server = Server::start(&[]);
    let chrome = Chrome::start();
    let mut env = TestEnv::new(&server);
    let url_file = fake_browser(&mut env);
    let login = Watched::new(env.spawn(&["cli", "login", "--web"]));
    let url = wait_for_url(&url_file);
    chrome.goto(&url);
    chrome.type_into("#email", "nope@example.com");
    chrome.click("#send");
    chrome.wait_for_text("inbox");
    chrome.goto(&server.wait_for_link("nope@example.com"));
    chrome.click("#deny");
    chrome.wait_for_text("denied");
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("denied"), "{}", run.stderr);
    assert!(!env.credentials_file().exists());
}

// Regression: a browser opens connections ahead of time (preconnect) and may leave one idle;
// the CLI's loopback listener must still answer the real callback at once.
#[test]
fn an_idle_preconnection_does_not_hold_up_the_callback() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    let url_file = fake_browser(&mut env);
    let login = Watched::new(env.spawn(&["cli", "login", "--web"]));
    let url = wait_for_url(&url_file);
    let redirect = query_param(&url, "redirect_uri").unwrap();
    let state = query_param(&url, "state").unwrap();
    let host = redirect
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let _idle = std::net::TcpStream::connect(host).unwrap();
    login.wait_for("Waiting for the browser");
    let started = Instant::now();
    let (status, page) = get_page(&format!("{redirect}?error=access_denied&state={state}"));
    let took = started.elapsed();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("denied in the browser"), "{page}");
    assert!(took < Duration::from_secs(1), "the callback took {took:?}");
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("denied in the browser"),
        "{}",
        run.stderr
    );
}

/// A loopback listener of the test's own, standing in for a CLI, that records callbacks.
struct Catcher {
    server: std::sync::Arc<tiny_http::Server>,
    urls: std::sync::mpsc::Receiver<String>,
    pub redirect_uri: String,
}

impl Catcher {
    fn start() -> Catcher {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let (tx, urls) = std::sync::mpsc::channel();
        let s = server.clone();
        std::thread::spawn(move || {
            for req in s.incoming_requests() {
                // Browsers also ask for /favicon.ico: only callbacks count.
                if req.url().starts_with("/callback") {
                    let _ = tx.send(req.url().to_string());
                }
                let _ = req.respond(tiny_http::Response::from_string("caught"));
            }
        });
        Catcher {
            server,
            urls,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        }
    }

    fn code(&self) -> String {
        let url = self
            .urls
            .recv_timeout(Duration::from_secs(15))
            .expect("a callback");
        query_param(&url, "code").unwrap_or_else(|| panic!("no code in {url}"))
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn authorize_url(server: &Server, redirect_uri: &str, challenge: &str, method: &str) -> String {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "my-cli")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", method)
        .append_pair("state", "state-of-at-least-16-chars")
        .finish();
    format!("{}/oauth/authorize?{q}", server.url)
}

fn redeem(
    server: &Server,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    server.token_grant(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ])
}

#[test]
fn codes_are_single_use_and_bound_to_the_verifier() {
    // RFC 7636 Appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let server = Server::start(&[]);
    let chrome = Chrome::start();
    let catcher = Catcher::start();
    let url = authorize_url(&server, &catcher.redirect_uri, challenge, "S256");

    sign_in_by_mail(&chrome, &server, &url, "pkce@example.com", false);
    let code = catcher.code();
    let wrong = "x".repeat(43);
    let (status, body) = redeem(&server, &code, &catcher.redirect_uri, &wrong);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    chrome.goto(&url);
    chrome.click("#authorize");
    let code = catcher.code();
    let (status, body) = redeem(&server, &code, "http://127.0.0.1:1/other", verifier);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "redirect_uri must match: {body}"
    );

    chrome.goto(&url);
    chrome.click("#authorize");
    let code = catcher.code();
    let (status, tokens) = redeem(&server, &code, &catcher.redirect_uri, verifier);
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let me = |token: &str| {
        browser()
            .get(&format!("{}/v1/me", server.url))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me(access), 200);
    // A replayed code is refused and revokes what it issued.
    let (status, body) = redeem(&server, &code, &catcher.redirect_uri, verifier);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(me(access), 401);
}

#[test]
fn bad_authorization_requests_are_refused_without_redirecting_to_strangers() {
    let server = Server::start(&[]);
    let no_redirects = no_redirects();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    for evil in [
        "https://evil.example/cb",
        "http://localhost:1234/cb",
        "http://127.0.0.1.evil.example/cb",
    ] {
        let mut r = no_redirects
            .get(&authorize_url(&server, evil, challenge, "S256"))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{evil}");
        assert!(
            r.headers().get("location").is_none(),
            "{evil} was redirected to"
        );
        assert!(
            r.body_mut().read_to_string().unwrap().contains("redirect"),
            "{evil}"
        );
    }
    // PKCE plain is refused, back at the (valid, loopback) redirect URI.
    let r = no_redirects
        .get(&authorize_url(
            &server,
            "http://127.0.0.1:9/callback",
            challenge,
            "plain",
        ))
        .call()
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with("http://127.0.0.1:9/callback?"),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn no_browser_only_prints_the_url() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    let url_file = fake_browser(&mut env);
    let mut login = Watched::new(env.spawn(&["cli", "login", "--web", "--no-browser"]));
    login.wait_for("/oauth/authorize?");
    // Said after the point where the browser would have been started. The fake browser
    // writes its file in its own time, but while `my` runs a browser it started stays its
    // child (exited and not reaped, at worst).
    login.wait_for("Waiting for the browser");
    let children = children_of(login.child.id());
    assert!(
        children.is_empty() && !url_file.exists(),
        "a browser was opened despite --no-browser: {children:?}"
    );
    let _ = login.child.kill();
}

/// The processes `pid` started that are still its children (`/proc/*/stat`: pid, (name),
/// state, parent pid, …).
fn children_of(pid: u32) -> Vec<String> {
    let pid = pid.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // The name may hold spaces and parentheses: the fields after it are plain.
            let fields = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
            fields.split(' ').nth(1) == Some(pid.as_str())
        })
        .collect()
}

#[test]
fn without_a_display_it_says_so_and_falls_back_to_the_email_sign_in() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    // No email and no terminal: it cannot fall back silently either.
    let run = env.run(&["cli", "login", "--web"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no display") && run.stderr.contains("--email"),
        "{}",
        run.stderr
    );

    let login =
        Watched::new(env.spawn(&["cli", "login", "--web", "--email", "headless@example.com"]));
    login.wait_for("Not opening a browser");
    login.wait_for("Continuing with the email sign-in");
    let link = server.wait_for_link("headless@example.com");
    press(&link, "confirm");
    let run = login.finish(Duration::from_secs(20)).ok();
    assert!(
        run.stderr.contains("Signed in as headless@example.com"),
        "{}",
        run.stderr
    );
}

#[test]
fn waiting_for_the_browser_times_out_with_a_clear_message() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    env.set("MY_LOGIN_TIMEOUT", "1");
    let run = env.run(&["cli", "login", "--web", "--no-browser"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("no answer from the browser within 1 s"),
        "{}",
        run.stderr
    );
    assert!(!env.credentials_file().exists());
}
