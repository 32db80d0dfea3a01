//! Keeps the CLI's house one-way, as `crates/server/src/tests/layers.rs` keeps the server's:
//! reads every source file under `src/`, takes the modules it names through `crate::` (the
//! library's files) or `mycli::` and `crate::` (the binary's: `main.rs`, `cli.rs`, `cmd/`),
//! and fails when a file imports a module of its own layer or a higher one. Files inside one
//! folder (`catalog/`, `auth/`, …) may use each other.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, top to bottom. A module may import only modules of lower layers. `lib`
/// (`src/lib.rs`) only declares the modules and the binary's name, which anyone may use.
const LAYERS: &[&[&str]] = &[
    &["main", "lib", "no_unwind"],
    &["cmd"],
    &["cli"],
    &["runner"],
    &["catalog"],
    &["auth"],
    &["app"],
    &["settings"],
    &["config", "credentials"],
    &["api", "atomic"],
    &["tls", "out"],
    &["error", "clock", "secret", "sys"],
];

/// Items of the library's root, not modules: naming them is no arrow.
const ROOT_ITEMS: &[&str] = &["BIN"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules `code` names through `crate::` or `mycli::` (also in
/// `use crate::{a, b}`), outside comments.
fn imports(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for prefix in ["crate::", "mycli::"] {
            for (at, _) in line.match_indices(prefix) {
                // `notmycli::x` or `my_crate::x` is not this crate.
                if line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &line[at + prefix.len()..];
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
                    let module = name
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("");
                    if !module.is_empty() && module != "self" && !ROOT_ITEMS.contains(&module) {
                        found.push(module.to_string());
                    }
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

/// What is wrong with `code`, the text of the file at `relative` (to `src/`).
fn violations(relative: &Path, code: &str) -> Vec<String> {
    let module = relative
        .iter()
        .next()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .unwrap_or_default();
    let Some(own) = layer(&module) else {
        return vec![format!(
            "{}: not in any layer of LAYERS",
            relative.display()
        )];
    };
    if own == 0 {
        return Vec::new();
    }
    let mut wrong = Vec::new();
    for target in imports(code) {
        if target == module {
            continue;
        }
        match layer(&target) {
            Some(theirs) if theirs > own => {}
            Some(_) => wrong.push(format!(
                "{}: {module} imports {target}, which is not below it",
                relative.display()
            )),
            None => wrong.push(format!(
                "{}: imports {target}, which is in no layer",
                relative.display()
            )),
        }
    }
    wrong
}

#[test]
fn every_arrow_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
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
    // Down is fine; so is a file of the same folder, and the binary's name.
    assert!(check(
        "catalog/sync.rs",
        "use crate::api::Reply;\nuse super::cache;\nuse crate::catalog::remote;"
    )
    .is_empty());
    assert!(check("catalog/resolve.rs", "let b = crate::BIN;").is_empty());
    assert!(check("cmd/run.rs", "use mycli::runner;\nuse crate::cli::RunArgs;").is_empty());
    // Up, sideways, grouped, inline, from the binary: each is caught.
    assert_eq!(
        check("auth/session.rs", "use crate::catalog::sync;").len(),
        1
    );
    assert_eq!(
        check(
            "credentials/mod.rs",
            "use crate::{config::Config, app::App};"
        )
        .len(),
        2
    );
    assert_eq!(check("error.rs", "let x = crate::clock::now();").len(), 1);
    assert_eq!(check("cli.rs", "use crate::cmd::run;").len(), 1);
    assert_eq!(check("newthing.rs", "").len(), 1);
    assert_eq!(check("runner/mod.rs", "use crate::nowhere::X;").len(), 1);
    // Comments and look-alikes are not imports.
    assert!(check("error.rs", "//! see crate::runner").is_empty());
    assert!(check("error.rs", "use notmycli::runner;").is_empty());
}

/// Crates that call the operating system directly: only `src/sys/` may name them.
const SYSTEM_CRATES: &[&str] = &["libc", "rustix", "nix"];

/// The system crates `code` names in a path (`libc::…`, `use rustix::…`), outside comments.
fn system_crates_named(code: &str) -> Vec<&'static str> {
    let mut named = Vec::new();
    for line in code.lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        for krate in SYSTEM_CRATES {
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
fn only_sys_calls_the_system() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("sys") {
            continue;
        }
        let named = system_crates_named(&fs::read_to_string(&file).unwrap());
        if !named.is_empty() {
            wrong.push(format!("{}: {}", relative.display(), named.join(", ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "system calls outside src/sys:\n{}",
        wrong.join("\n")
    );
    // The checker itself: paths are caught, comments and look-alikes are not.
    assert_eq!(
        system_crates_named("unsafe { libc::killpg(1, 9) };"),
        ["libc"]
    );
    assert_eq!(
        system_crates_named("use rustix::process::getpid;"),
        ["rustix"]
    );
    assert!(system_crates_named("//! libc::poll is behind sys").is_empty());
    assert!(system_crates_named("use crate::sys::notlibc::x;").is_empty());
}
