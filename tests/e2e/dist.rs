//! The man pages and shell completions in `dist/`, generated from the command tree: the
//! `--help` of every command of the real `my` and `my-server` (argh), walked from the top, so
//! a command added anywhere shows up without touching this file.
//!
//! `dist_files_match_the_command_tree` fails when a committed copy is out of date;
//! `make completions` runs it with `MY_UPDATE_DIST=1`, which rewrites them instead. The
//! scripts are also run in real shells here, and `my completion SHELL` must print them.

use crate::util::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One command as its `--help` describes it.
#[derive(Debug)]
struct Cmd {
    /// `["my", "cli", "token", "create"]`
    path: Vec<String>,
    usage: String,
    about: String,
    positionals: Vec<Item>,
    options: Vec<Opt>,
    /// Other sections (notes, examples, error codes) as argh prints them.
    extra: Vec<(String, String)>,
    children: Vec<Cmd>,
}

#[derive(Debug, Clone)]
struct Item {
    name: String,
    about: String,
}

#[derive(Debug)]
struct Opt {
    long: String,
    short: Option<String>,
    /// The value's name when the option takes one (`<expires-in>`).
    value: Option<String>,
    about: String,
}

impl Cmd {
    fn name(&self) -> String {
        self.path.join(" ")
    }

    fn walk(&self) -> Vec<&Cmd> {
        let mut all = vec![self];
        for c in &self.children {
            all.extend(c.walk());
        }
        all
    }
}

fn help_text(bin: &Path, path: &[String]) -> String {
    // An empty configuration: `my --help` also lists the installed libraries.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args(&path[1..])
        .arg("--help")
        .env_remove("MY_API_TOKEN")
        .env_remove("MY_PROFILE")
        .env("HOME", home.path())
        .env("MY_CONFIG_DIR", home.path().join(".my"))
        .output()
        .expect("run --help");
    assert!(out.status.success(), "{} --help failed", path.join(" "));
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// Parses argh's help layout: `Usage: …`, the description, then sections whose items start
/// at column 2 with the description at column 20 (or on the next line for a long name).
fn parse(path: Vec<String>, text: &str) -> (Cmd, Vec<Item>) {
    let mut lines = text.lines();
    let usage = lines
        .next()
        .and_then(|l| l.strip_prefix("Usage: "))
        .unwrap_or_else(|| panic!("no usage line in {text:?}"))
        .trim()
        .to_string();
    let mut about = String::new();
    let mut section: Option<String> = None;
    let mut sections: Vec<(String, Vec<Item>)> = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            if section.is_none() && !about.is_empty() {
                about.push('\n');
            }
            continue;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            let title = line.trim_end_matches(':').to_string();
            sections.push((title.clone(), Vec::new()));
            section = Some(title);
            continue;
        }
        let Some((_, items)) = sections.last_mut().filter(|_| section.is_some()) else {
            if !about.is_empty() && !about.ends_with('\n') {
                about.push(' ');
            }
            about.push_str(line.trim());
            continue;
        };
        let is_item = line.starts_with("  ") && !line.starts_with("   ");
        if is_item {
            let (name, rest) = match (line.get(..20), line.get(20..)) {
                (Some(n), Some(r)) if n.ends_with(' ') => (n.trim(), r.trim()),
                _ => (line.trim(), ""),
            };
            items.push(Item {
                name: name.to_string(),
                about: rest.to_string(),
            });
        } else if let Some(last) = items.last_mut() {
            if !last.about.is_empty() {
                last.about.push(' ');
            }
            last.about.push_str(line.trim());
        }
    }
    let mut cmd = Cmd {
        path,
        usage,
        about: about.trim().to_string(),
        positionals: Vec::new(),
        options: Vec::new(),
        extra: Vec::new(),
        children: Vec::new(),
    };
    let mut commands = Vec::new();
    for (title, items) in sections {
        match title.as_str() {
            "Positional Arguments" => cmd.positionals = items,
            "Options" => {
                for it in items {
                    let names: Vec<&str> = it.name.split(", ").collect();
                    let Some(long) = names.iter().find(|n| n.starts_with("--")) else {
                        continue;
                    };
                    if *long == "--help" {
                        continue;
                    }
                    let value = value_name(&cmd.usage, long);
                    cmd.options.push(Opt {
                        long: long.to_string(),
                        short: names
                            .iter()
                            .find(|n| n.len() == 2 && n.starts_with('-'))
                            .map(|s| s.to_string()),
                        value,
                        about: it.about,
                    });
                }
            }
            "Commands" => commands = items,
            _ => {
                let text = items
                    .iter()
                    .map(|i| format!("{} {}", i.name, i.about).trim().to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
                cmd.extra.push((title, text));
            }
        }
    }
    (cmd, commands)
}

/// `<value>` when the usage line shows `--long <value>`.
fn value_name(usage: &str, long: &str) -> Option<String> {
    let at = usage.find(&format!("{long} <"))?;
    let rest = &usage[at + long.len() + 1..];
    let end = rest.find('>')?;
    Some(rest[1..end].trim_end_matches("...").to_string())
}

fn tree(bin: &Path, path: Vec<String>) -> Cmd {
    let text = help_text(bin, &path);
    let (mut cmd, commands) = parse(path, &text);
    for c in commands {
        let mut child_path = cmd.path.clone();
        child_path.push(c.name.clone());
        cmd.children.push(tree(bin, child_path));
    }
    cmd
}

// --- renderers --------------------------------------------------------------------------

const GENERATED: &str =
    "Generated from the command tree (each command's --help) by `make completions`; do not edit.";

/// Escapes text for roff: backslashes, hyphens, and a leading dot or quote.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

fn version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .expect("--version");
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if v.is_empty() {
        // my-server has no --version; both binaries share the workspace version.
        format!("{} {}", bin_name(bin), env!("CARGO_PKG_VERSION"))
    } else {
        v
    }
}

fn bin_name(bin: &Path) -> String {
    bin.file_name().unwrap().to_string_lossy().into_owned()
}

fn man(root: &Cmd, version: &str, tail: &str) -> String {
    let name = root.name();
    let mut m = String::new();
    writeln!(m, ".\\\" {GENERATED}").unwrap();
    writeln!(
        m,
        ".TH {} 1 \"\" \"{}\" \"User Commands\"",
        name.to_uppercase().replace('-', "\\-"),
        roff(version)
    )
    .unwrap();
    let summary = root.about.lines().next().unwrap_or("");
    let summary = summary
        .strip_prefix(&format!("{name}: "))
        .unwrap_or(summary)
        .trim_end_matches('.');
    writeln!(m, ".SH NAME\n{} \\- {}", roff(&name), roff(summary)).unwrap();
    writeln!(m, ".SH SYNOPSIS\n.nf\n{}\n.fi", roff(&root.usage)).unwrap();
    writeln!(m, ".SH DESCRIPTION").unwrap();
    for para in root.about.split('\n') {
        writeln!(m, "{}\n.PP", roff(para)).unwrap();
    }
    if !root.options.is_empty() || !root.positionals.is_empty() {
        writeln!(m, ".SH OPTIONS").unwrap();
        man_args(&mut m, root);
    }
    if !root.children.is_empty() {
        writeln!(m, ".SH COMMANDS").unwrap();
        for c in root.walk().into_iter().skip(1) {
            writeln!(m, ".SS {}\n{}", roff(&c.name()), roff(&c.about)).unwrap();
            writeln!(m, ".PP\n.nf\n{}\n.fi", roff(&c.usage)).unwrap();
            man_args(&mut m, c);
        }
    }
    m.push_str(tail);
    m
}

fn man_args(m: &mut String, c: &Cmd) {
    for p in &c.positionals {
        writeln!(m, ".TP\n.I {}\n{}", roff(&p.name), roff(&p.about)).unwrap();
    }
    for o in &c.options {
        let mut head = String::new();
        if let Some(s) = &o.short {
            write!(head, "\\fB{}\\fR, ", roff(s)).unwrap();
        }
        write!(head, "\\fB{}\\fR", roff(&o.long)).unwrap();
        if let Some(v) = &o.value {
            write!(head, " \\fI{}\\fR", roff(v)).unwrap();
        }
        writeln!(m, ".TP\n{head}\n{}", roff(&o.about)).unwrap();
    }
    for (title, text) in &c.extra {
        writeln!(m, ".PP\n{}:", roff(title)).unwrap();
        for line in text.lines() {
            writeln!(m, ".br\n{}", roff(line)).unwrap();
        }
    }
}

/// What `my(1)` says beyond the command tree: the environment and the exit codes.
const MY_MAN_TAIL: &str = r#".SH ENVIRONMENT
.TP
.B MY_API_TOKEN
an API token or organization access key to use instead of the stored credentials (never refreshed)
.TP
.B MY_API_URL
the API server (default: the reference server on loopback)
.TP
.B MY_CONFIG_DIR
where the configuration, the credential file and the caches live (default ~/.my)
.TP
.B MY_CREDENTIAL_STORE
keyring, file or auto (default): where credentials are kept
.TP
.B MY_PROFILE
the active profile
.SH EXIT STATUS
0 success; 1 error; 2 usage error; 3 not signed in or credential rejected; 4 server
unreachable or unavailable; 5 local credential store or configuration unusable; 6 not found.
.SH FILES
.TP
.I ~/.my/config.json
non-secret settings: API URL, context, sync times
.TP
.I ~/.my/credentials.json
the credentials when the OS keyring is not used (mode 0600)
.TP
.I ~/.my/cache/
the synced catalog of each profile
.SH SEE ALSO
.BR my\-server (1)
"#;

const SERVER_MAN_TAIL: &str = ".SH SEE ALSO\n.BR my (1)\n";

/// Flattened for the scripts: each command path with its subcommands (and descriptions),
/// its options and which of them take a value.
struct Node<'a> {
    path: String,
    subs: Vec<(&'a str, &'a str)>,
    options: Vec<&'a Opt>,
}

fn nodes(root: &Cmd) -> Vec<Node<'_>> {
    root.walk()
        .into_iter()
        .map(|c| Node {
            path: c.name(),
            subs: c
                .children
                .iter()
                .map(|k| (k.path.last().unwrap().as_str(), k.about.as_str()))
                .collect(),
            options: c.options.iter().collect(),
        })
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[derive(Clone, Copy)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A function that prints the words of one command path: `name 'my cli'` → `login logout …`.
fn shell_case(s: &mut String, shell: Shell, name: &str, arms: Vec<(String, String)>) {
    let (open, close) = match shell {
        Shell::Bash | Shell::Zsh => (format!("{name}() {{\n    case $1 in"), "    esac\n}\n"),
        Shell::Fish => (
            format!("function {name}\n    switch $argv[1]"),
            "    end\nend\n",
        ),
    };
    writeln!(s, "{open}").unwrap();
    for (path, words) in arms {
        let arm = match shell {
            Shell::Bash => format!("    {}) echo {words} ;;", quote(&path)),
            Shell::Zsh => format!("    ({}) print -rl -- {words} ;;", quote(&path)),
            Shell::Fish => format!("        case {}\n            echo {words}", quote(&path)),
        };
        writeln!(s, "{arm}").unwrap();
    }
    writeln!(s, "{close}").unwrap();
}

/// Each command path with subcommands, and their names.
fn subcommands(root: &Cmd) -> Vec<(String, String)> {
    nodes(root)
        .iter()
        .filter(|n| !n.subs.is_empty())
        .map(|n| {
            let w: Vec<&str> = n.subs.iter().map(|(w, _)| *w).collect();
            (n.path.clone(), w.join(" "))
        })
        .collect()
}

/// Each command path with options that take a value, and those options.
fn value_options(root: &Cmd) -> Vec<(String, String)> {
    nodes(root)
        .iter()
        .filter_map(|n| {
            let v: Vec<&str> = n
                .options
                .iter()
                .filter(|o| o.value.is_some())
                .map(|o| o.long.as_str())
                .collect();
            (!v.is_empty()).then(|| (n.path.clone(), v.join(" ")))
        })
        .collect()
}

fn bash(root: &Cmd) -> String {
    let bin = root.name();
    let mut s = format!(
        "# bash completion for {bin}\n# {GENERATED}\n# Installed as bash-completion/completions/{bin}, or: source <({bin} completion bash)\n\n"
    );
    let words = nodes(root)
        .iter()
        .map(|n| {
            let mut w: Vec<&str> = n.subs.iter().map(|(w, _)| *w).collect();
            w.extend(n.options.iter().map(|o| o.long.as_str()));
            w.push("--help");
            (n.path.clone(), w.join(" "))
        })
        .collect();
    shell_case(&mut s, Shell::Bash, &format!("_{bin}_words"), words);
    shell_case(
        &mut s,
        Shell::Bash,
        &format!("_{bin}_subcommands"),
        subcommands(root),
    );
    shell_case(
        &mut s,
        Shell::Bash,
        &format!("_{bin}_value_options"),
        value_options(root),
    );
    write!(
        s,
        r#"_{bin}() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD - 1]}}
    local path={bin} library= word i
    # The command path so far; at the top, a word that is no command names a library
    # (`{bin} <library> <command>`).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        [[ $word == -* ]] && continue
        if [[ " $(_{bin}_subcommands "$path") " == *" $word "* ]]; then
            path+=" $word"
        elif [[ $path == {bin} && -z $library ]]; then
            library=$word
        fi
    done
    if [[ -n $library ]]; then
        if ((COMP_CWORD == 2)); then
            mapfile -t COMPREPLY < <(compgen -W "$("${{COMP_WORDS[0]}}" completion --commands "$library" 2>/dev/null)" -- "$cur")
        fi
        return
    fi
    if [[ " $(_{bin}_value_options "$path") " == *" $prev "* ]]; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    local words
    words=$(_{bin}_words "$path")
    if [[ $path == {bin} && $cur != -* ]]; then
        words+=" $("${{COMP_WORDS[0]}}" completion --libraries 2>/dev/null | tr '\n' ' ')"
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}}
complete -F _{bin} {bin}
"#
    )
    .unwrap();
    s
}

fn zsh(root: &Cmd) -> String {
    let bin = root.name();
    let mut s = format!(
        "#compdef {bin}\n# zsh completion for {bin}\n# {GENERATED}\n# Installed as zsh/site-functions/_{bin}, or: source <({bin} completion zsh)\n\n"
    );
    let described =
        |items: Vec<String>| items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" ");
    let subs = nodes(root)
        .iter()
        .filter(|n| !n.subs.is_empty())
        .map(|n| {
            let items = n.subs.iter().map(|(w, d)| format!("{w}:{}", first_line(d)));
            (n.path.clone(), described(items.collect()))
        })
        .collect();
    shell_case(&mut s, Shell::Zsh, &format!("_{bin}_subcommands"), subs);
    let opts = nodes(root)
        .iter()
        .map(|n| {
            let mut items: Vec<String> = n
                .options
                .iter()
                .map(|o| format!("{}:{}", o.long, first_line(&o.about)))
                .collect();
            items.push("--help:display usage information".into());
            (n.path.clone(), described(items))
        })
        .collect();
    shell_case(&mut s, Shell::Zsh, &format!("_{bin}_options"), opts);
    shell_case(
        &mut s,
        Shell::Zsh,
        &format!("_{bin}_value_options"),
        value_options(root),
    );
    write!(
        s,
        r#"_{bin}() {{
    local path={bin} library= word i
    local -a subs opts values libs
    for ((i = 2; i < CURRENT; i++)); do
        word=${{words[i]}}
        [[ $word == -* ]] && continue
        subs=(${{(f)"$(_{bin}_subcommands $path)"}})
        if ((${{subs[(I)${{(b)word}}:*]}})); then
            path+=" $word"
        elif [[ $path == {bin} && -z $library ]]; then
            library=$word
        fi
    done
    if [[ -n $library ]]; then
        ((CURRENT == 3)) && compadd -- ${{(f)"$(${{words[1]}} completion --commands $library 2>/dev/null)"}}
        return
    fi
    values=(${{(f)"$(_{bin}_value_options $path)"}})
    if ((${{values[(Ie)${{words[CURRENT-1]}}]}})); then
        _files
        return
    fi
    subs=(${{(f)"$(_{bin}_subcommands $path)"}})
    opts=(${{(f)"$(_{bin}_options $path)"}})
    if [[ $path == {bin} ]]; then
        libs=(${{(f)"$(${{words[1]}} completion --libraries 2>/dev/null)"}})
        ((${{#libs}})) && compadd -X library -- $libs
    fi
    ((${{#subs}})) && _describe -t commands command subs
    _describe -t options option opts
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _{bin} "$@"
else
    compdef _{bin} {bin}
fi
"#
    )
    .unwrap();
    s
}

fn fish(root: &Cmd) -> String {
    let bin = root.name();
    let mut s = format!(
        "# fish completion for {bin}\n# {GENERATED}\n# Installed as fish/vendor_completions.d/{bin}.fish, or: {bin} completion fish | source\n\n"
    );
    shell_case(
        &mut s,
        Shell::Fish,
        &format!("__{bin}_subcommands"),
        subcommands(root),
    );
    write!(
        s,
        r#"# The command path on the line ("{bin} cli token"); a first word that is no command is a
# library, printed as "library NAME".
function __{bin}_path
    set -l path {bin}
    set -l library
    for word in (commandline -opc)[2..-1]
        string match -q -- '-*' $word; and continue
        if contains -- $word (string split ' ' (__{bin}_subcommands "$path"))
            set path "$path $word"
        else if test "$path" = {bin}; and test -z "$library"
            set library $word
        end
    end
    if test -n "$library"
        echo "library $library"
    else
        echo $path
    end
end

function __{bin}_at
    test (__{bin}_path) = "$argv[1]"
end

function __{bin}_library_commands
    set -l tokens (commandline -opc)
    test (count $tokens) -eq 2; or return
    set -l at (__{bin}_path)
    string match -q 'library *' -- $at; or return
    $tokens[1] completion --commands (string replace 'library ' '' -- $at) 2>/dev/null
end

complete -c {bin} -f
complete -c {bin} -n '__{bin}_at {bin}' -a '({bin} completion --libraries 2>/dev/null)' -d library
complete -c {bin} -n 'string match -q "library *" -- (__{bin}_path)' -a '(__{bin}_library_commands)'
"#
    )
    .unwrap();
    for n in nodes(root) {
        let cond = format!("__{bin}_at {}", quote(&n.path));
        for (w, d) in &n.subs {
            writeln!(
                s,
                "complete -c {bin} -n {} -a {} -d {}",
                quote(&cond),
                w,
                quote(first_line(d))
            )
            .unwrap();
        }
        for o in &n.options {
            let mut line = format!(
                "complete -c {bin} -n {} -l {}",
                quote(&cond),
                o.long.trim_start_matches("--")
            );
            if let Some(short) = &o.short {
                write!(line, " -s {}", short.trim_start_matches('-')).unwrap();
            }
            if o.value.is_some() {
                line.push_str(" -r -F");
            }
            write!(line, " -d {}", quote(first_line(&o.about))).unwrap();
            writeln!(s, "{line}").unwrap();
        }
    }
    s
}

// --- the files --------------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn server_tree() -> (Cmd, String) {
    let server = server_bin();
    let root = tree(&server, vec![bin_name(&server)]);
    let v = version(&server);
    (root, v)
}

/// Every generated file: path under the repository, contents.
fn generated() -> Vec<(&'static str, String)> {
    let my = PathBuf::from(env!("CARGO_BIN_EXE_my"));
    let root = tree(&my, vec!["my".into()]);
    let (server, server_version) = server_tree();
    vec![
        ("dist/man/my.1", man(&root, &version(&my), MY_MAN_TAIL)),
        (
            "dist/man/my-server.1",
            man(&server, &server_version, SERVER_MAN_TAIL),
        ),
        ("dist/completions/my.bash", bash(&root)),
        ("dist/completions/_my", zsh(&root)),
        ("dist/completions/my.fish", fish(&root)),
    ]
}

#[test]
fn dist_files_match_the_command_tree() {
    let update = std::env::var("MY_UPDATE_DIST").as_deref() == Ok("1");
    let mut stale = Vec::new();
    for (rel, text) in generated() {
        let path = repo().join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with the commands: {}; run `make completions` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn the_tree_has_every_level_and_the_flags_that_take_values() {
    let root = tree(&PathBuf::from(env!("CARGO_BIN_EXE_my")), vec!["my".into()]);
    let all = root.walk();
    let create = all
        .iter()
        .find(|c| c.name() == "my cli token create")
        .expect("my cli token create is walked");
    let expires = create
        .options
        .iter()
        .find(|o| o.long == "--expires-in")
        .unwrap();
    assert_eq!(expires.value.as_deref(), Some("expires-in"));
    let json = create.options.iter().find(|o| o.long == "--json").unwrap();
    assert_eq!(json.value, None);
    assert_eq!(create.positionals[0].name, "name");
    // The TAB-time questions of `my completion` stay out of the documented tree.
    let completion = all.iter().find(|c| c.name() == "my completion").unwrap();
    assert!(completion.options.is_empty(), "{:?}", completion.options);
    // A long option whose description starts on the next line keeps both.
    let (server, _) = server_tree();
    let limit = server
        .options
        .iter()
        .find(|o| o.long == "--mail-client-limit")
        .unwrap();
    assert!(limit.about.starts_with("sign-in mails per client address"));
    assert_eq!(limit.value.as_deref(), Some("mail-client-limit"));
}

#[test]
fn my_completion_prints_the_committed_scripts() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    for (shell, file) in [("bash", "my.bash"), ("zsh", "_my"), ("fish", "my.fish")] {
        let out = env.run(&["completion", shell]).ok();
        let committed =
            std::fs::read_to_string(repo().join("dist/completions").join(file)).unwrap();
        assert_eq!(out.stdout.trim_end(), committed.trim_end(), "{shell}");
    }
    let bad = env.run(&["completion", "tcsh"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("bash, zsh or fish"), "{}", bad.stderr);
    // Without a cached catalog the TAB-time answers are empty, never an error.
    let libs = env.run(&["completion", "--libraries"]).ok();
    assert_eq!(libs.stdout, "");
}

/// COMPREPLY of the bash script for the words of `line` (the last one being completed).
fn bash_complete(env: &TestEnv, line: &[&str]) -> Vec<String> {
    let script = repo().join("dist/completions/my.bash");
    let words: Vec<String> = line.iter().map(|w| quote(w)).collect();
    let program = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; _my; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quote(&script.display().to_string()),
        words.join(" "),
        line.len() - 1
    );
    // The environment `my` gets in these tests, and `my` found through PATH as a user's is.
    let my = env.cmd(&[]);
    let path = format!(
        "{}:{}",
        my_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .envs(my.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("PATH", path)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_installed_libraries() {
    let server = Server::start(&[]);
    server.admin(&["library", "import", &examples_dir().display().to_string()]);
    let env = TestEnv::new(&server);
    assert_eq!(
        bash_complete(&env, &["my", "cli", "lo"]),
        ["login", "logout"]
    );
    assert_eq!(
        bash_complete(&env, &["my", "cli", "token", "create", "--ex"]),
        ["--expires-in"]
    );
    assert!(bash_complete(&env, &["my", ""]).contains(&"library".to_string()));

    // An installed library completes at the top, and its commands after it.
    assert!(!bash_complete(&env, &["my", ""]).contains(&"kubernetes".to_string()));
    env.login(&server, "tab@example.com").ok();
    env.run(&["library", "install", "kubernetes"]).ok();
    let top = bash_complete(&env, &["my", "ku"]);
    assert_eq!(top, ["kubernetes"]);
    let listed = env.run(&["completion", "--commands", "kubernetes"]).ok();
    let listed: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(bash_complete(&env, &["my", "kubernetes", ""]), listed);
}

#[test]
fn zsh_and_fish_accept_their_scripts() {
    for (shell, args, file) in [
        ("zsh", vec!["-n"], "_my"),
        ("fish", vec!["--no-execute"], "my.fish"),
    ] {
        let path = repo().join("dist/completions").join(file);
        let out = Command::new(shell)
            .args(&args)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("{shell} is installed (scripts/deps.sh test): {e}"));
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // fish answers a completion query without a terminal: the real thing, not only syntax.
    let script = repo().join("dist/completions/my.fish");
    let out = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "source {}; complete -C 'my cli lo'",
            quote(&script.display().to_string())
        ))
        .output()
        .unwrap();
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(words, ["login", "logout"]);
}
