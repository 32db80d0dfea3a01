//! The OS keyring path, against a real gnome-keyring Secret Service that
//! `scripts/with-keyring.sh` starts (as `make test` and CI do).

use crate::util::*;
use std::process::Command;

#[track_caller]
pub fn require_secret_service() {
    assert_eq!(
        std::env::var("MY_TEST_KEYRING").as_deref(),
        Ok("1"),
        "these tests need a real Secret Service: run them through `make test` (scripts/with-keyring.sh)"
    );
}

pub fn secret_tool_finds(api_url: &str) -> bool {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "mycli", "username", api_url])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.contains(&format!("attribute.username = {api_url}"))
}

#[test]
fn login_stores_in_the_keyring_and_logout_removes_it() {
    require_secret_service();
    let server = Server::start(&[]);
    let env = TestEnv::with_store(&server, "auto");
    let login = env.login(&server, "ring@example.com").ok();
    assert_eq!(login.json()["store"], "keyring");
    assert!(!login.stderr.contains("warning"), "{}", login.stderr);
    assert!(secret_tool_finds(&server.url));
    assert!(
        !env.credentials_file().exists(),
        "nothing may be written to the file"
    );

    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(status["source"], "keyring");
    assert_eq!(status["plaintext_file"], false);
    env.run(&["cli", "whoami"]).ok();

    env.run(&["cli", "logout"]).ok();
    assert!(!secret_tool_finds(&server.url));
    assert_eq!(env.run(&["cli", "whoami"]).code, 3);
}

#[test]
fn keyring_only_fails_closed_without_a_secret_service() {
    require_secret_service();
    let server = Server::start(&[]);
    let mut env = TestEnv::with_store(&server, "keyring");
    env.set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let run = env.run(&["cli", "login", "--email", "closed@example.com"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("keyring"), "{}", run.stderr);
    assert!(!env.credentials_file().exists());
}

#[test]
fn auto_falls_back_to_the_file_and_says_why_first() {
    require_secret_service();
    let server = Server::start(&[]);
    let mut env = TestEnv::with_store(&server, "auto");
    env.set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let login = env.login(&server, "fallback@example.com").ok();
    assert_eq!(login.json()["store"], "file");
    assert!(
        login
            .stderr
            .contains("warning: the OS keyring is unavailable"),
        "{}",
        login.stderr
    );
    assert!(env.credentials_file().exists());
    let status = env.run(&["cli", "status"]).ok();
    assert!(
        status.stdout.contains("plaintext file"),
        "{}",
        status.stdout
    );
    env.run(&["cli", "whoami"]).ok();
}
