//! Bad input and failing parts: each gets one clear line on stderr and its exit code
//! (0 ok, 1 error, 2 usage, 3 not signed in / rejected, 4 unreachable, 5 local store).

use crate::util::*;

#[track_caller]
fn one_line(run: &Run) {
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "stderr: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let run = env.run(&["cli", "whoami", "--bogus"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = env.run(&["nope"]);
    assert_eq!(run.code, 2);
    let run = env.run(&["--version"]).ok();
    assert!(run.stdout.starts_with("my "), "{}", run.stdout);
    let run = env.run(&["cli", "--help"]).ok();
    assert!(run.stdout.contains("login"), "{}", run.stdout);
}

#[test]
fn login_without_a_terminal_or_email_names_the_flag() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let run = env.run(&["cli", "login"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--email"), "{}", run.stderr);
    one_line(&run);
}

#[test]
fn login_is_refused_while_my_api_token_is_set() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    env.set("MY_API_TOKEN", "myc_whatever");
    let run = env.run(&["cli", "login", "--email", "a@example.com"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("MY_API_TOKEN") && run.stderr.contains("unset"),
        "{}",
        run.stderr
    );
    one_line(&run);
    // No mail was sent: the refusal happens before any request.
    assert!(
        std::fs::read_dir(server.mail_dir())
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn an_unreachable_server_exits_4() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    env.login(&server, "down@example.com").ok();
    env.api_url = closed_port_url();
    let run = env.run(&["cli", "login", "--email", "down@example.com"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    one_line(&run);
    // Signed in against the real server, which then goes away.
    env.api_url = server.url.clone();
    drop(server);
    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    one_line(&run);
    assert!(
        env.credentials_file().exists(),
        "credentials must survive a dead server"
    );
}

#[test]
fn a_corrupted_credentials_file_is_reported_and_left_alone() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    env.login(&server, "corrupt@example.com").ok();
    let garbage = b"{\"version\":1,\"credentials\":{\"x\": tru";
    std::fs::write(env.credentials_file(), garbage).unwrap();
    for args in [
        &["cli", "whoami"][..],
        &["cli", "status"],
        &["cli", "logout"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 5, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("credentials.json"), "{}", run.stderr);
        one_line(&run);
    }
    // Nor does a new login overwrite it: it stops before sending a link.
    let run = env.run(&["cli", "login", "--email", "corrupt@example.com"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    one_line(&run);
    let mails = std::fs::read_dir(server.mail_dir()).unwrap().count();
    assert_eq!(mails, 1, "only the first login's mail");
    assert_eq!(std::fs::read(env.credentials_file()).unwrap(), garbage);
}

#[test]
fn bad_settings_are_usage_errors() {
    let server = Server::start(&[]);
    let mut env = TestEnv::new(&server);
    env.set("MY_CREDENTIAL_STORE", "vault");
    let run = env.run(&["cli", "status"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("MY_CREDENTIAL_STORE"), "{}", run.stderr);
    let mut env = TestEnv::new(&server);
    env.api_url = "localhost:7780".into();
    let run = env.run(&["cli", "status"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("MY_API_URL"), "{}", run.stderr);
}

#[test]
fn a_server_error_is_not_a_logout() {
    // 5xx and refused connections never clear credentials; only invalid_grant does.
    let mut server = Server::start(&[]);
    let env = TestEnv::new(&server);
    // Signed in while the server's clock runs an hour behind: by the CLI's clock the access
    // token has expired, so the next command starts with a refresh.
    server.set_clock(-3600);
    env.login(&server, "flaky@example.com").ok();
    let before = std::fs::read(env.credentials_file()).unwrap();
    server.stop();
    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(std::fs::read(env.credentials_file()).unwrap(), before);
    server.restart();
    env.run(&["cli", "whoami"]).ok();
}

#[test]
fn login_prompts_for_the_email_on_a_terminal() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    // The answer is read and checked: a bad one is refused with the usage code.
    let run = env.run_on_terminal(&["cli", "login"], "not-an-email\n");
    assert!(run.stdout.contains("Email address: "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\"not-an-email\" is not an email address"),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
}
