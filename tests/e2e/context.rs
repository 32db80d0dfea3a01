//! Organizations, projects, environments, logs and the active context (`my use`).

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

fn project_id(env: &TestEnv, org: &str) -> String {
    let list = env
        .run(&["projects", "list", "--organization", org, "--json"])
        .ok()
        .json();
    list[0]["id"].as_str().unwrap().to_string()
}

#[test]
fn login_saves_the_default_context_and_commands_need_no_flags() {
    let server = Server::start(&[]);
    let org_id = acme(&server, &["ctx@example.com"]);
    let env = TestEnv::new(&server);
    let login = env.login(&server, "ctx@example.com").ok();
    let ctx = &login.json()["context"];
    assert_eq!(ctx["organization"], org_id.as_str());
    assert_eq!(ctx["project_slug"], "my-store");
    assert_eq!(ctx["environment"], "production");

    let envs = env.run(&["environments", "list"]).ok();
    assert!(
        envs.stdout.contains("production") && envs.stdout.contains("staging"),
        "{}",
        envs.stdout
    );
    let status = env.run(&["cli", "status"]).ok();
    assert!(
        status.stdout.contains("organization acme")
            && status.stdout.contains("environment production"),
        "{}",
        status.stdout
    );
    let who = env.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["context"]["project_slug"], "my-store");
    let shown = env.run(&["use"]).ok();
    assert!(
        shown.stdout.contains("project my-store"),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_personal_token_needs_an_organization_an_org_key_does_not() {
    let server = Server::start(&[]);
    acme(&server, &["pat@example.com"]);
    server.admin(&["org", "create", "--name", "Other", "--slug", "other"]);
    server.admin(&[
        "org",
        "add-member",
        "--org",
        "other",
        "--email",
        "pat@example.com",
    ]);
    let owner = TestEnv::new(&server);
    owner.login(&server, "pat@example.com").ok();
    let pat = owner
        .run(&["cli", "token", "create", "ci", "--json"])
        .ok()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let key = owner
        .run(&[
            "cli",
            "token",
            "create",
            "bot",
            "--organization",
            "acme",
            "--json",
        ])
        .ok()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut ci = TestEnv::new(&server);
    ci.set("MY_API_TOKEN", &pat);
    let run = ci.run(&["environments", "list", "--project", "my-store"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pass --organization or run `my use --organization <id>`"),
        "{}",
        run.stderr
    );
    ci.run(&[
        "environments",
        "list",
        "--project",
        "my-store",
        "--organization",
        "acme",
    ])
    .ok();
    ci.run(&["use", "--organization", "acme"]).ok();
    let envs = ci
        .run(&["environments", "list", "--project", "my-store"])
        .ok();
    assert!(envs.stdout.contains("production"), "{}", envs.stdout);

    let mut bot = TestEnv::new(&server);
    bot.set("MY_API_TOKEN", &key);
    let envs = bot
        .run(&["environments", "list", "--project", "my-store"])
        .ok();
    assert!(envs.stdout.contains("production"), "{}", envs.stdout);
    let run = bot.run(&[
        "environments",
        "list",
        "--project",
        "my-store",
        "--organization",
        "other",
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("another organization"),
        "{}",
        run.stderr
    );
}

#[test]
fn use_accepts_slugs_and_ids_and_keeps_the_context_on_errors() {
    let server = Server::start(&[]);
    acme(&server, &["use@example.com"]);
    let env = TestEnv::new(&server);
    env.login(&server, "use@example.com").ok();
    let pid = project_id(&env, "acme");

    env.run(&["use", "--clear"]).ok();
    env.run(&["use", "--organization", "acme", "--project", "my-store"])
        .ok();
    assert_eq!(
        env.run(&["use", "--json"]).ok().json()["project"],
        pid.as_str()
    );
    env.run(&["use", "--project", &pid, "--environment", "staging"])
        .ok();
    let ctx = env.run(&["use", "--json"]).ok().json();
    assert_eq!(
        (ctx["project_slug"].as_str(), ctx["environment"].as_str()),
        (Some("my-store"), Some("staging"))
    );

    let run = env.run(&["use", "--project", "nope"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("\"nope\" not found"), "{}", run.stderr);
    assert_eq!(
        env.run(&["use", "--json"]).ok().json(),
        ctx,
        "the old context is kept"
    );
}

#[test]
fn logs_follow_receives_new_lines_and_outsiders_see_nothing() {
    let server = Server::start(&[]);
    acme(&server, &["logs@example.com"]);
    let log = |msg: &str| {
        server.admin(&[
            "log",
            "append",
            "--org",
            "acme",
            "--project",
            "my-store",
            "--env",
            "production",
            "--message",
            msg,
        ]);
    };
    log("booted");
    let env = TestEnv::new(&server);
    env.login(&server, "logs@example.com").ok();
    let out = env.run(&["logs"]).ok();
    assert!(out.stdout.contains("booted"), "{}", out.stdout);

    let mut child = env.spawn(&["logs", "--follow"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("booted"));
    let appended = Instant::now();
    log("deployed v2");
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains("deployed v2"), "{line}");
    assert!(
        appended.elapsed() < Duration::from_secs(2),
        "took {:?}",
        appended.elapsed()
    );
    // Ctrl-C ends --follow with exit 0.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let outsider = TestEnv::new(&server);
    outsider.login(&server, "mallory@example.com").ok();
    let run = outsider.run(&[
        "logs",
        "--organization",
        "acme",
        "--project",
        "my-store",
        "--environment",
        "production",
    ]);
    assert_ne!(run.code, 0);
    assert!(!run.stdout.contains("booted"));
}

#[test]
fn two_organizations_login_says_which_and_use_switches() {
    let server = Server::start(&[]);
    acme(&server, &["two@example.com"]);
    server.admin(&["org", "create", "--name", "Zeta", "--slug", "zeta"]);
    server.admin(&[
        "org",
        "add-member",
        "--org",
        "zeta",
        "--email",
        "two@example.com",
    ]);
    server.admin(&[
        "project", "create", "--org", "zeta", "--name", "Blog", "--slug", "blog",
    ]);
    server.admin(&[
        "env",
        "create",
        "--org",
        "zeta",
        "--project",
        "blog",
        "--name",
        "preview",
    ]);
    let env = TestEnv::new(&server);
    let login = env.login(&server, "two@example.com").ok();
    assert!(
        login.stderr.contains("2 organizations") && login.stderr.contains("using acme"),
        "{}",
        login.stderr
    );
    assert!(env
        .run(&["environments", "list"])
        .ok()
        .stdout
        .contains("production"));

    env.run(&["use", "--organization", "zeta"]).ok();
    let ctx = env.run(&["use", "--json"]).ok().json();
    assert!(
        ctx["project"].is_null(),
        "changing the organization clears the project: {ctx}"
    );
    let envs = env.run(&["environments", "list"]).ok();
    assert!(
        envs.stdout.contains("preview") && !envs.stdout.contains("production"),
        "{}",
        envs.stdout
    );
}

/// A `logs --follow` child and a line reader over its stdout.
fn follow(
    env: &TestEnv,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut all = vec!["logs", "--follow"];
    all.extend_from_slice(args);
    let mut child = env.spawn(&all);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

#[test]
fn follow_survives_a_server_restart_without_repeating_lines() {
    let mut server = Server::start(&["--long-poll", "2s"]);
    acme(&server, &["again@example.com"]);
    let log = |server: &Server, msg: &str| {
        server.admin(&[
            "log",
            "append",
            "--org",
            "acme",
            "--project",
            "my-store",
            "--env",
            "production",
            "--message",
            msg,
        ]);
    };
    log(&server, "one");
    let env = TestEnv::new(&server);
    env.login(&server, "again@example.com").ok();
    let (mut child, lines) = follow(&env, &[]);
    assert!(lines
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .ends_with("one"));
    log(&server, "two");
    assert!(lines
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .ends_with("two"));

    server.restart();
    log(&server, "three");
    let next = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a line after the restart");
    assert!(
        next.ends_with("three"),
        "expected only the new line, got {next:?}"
    );
    assert!(
        lines.recv_timeout(Duration::from_millis(2500)).is_err(),
        "a line was printed twice"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn follow_ends_with_a_clear_error_when_the_credential_is_revoked() {
    let server = Server::start(&["--long-poll", "1s"]);
    acme(&server, &["revoked@example.com"]);
    let owner = TestEnv::new(&server);
    owner.login(&server, "revoked@example.com").ok();
    let token = owner
        .run(&["cli", "token", "create", "tail", "--json"])
        .ok()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ci = TestEnv::new(&server);
    ci.set("MY_API_TOKEN", &token);
    let child = ci.spawn(&[
        "logs",
        "--follow",
        "--organization",
        "acme",
        "--project",
        "my-store",
        "--environment",
        "production",
    ]);
    // Revoked once the follow is under way: the server has answered one of its requests.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server
        .log()
        .lines()
        .any(|l| l.contains(" GET /v1/logs 200 "))
    {
        assert!(Instant::now() < deadline, "no follow: {}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    owner
        .run(&["cli", "token", "revoke", "tail", "--force"])
        .ok();
    let run = finish(child, Duration::from_secs(15));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("rejected MY_API_TOKEN"),
        "{}",
        run.stderr
    );
}
