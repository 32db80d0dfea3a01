//! Point 4 of issue 13: local files and locks. A symbolic link at the credentials file or
//! the lock file is refused, a readable or foreign-owned credentials file is named, a lock
//! held too long fails naming its holder, and `login --migrate` moves the plaintext file's
//! credentials into the keyring.

use super::foreign::{Foreign, State};
use super::server::Behaviour;
use super::{clean, env_for, expect, start_login, LIMIT};
use crate::util::TestEnv;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

fn signed_in(server: &Foreign, store: &str) -> TestEnv {
    let mut env = env_for(&server.fake.url);
    env.set("MY_CREDENTIAL_STORE", store);
    let login = start_login(&env);
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "Signed in");
    env
}

fn foreign() -> Foreign {
    Foreign::start(Behaviour::default(), State::default())
}

#[test]
fn a_symlinked_credentials_or_lock_file_is_refused() {
    let server = foreign();
    let env = signed_in(&server, "file");
    let real = env.home.path().join("real.json");
    std::fs::rename(env.credentials_file(), &real).unwrap();
    std::os::unix::fs::symlink(&real, env.credentials_file()).unwrap();
    let run = env.run(&["cli", "status"]);
    expect(&run, 5, "is a symbolic link");

    std::fs::remove_file(env.credentials_file()).unwrap();
    std::fs::rename(&real, env.credentials_file()).unwrap();
    let lock = env.config_dir().join("credentials.lock");
    let _ = std::fs::remove_file(&lock);
    let planted = env.home.path().join("planted");
    std::os::unix::fs::symlink(&planted, &lock).unwrap();
    let run = env.run(&["cli", "logout"]);
    expect(&run, 5, "credentials.lock is a symbolic link");
    assert!(!planted.exists(), "the lock was created through the link");
    assert!(env.credentials_file().exists(), "nothing was removed");
}

#[test]
fn a_credentials_file_readable_by_others_is_named_once() {
    let server = foreign();
    let env = signed_in(&server, "file");
    let file = env.credentials_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["cli", "whoami"]);
    expect(&run, 0, "is readable by others (mode 0644)");
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
    let run = env.run(&["cli", "status"]);
    expect(&run, 0, "chmod 600");
}

#[test]
fn a_lock_held_too_long_fails_naming_the_holder() {
    // Regression: a `my` suspended with Ctrl-Z mid-refresh made every later run hang.
    let server = foreign();
    let mut env = signed_in(&server, "file");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(env.config_dir().join("credentials.lock"))
        .unwrap();
    lock.lock().unwrap();
    std::fs::write(env.config_dir().join("credentials.lock"), "4242").unwrap();
    env.set("MY_LOCK_TIMEOUT", "1");
    let started = Instant::now();
    let run = env.run(&["cli", "logout"]);
    expect(&run, 5, "another my process (PID 4242) has held");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(env.credentials_file().exists());
    drop(lock);
    let run = env.run(&["cli", "logout"]);
    clean(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);

    env.set("MY_LOCK_TIMEOUT", "forever");
    let run = env.run(&["cli", "logout"]);
    expect(&run, 2, "MY_LOCK_TIMEOUT must be");
}

#[test]
fn migrate_moves_the_file_credentials_into_the_keyring() {
    crate::keyring::require_secret_service();
    let server = foreign();
    let mut env = signed_in(&server, "file");
    assert!(env.credentials_file().exists());
    env.set("MY_CREDENTIAL_STORE", "auto");
    let run = env.run(&["cli", "status"]);
    expect(&run, 0, "run `my cli login --migrate`");
    let status = env.run(&["cli", "status", "--json"]).json();
    assert_eq!(status["can_migrate_to_keyring"], true);

    let run = env.run(&["cli", "login", "--migrate"]);
    expect(&run, 0, "Moved the credentials");
    assert!(!env.credentials_file().exists());
    assert!(crate::keyring::secret_tool_finds(&server.fake.url));
    let run = env.run(&["cli", "whoami"]);
    expect(&run, 0, "u-42");
    let status = env.run(&["cli", "status", "--json"]).json();
    assert_eq!(status["source"], "keyring");
    assert_eq!(status["can_migrate_to_keyring"], false);
    let run = env.run(&["cli", "login", "--migrate"]);
    expect(&run, 0, "nothing to move");
    let run = env.run(&["cli", "logout"]);
    expect(&run, 0, "Logged out");
    assert!(!crate::keyring::secret_tool_finds(&server.fake.url));
}
