//! Sign-in mail through a real SMTP relay (Python's aiosmtpd, installed into
//! target/smtp-venv by `scripts/deps.sh test`): one that accepts, one that refuses, one
//! that is down.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FROM: &str = "My Cloud <no-reply@example.com>";

/// A running relay; stopped when dropped.
struct Relay {
    child: Child,
    port: u16,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay(args: &[&str]) -> Relay {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/smtp-venv/bin/python");
    assert!(python.exists(), "no {python:?}: run scripts/deps.sh test");
    let mut child = Command::new(python)
        .arg(root.join("tests/e2e/smtp_relay.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_line(&mut child);
    let port = line
        .parse()
        .unwrap_or_else(|_| panic!("relay said {line:?}"));
    Relay { child, port }
}

/// POSTs a device authorization with `login_hint`: (status, JSON body).
fn device_sign_in(server: &Server, email: &str) -> (u16, serde_json::Value) {
    let mut r = browser()
        .post(&format!("{}/oauth/device_authorization", server.url))
        .send_form([("client_id", "my-cli"), ("login_hint", email)])
        .unwrap();
    let body = r.body_mut().read_to_string().unwrap();
    (
        r.status().as_u16(),
        serde_json::from_str(&body).unwrap_or_default(),
    )
}

/// Waits for the relay's first message in `dir`.
fn received(dir: &Path) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let eml: PathBuf = dir.join("1.eml");
    while !eml.exists() {
        assert!(Instant::now() < deadline, "the relay received nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let envelope = std::fs::read_to_string(dir.join("1.envelope")).unwrap();
    (std::fs::read_to_string(eml).unwrap(), envelope)
}

/// The text of a quoted-printable part, or the text as it is.
fn unfold(text: &str) -> String {
    text.replace("=\r\n", "").replace("=3D", "=")
}

#[test]
fn sign_in_mail_goes_through_the_relay_and_its_link_signs_in() {
    let inbox = tempfile::tempdir().unwrap();
    let relay = relay(&[
        "accept",
        &inbox.path().display().to_string(),
        "ops",
        "s3cret pass",
    ]);
    let secrets = tempfile::tempdir().unwrap();
    let password_file = secrets.path().join("smtp-password");
    std::fs::write(&password_file, "s3cret pass\n").unwrap();
    let url = format!("smtp://ops@127.0.0.1:{}", relay.port);
    let server = Server::start(&[
        "--smtp-url",
        &url,
        "--smtp-password-file",
        &password_file.display().to_string(),
        "--mail-from",
        FROM,
    ]);

    let env = TestEnv::new(&server);
    let child = env.spawn(&["cli", "login", "--email", "ann@example.com", "--json"]);
    let (raw, envelope) = received(inbox.path());
    // Envelope: sender, recipient, and the relay's login succeeded (the password file).
    let envelope: Vec<&str> = envelope.lines().collect();
    assert_eq!(
        envelope,
        ["no-reply@example.com", "ann@example.com", "True"]
    );
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    for header in [
        "From: \"My Cloud\" <no-reply@example.com>",
        "To: ann@example.com",
        "MIME-Version: 1.0",
    ] {
        assert!(
            head.lines().any(|l| l == header),
            "no {header:?} in\n{head}"
        );
    }
    assert!(
        head.contains("\r\nSubject: Sign in to My Cloud (code "),
        "{head}"
    );
    assert!(head.contains("\r\nDate: "), "{head}");
    assert!(
        head.contains("\r\nMessage-ID: <") && head.contains("@example.com>"),
        "{head}"
    );
    assert!(
        head.contains("Content-Type: multipart/alternative;"),
        "{head}"
    );
    let body = unfold(body);
    for part in ["text/plain; charset=utf-8", "text/html; charset=utf-8"] {
        assert!(
            body.contains(&format!("Content-Type: {part}")),
            "no {part} in {body}"
        );
    }
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/magic/"))
        .expect("a link in the text part")
        .to_string();
    assert!(body.contains(&format!("<a href=\"{link}\">")), "{body}");

    // The mailed link signs the CLI in; the server's log never shows it or the password.
    let (status, _) = press(&link, "confirm");
    assert_eq!(status, 200);
    let run = finish(child, Duration::from_secs(20));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = server.log();
    assert!(
        log.contains(&format!(
            "mail to ann@example.com: sent through 127.0.0.1:{}",
            relay.port
        )),
        "{log}"
    );
    assert!(!log.contains(&link) && !log.contains("s3cret"), "{log}");
    assert!(
        std::fs::read_dir(server.mail_dir())
            .unwrap()
            .next()
            .is_none(),
        "an .eml was written"
    );
}

/// A relay that refuses or is down: the sign-in fails with 503 at once or after a few
/// tries, and leaves no link or device request behind.
fn assert_unavailable(server: &Server, started: Instant, at_most: Duration) {
    let (status, body) = device_sign_in(server, "bob@example.com");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("could not be sent"));
    assert!(started.elapsed() < at_most, "{:?}", started.elapsed());
    let stats: serde_json::Value = serde_json::from_str(&server.admin(&["stats"])).unwrap();
    assert_eq!(stats["magic_links"], 0, "{stats}");
    assert_eq!(stats["device_requests"], 0, "{stats}");
}

#[test]
fn a_refusing_relay_fails_the_sign_in_with_503_and_records_nothing() {
    let relay = relay(&["refuse"]);
    let url = format!("smtp://127.0.0.1:{}", relay.port);
    let server = Server::start(&["--smtp-url", &url, "--mail-from", FROM]);
    assert_unavailable(&server, Instant::now(), Duration::from_secs(5));
    // A refusal (5xx) is final: one try.
    let log = server.log();
    assert!(
        log.contains("try 1 of 3") && !log.contains("try 2 of 3"),
        "{log}"
    );
    assert!(log.contains("550"), "{log}");
}

#[test]
fn a_relay_that_is_down_is_retried_then_the_sign_in_fails_with_503() {
    let port = closed_port_url();
    let port = port.rsplit(':').next().unwrap().trim_end_matches('/');
    let url = format!("smtp://127.0.0.1:{port}");
    let server = Server::start(&["--smtp-url", &url, "--mail-from", FROM]);
    assert_unavailable(&server, Instant::now(), Duration::from_secs(10));
    let log = server.log();
    assert!(
        log.contains("try 3 of 3") && !log.contains("try 4"),
        "{log}"
    );

    // The CLI says why, and exits 4 (server unavailable).
    let run = TestEnv::new(&server).run(&["cli", "login", "--email", "bob@example.com"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "my: the server refused to start the sign-in: the sign-in email could not be sent \
         (the mail relay is unavailable): try again in a minute"
    );
}
