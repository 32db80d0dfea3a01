//! The catalog end to end: profiles, registry libraries, personal commands, the sync with its
//! ETag and hash checks, and the cache that `status` and the offline fallbacks read.

use crate::util::*;
use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};

const NOT_FOUND: i32 = 6;

fn signed_in(server: &Server, email: &str) -> TestEnv {
    let env = TestEnv::new(server);
    env.login(server, email).ok();
    env
}

/// A server whose registry holds the example libraries (kubernetes: 3 commands, ops: 2).
fn server_with_examples() -> Server {
    let server = Server::start(&[]);
    server.admin(&["library", "import", &examples_dir().display().to_string()]);
    server
}

/// The cached catalog of `profile`, if there is one.
fn cached(env: &TestEnv, profile: &str) -> Option<Value> {
    let path = catalog_file(env, profile);
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("the cached catalog is JSON"))
}

fn catalog_file(env: &TestEnv, profile: &str) -> PathBuf {
    env.config_dir()
        .join("cache/profiles")
        .join(profile)
        .join("catalog.json")
}

fn spec_file(env: &TestEnv, item: &Value) -> PathBuf {
    env.config_dir()
        .join("cache/specs")
        .join(item["command_id"].as_str().unwrap())
        .join(format!("{}.json", item["version"]))
}

/// `library/slug` for library commands, `slug` for personal ones, sorted.
fn names(catalog: &Value) -> Vec<String> {
    let mut names: Vec<String> = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| match i["library"]["slug"].as_str() {
            Some(lib) => format!("{lib}/{}", i["slug"].as_str().unwrap()),
            None => i["slug"].as_str().unwrap().to_string(),
        })
        .collect();
    names.sort();
    names
}

fn item<'a>(catalog: &'a Value, slug: &str) -> &'a Value {
    catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == slug)
        .unwrap_or_else(|| panic!("no {slug} in {catalog}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a personal command spec whose one step runs `run`; returns its path.
fn write_spec(dir: &Path, slug: &str, run: &str) -> PathBuf {
    let path = dir.join(format!("{slug}.yaml"));
    std::fs::write(
        &path,
        format!(
            "schemaVersion: 1\nkind: command\nmetadata:\n  name: {slug}\n  slug: {slug}\nsteps:\n  - name: only\n    run: [{run:?}]\n"
        ),
    )
    .unwrap();
    path
}

/// `my cli token create ci --profile PROFILE --json`.
fn scoped_token(env: &TestEnv, profile: &str) -> Value {
    env.run(&[
        "cli",
        "token",
        "create",
        "ci",
        "--profile",
        profile,
        "--json",
    ])
    .ok()
    .json()
}

fn push(env: &TestEnv, file: &Path) -> Run {
    env.run(&["cli", "push", "-f", &file.display().to_string()])
}

#[test]
fn install_into_default_and_work_each_catalog_holds_its_own_then_uninstall() {
    let server = server_with_examples();
    let env = signed_in(&server, "ann@example.com");
    // The sign-in synced the active profile: an empty catalog so far.
    let first = cached(&env, "default").expect("login syncs the active profile");
    assert_eq!(first["profile"], "default");
    assert_eq!(first["items"], serde_json::json!([]));

    let out = env.run(&["library", "install", "kubernetes"]).ok();
    assert!(
        out.stderr.contains("Installed kubernetes (3 commands)"),
        "{}",
        out.stderr
    );
    env.run(&["cli", "profile", "create", "work", "--name", "Work"])
        .ok();
    let out = env
        .run(&["library", "install", "ops", "--profile", "work"])
        .ok();
    assert!(
        out.stderr.contains("Installed ops (2 commands)"),
        "{}",
        out.stderr
    );
    let tmp = tempfile::tempdir().unwrap();
    push(&env, &write_spec(tmp.path(), "hello", "echo hello")).ok();
    env.run(&["library", "sync"]).ok();
    env.run(&["library", "sync", "--profile", "work"]).ok();

    let default = cached(&env, "default").unwrap();
    let work = cached(&env, "work").unwrap();
    assert_eq!(
        names(&default),
        [
            "hello",
            "kubernetes/logs",
            "kubernetes/pods",
            "kubernetes/port-forward"
        ]
    );
    assert_eq!(names(&work), ["hello", "ops/deploy", "ops/disk"]);
    assert!(default["etag"].is_string() && default["synced_at"].is_string());
    // Every body is cached, byte for byte what its spec_hash says.
    for catalog in [&default, &work] {
        for item in catalog["items"].as_array().unwrap() {
            let bytes = std::fs::read(spec_file(&env, item)).unwrap();
            assert_eq!(sha256_hex(&bytes), item["spec_hash"], "{item}");
        }
    }
    let listed = env.run(&["library", "list", "--json"]).ok().json();
    assert_eq!(listed[0]["slug"], "kubernetes");
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let out = env.run(&["library", "uninstall", "kubernetes"]).ok();
    assert!(
        out.stderr.contains("Uninstalled kubernetes"),
        "{}",
        out.stderr
    );
    env.run(&["library", "sync"]).ok();
    assert_eq!(names(&cached(&env, "default").unwrap()), ["hello"]);
    env.run(&["library", "sync", "--all"]).ok();
    assert_eq!(
        names(&cached(&env, "work").unwrap()),
        ["hello", "ops/deploy", "ops/disk"],
        "other profiles are not affected"
    );
}

#[test]
fn a_token_scoped_to_work_syncs_work_and_cannot_read_default() {
    let server = server_with_examples();
    let env = signed_in(&server, "tia@example.com");
    env.run(&["cli", "profile", "create", "work"]).ok();
    env.run(&["library", "install", "ops", "--profile", "work"])
        .ok();
    let created = scoped_token(&env, "work");
    assert_eq!(created["profile"], "work");
    let run = env.run(&["cli", "token", "create", "x", "--profile", "nope"]);
    assert_eq!(run.code, NOT_FOUND, "{}", run.stderr);

    // A fresh config folder, no MY_PROFILE: the token's scope decides.
    let mut ci = TestEnv::new(&server);
    ci.set("MY_API_TOKEN", created["token"].as_str().unwrap());
    ci.run(&["library", "sync"]).ok();
    assert_eq!(
        names(&cached(&ci, "work").expect("work's catalog")),
        ["ops/deploy", "ops/disk"]
    );
    assert!(cached(&ci, "default").is_none());
    let status = ci.run(&["cli", "status"]).ok();
    assert!(
        status
            .stdout
            .contains("Profile:         work (MY_API_TOKEN)"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("Cached commands: 2"),
        "{}",
        status.stdout
    );
    let json = ci.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(
        (json["profile"].as_str(), json["cached_commands"].as_u64()),
        (Some("work"), Some(2))
    );

    // The same token asking for another profile's catalog is refused.
    let run = ci.run(&["library", "sync", "--profile", "default"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("scoped"), "{}", run.stderr);
    ci.set("MY_PROFILE", "default");
    assert_eq!(ci.run(&["library", "sync"]).code, 3);
    assert!(cached(&ci, "default").is_none());
}

#[test]
fn an_unchanged_catalog_is_a_304_and_a_new_version_shows_up() {
    let mut server = Server::start(&[]);
    let env = signed_in(&server, "vic@example.com");
    let tmp = tempfile::tempdir().unwrap();
    push(&env, &write_spec(tmp.path(), "hello", "echo one")).ok();
    let synced = env.run(&["library", "sync", "--json"]).ok().json();
    assert_eq!(
        (
            synced["changed"].as_bool(),
            synced["fetched_specs"].as_u64()
        ),
        (Some(true), Some(1))
    );
    let before = cached(&env, "default").unwrap();
    let bytes_before = std::fs::read(catalog_file(&env, "default")).unwrap();

    let again = env.run(&["library", "sync"]).ok();
    assert!(again.stderr.contains("up to date"), "{}", again.stderr);
    let after = cached(&env, "default").unwrap();
    assert_eq!(after["items"], before["items"]);
    assert_eq!(after["etag"], before["etag"]);
    assert_eq!(after["profile"], before["profile"]);
    // A 304 leaves the catalog file as it was and records the sync beside it: status and an
    // offline `profile show` both tell the new time.
    assert_eq!(
        std::fs::read(catalog_file(&env, "default")).unwrap(),
        bytes_before,
        "a 304 does not rewrite the catalog"
    );
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    let last_sync = status["last_sync_at"].as_str().unwrap().to_string();
    assert_ne!(
        last_sync,
        before["synced_at"].as_str().unwrap(),
        "the sync is recorded"
    );

    // The same request from outside, with that ETag: the server really answers 304.
    let token = env.stored()["access_token"].as_str().unwrap().to_string();
    let r = browser()
        .get(format!("{}/v1/catalog?profile=default", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("If-None-Match", before["etag"].as_str().unwrap())
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);

    let out = push(&env, &write_spec(tmp.path(), "hello", "echo two")).ok();
    assert!(out.stderr.contains("hello v2"), "{}", out.stderr);
    let synced = env.run(&["library", "sync", "--json"]).ok().json();
    assert_eq!(synced["changed"], true);
    let v2 = cached(&env, "default").unwrap();
    let (old, new) = (item(&before, "hello"), item(&v2, "hello"));
    assert_eq!(
        (old["version"].as_u64(), new["version"].as_u64()),
        (Some(1), Some(2))
    );
    assert_ne!(old["spec_hash"], new["spec_hash"]);
    let body = std::fs::read(spec_file(&env, new)).unwrap();
    assert_eq!(sha256_hex(&body), new["spec_hash"]);
    assert!(String::from_utf8(body).unwrap().contains("echo two"));

    // Offline, the cached profile tells the time of the last sync, a 304 included.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again = env.run(&["library", "sync"]).ok();
    assert!(again.stderr.contains("up to date"), "{}", again.stderr);
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    server.stop();
    let shown = env.run(&["cli", "profile", "show", "--json"]).ok().json();
    assert_eq!(shown["cached"], true, "{shown}");
    assert_eq!(shown["synced_at"], status["last_sync_at"]);
    assert_ne!(
        shown["synced_at"],
        cached(&env, "default").unwrap()["synced_at"]
    );
}

#[test]
fn a_spec_body_that_does_not_match_its_hash_is_refused_and_not_cached() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "eve@example.com");
    let tmp = tempfile::tempdir().unwrap();
    push(&env, &write_spec(tmp.path(), "hello", "echo hello")).ok();
    // Tamper with the stored body behind the server's back (its spec_hash stays).
    let status = std::process::Command::new("sqlite3")
        .arg(server.db())
        .arg(r#"UPDATE command_versions SET spec = CAST('{"tampered":true}' AS BLOB)"#)
        .status()
        .expect("sqlite3 runs (scripts/deps.sh test installs it)");
    assert!(status.success());

    let run = env.run(&["library", "sync"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused the spec of \"hello\""),
        "{}",
        run.stderr
    );
    let specs = env.config_dir().join("cache/specs");
    let cached_specs = std::fs::read_dir(&specs).map_or(0, |d| d.count());
    assert_eq!(cached_specs, 0, "nothing of the tampered body is cached");
    assert_eq!(
        cached(&env, "default").unwrap()["items"],
        serde_json::json!([]),
        "the catalog is left as the last good sync wrote it"
    );
}

#[test]
fn status_profiles_and_libraries_work_offline_from_the_cache() {
    let mut server = server_with_examples();
    let env = signed_in(&server, "off@example.com");
    env.run(&["library", "install", "kubernetes"]).ok();
    env.run(&["cli", "profile", "create", "work"]).ok();
    server.stop();

    let status = env.run(&["cli", "status"]).ok();
    let line = |label: &str| {
        status
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in {}", status.stdout))
            .to_string()
    };
    assert_eq!(line("Profile:"), "Profile:         default");
    assert!(!line("Last sync:").contains("never"), "{}", status.stdout);
    assert_eq!(line("Cached commands:"), "Cached commands: 3");
    assert_eq!(line("Libraries:"), "Libraries:       1 (3 commands)");

    let list = env.run(&["cli", "profile", "list"]).ok();
    assert!(
        list.stdout.contains("* default (cached)"),
        "{}",
        list.stdout
    );
    let show = env.run(&["cli", "profile", "show"]).ok();
    assert!(
        show.stdout.contains("(cached)") && show.stdout.contains("kubernetes"),
        "{}",
        show.stdout
    );
    let libs = env.run(&["library", "list"]).ok();
    assert!(libs.stdout.contains("kubernetes"), "{}", libs.stdout);

    // A cached profile is switched to without the server; an unchecked one with a warning.
    env.run(&["cli", "profile", "set", "default"]).ok();
    let set = env.run(&["cli", "profile", "set", "work"]).ok();
    assert!(set.stderr.contains("could not check"), "{}", set.stderr);
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(
        (
            status["profile"].as_str(),
            status["profile_source"].as_str()
        ),
        (Some("work"), Some("config"))
    );
    assert_eq!(env.run(&["library", "sync"]).code, 4);
}

#[test]
fn bad_input_is_named_and_unknown_names_are_not_found() {
    let server = server_with_examples();
    let env = signed_in(&server, "bad@example.com");
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("nosteps", "metadata: {name: X, slug: nosteps}\n", "steps"),
        (
            "badslug",
            "metadata: {name: X, slug: Bad}\nsteps: [{name: a, run: [x]}]\n",
            "metadata.slug",
        ),
        (
            "extra",
            "metadata: {name: X, slug: extra}\nsteps: [{name: a, run: [x]}]\nfoo: 1\n",
            "unknown field \"foo\"",
        ),
    ];
    for (file, body, named) in cases {
        let path = tmp.path().join(format!("{file}.yaml"));
        std::fs::write(&path, format!("schemaVersion: 1\nkind: command\n{body}")).unwrap();
        let run = push(&env, &path);
        assert_eq!(run.code, 2, "{file}: {}", run.stderr);
        assert!(run.stderr.contains(named), "{file}: {}", run.stderr);
    }

    for args in [
        &["library", "install", "nope"][..],
        &["library", "info", "nope"],
        &["library", "install", "kubernetes", "--profile", "nope"],
        &["library", "sync", "--profile", "nope"],
        &["cli", "profile", "show", "nope"],
        &["cli", "profile", "set", "nope"],
        &["cli", "profile", "delete", "nope"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, NOT_FOUND, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("not found"), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("\"nope\""), "{args:?}: {}", run.stderr);
    }
    let run = env.run(&["library", "install", "https://github.com/a/b.git"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("git URLs are not supported here; use `my source add …` instead"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.run(&["library", "sync", "--all", "--profile", "x"])
            .code,
        2
    );
    assert_eq!(env.run(&["cli", "profile", "create", "Bad"]).code, 2);
    assert_eq!(env.run(&["cli", "profile", "delete", "default"]).code, 2);

    // A corrupt cache is reported, never trusted, and the next sync replaces it. (Status
    // reads the summary the sync wrote; without one it counts the catalog itself.)
    env.run(&["library", "install", "kubernetes"]).ok();
    std::fs::write(
        catalog_file(&env, "default"),
        "{\"profile\": \"default\", \"items\": [",
    )
    .unwrap();
    std::fs::write(
        catalog_file(&env, "default").with_file_name("summary.json"),
        "{\"synced_at\": ",
    )
    .unwrap();
    let status = env.run(&["cli", "status"]).ok();
    assert!(status.stderr.contains("corrupt"), "{}", status.stderr);
    assert!(
        status.stdout.contains("Cached commands: 0"),
        "{}",
        status.stdout
    );
    let sync = env.run(&["library", "sync"]).ok();
    assert!(
        sync.stderr.contains("corrupt") && sync.stderr.contains("syncing it again"),
        "{}",
        sync.stderr
    );
    assert_eq!(names(&cached(&env, "default").unwrap()).len(), 3);
}

#[test]
fn profiles_create_set_and_delete() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "pat@example.com");
    env.run(&["cli", "profile", "create", "work", "--name", "Work"])
        .ok();
    let run = env.run(&["cli", "profile", "create", "work"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("already"), "{}", run.stderr);

    let list = env.run(&["cli", "profile", "list"]).ok();
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains("default")),
        "{}",
        list.stdout
    );
    env.run(&["cli", "profile", "set", "work"]).ok();
    let list = env.run(&["cli", "profile", "list", "--json"]).ok().json();
    let active: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["active"] == true)
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(active, ["work"]);
    let show = env.run(&["cli", "profile", "show"]).ok();
    assert!(show.stdout.contains("work (active)"), "{}", show.stdout);

    // Scoped tokens block the delete until --force, which revokes them.
    let token = scoped_token(&env, "work")["token"]
        .as_str()
        .unwrap()
        .to_string();
    let run = env.run(&["cli", "profile", "delete", "work"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    env.run(&["library", "sync"]).ok();
    assert!(cached(&env, "work").is_some());
    let out = env
        .run(&["cli", "profile", "delete", "work", "--force"])
        .ok();
    assert!(out.stderr.contains("default again"), "{}", out.stderr);
    assert!(cached(&env, "work").is_none(), "its cache goes with it");
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(
        (
            status["profile"].as_str(),
            status["profile_source"].as_str()
        ),
        (Some("default"), Some("default"))
    );
    let mut ci = TestEnv::new(&server);
    ci.set("MY_API_TOKEN", &token);
    assert_eq!(
        ci.run(&["cli", "whoami"]).code,
        3,
        "the scoped token is revoked"
    );
}

#[test]
fn registry_search_info_and_release() {
    let server = server_with_examples();
    let env = signed_in(&server, "rel@example.com");
    let found = env
        .run(&["library", "search", "kube", "--json"])
        .ok()
        .json();
    let slugs: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["kubernetes"]);
    let info = env.run(&["library", "info", "kubernetes"]).ok();
    assert!(
        info.stdout.contains("port-forward") && info.stdout.contains("Kubernetes"),
        "{}",
        info.stdout
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("mycli.yaml"),
        "schemaVersion: 1\nname: mine\nlibraries:\n  tools:\n    name: Tools\n    path: tools\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("tools")).unwrap();
    write_spec(&dir.join("tools"), "hello", "echo hello");
    let d = dir.display().to_string();
    let plan = env
        .run(&[
            "library",
            "release",
            "1.0.0",
            "--dir",
            &d,
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(plan[0]["library"], "tools");
    assert_eq!(plan[0]["commands"], 1);
    assert_eq!(env.run(&["library", "info", "rel/tools"]).code, NOT_FOUND);

    let released = env
        .run(&["library", "release", "v1.0.0", "--dir", &d, "--json"])
        .ok()
        .json();
    let reference = format!(
        "{}/tools",
        released[0]["library"]["owner"].as_str().unwrap()
    );
    let info = env
        .run(&["library", "info", &reference, "--json"])
        .ok()
        .json();
    assert_eq!(info["latest_version"], "1.0.0");
    assert_eq!(info["commands"][0]["slug"], "hello");
    let again = env.run(&["library", "release", "1.0.0", "--dir", &d]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(env.run(&["library", "release", "1.0", "--dir", &d]).code, 2);

    // A spec that does not match its file name is refused before anything is sent.
    write_spec(&dir.join("tools"), "other", "echo x");
    std::fs::rename(dir.join("tools/other.yaml"), dir.join("tools/renamed.yaml")).unwrap();
    let run = env.run(&["library", "release", "1.1.0", "--dir", &d]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("metadata.slug"), "{}", run.stderr);
}

#[test]
fn init_writes_a_starter_that_pushes() {
    let server = Server::start(&[]);
    let env = signed_in(&server, "ivy@example.com");
    let tmp = tempfile::tempdir().unwrap();
    env.run_in(tmp.path(), &["cli", "init", "greet"]).ok();
    assert!(tmp.path().join("greet.yaml").is_file());
    let again = env.run_in(tmp.path(), &["cli", "init", "greet"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    env.run_in(tmp.path(), &["cli", "init", "greet", "--force"])
        .ok();
    env.run_in(tmp.path(), &["cli", "init"]).ok();
    let pushed = env
        .run_in(tmp.path(), &["cli", "push", "--json"])
        .ok()
        .json();
    assert_eq!(pushed[0]["command"]["slug"], "hello");
    let pushed = env
        .run_in(
            tmp.path(),
            &["cli", "push", "--dir", ".", "-m", "both", "--json"],
        )
        .ok()
        .json();
    let slugs: Vec<&str> = pushed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["command"]["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["hello", "greet"]);
}

/// The config folder as a lookup must leave it: everything but the history of runs.
fn config_tree(env: &TestEnv) -> Tree {
    let mut t = tree(&env.config_dir());
    t.remove("history.jsonl");
    t
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec(v).unwrap()).unwrap();
}

/// The bucket files of the profile's name index, as its summary names them.
fn buckets(env: &TestEnv, profile: &str) -> Vec<PathBuf> {
    let dir = catalog_file(env, profile).with_file_name("names");
    let summary = read_json(&catalog_file(env, profile).with_file_name("summary.json"));
    let generation = summary["names"]["generation"]
        .as_str()
        .expect("the summary names an index");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(generation))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Rewrites the commands of every bucket of the profile's index with `edit`.
fn edit_index(env: &TestEnv, edit: impl Fn(&mut Vec<Value>)) {
    for path in buckets(env, "default") {
        let mut bucket = read_json(&path);
        edit(bucket["commands"].as_array_mut().unwrap());
        write_json(&path, &bucket);
    }
}

#[test]
fn a_damaged_or_misleading_catalog_name_index_is_never_trusted() {
    let server = server_with_examples();
    let env = signed_in(&server, "index@example.com");
    env.run(&["library", "install", "ops"]).ok();
    let runs_deploy = |env: &TestEnv| {
        let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
        assert!(
            r.stdout.starts_with("Deploying to staging\n"),
            "{}",
            r.stdout
        );
    };
    runs_deploy(&env);
    let catalog = cached(&env, "default").unwrap();
    let (deploy, disk) = (
        item(&catalog, "deploy").clone(),
        item(&catalog, "disk").clone(),
    );
    let summary = catalog_file(&env, "default").with_file_name("summary.json");
    let index: Vec<(PathBuf, Vec<u8>)> = std::iter::once(summary.clone())
        .chain(buckets(&env, "default"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let restore = || {
        for (path, bytes) in &index {
            std::fs::write(path, bytes).unwrap();
        }
    };
    // What runs is what the catalog says, and the lookup writes nothing, whatever the index.
    let check = |what: &str| {
        let before = config_tree(&env);
        runs_deploy(&env);
        let r = env.run(&["ops", "disk", "."]).ok();
        assert!(!r.stdout.contains("Deploying"), "{what}: {}", r.stdout);
        assert_unchanged(&before, &config_tree(&env), what);
        restore();
    };

    // The index alone is enough to run: it is what lookups read.
    let moved = catalog_file(&env, "default").with_file_name("moved.json");
    std::fs::rename(catalog_file(&env, "default"), &moved).unwrap();
    runs_deploy(&env);
    std::fs::rename(&moved, catalog_file(&env, "default")).unwrap();

    // Misleading: `deploy` and `disk` trade their catalog items (another command id,
    // spec_hash and body each); an item that is not the command named is not used.
    edit_index(&env, |commands| {
        for c in commands.iter_mut() {
            match c["slug"].as_str() {
                Some("deploy") => c["spec"]["item"] = disk.clone(),
                Some("disk") => c["spec"]["item"] = deploy.clone(),
                _ => {}
            }
        }
    });
    check("items traded");
    // Misleading: `deploy` keeps its names but points at disk's body and hash.
    edit_index(&env, |commands| {
        for c in commands.iter_mut().filter(|c| c["slug"] == "deploy") {
            c["spec"]["item"]["command_id"] = disk["command_id"].clone();
            c["spec"]["item"]["version"] = disk["version"].clone();
            c["spec"]["item"]["spec_hash"] = disk["spec_hash"].clone();
        }
    });
    check("another body");
    // Hostile: an item whose command id leaves the cache folder.
    edit_index(&env, |commands| {
        for c in commands.iter_mut().filter(|c| c["slug"] == "deploy") {
            c["spec"]["item"]["command_id"] = "../../../../outside".into();
        }
    });
    check("path traversal");
    // Incomplete: the command, or its library, left out.
    edit_index(&env, |commands| commands.retain(|c| c["slug"] != "deploy"));
    check("command left out");
    let mut head = read_json(&summary);
    head["names"]["libraries"] = serde_json::json!([]);
    write_json(&summary, &head);
    check("library left out");
    // Damaged: a bucket that is not JSON, a head naming a folder outside the cache, a
    // summary that does not parse (status then counts the catalog).
    for path in buckets(&env, "default") {
        std::fs::write(path, "garbage\x00").unwrap();
    }
    check("damaged buckets");
    let mut head = read_json(&summary);
    head["names"]["generation"] = "../../../../etc".into();
    write_json(&summary, &head);
    check("hostile generation");
    std::fs::write(&summary, "{").unwrap();
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(status["cached_commands"], 2);
    check("damaged summary");

    // With the catalog itself damaged too, nothing runs, nothing panics, and it says to sync.
    let before = std::fs::read(catalog_file(&env, "default")).unwrap();
    std::fs::write(catalog_file(&env, "default"), "{\"profile\":").unwrap();
    for path in buckets(&env, "default") {
        std::fs::write(path, "[").unwrap();
    }
    let r = env.run(&["cli", "run", "deploy", "--env", "staging"]);
    assert_eq!(r.code, NOT_FOUND, "{}", r.stderr);
    assert!(r.stderr.contains("my library sync"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    std::fs::write(catalog_file(&env, "default"), before).unwrap();
    restore();

    // A tampered body is refused, left where it is by the lookup, and replaced by the next
    // sync even though the catalog did not change.
    let body = spec_file(&env, &deploy);
    let text = std::fs::read_to_string(&body).unwrap();
    std::fs::write(&body, text.replace("echo Deploying", "echo Tampered")).unwrap();
    let r = env.run(&["ops", "deploy", "--env", "staging"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("my library sync"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(body.exists());
    let synced = env.run(&["library", "sync", "--json"]).ok().json();
    assert_eq!(synced["changed"], false);
    assert_eq!(synced["fetched_specs"], 1);
    runs_deploy(&env);
}

/// Writes a local source with one library, `tools`, holding `hello`; returns its folder.
fn tools_source() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tools")).unwrap();
    std::fs::write(
        dir.path().join("mycli.yaml"),
        "schemaVersion: 1\nname: tools\nlibraries:\n  tools: {name: Tools, path: tools, aliases: [t]}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tools/hello.yaml"),
        "schemaVersion: 1\nkind: command\nmetadata: {name: Hello, slug: hello}\nsteps: [{name: s, run: ['echo hello']}]\n",
    )
    .unwrap();
    dir
}

#[test]
fn looking_commands_up_writes_nothing() {
    let server = server_with_examples();
    let env = signed_in(&server, "reader@example.com");
    env.run(&["library", "install", "ops"]).ok();
    let tools = tools_source();
    env.run(&["source", "add", &tools.path().display().to_string()])
        .ok();
    // Runs append to the history: the first one creates it, before the snapshot.
    assert_eq!(env.run(&["tools", "hello"]).ok().stdout, "hello\n");
    let history = env.config_dir().join("history.jsonl");
    let runs = std::fs::read_to_string(&history).unwrap().lines().count();
    let before = config_tree(&env);

    let lookups: &[&[&str]] = &[
        &["cli", "run", "--dry-run", "deploy", "--env", "staging"],
        &["cli", "run", "--dry-run", "ops/deploy", "--env", "staging"],
        &["ops", "deploy", "--env", "staging", "--dry-run"],
        &["o", "d", "--env", "staging", "--dry-run"],
        &["cli", "run", "--dry-run", "hello"],
        &["t", "hello", "--dry-run"],
        &["cli", "show", "deploy"],
        &["cli", "show", "deploy", "--raw"],
        &["cli", "show", "hello", "--json"],
        &["completion", "--libraries"],
        &["completion", "--commands", "ops"],
        &["completion", "--commands", "tools"],
        &["--help"],
        &["ops"],
        &["tools", "--help"],
        &["cli", "status"],
    ];
    for args in lookups {
        env.run(args).ok();
    }
    let r = env.run(&["--help"]).ok();
    assert!(
        r.stdout.contains("  ops (o)") && r.stdout.contains("  tools (t)"),
        "{}",
        r.stdout
    );
    let r = env.run(&["completion", "--commands", "ops"]).ok();
    assert_eq!(r.stdout, "deploy\ndisk\n");
    // Names that are nowhere are looked for in the files themselves, still without writing.
    assert_eq!(env.run(&["cli", "run", "nope"]).code, NOT_FOUND);
    assert_eq!(env.run(&["ops", "nope"]).code, NOT_FOUND);
    assert_eq!(env.run(&["nope"]).code, 2);
    // A run adds its line to the history, and writes nothing else.
    assert!(env
        .run(&["ops", "deploy", "--env", "staging"])
        .ok()
        .stdout
        .starts_with("Deploying to staging"));
    assert_eq!(env.run(&["tools", "hello"]).ok().stdout, "hello\n");
    assert_unchanged(&before, &config_tree(&env), "looking commands up");
    let now = std::fs::read_to_string(&history).unwrap().lines().count();
    assert_eq!(now, runs + 2);
}

#[test]
fn a_cache_in_the_old_layout_is_read_as_it_is_until_the_next_sync() {
    use std::os::unix::fs::MetadataExt;
    let server = server_with_examples();
    let env = signed_in(&server, "old@example.com");
    env.run(&["library", "install", "ops"]).ok();
    // What an older `my` left: catalog.json with its text index and a summary stamped with
    // the catalog file's length, time and inode; no name index.
    let catalog = catalog_file(&env, "default");
    let dir = catalog.parent().unwrap().to_path_buf();
    std::fs::remove_dir_all(dir.join("names")).unwrap();
    let m = std::fs::metadata(&catalog).unwrap();
    let mtime_ns = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
    let synced_at = cached(&env, "default").unwrap()["synced_at"].clone();
    write_json(
        &dir.join("summary.json"),
        &serde_json::json!({
            "synced_at": synced_at,
            "commands": 2,
            "libraries": 1,
            "library_commands": 2,
            "stamp": {"len": m.len(), "mtime_ns": mtime_ns, "ino": m.ino()},
        }),
    );
    std::fs::write(
        dir.join("index.tsv"),
        format!(
            "my-sidecar catalog-index 1 {} {mtime_ns} {}\nL\tops\t\to\x1f\t2\t0\t2\n",
            m.len(),
            m.ino()
        ),
    )
    .unwrap();
    env.run(&["cli", "run", "deploy", "--env", "staging"]).ok();
    let before = config_tree(&env);

    // Read from catalog.json, without writing anything.
    let r = env.run(&["o", "d", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Deploying to staging"), "{}", r.stdout);
    env.run(&["cli", "show", "disk"]).ok();
    let r = env.run(&["completion", "--commands", "ops"]).ok();
    assert_eq!(r.stdout, "deploy\ndisk\n");
    assert!(env.run(&["--help"]).ok().stdout.contains("  ops (o)"));
    let status = env.run(&["cli", "status", "--json"]).ok().json();
    assert_eq!(status["cached_commands"], 2);
    assert_eq!(env.run(&["cli", "run", "nope"]).code, NOT_FOUND);
    assert_unchanged(&before, &config_tree(&env), "lookups in the old layout");

    // The next sync writes the new layout, though the catalog has not changed (304).
    let synced = env.run(&["library", "sync", "--json"]).ok().json();
    assert_eq!(synced["changed"], false);
    assert!(!dir.join("index.tsv").exists());
    assert_eq!(buckets(&env, "default").len(), 1);
    let r = env.run(&["o", "d", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Deploying to staging"), "{}", r.stdout);
}
