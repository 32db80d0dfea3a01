//! API tokens and organization access keys, end to end.

use crate::util::*;

fn signed_in(server: &Server, email: &str) -> TestEnv {
    let env = TestEnv::new(server);
    env.login(server, email).ok();
    env
}

fn create(env: &TestEnv, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["cli", "token", "create"];
    all.extend_from_slice(args);
    all.push("--json");
    env.run(&all).ok().json()
}

/// An environment that authenticates with `token` through MY_API_TOKEN.
fn with_token(server: &Server, token: &str) -> TestEnv {
    let mut env = TestEnv::new(server);
    env.set("MY_API_TOKEN", token);
    env
}

#[test]
fn create_use_list_rename_revoke() {
    let server = Server::start(&["--last-used-interval", "0s"]);
    let env = signed_in(&server, "tok@example.com");

    let out = env.run(&["cli", "token", "create", "ci-deploy"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("Token: myc_"), "{}", out.stdout);
    assert_eq!(lines[1], "Save this token — it won't be shown again.");
    assert_eq!(lines[2], "Use it with: export MY_API_TOKEN=<token>");
    let token = lines[0].trim_start_matches("Token: ").to_string();
    assert_eq!(token.len(), 40);

    let ci = with_token(&server, &token);
    let who = ci.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(who["email"], "tok@example.com");
    assert_eq!(who["credential"]["kind"], "personal_token");
    assert_eq!(who["credential"]["source"], "env");
    assert!(who["credential"]["expires_at"].is_null());
    let status = ci.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(
        (status["source"].as_str(), status["kind"].as_str()),
        (Some("env"), Some("personal_token"))
    );

    let list = env.run(&["cli", "token", "list"]).ok();
    assert!(
        !list.stdout.contains(&token),
        "the secret leaked into the list"
    );
    let header = list.stdout.lines().next().unwrap();
    for col in ["NAME", "PREFIX", "LAST USED", "EXPIRES", "CREATED", "SCOPE"] {
        assert!(header.contains(col), "{header}");
    }
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("ci-deploy"))
        .unwrap();
    assert!(row.contains(&format!("{}...", &token[..10])), "{row}");
    assert!(row.contains("personal") && row.contains("never"), "{row}");
    let json = env.run(&["cli", "token", "list", "--json"]).ok().json();
    assert!(
        json[0]["last_used_at"].is_string(),
        "last used is recorded: {json}"
    );
    assert!(!json.to_string().contains(&token));

    env.run(&["cli", "token", "rename", "ci-deploy", "ci-release"])
        .ok();
    let json = env.run(&["cli", "token", "list", "--json"]).ok().json();
    assert_eq!(json[0]["name"], "ci-release");

    let out = env
        .run(&["cli", "token", "revoke", "ci-release", "--force"])
        .ok();
    assert!(
        out.stderr.contains("Revoked token \"ci-release\""),
        "{}",
        out.stderr
    );
    let run = ci.run(&["cli", "whoami"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        env.run(&["cli", "token", "list", "--json"]).ok().json(),
        serde_json::json!([])
    );

    // The database never holds the raw token.
    let db = std::fs::read(server.db()).unwrap();
    let wal = std::fs::read(server.db().with_extension("db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "raw token in the database"
        );
    }
}

#[test]
fn limits_names_and_durations() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "limits@example.com");
    for i in 0..10 {
        create(&env, &[&format!("t{i}")]);
    }
    let run = env.run(&["cli", "token", "create", "t10"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("revoke one first"), "{}", run.stderr);

    env.run(&["cli", "token", "revoke", "t9", "--force"]).ok();
    let run = env.run(&["cli", "token", "create", "t0"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);

    let long = "n".repeat(101);
    let run = env.run(&["cli", "token", "create", &long]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("101 characters") && run.stderr.contains("100"),
        "{}",
        run.stderr
    );

    for bad in ["0d", "-1h", "5x", "99999y"] {
        let run = env.run(&["cli", "token", "create", "x", "--expires-in", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("--expires-in"), "{}", run.stderr);
    }
    // The server refuses what the CLI would let through: below its minimum lifetime.
    let run = env.run(&["cli", "token", "create", "x", "--expires-in", "2s"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("at least"), "{}", run.stderr);
}

#[test]
fn an_expiring_token_works_then_is_rejected() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "exp@example.com");
    let t = create(&env, &["short", "--expires-in", "1h"]);
    assert!(t["expires_at"].is_string());
    let ci = with_token(&server, t["token"].as_str().unwrap());
    ci.run(&["cli", "whoami"]).ok();
    // An hour on, by the server's clock (its expiry was rounded up to the next second).
    server.set_clock(3601);
    let run = ci.run(&["cli", "whoami"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("token expired"), "{}", run.stderr);
}

#[test]
fn api_tokens_cannot_manage_tokens_or_log_in() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "mgmt@example.com");
    let t = create(&env, &["automation"]);
    let ci = with_token(&server, t["token"].as_str().unwrap());
    for args in [
        &["cli", "token", "create", "more"][..],
        &["cli", "token", "list"],
        &["cli", "token", "revoke", "automation", "--force"],
    ] {
        let run = ci.run(args);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("token management needs an interactive login"),
            "{}",
            run.stderr
        );
    }
    let run = ci.run(&["cli", "login", "--email", "mgmt@example.com"]);
    assert_eq!(run.code, 2);
    let run = ci.run(&["cli", "logout"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("unset MY_API_TOKEN"), "{}", run.stderr);
    // Still alive: none of that revoked it.
    ci.run(&["cli", "whoami"]).ok();
}

#[test]
fn organization_keys_are_shared_by_members_and_hidden_from_others() {
    let server = Server::start(&[]);
    server.admin(&["org", "create", "--name", "Acme", "--slug", "acme"]);
    server.admin(&[
        "org",
        "add-member",
        "--org",
        "acme",
        "--email",
        "alice@example.com",
    ]);
    server.admin(&[
        "org",
        "add-member",
        "--org",
        "acme",
        "--email",
        "bob@example.com",
    ]);
    let alice = signed_in(&server, "alice@example.com");
    let bob = signed_in(&server, "bob@example.com");
    let carol = signed_in(&server, "carol@example.com");

    let key = create(&alice, &["deploy-bot", "--organization", "acme"]);
    let raw = key["token"].as_str().unwrap().to_string();
    assert!(raw.starts_with("myo_"), "{raw}");
    let who = with_token(&server, &raw)
        .run(&["cli", "whoami", "--json"])
        .ok()
        .json();
    assert_eq!(who["credential"]["kind"], "organization_key");

    let bob_list = bob.run(&["cli", "token", "list"]).ok();
    assert!(
        bob_list.stdout.contains("deploy-bot") && bob_list.stdout.contains("org:acme"),
        "{}",
        bob_list.stdout
    );
    let carol_list = carol.run(&["cli", "token", "list", "--json"]).ok().json();
    assert_eq!(carol_list, serde_json::json!([]));
    let run = carol.run(&[
        "cli",
        "token",
        "revoke",
        key["id"].as_str().unwrap(),
        "--force",
    ]);
    assert_ne!(run.code, 0);
    let run = carol.run(&["cli", "token", "create", "sneaky", "--organization", "acme"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);

    bob.run(&["cli", "token", "rename", "deploy-bot", "deployer"])
        .ok();
    bob.run(&["cli", "token", "revoke", "deployer", "--force"])
        .ok();
    assert_eq!(with_token(&server, &raw).run(&["cli", "whoami"]).code, 3);
}

#[test]
fn a_mistyped_token_is_refused_before_any_request() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "typo@example.com");
    let good = create(&env, &["typo"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = good.clone().into_bytes();
    bytes[12] = if bytes[12] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bytes).unwrap();
    // Nothing listens here: a format error, not a network one, proves no request was made.
    let closed = closed_port_url();
    let mut ci = with_token(&server, &bad);
    ci.api_url = closed.clone();
    let run = ci.run(&["cli", "whoami"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("not a valid my token: checksum mismatch"),
        "{}",
        run.stderr
    );
    let mut store = TestEnv::new(&server);
    store.api_url = closed;
    let run = store.run(&["cli", "login", "--token", &good[..39]]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a valid my token"),
        "{}",
        run.stderr
    );
}

#[test]
fn login_with_a_token_stores_it_without_a_browser() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "store@example.com");
    let token = create(&env, &["laptop"])["token"]
        .as_str()
        .unwrap()
        .to_string();

    let box1 = TestEnv::new(&server);
    let run = box1
        .run(&["cli", "login", "--token", &token, "--json"])
        .ok();
    assert!(
        run.stderr.contains("visible to other local users") && run.stderr.contains("--with-token"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["kind"], "personal_token");
    let who = box1.run(&["cli", "whoami", "--json"]).ok().json();
    assert_eq!(
        (who["email"].as_str(), who["credential"]["source"].as_str()),
        (Some("store@example.com"), Some("file"))
    );

    let box2 = TestEnv::new(&server);
    let mut child = box2
        .cmd(&["cli", "login", "--with-token"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    }
    let run = finish(child, std::time::Duration::from_secs(20)).ok();
    assert!(!run.stderr.contains("visible to other"), "{}", run.stderr);
    box2.run(&["cli", "whoami"]).ok();
    // A revoked token is refused at login time, and nothing is stored.
    env.run(&["cli", "token", "revoke", "laptop", "--force"])
        .ok();
    let box3 = TestEnv::new(&server);
    let run = box3.run(&["cli", "login", "--token", &token]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!box3.credentials_file().exists());
}

#[test]
fn revoke_asks_on_a_terminal_and_refuses_without_one() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "ask@example.com");
    let t = create(&env, &["ci-deploy"]);
    let prefix = t["prefix"].as_str().unwrap().to_string();

    let run = env.run(&["cli", "token", "revoke", "ci-deploy"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);

    let run = env.run_on_terminal(&["cli", "token", "revoke", "ci-deploy"], "n\n");
    assert!(
        run.stdout
            .contains(&format!("Revoke token \"ci-deploy\" ({prefix})? [y/N]")),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.run(&["cli", "token", "list", "--json"]).ok().json()[0]["name"],
        "ci-deploy"
    );

    let run = env.run_on_terminal(&["cli", "token", "revoke", "ci-deploy"], "y\n");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        env.run(&["cli", "token", "list", "--json"]).ok().json(),
        serde_json::json!([])
    );
}

#[test]
fn with_token_on_a_terminal_asks_for_the_token() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "paste@example.com");
    let token = create(&env, &["pasted"])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh = TestEnv::new(&server);
    let run = fresh.run_on_terminal(&["cli", "login", "--with-token"], &format!("{token}\n"));
    assert!(
        run.stdout.contains("Paste the token and press Enter: "),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    fresh.run(&["cli", "whoami"]).ok();
}
