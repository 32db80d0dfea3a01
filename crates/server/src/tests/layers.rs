//! Keeps the house one-way: reads every source file's `crate::…` paths (in `use` lines and
//! in code) and fails when a file imports a module of its own layer or a higher one, or
//! when one endpoint imports another. Files inside one folder (`db/`, `domain/`, …) may
//! use each other.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, top to bottom. A module may import only modules of lower layers.
const LAYERS: &[&[&str]] = &[
    &["main", "tests"],
    &["cli"],
    &["serve", "routes", "admin"],
    &["endpoints"],
    &["domain"],
    &["app"],
    &["mail"],
    &["db", "crypto", "web", "pages", "clock", "names", "settings"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules `code` names through `crate::` (also in `use crate::{a, b}`), and
/// for `crate::endpoints::…` the endpoint file or folder named.
fn imports(code: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .collect(),
                None => vec![rest],
            };
            for name in names {
                let mut parts = name
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|p| !p.is_empty());
                if let Some(module) = parts.next() {
                    found.push((module.to_string(), parts.next().map(str::to_string)));
                }
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's `src/` folder and every `.rs` file in it.
fn crate_sources() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    (src, files)
}

/// The file's top-level module (`domain` for `domain/caller.rs`), and for an endpoint its
/// family (`oauth` for `endpoints/oauth/token.rs`, `magic` for `endpoints/magic.rs`).
fn place(relative: &Path) -> (String, Option<String>) {
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    let family =
        (parts.len() > 2 || (parts.len() == 2 && parts[1] != "mod")).then(|| parts[1].clone());
    (parts[0].clone(), family)
}

/// What is wrong with `code`, the text of the file at `relative` (to `src/`).
fn violations(relative: &Path, code: &str) -> Vec<String> {
    let (module, family) = place(relative);
    let Some(own) = layer(&module) else {
        return vec![format!(
            "{}: not in any layer of LAYERS",
            relative.display()
        )];
    };
    if own == 0 {
        // The top (main and the in-process tests) may use anything.
        return Vec::new();
    }
    let mut wrong = Vec::new();
    for (target, inner) in imports(code) {
        if target == module {
            if module == "endpoints" && family.is_some() && inner != family {
                wrong.push(format!(
                    "{}: an endpoint imports another endpoint (crate::endpoints::{})",
                    relative.display(),
                    inner.unwrap_or_default()
                ));
            }
            continue;
        }
        match layer(&target) {
            Some(theirs) if theirs > own => {}
            Some(_) => wrong.push(format!(
                "{}: {module} imports crate::{target}, which is not below it",
                relative.display()
            )),
            None => wrong.push(format!(
                "{}: imports crate::{target}, which is in no layer",
                relative.display()
            )),
        }
    }
    if module == "endpoints" && family.is_some() {
        for line in code.lines().map(str::trim) {
            if line.starts_with("use super::") && line != "use super::*;" {
                wrong.push(format!(
                    "{}: an endpoint reaches a sibling through `{line}`",
                    relative.display()
                ));
            }
        }
    }
    wrong
}

#[test]
fn every_arrow_points_down() {
    let (src, files) = crate_sources();
    assert!(files.len() > 30, "read only {} files", files.len());
    let mut wrong = Vec::new();
    for file in files {
        let code = fs::read_to_string(&file).unwrap();
        wrong.extend(violations(file.strip_prefix(&src).unwrap(), &code));
    }
    assert!(
        wrong.is_empty(),
        "arrows running back up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_bad_arrows() {
    let check = |path: &str, code: &str| violations(Path::new(path), code);
    // Down is fine; so is a file of the same folder.
    assert!(check(
        "domain/orgs.rs",
        "use crate::db::Tx;\nuse super::caller::Auth;"
    )
    .is_empty());
    assert!(check("endpoints/v1/me.rs", "use crate::domain::{caller, orgs};").is_empty());
    // Up, sideways, grouped, inline, or to a sibling endpoint: each is caught.
    assert_eq!(
        check("domain/orgs.rs", "use crate::endpoints::v1::me;").len(),
        1
    );
    assert_eq!(
        check("web/reply.rs", "use crate::{db::Db, app::App};").len(),
        2
    );
    assert_eq!(
        check("db/users.rs", "let x = crate::clock::now_secs();").len(),
        1
    );
    assert_eq!(check("app.rs", "let s = crate::routes::route;").len(), 1);
    assert_eq!(
        check("endpoints/magic.rs", "use crate::endpoints::device;").len(),
        1
    );
    assert_eq!(
        check(
            "endpoints/oauth/token.rs",
            "use crate::endpoints::oauth::revoke;"
        )
        .len(),
        0,
        "a family may share its folder's module"
    );
    assert_eq!(
        check("endpoints/oauth/token.rs", "use super::revoke;").len(),
        1
    );
    assert_eq!(check("newthing.rs", "").len(), 1);
    // Comments are not imports.
    assert!(check("web/mod.rs", "//! see crate::routes").is_empty());
}

/// Crates of the HTTP front: only `serve.rs` may name them.
const HTTP_CRATES: &[&str] = &[
    "hyper",
    "hyper_util",
    "http_body_util",
    "tokio",
    "tiny_http",
];

/// The HTTP crates `code` names in a path (`hyper::…`, `use tokio::…`), outside comments.
fn http_crates_named(code: &str) -> Vec<&'static str> {
    let mut named = Vec::new();
    for line in code.lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        for krate in HTTP_CRATES {
            let found = line.match_indices(&format!("{krate}::")).any(|(at, _)| {
                !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if found && !named.contains(krate) {
                named.push(*krate);
            }
        }
    }
    named
}

#[test]
fn only_serve_knows_the_http_library() {
    let (src, files) = crate_sources();
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let named = http_crates_named(&fs::read_to_string(&file).unwrap());
        // This file names them in its own examples below.
        let allowed = [Path::new("serve.rs"), Path::new("tests/layers.rs")];
        if !allowed.contains(&relative) && !named.is_empty() {
            wrong.push(format!("{}: {}", relative.display(), named.join(", ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "the HTTP library outside serve.rs:\n{}",
        wrong.join("\n")
    );
    // The checker itself: paths are caught, comments and look-alikes are not.
    assert_eq!(http_crates_named("use hyper::body::Bytes;"), ["hyper"]);
    assert_eq!(
        http_crates_named("let r = tokio::runtime::Builder::new_current_thread();"),
        ["tokio"]
    );
    assert!(http_crates_named("//! hyper::Request is translated in serve").is_empty());
    assert!(http_crates_named("use crate::web::not_hyper::X;").is_empty());
}

/// What reads the time without `clock` in `code`, outside comments: the system's wall clock,
/// or SQL that asks the database (SQLite or PostgreSQL) for its own time.
fn own_clocks_read(code: &str) -> Vec<String> {
    const SQL_TIME: &[&str] = &[
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "timeofday(",
        "unixepoch(",
        "julianday(",
        "strftime(",
        "datetime(",
        "'now'",
    ];
    let mut found = Vec::new();
    for line in code.lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        // `now()` in SQL; `Instant::now()` (a stopwatch, not the time of day) is fine.
        let sql_now = lower.match_indices("now()").any(|(at, _)| {
            !lower[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
        });
        let named = SQL_TIME.iter().find(|f| lower.contains(**f));
        if line.contains("SystemTime::now") || sql_now || named.is_some() {
            found.push(line.to_string());
        }
    }
    found
}

#[test]
fn only_the_clock_reads_the_time() {
    let (src, files) = crate_sources();
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        // The clock itself; the tests may time themselves.
        if relative == Path::new("clock.rs") || relative.starts_with("tests") {
            continue;
        }
        for line in own_clocks_read(&fs::read_to_string(&file).unwrap()) {
            wrong.push(format!("{}: {line}", relative.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "the time read around crate::clock (a test could not move it):\n{}",
        wrong.join("\n")
    );
    // The checker itself.
    for bad in [
        "let t = std::time::SystemTime::now();",
        "DELETE FROM sessions WHERE expires_at < unixepoch()",
        "\"SELECT now()\"",
        "WHERE created_at < EXTRACT(EPOCH FROM NOW())",
        "VALUES (CURRENT_TIMESTAMP)",
        "strftime('%s', 'now')",
    ] {
        assert_eq!(own_clocks_read(bad).len(), 1, "{bad}");
    }
    for fine in [
        "let started = Instant::now();",
        "let now = clock::now_secs();",
        "// SystemTime::now is only read in clock.rs",
        "WHERE expires_at > ?2",
        "known()",
    ] {
        assert!(own_clocks_read(fine).is_empty(), "{fine}");
    }
}
