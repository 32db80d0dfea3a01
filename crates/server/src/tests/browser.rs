//! In-process tests of the browser sign-in: the real router on a real SQLite file, driven
//! the way a browser and the CLI drive it (authorize → email form → mailed link → Confirm
//! → callback → token exchange), without sockets.

use crate::app::App;
use crate::cli::{self, Mode};
use crate::crypto::{pkce, secrets};
use crate::db::Db;
use crate::routes;
use crate::web::{Reply, Request};
use serde_json::Value;
use std::path::PathBuf;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:5123/callback";
const STATE: &str = "state-0123456789abcdef";
const ISSUER: &str = "http://127.0.0.1:1";

struct Harness {
    app: App,
    db: Db,
    dir: PathBuf,
    target: crate::db::Target,
}

impl Drop for Harness {
    fn drop(&mut self) {
        crate::db::drop_test_target(&self.target);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

/// The value of the first `<input name="{name}" … value="…">` in a page.
fn field(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {page}"));
    let start = at + page[at..].find("value=\"").unwrap() + "value=\"".len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

/// Query parameters of a URL.
fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

impl Harness {
    fn new(flags: &[&str]) -> Harness {
        let dir = std::env::temp_dir().join(format!(
            "my-server-browser-test-{}-{}",
            std::process::id(),
            secrets::new_id("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec!["my-server"];
        args.extend_from_slice(flags);
        let Ok(Mode::Serve(mut settings)) = cli::parse(&args, &|_| None) else {
            panic!("bad flags {flags:?}");
        };
        let target = crate::db::test_target(&dir);
        settings.db = target.setting();
        settings.mail_dir = dir.join("mail");
        let mut db = Db::connect(&target).unwrap();
        let key = db.migrate([3; 32], 0).unwrap();
        let app = App::new(*settings, ISSUER.to_string(), key).unwrap();
        Harness {
            app,
            db,
            dir,
            target,
        }
    }

    fn send(&mut self, request: &Request) -> Reply {
        routes::route(&self.app, &mut self.db, request).expect("no server error")
    }

    fn get(&mut self, target: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::for_test("GET", target, None, None);
        if let Some(cookie) = cookie {
            request.set_header_for_test("Cookie", cookie);
        }
        self.send(&request)
    }

    fn post(&mut self, target: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        self.send(&Request::form_for_test(target, &encode(form), cookie))
    }

    fn authorize(&mut self, extra: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", "my-cli"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", STATE),
        ];
        pairs.retain(|(name, _)| !extra.iter().any(|(e, _)| e == name));
        pairs.extend_from_slice(extra);
        self.get(&format!("/oauth/authorize?{}", encode(&pairs)), cookie)
    }

    /// The path of the newest magic link mailed to `email`.
    fn mailed_link(&self, email: &str) -> String {
        let mut mails: Vec<PathBuf> = std::fs::read_dir(self.dir.join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        mails.sort();
        let text = mails
            .iter()
            .rev()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .find(|t| t.contains(&format!("To: {email}")))
            .expect("a mail");
        assert!(
            text.contains("\r\nSubject: Sign in to My Cloud\r\n"),
            "{text}"
        );
        let link = text
            .lines()
            .find(|l| l.starts_with("http") && l.contains("/magic/"))
            .unwrap();
        link.strip_prefix(ISSUER).unwrap().to_string()
    }

    /// Email form → mail → Confirm: the callback URL and the cookie set.
    fn sign_in_by_mail(&mut self, email: &str) -> (String, String) {
        let page = self.authorize(&[("login_hint", email)], None);
        assert_eq!(page.status, 200);
        let binding = binding(&page);
        let page = page.body_text();
        assert_eq!(field(&page, "email"), email);
        let request_id = field(&page, "request");
        let csrf = field(&page, "csrf");
        let inbox = self.post(
            "/oauth/authorize/sign-in",
            &[
                ("request", &request_id),
                ("csrf", &csrf),
                ("action", "send"),
                ("email", email),
            ],
            None,
        );
        assert_eq!(inbox.status, 200);
        assert!(inbox.body_text().contains("Check your inbox"));
        let link = self.mailed_link(email);
        // In another browser (no binding cookie) the link only says where to open it.
        let elsewhere = self.get(&link, None);
        assert_eq!(elsewhere.status, 403);
        assert!(elsewhere.body_text().contains("browser where you started"));
        let shown = self.get(&link, Some(&binding));
        assert_eq!(shown.status, 200);
        let shown = shown.body_text();
        assert!(shown.contains(&format!("<dd id=\"account\">{email}</dd>")));
        assert!(!shown.contains("id=\"code\""));
        let csrf = field(&shown, "csrf");
        let confirm = [("csrf", csrf.as_str()), ("action", "confirm")];
        assert_eq!(self.post(&link, &confirm, None).status, 403);
        let confirmed = self.post(&link, &confirm, Some(&binding));
        assert_eq!(confirmed.status, 303);
        let cookie = confirmed.header_value("Set-Cookie").unwrap().to_string();
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain"));
        let cookie = cookie.split(';').next().unwrap().to_string();
        let location = confirmed.header_value("Location").unwrap().to_string();
        (location, cookie)
    }

    fn exchange(&mut self, code: &str, verifier: &str, redirect_uri: &str) -> (u16, Value) {
        let reply = self.post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "my-cli"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
            None,
        );
        (reply.status, reply.body_json())
    }

    fn me(&mut self, access_token: &str) -> u16 {
        let request = Request::for_test("GET", "/v1/me", Some(access_token), None);
        self.send(&request).status
    }
}

/// The binding cookie a page set (`name=value`), as the browser sends it back.
fn binding(reply: &Reply) -> String {
    let set = reply.header_value("Set-Cookie").expect("a binding cookie");
    assert!(
        set.starts_with("__Host-my_signin=") && set.contains("; Secure"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

fn page_headers_ok(reply: &Reply) {
    assert_eq!(reply.header_value("Cache-Control"), Some("no-store"));
    assert_eq!(reply.header_value("X-Frame-Options"), Some("DENY"));
    assert_eq!(reply.header_value("Referrer-Policy"), Some("same-origin"));
    let csp = reply.header_value("Content-Security-Policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"));
}

#[test]
fn the_whole_browser_sign_in() {
    let mut h = Harness::new(&[]);
    let (location, cookie) = h.sign_in_by_mail("ann@example.com");
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    assert_eq!(param(&location, "state").as_deref(), Some(STATE));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
    let code = param(&location, "code").unwrap();

    // Wrong verifier or redirect URI: refused, and the code stays usable.
    let (status, body) = h.exchange(&code, &"x".repeat(43), REDIRECT);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = h.exchange(&code, VERIFIER, "http://127.0.0.1:5124/callback");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, tokens) = h.exchange(&code, VERIFIER, REDIRECT);
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["refresh_token"].is_string());
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.me(&access), 200);

    // Replay: refused, and the session the code started is revoked.
    let (status, body) = h.exchange(&code, VERIFIER, REDIRECT);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(h.me(&access), 401);

    // The same browser now gets the one-click page.
    let consent = h.authorize(&[], Some(&cookie));
    assert_eq!(consent.status, 200);
    page_headers_ok(&consent);
    let page = consent.body_text();
    assert!(page.contains("<dd id=\"account\">ann@example.com</dd>"));
    assert!(page.contains("<dd id=\"port\">5123</dd>"));
    let request_id = field(&page, "request");
    let csrf = field(&page, "csrf");
    let form = [
        ("request", request_id.as_str()),
        ("csrf", csrf.as_str()),
        ("action", "authorize"),
    ];
    // The form without its cookie, or from another browser session: 403.
    assert_eq!(h.post("/oauth/authorize/consent", &form, None).status, 403);
    let other = format!("my_session={}", secrets::token::<32>());
    assert_eq!(
        h.post("/oauth/authorize/consent", &form, Some(&other))
            .status,
        403
    );
    let forged = [form[0], ("csrf", "AAAA"), form[2]];
    assert_eq!(
        h.post("/oauth/authorize/consent", &forged, Some(&cookie))
            .status,
        403
    );
    let approved = h.post("/oauth/authorize/consent", &form, Some(&cookie));
    assert_eq!(approved.status, 303);
    let location = approved.header_value("Location").unwrap().to_string();
    assert_eq!(param(&location, "state").as_deref(), Some(STATE));
    let (status, tokens) = h.exchange(&param(&location, "code").unwrap(), VERIFIER, REDIRECT);
    assert_eq!(status, 200, "{tokens}");
    // A decided request cannot be decided again.
    assert_eq!(
        h.post("/oauth/authorize/consent", &form, Some(&cookie))
            .status,
        410
    );

    // Cancel sends access_denied back.
    let page = h.authorize(&[], Some(&cookie)).body_text();
    let cancel = [
        ("request", field(&page, "request")),
        ("csrf", field(&page, "csrf")),
        ("action", "cancel".to_string()),
    ];
    let cancel: Vec<(&str, &str)> = cancel.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let denied = h.post("/oauth/authorize/consent", &cancel, Some(&cookie));
    assert_eq!(denied.status, 303);
    let location = denied.header_value("Location").unwrap();
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(location, "state").as_deref(), Some(STATE));

    // prompt=login, or a hint for another account, asks for the email again.
    let page = h.authorize(&[("prompt", "login")], Some(&cookie));
    assert!(page.body_text().contains("id=\"send\""));
    let page = h.authorize(&[("login_hint", "bob@example.com")], Some(&cookie));
    assert!(page.body_text().contains("id=\"send\""));
}

#[test]
fn a_denied_link_sends_access_denied() {
    let mut h = Harness::new(&[]);
    let page = h.authorize(&[], None);
    let cookie = binding(&page);
    let browser = Some(cookie.as_str());
    let page = page.body_text();
    let form = [
        ("request", field(&page, "request")),
        ("csrf", field(&page, "csrf")),
        ("email", "cy@example.com".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(h.post("/oauth/authorize/sign-in", &form, None).status, 200);
    let link = h.mailed_link("cy@example.com");
    let csrf = field(&h.get(&link, browser).body_text(), "csrf");
    // Without the page's token, or with another link's: 403, and the link still works.
    assert_eq!(h.post(&link, &[("action", "deny")], browser).status, 403);
    let wrong = crate::crypto::csrf::token(
        &h.app.key,
        crate::crypto::csrf::Purpose::MagicLink,
        &["another-link-token"],
    );
    assert_eq!(
        h.post(&link, &[("csrf", &wrong), ("action", "deny")], browser)
            .status,
        403
    );
    let denied = h.post(&link, &[("csrf", &csrf), ("action", "deny")], browser);
    assert_eq!(denied.status, 303);
    assert!(denied.header_value("Set-Cookie").is_none());
    let location = denied.header_value("Location").unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(location, "iss").as_deref(), Some(ISSUER));
    // Spent.
    assert_eq!(h.get(&link, browser).status, 404);
}

#[test]
fn the_sign_in_form_needs_its_token_and_can_cancel() {
    let mut h = Harness::new(&[]);
    let page = h.authorize(&[], None);
    page_headers_ok(&page);
    let page = page.body_text();
    let request_id = field(&page, "request");
    let csrf = field(&page, "csrf");
    let email = [
        ("request", request_id.as_str()),
        ("email", "dan@example.com"),
    ];
    assert_eq!(h.post("/oauth/authorize/sign-in", &email, None).status, 403);
    let bad = [
        ("request", request_id.as_str()),
        ("csrf", csrf.as_str()),
        ("email", "nope"),
    ];
    let retry = h.post("/oauth/authorize/sign-in", &bad, None);
    assert_eq!(retry.status, 400);
    assert!(retry.body_text().contains("Enter a valid email address."));
    let cancel = [
        ("request", request_id.as_str()),
        ("csrf", csrf.as_str()),
        ("action", "cancel"),
    ];
    let denied = h.post("/oauth/authorize/sign-in", &cancel, None);
    assert_eq!(denied.status, 303);
    let location = denied.header_value("Location").unwrap();
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    // The request is over: no mail for it any more.
    let late = [
        ("request", request_id.as_str()),
        ("csrf", csrf.as_str()),
        ("email", "dan@example.com"),
    ];
    assert_eq!(h.post("/oauth/authorize/sign-in", &late, None).status, 410);
}

#[test]
fn bad_clients_see_a_page_other_errors_go_back() {
    let mut h = Harness::new(&[]);
    for redirect in [
        "https://evil.example/cb",
        "http://localhost:5123/cb",
        "http://127.0.0.1:5123/cb#f",
        "http://ann@127.0.0.1:5123/cb",
    ] {
        let reply = h.authorize(&[("redirect_uri", redirect)], None);
        assert_eq!(reply.status, 400, "{redirect}");
        assert!(reply.header_value("Location").is_none());
        page_headers_ok(&reply);
        assert!(reply.body_text().contains("loopback"));
    }
    let reply = h.authorize(&[("client_id", "someone-else")], None);
    assert_eq!(reply.status, 400);
    assert!(reply.header_value("Location").is_none());
    // A parameter given twice could be a smuggled redirect_uri: a page, too.
    let twice = format!("/oauth/authorize?redirect_uri={REDIRECT}&redirect_uri={REDIRECT}");
    assert_eq!(h.get(&twice, None).status, 400);

    let reply = h.authorize(&[("code_challenge_method", "plain")], None);
    assert_eq!(reply.status, 303);
    let location = reply.header_value("Location").unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        param(location, "error_description").as_deref(),
        Some("PKCE with S256 is required")
    );
    assert_eq!(param(location, "state").as_deref(), Some(STATE));
    assert_eq!(param(location, "iss").as_deref(), Some(ISSUER));
}

#[test]
fn unknown_codes_and_missing_parameters() {
    let mut h = Harness::new(&[]);
    let (status, body) = h.exchange("no-such-code", VERIFIER, REDIRECT);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let reply = h.post(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "my-cli"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
        ],
        None,
    );
    assert_eq!(reply.body_json()["error"], "invalid_request");
    let reply = h.post(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "other"),
            ("code", "x"),
        ],
        None,
    );
    assert_eq!(reply.body_json()["error"], "invalid_client");
    assert_eq!(pkce::s256(VERIFIER), CHALLENGE);
}

#[test]
fn the_device_page_needs_its_token() {
    let mut h = Harness::new(&[]);
    let page = h.get("/device", None);
    page_headers_ok(&page);
    let csrf = field(&page.body_text(), "csrf");
    let without = h.post(
        "/device",
        &[("user_code", "BCDF-GHJK"), ("email", "a@b.c")],
        None,
    );
    assert_eq!(without.status, 403);
    let with = h.post(
        "/device",
        &[
            ("csrf", &csrf),
            ("user_code", "BCDF-GHJK"),
            ("email", "a@b.c"),
        ],
        None,
    );
    // Past the CSRF check: the code is simply unknown.
    assert_eq!(with.status, 400);
    assert!(with.body_text().contains("That code is not valid"));
}

#[test]
fn metadata_advertises_the_browser_flow() {
    let mut h = Harness::new(&[]);
    let meta = h
        .get("/.well-known/oauth-authorization-server", None)
        .body_json();
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{ISSUER}/oauth/authorize")
    );
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        meta["response_types_supported"],
        serde_json::json!(["code"])
    );
}

/// Anyone can start a device sign-in for any address: the mail and the page say to press
/// Deny if you did not just run `my cli login`, and the page warns when the link is opened
/// from another address than the one that asked.
#[test]
fn a_device_link_opened_from_elsewhere_warns() {
    let mut h = Harness::new(&[]);
    let mut start = Request::form_for_test(
        "/oauth/device_authorization",
        "client_id=my-cli&login_hint=eve%40example.com",
        None,
    );
    start.ip = "203.0.113.9".into();
    assert_eq!(h.send(&start).status, 200);
    let mail = std::fs::read_dir(h.dir.join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|t| t.contains("To: eve@example.com"))
        .expect("a mail");
    assert!(mail.contains("If you did not just run `my cli login`, press Deny"));
    let link = mail
        .lines()
        .find_map(|l| l.strip_prefix(ISSUER).filter(|p| p.starts_with("/magic/")))
        .unwrap()
        .to_string();
    let elsewhere = h.get(&link, None).body_text();
    assert!(elsewhere.contains("id=\"elsewhere\""), "{elsewhere}");
    assert!(elsewhere
        .contains("requested from 203.0.113.9, but you are opening the link from 127.0.0.1"));
    assert!(elsewhere.contains("If you did not just run <code>my cli login</code>, press Deny."));
    let mut same = Request::for_test("GET", &link, None, None);
    same.ip = "203.0.113.9".into();
    assert!(!h.send(&same).body_text().contains("id=\"elsewhere\""));
}

/// A mail relay that is down: the sign-in page answers 503 and no link is left, and the
/// same request can be tried again.
#[test]
fn a_relay_that_is_down_answers_503_and_leaves_no_link() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut h = Harness::new(&[
        "--smtp-url",
        &url,
        "--mail-from",
        "My <no-reply@example.com>",
    ]);
    let page = h.authorize(&[], None).body_text();
    let form = [
        ("request", field(&page, "request")),
        ("csrf", field(&page, "csrf")),
        ("action", "send".to_string()),
        ("email", "cy@example.com".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    for _ in 0..2 {
        let reply = h.post("/oauth/authorize/sign-in", &form, None);
        assert_eq!(reply.status, 503);
        assert!(
            reply.body_text().contains("Email not sent"),
            "{}",
            reply.body_text()
        );
        assert_eq!(reply.header_value("Retry-After"), Some("60"));
        let counts = h.db.read(|tx| tx.table_counts()).unwrap();
        let links = counts.iter().find(|(t, _)| *t == "magic_links").unwrap().1;
        assert_eq!(links, 0, "{counts:?}");
    }
}
