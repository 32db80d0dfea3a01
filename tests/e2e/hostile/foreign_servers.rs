//! Point 1 of issue 13: sign-in, whoami, status and logout against a foreign RFC 8628
//! server, including ones that close kept-alive connections under the poll.

use super::foreign::{Foreign, State, REFRESH_TOKEN};
use super::server::Behaviour;
use super::{env_for, expect, start_login, LIMIT};
use std::time::Duration;

/// login → whoami → status → logout against `server`; returns the login's stderr.
fn life_cycle(server: &Foreign) -> String {
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    assert!(
        login
            .stderr()
            .contains(&format!("{}/device", server.fake.url)),
        "{}",
        login.stderr()
    );
    std::thread::sleep(Duration::from_millis(1500));
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "Signed in as ada@foreign.example");
    let login_stderr = run.stderr;
    // It ignored login_hint and sent no mail; the request still carried the standard fields.
    let start = &server.fake.requests_to("/device/auth")[0];
    assert_eq!(start.param("client_id").as_deref(), Some("my-cli"));
    assert_eq!(start.param("scope").as_deref(), Some("openid email"));

    let run = env.run(&["cli", "whoami"]);
    expect(&run, 0, "");
    assert_eq!(run.stdout, "ID:    u-42\nEmail: ada@foreign.example\n");
    let run = env.run(&["cli", "whoami", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["id"], "u-42");
    assert!(v["credential"]["kind"].is_null(), "{v}");
    assert_eq!(v["credential"]["source"], "file");

    let run = env.run(&["cli", "status"]);
    expect(&run, 0, "yes, as ada@foreign.example");

    let run = env.run(&["cli", "logout", "--json"]);
    expect(&run, 0, "");
    assert_eq!(run.json()["revoked"], true);
    let revoked = server.fake.requests_to("/token/revocation");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].param("token").as_deref(), Some(REFRESH_TOKEN));
    let run = env.run(&["cli", "whoami"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    login_stderr
}

#[test]
fn a_foreign_server_whose_me_has_only_id_and_email() {
    let _ = life_cycle(&Foreign::start(Behaviour::default(), State::default()));
}

#[test]
fn a_foreign_server_with_only_an_oidc_userinfo_endpoint() {
    let server = Foreign::start(
        Behaviour::default(),
        State {
            userinfo_only: true,
            ..State::default()
        },
    );
    let _ = life_cycle(&server);
    assert!(!server.fake.requests_to("/me").is_empty());
}

#[test]
fn a_server_closing_idle_connections_after_exactly_the_poll_interval() {
    let server = Foreign::start(
        Behaviour {
            idle_close: Some(Duration::from_secs(1)),
            ..Behaviour::default()
        },
        State::default(),
    );
    let login = life_cycle(&server);
    assert!(!login.contains("still waiting"), "{login}");
}

#[test]
fn a_server_closing_every_reused_connection_as_the_request_arrives() {
    // The race with Node's 5 s keep-alive and a 5 s interval, made certain: a request on a
    // kept-alive connection idle for 0.5 s or more is read, then the connection is closed
    // without an answer. Polls (and GETs) are retried once on a fresh connection, so the
    // life cycle completes.
    let server = Foreign::start(
        Behaviour {
            drop_reused_after: Some(Duration::from_millis(500)),
            ..Behaviour::default()
        },
        State::default(),
    );
    let login = life_cycle(&server);
    // Retried at once on a fresh connection: not even a transient failure to report.
    assert!(!login.contains("still waiting"), "{login}");
    assert!(
        server.polls() > server.fake.requests_to("/token").len() / 2
            && server.fake.requests_to("/token").iter().any(|r| r.reused),
        "no poll came on a reused connection, so this test proves nothing"
    );
}

#[test]
fn polling_keeps_going_through_a_failing_token_endpoint() {
    // The token endpoint fails for a while (503, a dropped connection, 503, …): the CLI keeps
    // polling with backoff instead of giving up, and signs in once it answers again.
    let server = Foreign::start(Behaviour::default(), State::default());
    server
        .state
        .token_failures
        .store(4, std::sync::atomic::Ordering::SeqCst);
    let env = env_for(&server.fake.url);
    let login = start_login(&env);
    server.approve();
    let run = login.finish(LIMIT);
    expect(&run, 0, "still waiting for the sign-in");
    assert_eq!(
        server
            .state
            .token_failures
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
