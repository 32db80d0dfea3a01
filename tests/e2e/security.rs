//! Issue 12: each attack on my-server, performed against the real binary, and refused.

use crate::util::*;
use base64::Engine as _;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Starts my-server under `umask 022` (the usual default) with `db` as its database:
/// (the child, its URL) or, when it refuses to start, its exit code and stderr.
fn start_with_umask_022(
    db: &Path,
    mail: &Path,
) -> Result<(std::process::Child, String), (i32, String)> {
    let mut child = Command::new("sh")
        .args(["-c", "umask 022; exec \"$@\"", "sh"])
        .arg(server_bin())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--mail-dir")
        .arg(mail)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("my-server listening on ") {
        Some(url) => Ok((child, url.to_string())),
        None => {
            let out = child.wait_with_output().unwrap();
            Err((
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    }
}

/// Attack: with umask 022 the database (which holds the signing keys) and its -wal/-shm
/// were 0644, readable by every local user. Now they are 0600 in a 0700 folder, and a
/// database others can read is refused at start.
#[test]
fn the_database_is_private_and_a_readable_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let folder = root.path().join("state");
    let db = folder.join("my.db");
    let mail = root.path().join("mail");
    let (mut child, url) = start_with_umask_022(&db, &mail).unwrap();
    // A write, so the -wal and -shm files exist.
    let r = browser()
        .post(&format!("{url}/oauth/device_authorization"))
        .send_form([("client_id", "my-cli")])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let wal = folder.join("my.db-wal");
    let shm = folder.join("my.db-shm");
    assert_eq!(mode(&folder), 0o700, "the folder the server made");
    for file in [&db, &wal, &shm] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let _ = child.kill();
    let _ = child.wait();

    // An operator's `chmod 644` (or a copy made with umask 022) is refused with the fix.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = start_with_umask_022(&db, &mail).unwrap_err();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("open to other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // The admin commands refuse it too.
    let out = Command::new(server_bin())
        .args(["admin", "rotate-key", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (mut child, _) = start_with_umask_022(&db, &mail).unwrap();
    let _ = child.kill();
    let _ = child.wait();
}

/// Every maximal run of exactly 43 base64url characters (a 32-byte token's length).
fn token_shaped(bytes: &[u8]) -> Vec<String> {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let mut found = Vec::new();
    for run in bytes.split(|b| !is_b64(b)) {
        if run.len() == 43 {
            found.push(String::from_utf8_lossy(run).into_owned());
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Attack: during the refresh grace window the raw successor refresh token sat in a
/// column (and, after its "wipe", in the -wal file). Someone holding a copy of the
/// database files tries every token-shaped string as a refresh token: none works now.
#[test]
fn a_copy_of_the_database_holds_no_usable_refresh_token() {
    let server = Server::start(&["--refresh-grace", "60s"]);
    let env = TestEnv::new(&server);
    env.login(&server, "victim@example.com").ok();
    let r0 = env.stored()["refresh_token"].as_str().unwrap().to_string();
    let (status, rotated) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &r0)]);
    assert_eq!(status, 200, "{rotated}");
    let live = rotated["refresh_token"].as_str().unwrap().to_string();

    let mut stolen = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", server.db().display());
        stolen.extend(std::fs::read(&path).unwrap_or_default());
    }
    assert!(!stolen.is_empty());
    let raw = B64.decode(&live).unwrap();
    assert!(
        !stolen.windows(live.len()).any(|w| w == live.as_bytes())
            && !stolen.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the live refresh token is in the database files"
    );
    for candidate in token_shaped(&stolen) {
        let (status, answer) = server.token_grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &candidate),
        ]);
        assert_ne!(
            status, 200,
            "{candidate} from the database refreshed: {answer}"
        );
    }
    // The grace window itself still works for the one who holds the predecessor.
    let (status, again) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &r0)]);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["refresh_token"].as_str(), Some(live.as_str()));
}

/// The `kid` of a JWT's header.
fn kid(jwt: &str) -> String {
    let header = B64.decode(jwt.split('.').next().unwrap()).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().expect("a kid").to_string()
}

fn me_status(server: &Server, jwt: &str) -> u16 {
    browser()
        .get(&format!("{}/v1/me", server.url))
        .header("Authorization", &format!("Bearer {jwt}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

/// Keys carry an id and rotate: after `admin rotate-key`, new tokens name the new key while
/// tokens signed by the previous one stay valid; a second rotation retires the first key.
#[test]
fn signing_keys_rotate_and_old_tokens_live_until_the_next_rotation() {
    let mut server = Server::start(&["--access-ttl", "1h"]);
    let env = TestEnv::new(&server);
    env.login(&server, "rotate@example.com").ok();
    let first = env.stored()["access_token"].as_str().unwrap().to_string();
    let first_kid = kid(&first);
    assert_eq!(me_status(&server, &first), 200);

    let rotated: serde_json::Value =
        serde_json::from_str(server.admin(&["rotate-key"]).trim()).unwrap();
    let second_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(second_kid, first_kid);
    // The running server still accepts the old key's token.
    assert_eq!(me_status(&server, &first), 200);
    server.restart();
    let refresh = env.stored()["refresh_token"].as_str().unwrap().to_string();
    let (status, fresh) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(status, 200, "{fresh}");
    let second = fresh["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid(&second), second_kid);
    assert_eq!(
        me_status(&server, &first),
        200,
        "signed by the previous key"
    );
    assert_eq!(me_status(&server, &second), 200);

    let third: serde_json::Value =
        serde_json::from_str(server.admin(&["rotate-key"]).trim()).unwrap();
    assert_eq!(third["retired"], 1);
    server.restart();
    assert_eq!(me_status(&server, &first), 401, "two rotations ago");
    assert_eq!(me_status(&server, &second), 200);
}

/// Attack: every mailed link was printed to the server's stderr, so whoever read the log
/// (journald, a log shipper, CI output) could sign in as anyone. Now the log names the
/// recipient and the outbox file only; `--print-links` is for development and refused
/// behind https.
#[test]
fn mailed_links_never_reach_the_log() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let login = env.spawn(&["cli", "login", "--email", "logged@example.com", "--json"]);
    let link = server.wait_for_link("logged@example.com");
    let token = link.rsplit('/').next().unwrap().to_string();
    let log = server.log();
    assert!(!log.contains(&token), "the link is in the log:\n{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("mail to logged@example.com: "))
        .unwrap_or_else(|| panic!("no mail line in the log:\n{log}"));
    assert!(line.ends_with(".eml"), "{line}");
    // Someone reading the log has nothing to open; the person with the mail signs in.
    let (status, _) = press(&link, "confirm");
    assert_eq!(status, 200);
    finish(login, std::time::Duration::from_secs(20)).ok();
    assert!(!server.log().contains(&token));

    let dev = Server::start(&["--print-links"]);
    let env = TestEnv::new(&dev);
    let login = env.spawn(&["cli", "login", "--email", "dev@example.com"]);
    let link = dev.wait_for_link("dev@example.com");
    assert!(dev.log().contains(&link), "{}", dev.log());
    let mut login = login;
    let _ = login.kill();
    let _ = login.wait();

    let out = Command::new(server_bin())
        .args([
            "--print-links",
            "--public-url",
            "https://my.example",
            "--db",
        ])
        .arg(dev.dir.path().join("other.db"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--print-links"), "{stderr}");
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A browser sign-in URL as the CLI makes it, back to the loopback callback at `base`.
fn authorize_url(server: &Server, base: &str, extra: &[(&str, &str)]) -> String {
    let redirect = format!("{base}/callback");
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", "my-cli")
        .append_pair("redirect_uri", &redirect)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "state-0123456789abcdef");
    for (name, value) in extra {
        query.append_pair(name, value);
    }
    format!("{}/oauth/authorize?{}", server.url, query.finish())
}

/// GET with an optional Cookie header: (status, Set-Cookie `name=value`, body).
fn get_with_cookie(url: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = browser().get(url);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let mut r = request.call().unwrap();
    let set = r
        .headers()
        .get("Set-Cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_string());
    (
        r.status().as_u16(),
        set,
        r.body_mut().read_to_string().unwrap(),
    )
}

/// POST a form with optional extra headers: (status, body).
fn post_form(url: &str, form: &[(String, String)], headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = browser().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut r = request
        .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

/// The attacker's own browser sign-in, up to the Confirm form of its mailed link: the link,
/// and the form's fields (its CSRF token included) as the attacker's page would post them.
fn attackers_confirm_form(server: &Server) -> (String, Vec<(String, String)>) {
    let start = authorize_url(server, &closed_port_url(), &[]);
    let (status, binding, page) = get_with_cookie(&start, None);
    assert_eq!(status, 200, "{page}");
    let binding = binding.expect("a binding cookie");
    assert!(binding.starts_with("__Host-my_signin="), "{binding}");
    let mut form = hidden_fields(&page);
    form.retain(|(k, _)| k != "action");
    form.push(("action".into(), "send".into()));
    form.push(("email".into(), "attacker@evil.example".into()));
    let sign_in = format!("{}/oauth/authorize/sign-in", server.url);
    let (status, _) = post_form(&sign_in, &form, &[]);
    assert_eq!(status, 200);
    let link = server.wait_for_link("attacker@evil.example");
    let (status, _, page) = get_with_cookie(&link, Some(&binding));
    assert_eq!(
        status, 200,
        "the attacker's own browser sees the form: {page}"
    );
    let mut confirm = hidden_fields(&page);
    confirm.retain(|(k, _)| k != "action");
    confirm.push(("action".into(), "confirm".into()));
    (link, confirm)
}

/// Serves `html` to every request on 127.0.0.1, until the test ends: the page's URL
/// through `localhost`, another site than the server's `127.0.0.1`.
fn attacker_site(html: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    format!("http://localhost:{port}/")
}

/// Attack (login CSRF / session fixation): the attacker's page auto-submits the Confirm
/// form of the attacker's own magic link from the victim's browser, which used to plant
/// the attacker's web session there — the victim's next `my cli login --web` was then one
/// click on "Authorize" from signing the CLI into the attacker's account.
#[test]
fn another_sites_page_cannot_plant_a_sign_in_in_the_victims_browser() {
    let server = Server::start(&[]);
    let (link, confirm) = attackers_confirm_form(&server);
    let inputs: String = confirm
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{v}\">"))
        .collect();
    let evil = attacker_site(format!(
        "<!DOCTYPE html><html><body><form method=\"post\" action=\"{link}\">{inputs}</form>\
         <script>document.forms[0].submit()</script></body></html>"
    ));

    let victim = crate::chrome::Chrome::start();
    victim.goto(&evil);
    victim.wait_for_text("Form not accepted");
    assert!(server
        .log()
        .contains("refused POST /magic/… from another site"));
    // The victim's next browser sign-in asks for an email: no session was planted.
    victim.goto(&authorize_url(&server, &closed_port_url(), &[]));
    victim.find("#email");
    assert!(!victim.source().contains("attacker@evil.example"));

    // Without browser headers (an old browser), the binding still refuses the link
    // outside the attacker's own browser, and says where to open it.
    let (status, page) = post_form(&link, &confirm, &[]);
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("browser where you started"), "{page}");
    // Every state-changing form refuses another origin, or a cross-site fetch.
    for headers in [
        &[("Origin", "http://evil.example")][..],
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Origin", "null")],
    ] {
        let (status, _) = post_form(&link, &confirm, headers);
        assert_eq!(status, 403, "{headers:?}");
    }
    let (status, _) = post_form(
        &format!("{}/device", server.url),
        &[],
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403);
    // The server's own origin passes the check (and meets the binding).
    let (status, page) = post_form(&link, &confirm, &[("Origin", &server.url)]);
    assert_eq!(status, 403);
    assert!(page.contains("browser where you started"), "{page}");
}

/// A web session can be ended: the consent page names the account, offers "not you?" and
/// a sign-out button, after which the next sign-in asks for an email again.
#[test]
fn the_consent_page_names_the_account_and_can_sign_out() {
    let server = Server::start(&[]);
    let chrome = crate::chrome::Chrome::start();
    let back = closed_port_url();
    chrome.goto(&authorize_url(&server, &back, &[]));
    chrome.type_into("#email", "ann@example.com");
    chrome.click("#send");
    chrome.wait_for_text("inbox");
    chrome.goto(&server.wait_for_link("ann@example.com"));
    chrome.click("#confirm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !chrome.url().starts_with(&back) {
        assert!(std::time::Instant::now() < deadline, "{}", chrome.url());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    chrome.goto(&authorize_url(&server, &back, &[]));
    chrome.find("#authorize");
    let page = chrome.source();
    assert!(
        page.contains("signed in to My Cloud as <strong>ann@example.com</strong>"),
        "{page}"
    );
    assert!(page.contains("Not you?"), "{page}");
    chrome.click("#signout");
    chrome.find("#email");
    chrome.goto(&authorize_url(&server, &back, &[]));
    chrome.find("#email");
    assert!(!chrome.source().contains("id=\"authorize\""));
}

fn mails(server: &Server) -> usize {
    std::fs::read_dir(server.mail_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// `POST /oauth/device_authorization` with a login hint: (status, Retry-After).
fn start_device_sign_in(server: &Server, email: &str) -> (u16, Option<u64>) {
    let r = browser()
        .post(&format!("{}/oauth/device_authorization", server.url))
        .send_form([("client_id", "my-cli"), ("login_hint", email)])
        .unwrap();
    let retry = r
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (r.status().as_u16(), retry)
}

/// Attack: one client, one authorization request, 60 sign-in posts to 60 addresses made
/// the server send 60 mails. Now a request sends a few, a client a few more, the server
/// has a ceiling, and the excess is answered 429 with Retry-After.
#[test]
fn the_server_does_not_mail_for_anyone() {
    let server = Server::start(&[]);
    let (_, binding, page) =
        get_with_cookie(&authorize_url(&server, &closed_port_url(), &[]), None);
    assert!(binding.is_some());
    let mut form = hidden_fields(&page);
    form.retain(|(k, _)| k != "action");
    form.push(("action".into(), "send".into()));
    let sign_in = format!("{}/oauth/authorize/sign-in", server.url);
    let mut refused = 0;
    for n in 0..60 {
        let mut one = form.clone();
        one.push(("email".into(), format!("target{n}@example.com")));
        let r = browser()
            .post(&sign_in)
            .send_form(one.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap();
        if r.status().as_u16() == 429 {
            let retry: u64 = r.headers()["Retry-After"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=600).contains(&retry), "{retry}");
            refused += 1;
        }
    }
    assert_eq!(mails(&server), 3, "mails for one authorization request");
    assert_eq!(refused, 57);

    // Device sign-ins from one client: a few per client address.
    let mut statuses = Vec::new();
    for n in 0..60 {
        statuses.push(start_device_sign_in(
            &server,
            &format!("device{n}@example.com"),
        ));
    }
    assert_eq!(mails(&server), 10, "mails for one client address");
    let (status, retry) = *statuses.last().unwrap();
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|r| (1..=600).contains(&r)), "{retry:?}");

    // And a ceiling for the whole server, whoever asks.
    let capped = Server::start(&["--mail-client-limit", "1000", "--mail-global-limit", "4"]);
    for n in 0..20 {
        start_device_sign_in(&capped, &format!("many{n}@example.com"));
    }
    assert_eq!(mails(&capped), 4, "the global ceiling");
    assert_eq!(start_device_sign_in(&capped, "one.more@example.com").0, 429);
}

/// Two organizations, each with one project and environment, and a member of the first.
fn two_organizations(server: &Server) {
    let seed = server.dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"organizations":[
            {"name":"Acme","slug":"acme","members":["member@acme.example"],
             "projects":[{"name":"Shop","slug":"shop","environments":["production"]}]},
            {"name":"Other","slug":"other",
             "projects":[{"name":"Secret","slug":"secret","environments":["production"]}]}]}"#,
    )
    .unwrap();
    server.admin(&["seed", "--file", &seed.display().to_string()]);
}

fn api_get(server: &Server, bearer: &str, path: &str) -> (u16, serde_json::Value) {
    let mut r = browser()
        .get(&format!("{}{path}", server.url))
        .header("Authorization", &format!("Bearer {bearer}"))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Attack: the cursor of an empty page of logs was the global newest sequence number, so a
/// member of one organization could watch the volume and timing of every other's logging.
#[test]
fn an_empty_log_page_tells_nothing_of_other_organizations() {
    let server = Server::start(&[]);
    two_organizations(&server);
    let env = TestEnv::new(&server);
    env.login(&server, "member@acme.example").ok();
    let jwt = env.stored()["access_token"].as_str().unwrap().to_string();
    let path = "/v1/logs?organization=acme&project=shop&environment=production";
    let cursor = |server: &Server| {
        let (status, page) = api_get(server, &jwt, path);
        assert_eq!(status, 200, "{page}");
        page["next"].as_u64().unwrap()
    };
    let before = cursor(&server);
    let append = |org: &str, project: &str, message: &str| {
        let args = ["--org", org, "--project", project, "--env", "production"];
        let mut all = vec!["log", "append"];
        all.extend(args);
        all.extend(["--message", message]);
        server.admin(&all);
    };
    for n in 0..5 {
        append("other", "secret", &format!("other's line {n}"));
    }
    assert_eq!(
        cursor(&server),
        before,
        "the cursor moved with another org's logs"
    );
    // Its own lines still move it, and following from it misses nothing.
    append("acme", "shop", "ours");
    let (_, page) = api_get(&server, &jwt, &format!("{path}&after={before}"));
    assert_eq!(page["lines"][0]["message"], "ours");
    assert!(cursor(&server) > before);
}

/// Posts the `/device` form (`user_code`, `email`) as a client behind the proxy at
/// `forwarded_for` (sent as `X-Forwarded-For`): the status.
fn device_form(server: &Server, user_code: &str, email: &str, forwarded_for: &str) -> u16 {
    let (_, _, page) = get_with_cookie(&format!("{}/device", server.url), None);
    let mut form = hidden_fields(&page);
    form.push(("user_code".into(), user_code.into()));
    form.push(("email".into(), email.into()));
    post_form(
        &format!("{}/device", server.url),
        &form,
        &[("X-Forwarded-For", forwarded_for)],
    )
    .0
}

/// Attack: user-code guessing was limited per exact address, so an IPv6 client rotated
/// through its /64 freely, and behind a proxy everyone shared one key. Now IPv6 counts by
/// /64, X-Forwarded-For counts only from a --trusted-proxy, and wrong codes have a global cap.
#[test]
fn user_code_guessing_is_limited_per_network_and_in_all() {
    let server = Server::start(&["--trusted-proxy", "127.0.0.1"]);
    let wrong = "BCDF-GHJK";
    for n in 0..10 {
        let from = format!("2001:db8:1:2::{:x}", n + 1);
        assert_eq!(device_form(&server, wrong, "g@example.com", &from), 400);
    }
    assert_eq!(
        device_form(&server, wrong, "g@example.com", "2001:db8:1:2:ffff::9"),
        429,
        "another address of the same /64"
    );
    assert_eq!(
        device_form(&server, wrong, "g@example.com", "198.51.100.7"),
        400,
        "another client behind the proxy has its own count"
    );
    // Across many networks, a global cap.
    let mut statuses = Vec::new();
    for n in 0..100 {
        let from = format!("2001:db8:{:x}::1", n + 10);
        statuses.push(device_form(&server, wrong, "g@example.com", &from));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 89);
    assert_eq!(*statuses.last().unwrap(), 429);

    // Without --trusted-proxy, X-Forwarded-For changes nothing: the peer counts.
    let plain = Server::start(&[]);
    for n in 0..10 {
        let from = format!("203.0.113.{}", n + 1);
        assert_eq!(device_form(&plain, wrong, "g@example.com", &from), 400);
    }
    assert_eq!(
        device_form(&plain, wrong, "g@example.com", "203.0.113.99"),
        429
    );
}

/// Attack: on `/device` the first person to type a request's code attached their email
/// to it, locking the real user out. Now each address typed gets its own link, and the
/// person who confirms theirs is who the device signs in as. Behind a trusted proxy, the
/// page also warns when the link is opened from another address than the one that asked.
#[test]
fn the_first_guesser_cannot_claim_a_device_sign_in() {
    let server = Server::start(&["--trusted-proxy", "127.0.0.1"]);
    let mut r = browser()
        .post(&format!("{}/oauth/device_authorization", server.url))
        .header("X-Forwarded-For", "198.51.100.20")
        .send_form([("client_id", "my-cli")])
        .unwrap();
    let started: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let code = started["user_code"].as_str().unwrap();
    let device_code = started["device_code"].as_str().unwrap();

    assert_eq!(
        device_form(&server, code, "attacker@evil.example", "203.0.113.66"),
        200
    );
    assert_eq!(
        device_form(&server, code, "owner@example.com", "198.51.100.20"),
        200
    );
    let link = server.wait_for_link("owner@example.com");

    let elsewhere = browser()
        .get(&link)
        .header("X-Forwarded-For", "203.0.113.66")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(elsewhere.contains("id=\"elsewhere\""), "{elsewhere}");
    assert!(elsewhere.contains("198.51.100.20"), "{elsewhere}");

    let (status, _) = press(&link, "confirm");
    assert_eq!(status, 200);
    let (status, tokens) = server.token_grant(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
    ]);
    assert_eq!(status, 200, "{tokens}");
    let (_, me) = api_get(&server, tokens["access_token"].as_str().unwrap(), "/v1/me");
    assert_eq!(me["email"], "owner@example.com");
}

/// Attack: a thief who replays a stolen refresh token gets the session revoked by reuse
/// detection, but the API tokens minted with that session survived it. Now each token
/// remembers its session and is revoked with it.
#[test]
fn api_tokens_die_with_a_session_revoked_as_stolen() {
    let server = Server::start(&["--refresh-grace", "0s"]);
    let env = TestEnv::new(&server);
    env.login(&server, "owner@example.com").ok();
    let minted = env
        .run(&["cli", "token", "create", "minted", "--json"])
        .ok()
        .json();
    let api_token = minted["token"].as_str().unwrap().to_string();
    assert_eq!(api_get(&server, &api_token, "/v1/me").0, 200);

    let stolen = env.stored()["refresh_token"].as_str().unwrap().to_string();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", stolen.as_str()),
    ];
    assert_eq!(server.token_grant(&refresh).0, 200);
    let (status, reused) = server.token_grant(&refresh);
    assert_eq!(status, 400, "{reused}");
    assert_eq!(api_get(&server, &api_token, "/v1/me").0, 401);
    assert!(server.log().contains("API token(s) created by session"));
}

/// Attack: `GET /v1/me` with an organization key revealed the email of the member who
/// created it to whoever holds the key (a CI system, a contractor). Now it shows the key
/// and its organization.
#[test]
fn an_organization_key_does_not_reveal_its_creator() {
    let server = Server::start(&[]);
    two_organizations(&server);
    let env = TestEnv::new(&server);
    env.login(&server, "member@acme.example").ok();
    let key = env
        .run(&[
            "cli",
            "token",
            "create",
            "ci-bot",
            "--organization",
            "acme",
            "--json",
        ])
        .ok()
        .json();
    let raw = key["token"].as_str().unwrap().to_string();
    let (status, me) = api_get(&server, &raw, "/v1/me");
    assert_eq!(status, 200, "{me}");
    let text = me.to_string();
    assert!(!text.contains("member@acme.example"), "{text}");
    assert!(me["id"].as_str().unwrap().starts_with("tok_"), "{me}");
    assert_eq!(me["credential"]["kind"], "organization_key");
    assert_eq!(me["credential"]["name"], "ci-bot");
    assert!(me["credential"]["organization"]
        .as_str()
        .unwrap()
        .starts_with("org_"));

    let mut ci = TestEnv::new(&server);
    ci.set("MY_API_TOKEN", &raw);
    let who = ci.run(&["cli", "whoami"]).ok();
    assert!(
        who.stdout.contains("Key:   ci-bot (organization org_"),
        "{}",
        who.stdout
    );
    assert!(!who.stdout.contains("member@acme.example"));
}

/// Attack: the authorize endpoint redirected (with a code, or an error) to any loopback
/// URL, so a crafted sign-in link could send the browser to another local service
/// (a router's admin page, a CUPS form on 631, a dev server). Only the CLI's loopback
/// callback path is accepted now, and nothing is redirected for any other.
#[test]
fn authorize_redirects_only_to_the_clis_loopback_callback() {
    let server = Server::start(&[]);
    let no_redirects = no_redirects();
    for target in [
        "http://127.0.0.1:631/admin",
        "http://127.0.0.1:8080/api/delete?all=1",
        "http://127.0.0.1:8080/",
        "http://[::1]:8080/callback/../admin",
    ] {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", "my-cli")
            .append_pair("redirect_uri", target)
            // An invalid request, which would be sent back to a redirect URI it trusts.
            .append_pair("response_type", "token");
        let url = format!("{}/oauth/authorize?{}", server.url, query.finish());
        let r = no_redirects.get(&url).call().unwrap();
        assert_eq!(r.status().as_u16(), 400, "{target}");
        assert!(
            r.headers().get("Location").is_none(),
            "redirected to {target}"
        );
        let device = browser()
            .post(&format!("{}/oauth/device_authorization", server.url))
            .send_form([("client_id", "my-cli"), ("redirect_uri", target)])
            .unwrap();
        assert_eq!(device.status().as_u16(), 400, "{target}");
    }
    // The CLI's own callback is still accepted.
    let ok = no_redirects
        .get(&authorize_url(&server, "http://127.0.0.1:8080", &[]))
        .call()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

/// Attack: names accepted bidi control characters, so a token called "\u{202e}gnp.exe"
/// was listed as "exe.png" (and an organization could pose as another). Every name now
/// refuses Unicode format characters.
#[test]
fn names_refuse_invisible_formatting_characters() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    env.login(&server, "names@example.com").ok();
    let jwt = env.stored()["access_token"].as_str().unwrap().to_string();
    for name in [
        "\u{202e}gnp.exe",
        "ci\u{200b}deploy",
        "\u{2067}admin\u{2069}",
    ] {
        let mut r = browser()
            .post(&format!("{}/v1/tokens", server.url))
            .header("Authorization", &format!("Bearer {jwt}"))
            .header("Content-Type", "application/json")
            .send(serde_json::json!({ "name": name }).to_string())
            .unwrap();
        let body = r.body_mut().read_to_string().unwrap();
        assert_eq!(r.status().as_u16(), 400, "{name:?}: {body}");
        assert!(body.contains("INVALID_NAME"), "{body}");
    }
    let listed = env.run(&["cli", "token", "list", "--json"]).ok().json();
    assert_eq!(listed, serde_json::json!([]));

    let out = Command::new(server_bin())
        .args([
            "admin",
            "org",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme\u{202e}cni",
        ])
        .arg("--db")
        .arg(server.db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("formatting characters"));
}

/// Attack: addresses such as `a,b@x` or with markup were accepted and written raw into a
/// mail's `To:`, mailing a list of people (or whatever a mail system makes of markup).
/// Addresses are now checked strictly before any mail is built.
#[test]
fn only_plain_addresses_get_mail() {
    let server = Server::start(&[]);
    for bad in [
        "a,victim@y.example",
        "<b>a</b>@x.example",
        "a@x.example>",
        "\"a\"@x.example",
        "a;b@x.example",
        "a@x.example\r\nBcc: victim@y.example",
    ] {
        let r = browser()
            .post(&format!("{}/oauth/device_authorization", server.url))
            .send_form([("client_id", "my-cli"), ("login_hint", bad)])
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad:?}");
        let (_, _, page) = get_with_cookie(&format!("{}/device", server.url), None);
        let mut form = hidden_fields(&page);
        form.push(("user_code".into(), "BCDF-GHJK".into()));
        form.push(("email".into(), bad.into()));
        let (status, _) = post_form(&format!("{}/device", server.url), &form, &[]);
        assert_eq!(status, 400, "{bad:?}");
    }
    assert_eq!(mails(&server), 0);
    let out = Command::new(server_bin())
        .args([
            "admin",
            "user",
            "create",
            "--email",
            "a,b@x.example",
            "--db",
        ])
        .arg(server.db())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A plain address still gets its mail.
    assert_eq!(
        start_device_sign_in(&server, "plain.person+tag@example.com").0,
        200
    );
    assert_eq!(mails(&server), 1);
}

/// `my-server admin stats` as a JSON object.
fn stats(server: &Server) -> serde_json::Value {
    serde_json::from_str(server.admin(&["stats"]).trim()).unwrap()
}

/// Attack surface: nothing was ever purged, so expired device requests, links, codes and
/// dead sessions piled up in the database (and in every copy or backup of it). A
/// periodic sweep now deletes them, and keeps what is live.
#[test]
fn a_periodic_sweep_purges_what_is_over() {
    let server = Server::start(&["--sweep-interval", "1s"]);
    let gone = TestEnv::new(&server);
    gone.login(&server, "gone@example.com").ok();
    gone.run(&["cli", "logout"]).ok();
    let kept = TestEnv::new(&server);
    kept.login(&server, "kept@example.com").ok();
    assert_eq!(start_device_sign_in(&server, "never@example.com").0, 200);
    let before = stats(&server);
    assert!(before["device_requests"].as_i64() >= Some(3), "{before}");
    assert_eq!(before["sessions"], 2, "{before}");
    // Past the 15 minutes of every sign-in request and link; the session kept has 30 days.
    server.set_clock(16 * 60);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let now = stats(&server);
        if now["device_requests"] == 0 && now["magic_links"] == 0 && now["sessions"] == 1 {
            assert_eq!(now["refresh_tokens"], 1, "{now}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing was purged: {now}\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(server.log().contains("sweep deleted"), "{}", server.log());
    // The live session still works.
    kept.run(&["cli", "whoami"]).ok();
}
