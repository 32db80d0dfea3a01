//! In-process tests of the REST API: the real router and handlers on a real SQLite file,
//! without sockets. They pin the status codes, error codes and JSON shapes the CLI relies
//! on; `tests/` at the workspace root drives the same server over HTTP with the real CLI.

use crate::app::App;
use crate::cli::{self, Mode};
use crate::clock;
use crate::crypto::secrets;
use crate::db::{Db, DbResult, Session, Target};
use crate::domain::keys;
use crate::routes;
use crate::web::{Reply, Request};
use my_api::AccessClaims;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod catalog;

struct Harness {
    app: Arc<App>,
    db: Db,
    dir: PathBuf,
    target: Target,
}

impl Drop for Harness {
    fn drop(&mut self) {
        crate::db::drop_test_target(&self.target);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Answer {
    status: u16,
    body: Value,
    reply: Reply,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl Harness {
    fn new(flags: &[&str]) -> Harness {
        let dir = std::env::temp_dir().join(format!(
            "my-server-api-test-{}-{}",
            std::process::id(),
            secrets::new_id("t")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let target = crate::db::test_target(&dir);
        let mut args = vec!["my-server"];
        args.extend_from_slice(flags);
        for (flag, value) in [
            ("--min-token-ttl", "1s"),
            ("--last-used-interval", "0s"),
            ("--long-poll", "3s"),
        ] {
            if !flags.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        let Ok(Mode::Serve(mut settings)) = cli::parse(&args, &|_| None) else {
            panic!("bad flags {flags:?}");
        };
        settings.db = target.setting();
        target.ensure_private().unwrap();
        let mut db = Db::connect(&target).unwrap();
        let key = db.migrate([3; 32], 0).unwrap();
        let app = Arc::new(App::new(*settings, "http://127.0.0.1:1".to_string(), key).unwrap());
        Harness {
            app,
            db,
            dir,
            target,
        }
    }

    /// Another connection to the harness's database.
    fn connection(&self) -> Db {
        Db::connect(&self.target).unwrap()
    }

    /// A signed-in user: their id and a session JWT.
    fn sign_in(&mut self, email: &str) -> (String, String) {
        let now = clock::now_secs();
        let (user, session) = self
            .db
            .write(|tx| -> DbResult<_> {
                let user = tx.ensure_user(email, &secrets::new_id("usr"), now)?;
                let session = Session {
                    id: secrets::new_id("ses"),
                    user_id: user.id.clone(),
                    client_id: my_api::CLIENT_ID.into(),
                    scope: my_api::SCOPE.into(),
                    refresh_count: 0,
                    created_at: now,
                    expires_at: now + 3600,
                    max_expires_at: now + 3600,
                    revoked_at: None,
                };
                tx.insert_session(&session)?;
                Ok((user, session))
            })
            .unwrap();
        let claims = AccessClaims {
            iss: self.app.issuer.clone(),
            sub: user.id.clone(),
            email: user.email,
            sid: session.id,
            iat: now as u64,
            exp: now as u64 + 3600,
        };
        let token = keys::sign(&self.app, &mut self.db, &claims).unwrap();
        (user.id, token)
    }

    /// An organization with these members (who need not have signed in yet).
    fn org(&mut self, slug: &str, members: &[&str]) -> String {
        let now = clock::now_secs();
        self.db
            .write(|tx| -> DbResult<String> {
                let org = my_api::org::Organization {
                    id: secrets::new_id("org"),
                    name: slug.to_uppercase(),
                    slug: slug.into(),
                };
                tx.insert_organization(&org, now)?;
                for email in members {
                    let user = tx.ensure_user(email, &secrets::new_id("usr"), now)?;
                    tx.add_member(&org.id, &user.id, "member", now)?;
                }
                Ok(org.id)
            })
            .unwrap()
    }

    fn call(&mut self, method: &str, target: &str, bearer: &str, body: Option<Value>) -> Answer {
        let request = Request::for_test(method, target, Some(bearer), body.as_ref());
        call_with(&self.app, &mut self.db, &request)
    }

    fn create(&mut self, bearer: &str, body: Value) -> Answer {
        self.call("POST", "/v1/tokens", bearer, Some(body))
    }
}

fn call_with(app: &App, db: &mut Db, request: &Request) -> Answer {
    let reply = routes::route(app, db, request).expect("no server error");
    Answer {
        status: reply.status,
        body: reply.body_json(),
        reply,
    }
}

fn bearer_401(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.message(), message);
    assert_eq!(
        answer.reply.header_value("WWW-Authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
}

#[test]
fn personal_token_life_cycle() {
    let mut h = Harness::new(&[]);
    let (user_id, session) = h.sign_in("ann@example.com");

    let created = h.create(
        &session,
        json!({"name": " ci-deploy ", "expires_in": "90d"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.reply.header_value("Cache-Control"),
        Some("no-store")
    );
    let token = created.body["token"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("myc_") && token.len() == 40);
    assert_eq!(
        my_api::token::parse(&token),
        Ok(my_api::token::TokenKind::Personal)
    );
    assert!(id.starts_with("tok_") && id.len() == 20);
    assert_eq!(created.body["name"], "ci-deploy");
    assert_eq!(created.body["kind"], "personal_token");
    assert_eq!(created.body["prefix"], format!("{}...", &token[..10]));
    assert!(created.body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created.body["organization"], Value::Null);

    // The token works as a bearer, and says what it is.
    let me = h.call("GET", "/v1/me", &token, None);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["id"], user_id.as_str());
    assert_eq!(me.body["email"], "ann@example.com");
    assert_eq!(me.body["credential"]["kind"], "personal_token");
    assert_eq!(me.body["credential"]["name"], "ci-deploy");
    assert_eq!(
        me.body["credential"]["expires_at"],
        created.body["expires_at"]
    );
    assert!(me.body["credential"].get("organization").is_none());

    // Listed without the secret, with its last use.
    let list = h.call("GET", "/v1/tokens", &session, None);
    assert_eq!(list.status, 200);
    let tokens = list.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    let entry = &tokens[0];
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["prefix"], created.body["prefix"]);
    assert_eq!(entry["created_by"], "ann@example.com");
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(!list.body.to_string().contains(&token[4..]));
    assert!(entry.get("token").is_none());

    // Renamed, then revoked: refused from the next request on.
    let renamed = h.call(
        "PATCH",
        &format!("/v1/tokens/{id}"),
        &session,
        Some(json!({"name": "deploy"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "deploy");
    let deleted = h.call("DELETE", &format!("/v1/tokens/{id}"), &session, None);
    assert_eq!(deleted.status, 204);
    bearer_401(&h.call("GET", "/v1/me", &token, None), "invalid token");
    let again = h.call("DELETE", &format!("/v1/tokens/{id}"), &session, None);
    assert_eq!(again.status, 404);
    let list = h.call("GET", "/v1/tokens", &session, None);
    assert_eq!(list.body["tokens"], json!([]));
}

#[test]
fn api_tokens_cannot_manage_tokens() {
    let mut h = Harness::new(&[]);
    let (_, session) = h.sign_in("ann@example.com");
    let token = h.create(&session, json!({"name": "ci"})).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = h.call("GET", "/v1/tokens", &session, None).body["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, target, body) in [
        ("POST", "/v1/tokens".to_string(), Some(json!({"name": "x"}))),
        ("GET", "/v1/tokens".to_string(), None),
        (
            "PATCH",
            format!("/v1/tokens/{id}"),
            Some(json!({"name": "y"})),
        ),
        ("DELETE", format!("/v1/tokens/{id}"), None),
    ] {
        let answer = h.call(method, &target, &token, body);
        assert_eq!(answer.status, 403, "{method} {target}");
        assert_eq!(answer.code(), "SESSION_REQUIRED");
        assert_eq!(
            answer.message(),
            "token management needs an interactive login (`my cli login`); API tokens cannot manage tokens"
        );
    }
}

#[test]
fn names_expiries_limits() {
    let mut h = Harness::new(&["--min-token-ttl", "1h"]);
    let (_, session) = h.sign_in("ann@example.com");
    let long = h.create(&session, json!({"name": "x".repeat(101)}));
    assert_eq!((long.status, long.code()), (400, "INVALID_NAME"));
    assert!(
        long.message().contains("100 characters"),
        "{}",
        long.message()
    );
    for bad in ["", "  ", "a\u{1b}[31m"] {
        let answer = h.create(&session, json!({"name": bad}));
        assert_eq!(
            (answer.status, answer.code()),
            (400, "INVALID_NAME"),
            "{bad:?}"
        );
    }
    // 100 two-byte characters are 100 characters.
    let wide = h.create(&session, json!({"name": "é".repeat(100)}));
    assert_eq!(wide.status, 201);

    for bad in ["0d", "-1h", "5x", "99999y", "", "30"] {
        let answer = h.create(&session, json!({"name": "e", "expires_in": bad}));
        assert_eq!(
            (answer.status, answer.code()),
            (400, "INVALID_EXPIRY"),
            "{bad}"
        );
    }
    let short = h.create(&session, json!({"name": "e", "expires_in": "30m"}));
    assert_eq!(short.code(), "INVALID_EXPIRY");
    assert!(
        short.message().contains("must be at least 1h"),
        "{}",
        short.message()
    );

    let bad_profile = h.create(&session, json!({"name": "p", "profile": "Not_A_Slug"}));
    assert_eq!(bad_profile.status, 400);
    // A token's profile must be one of the owner's.
    let unknown = h.create(&session, json!({"name": "p", "profile": "k8s-prod"}));
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let made = h.call(
        "POST",
        "/v1/profiles",
        &session,
        Some(json!({"slug": "k8s-prod"})),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let profiled = h.create(&session, json!({"name": "p", "profile": "k8s-prod"}));
    assert_eq!(profiled.body["profile"], "k8s-prod");

    let taken = h.create(&session, json!({"name": "p"}));
    assert_eq!((taken.status, taken.code()), (409, "NAME_TAKEN"));
    assert_eq!(taken.message(), "a token named \"p\" already exists");

    for n in 0..8 {
        assert_eq!(
            h.create(&session, json!({"name": format!("t{n}")})).status,
            201
        );
    }
    let full = h.create(&session, json!({"name": "eleventh"}));
    assert_eq!((full.status, full.code()), (409, "TOKEN_LIMIT_REACHED"));
    assert_eq!(
        full.message(),
        "you have 10 API tokens, the limit: revoke one first (`my cli token revoke NAME`)"
    );

    // Listed in creation order, even within one second.
    let list = h.call("GET", "/v1/tokens", &session, None);
    let names: Vec<&str> = list.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names[1..],
        ["p", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    );

    // Renaming follows the same rules.
    let path = format!("/v1/tokens/{}", wide.body["id"].as_str().unwrap());
    let taken = h.call("PATCH", &path, &session, Some(json!({"name": "t3"})));
    assert_eq!(taken.code(), "NAME_TAKEN");
    let long = h.call(
        "PATCH",
        &path,
        &session,
        Some(json!({"name": "y".repeat(101)})),
    );
    assert_eq!(long.code(), "INVALID_NAME");
    let same = h.call(
        "PATCH",
        &path,
        &session,
        Some(json!({"name": "é".repeat(100)})),
    );
    assert_eq!(same.status, 200, "renaming to its own name is fine");
    let bad_json = h.call("PATCH", &path, &session, Some(json!({"nom": "x"})));
    assert_eq!((bad_json.status, bad_json.code()), (400, "BAD_REQUEST"));
}

#[test]
fn expiry_and_malformed_tokens() {
    let mut h = Harness::new(&[]);
    let (_, session) = h.sign_in("ann@example.com");
    let created = h.create(&session, json!({"name": "short", "expires_in": "10m"}));
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.body["token"].as_str().unwrap().to_string();
    assert_eq!(h.call("GET", "/v1/me", &token, None).status, 200);
    // Just short of ten minutes on it still works; past them (its expiry was rounded up to
    // the next second) it has expired, while the session's hour has not.
    clock::advance_this_thread(590);
    assert_eq!(h.call("GET", "/v1/me", &token, None).status, 200);
    clock::advance_this_thread(11);
    bearer_401(&h.call("GET", "/v1/me", &token, None), "token expired");
    // An expired token is still listed (so it can be seen and cleaned up), and its name
    // is free again.
    let list = h.call("GET", "/v1/tokens", &session, None);
    assert_eq!(list.body["tokens"][0]["name"], "short");
    assert_eq!(h.create(&session, json!({"name": "short"})).status, 201);

    let mut flipped = token.into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    bearer_401(&h.call("GET", "/v1/me", &flipped, None), "malformed token");
    bearer_401(
        &h.call("GET", "/v1/me", "myo_short", None),
        "malformed token",
    );
    let unknown = secrets::new_api_token(my_api::token::TokenKind::Personal);
    bearer_401(&h.call("GET", "/v1/me", &unknown, None), "invalid token");
    bearer_401(
        &h.call("GET", "/v1/me", "not-a-jwt", None),
        "invalid access token",
    );
    let none = call_with(
        &h.app,
        &mut h.db,
        &Request::for_test("GET", "/v1/tokens", None, None),
    );
    assert_eq!(none.status, 401);
    assert_eq!(none.reply.header_value("WWW-Authenticate"), Some("Bearer"));
}

#[test]
fn last_use_is_throttled() {
    let mut h = Harness::new(&["--last-used-interval", "1h"]);
    let (_, session) = h.sign_in("ann@example.com");
    let token = h.create(&session, json!({"name": "ci"})).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(h.call("GET", "/v1/me", &token, None).status, 200);
    let first =
        h.call("GET", "/v1/tokens", &session, None).body["tokens"][0]["last_used_at"].clone();
    assert!(first.is_string());
    // Pretend the use was 10 minutes ago: within the hour, nothing is written.
    h.db.write(|tx| tx.touch_api_token_at_for_test(clock::now_secs() - 600))
        .unwrap();
    let before =
        h.call("GET", "/v1/tokens", &session, None).body["tokens"][0]["last_used_at"].clone();
    assert_eq!(h.call("GET", "/v1/me", &token, None).status, 200);
    let after =
        h.call("GET", "/v1/tokens", &session, None).body["tokens"][0]["last_used_at"].clone();
    assert_eq!(before, after);
}

#[test]
fn concurrent_creations_respect_the_cap() {
    let mut h = Harness::new(&[]);
    let (_, session) = h.sign_in("ann@example.com");
    let handles: Vec<_> = (0..11)
        .map(|n| {
            let app = Arc::clone(&h.app);
            let mut db = h.connection();
            let session = session.clone();
            std::thread::spawn(move || {
                let body = json!({"name": format!("race-{n}")});
                let request = Request::for_test("POST", "/v1/tokens", Some(&session), Some(&body));
                call_with(&app, &mut db, &request).status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[201; 10].as_slice(), &[409]].concat());
    let list = h.call("GET", "/v1/tokens", &session, None);
    assert_eq!(list.body["tokens"].as_array().unwrap().len(), 10);
}

#[test]
fn organization_keys_belong_to_the_organization() {
    let mut h = Harness::new(&[]);
    let org_id = h.org("acme", &["a@example.com", "b@example.com"]);
    let (_, a) = h.sign_in("a@example.com");
    let (_, b) = h.sign_in("b@example.com");
    let (_, c) = h.sign_in("c@example.com");

    let created = h.create(&a, json!({"name": "deploy", "organization": "acme"}));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["kind"], "organization_key");
    assert_eq!(created.body["organization"], org_id.as_str());
    let key = created.body["token"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("myo_"));

    // A personal token with the same name is another owner's name.
    assert_eq!(h.create(&a, json!({"name": "deploy"})).status, 201);
    let dup = h.create(&b, json!({"name": "deploy", "organization": org_id}));
    assert_eq!(dup.code(), "NAME_TAKEN");

    // The key shows itself and its organization, not the member who created it.
    let me = h.call("GET", "/v1/me", &key, None);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["email"], "");
    assert_eq!(me.body["credential"]["kind"], "organization_key");
    assert_eq!(me.body["credential"]["organization"], org_id.as_str());

    // B sees it (in the full list and the organization's), C does not.
    let listed = h.call("GET", "/v1/tokens", &b, None);
    let tokens = listed.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{}", listed.body);
    assert_eq!(tokens[0]["organization_slug"], "acme");
    assert_eq!(tokens[0]["created_by"], "a@example.com");
    let by_org = h.call("GET", "/v1/tokens?organization=acme", &b, None);
    assert_eq!(by_org.body["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(
        h.call("GET", "/v1/tokens", &c, None).body["tokens"],
        json!([])
    );
    let hidden = h.call("GET", "/v1/tokens?organization=acme", &c, None);
    assert_eq!(
        (hidden.status, hidden.message()),
        (404, "organization not found")
    );
    let path = format!("/v1/tokens/{id}");
    assert_eq!(h.call("DELETE", &path, &c, None).status, 404);
    assert_eq!(
        h.call("PATCH", &path, &c, Some(json!({"name": "mine"})))
            .status,
        404
    );
    let c_create = h.create(&c, json!({"name": "x", "organization": "acme"}));
    assert_eq!(
        (c_create.status, c_create.message()),
        (404, "organization not found")
    );
    let nowhere = h.create(&a, json!({"name": "x", "organization": "nope"}));
    assert_eq!(nowhere.status, 404);

    // B renames and revokes A's key.
    let renamed = h.call("PATCH", &path, &b, Some(json!({"name": "deploy-2"})));
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(h.call("DELETE", &path, &b, None).status, 204);
    bearer_401(&h.call("GET", "/v1/me", &key, None), "invalid token");
    // A's personal token is not B's to touch.
    let a_personal = h.call("GET", "/v1/tokens", &a, None).body["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        h.call("DELETE", &format!("/v1/tokens/{a_personal}"), &b, None)
            .status,
        404
    );
}

#[test]
fn organization_key_cap() {
    let mut h = Harness::new(&[]);
    h.org("acme", &["a@example.com"]);
    let (_, a) = h.sign_in("a@example.com");
    for n in 0..my_api::MAX_ORGANIZATION_KEYS {
        let answer = h.create(&a, json!({"name": format!("k{n}"), "organization": "acme"}));
        assert_eq!(answer.status, 201);
    }
    let full = h.create(&a, json!({"name": "one-more", "organization": "acme"}));
    assert_eq!((full.status, full.code()), (409, "TOKEN_LIMIT_REACHED"));
    assert_eq!(
        full.message(),
        "this organization has 50 access keys: revoke one first"
    );
    // Personal tokens have their own cap.
    assert_eq!(h.create(&a, json!({"name": "mine"})).status, 201);
}

/// Sets up acme (members a, b) with project store (production, staging) and globex (c).
fn catalog(h: &mut Harness) -> (String, String) {
    let acme = h.org("acme", &["a@example.com", "b@example.com"]);
    h.org("globex", &["c@example.com", "a@example.com"]);
    let now = clock::now_secs();
    let project =
        h.db.write(|tx| -> DbResult<String> {
            let project = my_api::org::Project {
                id: secrets::new_id("proj"),
                organization: acme.clone(),
                name: "Store".into(),
                slug: "store".into(),
            };
            tx.insert_project(&project, now)?;
            for name in ["staging", "production"] {
                tx.insert_environment(
                    &crate::db::EnvironmentRow {
                        id: secrets::new_id("env"),
                        project_id: project.id.clone(),
                        name: name.into(),
                    },
                    now,
                )?;
            }
            Ok(project.id)
        })
        .unwrap();
    (acme, project)
}

#[test]
fn organization_scoping() {
    let mut h = Harness::new(&[]);
    let (acme, project) = catalog(&mut h);
    let (_, a) = h.sign_in("a@example.com");
    let (_, c) = h.sign_in("c@example.com");
    let personal = h.create(&a, json!({"name": "p"})).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let key = h
        .create(&a, json!({"name": "k", "organization": "acme"}))
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();

    let orgs = h.call("GET", "/v1/organizations", &a, None);
    let slugs: Vec<&str> = orgs.body["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);
    let orgs = h.call("GET", "/v1/organizations", &key, None);
    assert_eq!(
        orgs.body,
        json!({"organizations": [{"id": acme, "name": "ACME", "slug": "acme"}]})
    );

    for bearer in [&a, &personal] {
        let answer = h.call("GET", "/v1/projects", bearer, None);
        assert_eq!(
            (answer.status, answer.code()),
            (400, "ORGANIZATION_REQUIRED")
        );
        assert_eq!(
            answer.message(),
            "this command needs an organization: pass --organization or run `my use --organization <id>`"
        );
    }
    let projects = h.call("GET", "/v1/projects", &key, None);
    assert_eq!(
        projects.body,
        json!({"projects": [{"id": project, "organization": acme, "name": "Store", "slug": "store"}]})
    );
    for target in [
        "/v1/projects?organization=acme",
        &format!("/v1/projects?organization={acme}"),
    ] {
        assert_eq!(h.call("GET", target, &personal, None).body, projects.body);
        assert_eq!(h.call("GET", target, &key, None).body, projects.body);
    }
    let other = h.call("GET", "/v1/projects?organization=globex", &key, None);
    assert_eq!((other.status, other.code()), (403, "FORBIDDEN"));
    assert_eq!(
        other.message(),
        "this access key belongs to another organization"
    );
    let outsider = h.call("GET", "/v1/projects?organization=acme", &c, None);
    assert_eq!((outsider.status, outsider.code()), (404, "NOT_FOUND"));
    assert_eq!(outsider.message(), "organization \"acme\" not found");

    let envs = h.call("GET", "/v1/environments?project=store", &key, None);
    assert_eq!(
        envs.body,
        json!({"environments": [
            {"name": "production", "project": project},
            {"name": "staging", "project": project}
        ]})
    );
    let by_id = h.call(
        "GET",
        &format!("/v1/environments?organization=acme&project={project}"),
        &a,
        None,
    );
    assert_eq!(by_id.body, envs.body);
    let all = h.call("GET", "/v1/environments?organization=acme", &a, None);
    assert_eq!(all.body, envs.body);
    let missing = h.call("GET", "/v1/environments?project=shop", &key, None);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.message(),
        "project \"shop\" not found in organization \"acme\""
    );
    let none = h.call("GET", "/v1/environments?organization=globex", &a, None);
    assert_eq!(none.body, json!({"environments": []}));
}

#[test]
fn logs_pages_and_long_polls() {
    let mut h = Harness::new(&["--long-poll", "2s"]);
    catalog(&mut h);
    let (_, a) = h.sign_in("a@example.com");
    let key = h
        .create(&a, json!({"name": "k", "organization": "acme"}))
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let base = "/v1/logs?project=store&environment=production";

    let empty = h.call("GET", base, &key, None);
    assert_eq!(empty.body, json!({"lines": [], "next": 0}));
    let missing = h.call("GET", "/v1/logs?project=store&environment=qa", &key, None);
    assert_eq!(
        missing.message(),
        "environment \"qa\" not found in project \"store\""
    );
    assert_eq!(
        h.call("GET", "/v1/logs?project=store", &key, None).status,
        400
    );
    assert_eq!(
        h.call("GET", &format!("{base}&after=x"), &key, None).status,
        400
    );
    assert_eq!(
        h.call(
            "GET",
            "/v1/logs?environment=production&project=store",
            &a,
            None
        )
        .code(),
        "ORGANIZATION_REQUIRED"
    );

    let appended = h.call(
        "POST",
        "/v1/logs",
        &key,
        Some(json!({"project": "store", "environment": "production", "lines": ["one", "two", "three"]})),
    );
    assert_eq!(appended.status, 201, "{}", appended.body);
    let seqs: Vec<u64> = appended.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 3);
    let bad = h.call(
        "POST",
        "/v1/logs",
        &key,
        Some(json!({"project": "store", "environment": "production", "lines": ["a\nb"]})),
    );
    assert_eq!(bad.status, 400);

    let tail = h.call("GET", &format!("{base}&limit=2"), &key, None);
    let messages: Vec<&str> = tail.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["two", "three"]);
    assert_eq!(tail.body["next"], seqs[2]);
    assert!(tail.body["lines"][0]["time"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let after = h.call("GET", &format!("{base}&after={}", seqs[0]), &key, None);
    assert_eq!(after.body["lines"].as_array().unwrap().len(), 2);

    // A follow with nothing new waits for the long-poll time and answers empty.
    let started = Instant::now();
    let waited = h.call(
        "GET",
        &format!("{base}&after={}&follow=1", seqs[2]),
        &key,
        None,
    );
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(waited.body, json!({"lines": [], "next": seqs[2]}));

    // A line appended by another connection (as `admin log append` would) ends the wait.
    let mut other = h.connection();
    let env_id = other
        .read(|tx| -> DbResult<String> {
            let project = tx
                .project(&tx.organization("acme")?.unwrap().id, "store")?
                .unwrap();
            Ok(tx.environment(&project.id, "production")?.unwrap().id)
        })
        .unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        other
            .write(|tx| tx.append_logs(&env_id, clock::now_millis(), &["four"]))
            .unwrap()
    });
    let started = Instant::now();
    let woke = h.call(
        "GET",
        &format!("{base}&after={}&follow=1", seqs[2]),
        &key,
        None,
    );
    let four = writer.join().unwrap()[0];
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(woke.body["lines"][0]["message"], "four");
    assert_eq!(woke.body["next"], four);
}

#[test]
fn an_append_through_the_api_wakes_a_poll_at_once() {
    let mut h = Harness::new(&["--long-poll", "10s"]);
    catalog(&mut h);
    let (_, a) = h.sign_in("a@example.com");
    let app = Arc::clone(&h.app);
    let mut db = h.connection();
    let bearer = a.clone();
    let poller = std::thread::spawn(move || {
        let request = Request::for_test(
            "GET",
            "/v1/logs?organization=acme&project=store&environment=staging&follow=1",
            Some(&bearer),
            None,
        );
        let started = Instant::now();
        let answer = call_with(&app, &mut db, &request);
        (answer.body, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let body = json!({"organization": "acme", "project": "store", "environment": "staging", "lines": ["hello"]});
    assert_eq!(h.call("POST", "/v1/logs", &a, Some(body)).status, 201);
    let (page, elapsed) = poller.join().unwrap();
    assert_eq!(page["lines"][0]["message"], "hello");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn tokens_are_stored_hashed() {
    let mut h = Harness::new(&[]);
    let (_, session) = h.sign_in("ann@example.com");
    let token = h.create(&session, json!({"name": "ci"})).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let hash = secrets::sha256_hex(&token);
    if let Target::Pg(_) = h.target {
        let stored: Vec<String> =
            h.db.read(|tx| {
                tx.query_map(
                    "SELECT token_hash FROM api_tokens",
                    crate::db::sql::params![],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(stored, [hash]);
        return;
    }
    // Checkpoint the WAL so the main file holds everything, then scan both.
    h.db.checkpoint_for_test();
    for file in ["t.db", "t.db-wal"] {
        let bytes = std::fs::read(h.dir.join(file)).unwrap_or_default();
        let found = bytes.windows(30).any(|w| w == &token.as_bytes()[4..34]);
        assert!(!found, "the raw token is in {file}");
    }
    let stored = std::fs::read(h.dir.join("t.db")).unwrap();
    assert!(stored.windows(64).any(|w| w == hash.as_bytes()));
}

#[test]
fn health_probes_need_no_token_and_readyz_asks_the_database() {
    let mut h = Harness::new(&[]);
    let probe = |h: &mut Harness, path: &str| {
        call_with(
            &h.app,
            &mut h.db,
            &Request::for_test("GET", path, None, None),
        )
    };
    let healthz = probe(&mut h, routes::HEALTHZ);
    assert_eq!(
        (healthz.status, healthz.body["status"].as_str()),
        (200, Some("ok"))
    );
    let readyz = probe(&mut h, routes::READYZ);
    assert_eq!(
        (readyz.status, readyz.body["status"].as_str()),
        (200, Some("ok"))
    );
    assert_eq!(readyz.reply.header_value("Cache-Control"), Some("no-store"));

    // A database that cannot answer (here: its schema is gone) is not ready; the process
    // still is up.
    h.connection()
        .write(|tx| tx.execute_batch("DROP TABLE server_secret"))
        .unwrap();
    let readyz = probe(&mut h, routes::READYZ);
    assert_eq!((readyz.status, readyz.code()), (503, "NOT_READY"));
    assert_eq!(probe(&mut h, routes::HEALTHZ).status, 200);
}
