//! In-process tests of the catalog endpoints — profiles, the library registry, personal
//! commands, `GET /v1/catalog` — and of `my-server admin library import`, on the real
//! router and a real SQLite file. The body limits are tested over a real socket, since
//! they are enforced before routing.

use super::{Answer, Harness};
use crate::admin::{self, Task};
use crate::app::App;
use crate::web::Request;
use crate::{routes, serve};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

/// A valid spec whose one step runs `line`.
fn spec(slug: &str, line: &str) -> Value {
    json!({
        "schemaVersion": 1,
        "kind": "command",
        "metadata": {"name": format!("The {slug} command"), "slug": slug},
        "steps": [{"name": "run", "run": [line]}]
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    my_api::spec::spec_hash(bytes)
}

impl Harness {
    fn get(&mut self, target: &str, bearer: &str) -> Answer {
        self.call("GET", target, bearer, None)
    }

    fn post(&mut self, target: &str, bearer: &str, body: Value) -> Answer {
        self.call("POST", target, bearer, Some(body))
    }

    /// The answer to a GET with extra headers.
    fn get_with(&mut self, target: &str, bearer: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::for_test("GET", target, Some(bearer), None);
        for (name, value) in headers {
            request.set_header_for_test(name, value);
        }
        let reply = routes::route(&self.app, &mut self.db, &request).expect("no server error");
        Answer {
            status: reply.status,
            body: if reply.status == 304 {
                Value::Null
            } else {
                serde_json::from_str(&reply.body_text()).unwrap_or(Value::Null)
            },
            reply,
        }
    }

    fn push(&mut self, bearer: &str, spec: Value) -> Answer {
        self.post(
            "/v1/commands",
            bearer,
            json!({"spec": spec, "message": "test"}),
        )
    }

    /// Publishes a release of the caller's library `slug` with these specs.
    fn release(&mut self, bearer: &str, slug: &str, version: &str, specs: Vec<Value>) -> Answer {
        let body = json!({
            "version": version,
            "name": slug.to_uppercase(),
            "description": format!("the {slug} library"),
            "aliases": [format!("{}x", &slug[..1])],
            "commands": specs
        });
        self.post(&format!("/v1/libraries/{slug}/releases"), bearer, body)
    }

    /// Runs `my-server admin library import DIR` against this harness's database.
    fn import(&self, dir: &Path, version: Option<&str>) -> Result<(), String> {
        admin::run(
            &self.target.setting(),
            Task::LibraryImport {
                dir: dir.to_path_buf(),
                version: version.map(str::to_string),
            },
        )
    }

    /// The slugs (with library) of a catalog's items.
    fn items(&mut self, target: &str, bearer: &str) -> Vec<String> {
        let answer = self.get(target, bearer);
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| match item["library"]["slug"].as_str() {
                Some(library) => format!("{library}/{}", item["slug"].as_str().unwrap()),
                None => item["slug"].as_str().unwrap().to_string(),
            })
            .collect()
    }
}

fn error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.code(), code, "{}", answer.body);
}

#[test]
fn profiles_life_cycle() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");

    // Every user has `default`, from the start.
    let list = h.get("/v1/profiles", &ann);
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["profiles"][0]["slug"], "default");
    assert_eq!(list.body["profiles"][0]["is_default"], true);
    assert_eq!(list.body["profiles"].as_array().unwrap().len(), 1);

    let made = h.post(
        "/v1/profiles",
        &ann,
        json!({"slug": "work", "name": "Work", "description": "day job"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made.body["id"].as_str().unwrap().starts_with("prof_"));
    assert_eq!(made.body["name"], "Work");
    assert_eq!(made.body["is_default"], false);
    assert!(made.body["created_at"].as_str().unwrap().ends_with('Z'));
    let plain = h.post("/v1/profiles", &ann, json!({"slug": "a-1"}));
    assert_eq!(plain.body["name"], "a-1");

    error(
        &h.post("/v1/profiles", &ann, json!({"slug": "work"})),
        409,
        "PROFILE_EXISTS",
    );
    let bad = h.post("/v1/profiles", &ann, json!({"slug": "Work"}));
    error(&bad, 400, "INVALID_SLUG");
    assert!(bad.message().contains("\"Work\""), "{}", bad.message());
    error(
        &h.post("/v1/profiles", &ann, json!({"slug": "x", "color": "red"})),
        400,
        "BAD_REQUEST",
    );

    let slugs: Vec<Value> = h.get("/v1/profiles", &ann).body["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("default"), json!("a-1"), json!("work")]);

    let shown = h.get("/v1/profiles/work", &ann);
    assert_eq!(shown.body["description"], "day job");
    assert_eq!(shown.body["libraries"], json!([]));
    let missing = h.get("/v1/profiles/nope", &ann);
    error(&missing, 404, "NOT_FOUND");
    assert_eq!(missing.message(), "profile \"nope\" not found");

    let patched = h.call(
        "PATCH",
        "/v1/profiles/work",
        &ann,
        Some(json!({"name": "Office"})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Office");
    assert_eq!(patched.body["description"], "day job");
    let slug_change = h.call(
        "PATCH",
        "/v1/profiles/work",
        &ann,
        Some(json!({"slug": "w"})),
    );
    error(&slug_change, 400, "BAD_REQUEST");

    // `default` keeps its name and cannot go.
    let rename = h.call(
        "PATCH",
        "/v1/profiles/default",
        &ann,
        Some(json!({"name": "Main"})),
    );
    error(&rename, 400, "DEFAULT_PROFILE");
    let described = h.call(
        "PATCH",
        "/v1/profiles/default",
        &ann,
        Some(json!({"description": "mine"})),
    );
    assert_eq!(described.status, 200, "{}", described.body);
    error(
        &h.call("DELETE", "/v1/profiles/default", &ann, None),
        400,
        "DEFAULT_PROFILE",
    );

    let deleted = h.call("DELETE", "/v1/profiles/a-1", &ann, None);
    assert_eq!(deleted.status, 204);
    error(&h.get("/v1/profiles/a-1", &ann), 404, "NOT_FOUND");
    error(
        &h.call("DELETE", "/v1/profiles/a-1", &ann, None),
        404,
        "NOT_FOUND",
    );

    // Another user sees none of it.
    let (_, bob) = h.sign_in("bob@example.com");
    error(&h.get("/v1/profiles/work", &bob), 404, "NOT_FOUND");
    assert_eq!(
        h.get("/v1/profiles", &bob).body["profiles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn scoped_tokens_and_deleting_their_profile() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let unknown = h.create(&ann, json!({"name": "ci", "profile": "work"}));
    error(&unknown, 404, "NOT_FOUND");
    assert_eq!(unknown.message(), "profile \"work\" not found");

    h.post("/v1/profiles", &ann, json!({"slug": "work"}));
    let created = h.create(&ann, json!({"name": "ci", "profile": "work"}));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["profile"], "work");
    let token = created.body["token"].as_str().unwrap().to_string();
    let listed = h.get("/v1/tokens", &ann);
    assert_eq!(listed.body["tokens"][0]["profile"], "work");

    assert_eq!(h.get("/v1/me", &token).body["username"], "ann");
    // The token reads its profile's catalog, and no other.
    let catalog = h.get("/v1/catalog", &token);
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    assert_eq!(catalog.body["profile"], "work");
    assert_eq!(h.get("/v1/catalog?profile=work", &token).status, 200);
    let other = h.get("/v1/catalog?profile=default", &token);
    error(&other, 403, "PROFILE_SCOPE");
    assert!(other.message().contains("\"work\""), "{}", other.message());
    error(&h.get("/v1/profiles/default", &token), 403, "PROFILE_SCOPE");
    assert_eq!(h.get("/v1/profiles/work", &token).status, 200);
    // A session is not scoped.
    assert_eq!(
        h.get("/v1/catalog?profile=default", &ann).body["profile"],
        "default"
    );

    // Its profile cannot go while it is in use, unless forced.
    let refused = h.call("DELETE", "/v1/profiles/work", &ann, None);
    error(&refused, 409, "HAS_SCOPED_TOKENS");
    assert!(
        refused.message().contains("1 API token is scoped"),
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("--force"),
        "{}",
        refused.message()
    );
    assert_eq!(h.get("/v1/catalog", &token).status, 200);
    error(
        &h.call("DELETE", "/v1/profiles/work?force=maybe", &ann, None),
        400,
        "BAD_REQUEST",
    );
    let forced = h.call("DELETE", "/v1/profiles/work?force=true", &ann, None);
    assert_eq!(forced.status, 204);
    assert_eq!(h.get("/v1/catalog", &token).status, 401);
    assert_eq!(h.get("/v1/tokens", &ann).body["tokens"], json!([]));

    // A profile made again under the same slug is a new one: nothing points at it.
    h.post("/v1/profiles", &ann, json!({"slug": "work"}));
    assert_eq!(
        h.call("DELETE", "/v1/profiles/work", &ann, None).status,
        204
    );
}

#[test]
fn organization_keys_are_refused_with_a_pointer_to_personal_tokens() {
    let mut h = Harness::new(&[]);
    h.org("acme", &["ann@example.com"]);
    let (_, ann) = h.sign_in("ann@example.com");
    let scoped = h.create(
        &ann,
        json!({"name": "k", "organization": "acme", "profile": "default"}),
    );
    assert_eq!(scoped.status, 400, "{}", scoped.body);
    assert!(
        scoped.message().contains("--profile"),
        "{}",
        scoped.message()
    );
    let key = h.create(&ann, json!({"name": "k", "organization": "acme"}));
    let key = key.body["token"].as_str().unwrap().to_string();
    for (method, target) in [
        ("GET", "/v1/catalog"),
        ("GET", "/v1/profiles"),
        ("GET", "/v1/profiles/default"),
        ("GET", "/v1/libraries"),
        ("GET", "/v1/commands"),
        ("DELETE", "/v1/commands/cmd_x"),
    ] {
        let answer = h.call(method, target, &key, None);
        error(&answer, 403, "PERSONAL_CREDENTIAL_REQUIRED");
        assert!(
            answer.message().contains("personal token"),
            "{}",
            answer.message()
        );
    }
    let push = h.push(&key, spec("hello", "echo hi"));
    error(&push, 403, "PERSONAL_CREDENTIAL_REQUIRED");
    // Without any credential: 401.
    let anonymous = Request::for_test("GET", "/v1/catalog", None, None);
    assert_eq!(super::call_with(&h.app, &mut h.db, &anonymous).status, 401);
}

#[test]
fn personal_commands_and_their_versions() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");

    let first = h.push(&ann, spec("hello", "echo hi"));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["created_version"], true);
    let command = &first.body["command"];
    let id = command["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cmd_"));
    assert_eq!(command["version"], 1);
    assert_eq!(command["name"], "The hello command");

    // The body is the stored canonical bytes, and they hash to spec_hash.
    let body = h.get(&format!("/v1/commands/{id}/versions/1"), &ann);
    assert_eq!(body.status, 200);
    assert_eq!(
        body.reply.header_value("Content-Type"),
        Some("application/json")
    );
    let bytes = body.reply.body_text().into_bytes();
    assert_eq!(sha256_hex(&bytes), command["spec_hash"].as_str().unwrap());
    let canonical = my_api::spec::canonical_json(&my_api::spec::Spec::from_json(&bytes).unwrap());
    assert_eq!(bytes, canonical);

    // The same spec, formatted otherwise: no new version.
    let mut reordered = spec("hello", "echo hi");
    reordered["steps"][0]["continueOnError"] = json!(false);
    let again = h.push(&ann, reordered);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["created_version"], false);
    assert_eq!(again.body["command"]["version"], 1);

    let second = h.push(&ann, spec("hello", "echo hello"));
    assert_eq!(second.status, 201);
    assert_eq!(second.body["command"]["id"], id.as_str());
    assert_eq!(second.body["command"]["version"], 2);
    assert_ne!(second.body["command"]["spec_hash"], command["spec_hash"]);
    // Old versions stay readable.
    assert_eq!(
        h.get(&format!("/v1/commands/{id}/versions/1"), &ann).status,
        200
    );
    for missing in ["3", "0", "01", "x", "-1"] {
        let answer = h.get(&format!("/v1/commands/{id}/versions/{missing}"), &ann);
        error(&answer, 404, "NOT_FOUND");
    }

    h.push(&ann, spec("build", "make"));
    let list = h.get("/v1/commands", &ann);
    let slugs: Vec<&str> = list.body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["build", "hello"]);

    // Bob can neither read nor delete Ann's command.
    let (_, bob) = h.sign_in("bob@example.com");
    error(
        &h.get(&format!("/v1/commands/{id}/versions/1"), &bob),
        404,
        "NOT_FOUND",
    );
    error(
        &h.call("DELETE", &format!("/v1/commands/{id}"), &bob, None),
        404,
        "NOT_FOUND",
    );
    assert_eq!(h.get("/v1/commands", &bob).body["commands"], json!([]));

    assert_eq!(
        h.call("DELETE", &format!("/v1/commands/{id}"), &ann, None)
            .status,
        204
    );
    error(
        &h.call("DELETE", &format!("/v1/commands/{id}"), &ann, None),
        404,
        "NOT_FOUND",
    );
    assert_eq!(h.items("/v1/catalog", &ann), ["build"]);
    error(
        &h.get(&format!("/v1/commands/{id}/versions/1"), &ann),
        404,
        "NOT_FOUND",
    );
    // The slug is free again: a new command, from v1.
    let reborn = h.push(&ann, spec("hello", "echo hi"));
    assert_eq!(reborn.status, 201);
    assert_ne!(reborn.body["command"]["id"], id.as_str());
    assert_eq!(reborn.body["command"]["version"], 1);
}

#[test]
fn invalid_specs_name_the_field() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let mut no_steps = spec("a", "x");
    no_steps.as_object_mut().unwrap().remove("steps");
    let mut empty_steps = spec("a", "x");
    empty_steps["steps"] = json!([]);
    let mut unknown = spec("a", "x");
    unknown["args"] = json!({"flags": [{"name": "env", "colour": "red"}]});
    let mut bad_version = spec("a", "x");
    bad_version["schemaVersion"] = json!(2);
    for (spec, wanted) in [
        (no_steps, "spec.steps"),
        (empty_steps, "spec.steps: must have at least one step"),
        (spec("Bad", "x"), "spec.metadata.slug"),
        (unknown, "unknown field \"colour\""),
        (bad_version, "spec.schemaVersion"),
        (json!("not an object"), "invalid spec"),
    ] {
        let answer = h.push(&ann, spec);
        error(&answer, 400, "INVALID_SPEC");
        assert!(
            answer.message().contains(wanted),
            "{wanted:?} not in {:?}",
            answer.message()
        );
    }
    assert_eq!(h.get("/v1/commands", &ann).body["commands"], json!([]));
    error(
        &h.post(
            "/v1/commands",
            &ann,
            json!({"spec": spec("a", "x"), "x": 1}),
        ),
        400,
        "BAD_REQUEST",
    );
    let long = "m".repeat(1001);
    error(
        &h.post(
            "/v1/commands",
            &ann,
            json!({"spec": spec("a", "x"), "message": long}),
        ),
        400,
        "BAD_REQUEST",
    );
}

#[test]
fn the_registry_releases_installs_and_catalogs() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let (_, bob) = h.sign_in("bob@example.com");
    let me = h.get("/v1/me", &ann);
    assert_eq!(me.body["username"], "ann");

    let released = h.release(
        &ann,
        "ops",
        "1.0.0",
        vec![spec("deploy", "echo deploy"), spec("backup", "echo backup")],
    );
    assert_eq!(released.status, 201, "{}", released.body);
    assert_eq!(released.body["library"]["owner"], "ann");
    assert_eq!(released.body["library"]["version"], "1.0.0");
    assert_eq!(released.body["library"]["commands"], 2);
    error(
        &h.release(&ann, "ops", "1.0.0", vec![spec("deploy", "echo other")]),
        409,
        "RELEASE_EXISTS",
    );
    let bad_spec = h.release(&ann, "ops", "1.1.0", vec![spec("a", "x"), spec("B", "x")]);
    error(&bad_spec, 400, "INVALID_SPEC");
    assert!(
        bad_spec.message().contains("commands[1].metadata.slug"),
        "{}",
        bad_spec.message()
    );
    let twice = h.release(&ann, "ops", "1.1.0", vec![spec("a", "x"), spec("a", "y")]);
    error(&twice, 400, "INVALID_SPEC");
    assert!(
        twice.message().contains("commands[1]"),
        "{}",
        twice.message()
    );
    error(
        &h.release(&ann, "ops", "1.1", vec![spec("a", "x")]),
        400,
        "BAD_REQUEST",
    );
    error(
        &h.release(&ann, "ops", "1.1.0", vec![]),
        400,
        "INVALID_SPEC",
    );
    error(
        &h.release(&ann, "Ops", "1.0.0", vec![spec("a", "x")]),
        400,
        "INVALID_SLUG",
    );
    // Bob's library of the same slug is another library.
    let bobs = h.release(&bob, "ops", "3.0.0", vec![spec("deploy", "echo bob")]);
    assert_eq!(bobs.status, 201, "{}", bobs.body);

    // Search and show.
    let all = h.get("/v1/libraries", &bob);
    let refs: Vec<String> = all.body["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                l["owner"].as_str().unwrap(),
                l["slug"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(refs, ["ann/ops", "bob/ops"]);
    assert_eq!(all.body["libraries"][0]["latest_version"], "1.0.0");
    let found = h.get("/v1/libraries?q=BOB", &ann);
    assert_eq!(found.body["libraries"].as_array().unwrap().len(), 1);
    assert_eq!(
        h.get("/v1/libraries?q=100%25", &ann).body["libraries"],
        json!([])
    );
    let shown = h.get("/v1/libraries/ann/ops", &bob);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["versions"], json!(["1.0.0"]));
    let commands: Vec<&str> = shown.body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["backup", "deploy"]);
    assert_eq!(h.get("/v1/libraries/ann/ox", &bob).body["slug"], "ops");
    let nope = h.get("/v1/libraries/ann/nope", &bob);
    error(&nope, 404, "NOT_FOUND");
    assert_eq!(nope.message(), "library \"ann/nope\" not found");
    error(&h.get("/v1/libraries/ops", &bob), 404, "NOT_FOUND");
    error(&h.get("/v1/libraries/zed/ops", &bob), 404, "NOT_FOUND");

    // Install into `default` and into `work`: each catalog holds its own libraries and the
    // user's personal commands, personal first.
    h.post("/v1/profiles", &bob, json!({"slug": "work"}));
    h.push(&bob, spec("zz-mine", "echo mine"));
    let install = |h: &mut Harness, profile: &str, library: &str| {
        h.post(
            &format!("/v1/profiles/{profile}/libraries"),
            &bob,
            json!({"library": library}),
        )
    };
    let installed = install(&mut h, "default", "ann/ops");
    assert_eq!(installed.status, 201, "{}", installed.body);
    assert_eq!(installed.body["version"], "1.0.0");
    assert_eq!(installed.body["commands"], 2);
    error(
        &install(&mut h, "default", "ann/ops"),
        409,
        "ALREADY_INSTALLED",
    );
    error(&install(&mut h, "default", "ann/nope"), 404, "NOT_FOUND");
    error(&install(&mut h, "nope", "ann/ops"), 404, "NOT_FOUND");
    assert_eq!(install(&mut h, "work", "bob/ops").status, 201);
    assert_eq!(
        h.items("/v1/catalog", &bob),
        ["zz-mine", "ops/backup", "ops/deploy"]
    );
    assert_eq!(
        h.items("/v1/catalog?profile=work", &bob),
        ["zz-mine", "ops/deploy"]
    );
    let work = h.get("/v1/catalog?profile=work", &bob);
    assert_eq!(work.body["items"][1]["library"]["owner"], "bob");
    assert_eq!(work.body["items"][0]["library"], Value::Null);
    let default = h.get("/v1/catalog", &bob);
    let deploy = &default.body["items"][2];
    assert_eq!(
        deploy["library"],
        json!({"owner": "ann", "slug": "ops", "aliases": ["ox"]})
    );
    assert_eq!(deploy["version"], 1);
    // Anyone may read a library command's body.
    let body = h.get(
        &format!(
            "/v1/commands/{}/versions/1",
            deploy["command_id"].as_str().unwrap()
        ),
        &bob,
    );
    assert_eq!(
        sha256_hex(body.reply.body_text().as_bytes()),
        deploy["spec_hash"].as_str().unwrap()
    );
    error(&h.get("/v1/catalog?profile=nope", &bob), 404, "NOT_FOUND");

    // A new release reaches a profile when it is installed again.
    let v11 = h.release(
        &ann,
        "ops",
        "1.1.0",
        vec![
            spec("deploy", "echo deploy v2"),
            spec("backup", "echo backup"),
        ],
    );
    assert_eq!(v11.status, 201, "{}", v11.body);
    assert_eq!(h.get("/v1/catalog", &bob).body["items"][2]["version"], 1);
    let upgraded = install(&mut h, "default", "ann/ox");
    assert_eq!(upgraded.status, 200, "{}", upgraded.body);
    assert_eq!(upgraded.body["version"], "1.1.0");
    let after = h.get("/v1/catalog", &bob);
    assert_eq!(after.body["items"][2]["version"], 2);
    assert_eq!(
        after.body["items"][1]["version"], 1,
        "an unchanged spec keeps its version"
    );
    let listed = h.get("/v1/profiles/default/libraries", &bob);
    assert_eq!(listed.body["libraries"][0]["version"], "1.1.0");
    assert_eq!(
        h.get("/v1/profiles/default", &bob).body["libraries"][0]["slug"],
        "ops"
    );

    // Uninstall: gone at the next read.
    assert_eq!(
        h.call(
            "DELETE",
            "/v1/profiles/default/libraries/ann/ops",
            &bob,
            None
        )
        .status,
        204
    );
    assert_eq!(h.items("/v1/catalog", &bob), ["zz-mine"]);
    let again = h.call(
        "DELETE",
        "/v1/profiles/default/libraries/ann/ops",
        &bob,
        None,
    );
    error(&again, 404, "NOT_FOUND");
    assert!(
        again.message().contains("not installed"),
        "{}",
        again.message()
    );
}

#[test]
fn the_catalog_etag_and_if_none_match() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    h.push(&ann, spec("hello", "echo hi"));
    let first = h.get("/v1/catalog", &ann);
    assert_eq!(first.status, 200);
    let etag = first.reply.header_value("ETag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 66,
        "{etag}"
    );
    assert_eq!(
        etag,
        format!("\"{}\"", sha256_hex(first.reply.body_text().as_bytes()))
    );
    assert_eq!(first.body["profile"], "default");

    for matching in [
        etag.clone(),
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
        "*".to_string(),
    ] {
        let answer = h.get_with("/v1/catalog", &ann, &[("If-None-Match", &matching)]);
        assert_eq!(answer.status, 304, "{matching}");
        assert_eq!(answer.reply.body_text(), "");
        assert_eq!(answer.reply.header_value("ETag"), Some(etag.as_str()));
    }
    for other in ["\"other\"", etag.trim_matches('"'), ""] {
        let answer = h.get_with("/v1/catalog", &ann, &[("If-None-Match", other)]);
        assert_eq!(answer.status, 200, "{other}");
    }
    // Same items, another profile: another tag.
    h.post("/v1/profiles", &ann, json!({"slug": "work"}));
    let work = h.get_with(
        "/v1/catalog?profile=work",
        &ann,
        &[("If-None-Match", &etag)],
    );
    assert_eq!(work.status, 200);
    assert_ne!(work.reply.header_value("ETag"), Some(etag.as_str()));

    // A new version changes the tag, the version and the hash.
    let old_hash = first.body["items"][0]["spec_hash"].clone();
    h.push(&ann, spec("hello", "echo hello"));
    let changed = h.get_with("/v1/catalog", &ann, &[("If-None-Match", &etag)]);
    assert_eq!(changed.status, 200);
    assert_ne!(changed.reply.header_value("ETag"), Some(etag.as_str()));
    assert_eq!(changed.body["items"][0]["version"], 2);
    assert_ne!(changed.body["items"][0]["spec_hash"], old_hash);
}

/// A folder like `examples/libraries`: a manifest and one spec per command.
fn source(dir: &Path, deploy_line: &str) {
    std::fs::create_dir_all(dir.join("ops")).unwrap();
    std::fs::create_dir_all(dir.join("kube")).unwrap();
    std::fs::write(
        dir.join("mycli.yaml"),
        "schemaVersion: 1\nname: test\nlibraries:\n  ops:\n    name: Ops\n    path: ops\n    aliases: [o]\n  kubernetes:\n    name: Kubernetes\n    path: kube\n    aliases: [k]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ops/deploy.yaml"),
        format!("schemaVersion: 1\nkind: command\nmetadata:\n  name: Deploy\n  slug: deploy\nsteps:\n  - name: go\n    run: [\"{deploy_line}\"]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("kube/pods.json"),
        spec("pods", "kubectl get pods").to_string(),
    )
    .unwrap();
}

#[test]
fn admin_library_import_publishes_system_libraries() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let dir = h.dir.join("libraries");
    source(&dir, "echo deploying");
    h.import(&dir, None).unwrap();
    let ops = h.get("/v1/libraries/ops", &ann);
    assert_eq!(ops.status, 200, "{}", ops.body);
    assert_eq!(ops.body["owner"], Value::Null);
    assert_eq!(ops.body["versions"], json!(["1.0.0"]));
    assert_eq!(ops.body["aliases"], json!(["o"]));
    assert_eq!(h.get("/v1/libraries/k", &ann).body["slug"], "kubernetes");

    // Unchanged: nothing new.
    h.import(&dir, None).unwrap();
    assert_eq!(
        h.get("/v1/libraries/ops", &ann).body["versions"],
        json!(["1.0.0"])
    );

    // Changed: the next patch, for the changed library only.
    source(&dir, "echo deploying v2");
    h.import(&dir, None).unwrap();
    assert_eq!(
        h.get("/v1/libraries/ops", &ann).body["versions"],
        json!(["1.0.1", "1.0.0"])
    );
    assert_eq!(
        h.get("/v1/libraries/kubernetes", &ann).body["versions"],
        json!(["1.0.0"])
    );
    let installed = h.post(
        "/v1/profiles/default/libraries",
        &ann,
        json!({"library": "o"}),
    );
    assert_eq!(installed.status, 201, "{}", installed.body);
    assert_eq!(installed.body["version"], "1.0.1");
    assert_eq!(h.items("/v1/catalog", &ann), ["ops/deploy"]);

    // An explicit version that exists, with other content, is refused; a bad one too.
    source(&dir, "echo deploying v3");
    let exists = h.import(&dir, Some("1.0.0")).unwrap_err();
    assert_eq!(
        exists,
        "library \"ops\": version 1.0.0 was already released: choose another version"
    );
    let bad = h.import(&dir, Some("3")).unwrap_err();
    assert!(bad.contains("MAJOR.MINOR.PATCH"), "{bad}");
    h.import(&dir, Some("3.0.0")).unwrap();
    assert_eq!(
        h.get("/v1/libraries/kubernetes", &ann).body["versions"],
        json!(["3.0.0", "1.0.0"])
    );

    // An invalid spec names its file and field; nothing is published.
    std::fs::write(
        dir.join("ops/deploy.yaml"),
        "schemaVersion: 1\nkind: command\nmetadata:\n  name: Deploy\n  slug: deploy\n",
    )
    .unwrap();
    let invalid = h.import(&dir, None).unwrap_err();
    assert!(invalid.contains("deploy.yaml"), "{invalid}");
    assert!(invalid.contains("steps"), "{invalid}");
    let none = h.import(&h.dir.join("nowhere"), None).unwrap_err();
    assert!(none.contains("no manifest"), "{none}");
    assert_eq!(
        h.get("/v1/libraries/kubernetes", &ann).body["versions"],
        json!(["3.0.0", "1.0.0"])
    );
}

#[test]
fn the_example_libraries_import_and_install() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/libraries");
    h.import(&examples, None).unwrap();
    h.import(&examples, None).unwrap();
    let kubernetes = h.get("/v1/libraries/k", &ann);
    assert_eq!(kubernetes.status, 200, "{}", kubernetes.body);
    assert_eq!(kubernetes.body["versions"], json!(["1.0.0"]));
    let slugs: Vec<&str> = kubernetes.body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["logs", "pods", "port-forward"]);
    let installed = h.post(
        "/v1/profiles/default/libraries",
        &ann,
        json!({"library": "ops"}),
    );
    assert_eq!(installed.status, 201, "{}", installed.body);
    assert_eq!(h.items("/v1/catalog", &ann), ["ops/deploy", "ops/disk"]);
    let deploy = &h.get("/v1/catalog", &ann).body["items"][0];
    let body = h.get(
        &format!(
            "/v1/commands/{}/versions/1",
            deploy["command_id"].as_str().unwrap()
        ),
        &ann,
    );
    let spec = my_api::spec::Spec::from_json(body.reply.body_text().as_bytes()).unwrap();
    assert_eq!(spec.args.flags[0].name, "env");
}

/// Sends a raw request to `addr`; the status code and the whole answer.
fn raw_exchange(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before reading the whole body.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn body_limits_are_per_route() {
    let h = Harness::new(&[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app: Arc<App> = Arc::clone(&h.app);
    let settings = app.settings.clone();
    let db = h.connection();
    std::thread::spawn(move || {
        serve::run(
            listener,
            &settings,
            vec![db],
            routes::body_limit,
            move |db, request| routes::dispatch(&app, db, request),
        )
    });
    let post = |path: &str, size: usize| {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {size}\r\nConnection: close\r\n\r\n"
        );
        raw_exchange(&addr, &head, &vec![b' '; size])
    };
    let status = |path: &str, size: usize| post(path, size).0;
    // Above the old global 64 KiB but within 256 KiB: read, then refused for want of a
    // bearer token (401), not for its size.
    assert_eq!(status("/v1/commands", 100 * 1024), 401);
    assert_eq!(status("/v1/commands", 256 * 1024 + 1), 413);
    assert_eq!(status("/v1/libraries/ops/releases", 1024 * 1024), 401);
    assert_eq!(
        status("/v1/libraries/ops/releases", 4 * 1024 * 1024 + 1),
        413
    );
    // Other routes keep 64 KiB.
    assert_eq!(status("/v1/tokens", 64 * 1024 + 1), 413);
    assert_eq!(status("/v1/tokens", 1024), 401);
    let (_, answer) = post("/v1/libraries/ops/releases", 4 * 1024 * 1024 + 1);
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
    assert!(answer.contains("larger than 4 MiB"), "{answer}");
}

#[test]
fn unknown_paths_and_methods() {
    let mut h = Harness::new(&[]);
    let (_, ann) = h.sign_in("ann@example.com");
    let put = h.call("PUT", "/v1/catalog", &ann, None);
    assert_eq!(put.status, 405);
    assert_eq!(put.reply.header_value("Allow"), Some("GET"));
    let put = h.call("PUT", "/v1/profiles/work", &ann, None);
    assert_eq!(put.reply.header_value("Allow"), Some("GET, PATCH, DELETE"));
    error(&h.get("/v1/profiles/a/b/c/d/e", &ann), 404, "NOT_FOUND");
    error(&h.get("/v1/commands/x/versions", &ann), 404, "NOT_FOUND");
}
