//! A spec's own command line: positional arguments in order and flags (`--name value`,
//! `--name=value`, `-s value`, bool flags without a value), typed, with defaults and
//! required ones, each value checked against the argument's constraints (`enum`,
//! `pattern`, lengths, `min`/`max`); plus the usage line and help text built from the spec.
//!
//! Everything after the command's slug reaches this parser untouched, which is why it is
//! not argh: the flags are only known once the spec is loaded.

use std::collections::BTreeMap;

use my_api::spec::{check_value, Flag, FlagType, Spec};

use super::template::Value;

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Every declared argument by name: given, defaulted, or empty (false for bool flags).
    Values(BTreeMap<String, Value>),
    /// `--help` or `-h`.
    Help,
}

/// Binds `argv` to the spec's arguments; the error names the argument at fault.
pub fn parse(spec: &Spec, argv: &[String]) -> Result<Parsed, String> {
    let mut values = BTreeMap::new();
    let mut positionals = Vec::new();
    let mut only_positionals = false;
    let mut words = argv.iter();
    while let Some(word) = words.next() {
        let is_number = word
            .strip_prefix('-')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if only_positionals || !word.starts_with('-') || word == "-" || is_number {
            positionals.push(word.clone());
            continue;
        }
        if word == "--" {
            only_positionals = true;
            continue;
        }
        if word == "--help" || word == "-h" {
            return Ok(Parsed::Help);
        }
        let (flag, inline) = find_flag(spec, word)?;
        let value = match flag.kind {
            FlagType::Bool => match inline {
                None | Some("true") => Value::Bool(true),
                Some("false") => Value::Bool(false),
                Some(_) => {
                    return Err(format!("--{} takes no value (or =true, =false)", flag.name))
                }
            },
            kind => {
                let raw = match inline {
                    Some(v) => v,
                    None => words
                        .next()
                        .map(String::as_str)
                        .ok_or_else(|| format!("--{} needs a value", flag.name))?,
                };
                let value = typed(kind, raw).map_err(|why| format!("--{}: {why}", flag.name))?;
                flag.check(raw)
                    .map_err(|why| format!("--{} {why}", flag.name))?;
                value
            }
        };
        values.insert(flag.name.clone(), value);
    }
    let declared = &spec.args.positional;
    if let Some(extra) = positionals.get(declared.len()) {
        return Err(format!("unexpected argument {extra:?}"));
    }
    for (i, arg) in declared.iter().enumerate() {
        // Defaults were checked against the constraints when the spec was parsed.
        if let Some(given) = positionals.get(i) {
            arg.check(given)
                .map_err(|why| format!("<{}> {why}", arg.name))?;
        }
        let value = match (positionals.get(i), &arg.default) {
            (Some(v), _) | (None, Some(v)) => v.clone(),
            (None, None) if arg.required => {
                return Err(format!("missing required argument <{}>", arg.name))
            }
            (None, None) => String::new(),
        };
        values.insert(arg.name.clone(), Value::Str(value));
    }
    for flag in &spec.args.flags {
        if values.contains_key(&flag.name) {
            continue;
        }
        let value = match (&flag.default, flag.kind) {
            (Some(d), kind) => typed(kind, d).map_err(|why| format!("--{}: {why}", flag.name))?,
            (None, _) if flag.required => {
                return Err(format!("missing required flag --{}", flag.name))
            }
            (None, FlagType::Bool) => Value::Bool(false),
            (None, _) => Value::Str(String::new()),
        };
        values.insert(flag.name.clone(), value);
    }
    Ok(Parsed::Values(values))
}

/// The flag a `--name[=v]` or `-s[=v]` word names, and its inline value.
fn find_flag<'a, 'w>(spec: &'a Spec, word: &'w str) -> Result<(&'a Flag, Option<&'w str>), String> {
    let (name, inline) = match word.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (word, None),
    };
    let found = match name.strip_prefix("--") {
        Some(long) => spec.args.flags.iter().find(|f| f.name == long),
        None => spec
            .args
            .flags
            .iter()
            .find(|f| f.short.as_deref() == Some(&name[1..])),
    };
    found
        .map(|f| (f, inline))
        .ok_or_else(|| format!("unknown flag {name}"))
}

fn typed(kind: FlagType, raw: &str) -> Result<Value, String> {
    check_value(kind, raw)?;
    Ok(match kind {
        FlagType::Int => Value::Int(raw.parse().unwrap_or_default()),
        FlagType::Bool => Value::Bool(raw == "true"),
        FlagType::String => Value::Str(raw.to_string()),
    })
}

/// `my ops deploy --env <env> [--version <version>] <service> [path]`.
pub fn usage(spec: &Spec, invoked_as: &str) -> String {
    let mut parts = vec![invoked_as.to_string()];
    for f in &spec.args.flags {
        let text = match f.kind {
            FlagType::Bool => format!("--{}", f.name),
            _ => format!("--{} <{}>", f.name, f.name),
        };
        parts.push(if f.required {
            text
        } else {
            format!("[{text}]")
        });
    }
    for p in &spec.args.positional {
        parts.push(if p.required {
            format!("<{}>", p.name)
        } else {
            format!("[{}]", p.name)
        });
    }
    parts.join(" ")
}

/// The `--help` text of a command.
pub fn help(spec: &Spec, invoked_as: &str) -> String {
    let m = &spec.metadata;
    let mut out = match &m.description {
        Some(d) => format!("{}: {d}\n", m.name),
        None => format!("{}\n", m.name),
    };
    out.push_str(&format!("\nUsage: {}\n", usage(spec, invoked_as)));
    let mut rows: Vec<(String, String)> = Vec::new();
    for p in &spec.args.positional {
        rows.push((
            format!("<{}>", p.name),
            describe(&p.description, p.required, &p.default, &p.choices),
        ));
    }
    for f in &spec.args.flags {
        let short = f
            .short
            .as_deref()
            .map_or("    ".to_string(), |s| format!("-{s}, "));
        let value = match f.kind {
            FlagType::Bool => String::new(),
            FlagType::Int => " <int>".to_string(),
            FlagType::String => format!(" <{}>", f.name),
        };
        rows.push((
            format!("{short}--{}{value}", f.name),
            describe(&f.description, f.required, &f.default, &f.choices),
        ));
    }
    rows.push(("-h, --help".into(), "show this help".into()));
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    out.push_str("\nArguments and flags:\n");
    for (left, right) in rows {
        out.push_str(format!("  {left:<width$}  {right}").trim_end());
        out.push('\n');
    }
    if !m.aliases.is_empty() {
        out.push_str(&format!("\nAliases: {}\n", m.aliases.join(", ")));
    }
    if !spec.dependencies.is_empty() {
        out.push_str(&format!("Needs: {}\n", spec.dependencies.join(", ")));
    }
    out
}

fn describe(
    description: &Option<String>,
    required: bool,
    default: &Option<String>,
    choices: &Option<Vec<String>>,
) -> String {
    let mut text = description.clone().unwrap_or_default();
    if let Some(choices) = choices {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("[one of: {}]", choices.join(", ")));
    }
    let extra = match (required, default) {
        (true, _) => Some("required".to_string()),
        (false, Some(d)) => Some(format!("default: {d}")),
        (false, None) => None,
    };
    if let Some(extra) = extra {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("({extra})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use my_api::spec::Format;

    fn spec() -> Spec {
        Spec::parse(
            r#"
schemaVersion: 1
kind: command
metadata: {name: Deploy, slug: deploy, description: Ship it}
args:
  positional:
    - {name: service, required: true, description: What to ship}
    - {name: region, default: eu}
  flags:
    - {name: env, short: e, required: true}
    - {name: replicas, type: int, default: 2}
    - {name: force, short: f, type: bool}
    - {name: note}
steps: [{name: s, run: ["true"]}]
"#,
            Format::Yaml,
        )
        .unwrap()
    }

    fn run(argv: &[&str]) -> Result<BTreeMap<String, Value>, String> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        match parse(&spec(), &argv)? {
            Parsed::Values(v) => Ok(v),
            Parsed::Help => Err("help".into()),
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn binds_positionals_flags_types_and_defaults() {
        let v = run(&["web", "--env", "staging", "-f", "--replicas=5"]).unwrap();
        assert_eq!(v["service"], s("web"));
        assert_eq!(v["region"], s("eu"));
        assert_eq!(v["env"], s("staging"));
        assert_eq!(v["replicas"], Value::Int(5));
        assert_eq!(v["force"], Value::Bool(true));
        assert_eq!(v["note"], s(""));
        // Regression: a first character wider than a byte.
        assert_eq!(run(&["été", "-e", "x"]).unwrap()["service"], s("été"));
        let v = run(&["-e=prod", "--", "--web", "us"]).unwrap();
        assert_eq!((&v["service"], &v["region"]), (&s("--web"), &s("us")));
        assert_eq!(v["replicas"], Value::Int(2));
        assert_eq!(v["force"], Value::Bool(false));
        assert_eq!(
            run(&["web", "-e", "x", "--replicas", "-3"]).unwrap()["replicas"],
            Value::Int(-3)
        );
        assert_eq!(
            run(&["web", "-e", "x", "--force=false"]).unwrap()["force"],
            Value::Bool(false)
        );
    }

    #[test]
    fn errors_name_the_argument() {
        assert_eq!(
            run(&["--env", "x"]).unwrap_err(),
            "missing required argument <service>"
        );
        assert_eq!(run(&["web"]).unwrap_err(), "missing required flag --env");
        assert_eq!(run(&["web", "--env"]).unwrap_err(), "--env needs a value");
        assert_eq!(
            run(&["web", "-e", "x", "--replicas", "many"]).unwrap_err(),
            r#"--replicas: "many" is not a whole number"#
        );
        assert_eq!(
            run(&["web", "-e", "x", "--bogus"]).unwrap_err(),
            "unknown flag --bogus"
        );
        assert_eq!(
            run(&["web", "-e", "x", "-z"]).unwrap_err(),
            "unknown flag -z"
        );
        assert_eq!(
            run(&["web", "eu", "more", "-e", "x"]).unwrap_err(),
            r#"unexpected argument "more""#
        );
        assert_eq!(
            run(&["web", "-e", "x", "--force=yes"]).unwrap_err(),
            "--force takes no value (or =true, =false)"
        );
        assert_eq!(run(&["--help"]).unwrap_err(), "help");
    }

    #[test]
    fn constraints_are_checked_on_given_values_only() {
        let spec = Spec::parse(
            r#"
schemaVersion: 1
kind: command
metadata: {name: Logs, slug: logs}
args:
  positional:
    - {name: service, required: true, pattern: '^[a-z]+$', maxLength: 5}
    - {name: zone, enum: [a, b]}
  flags:
    - {name: env, short: e, default: staging, enum: [staging, production]}
    - {name: lines, type: int, default: 50, min: 1, max: 500}
    - {name: tag, minLength: 2}
steps: [{name: s, run: "echo {{.args.service}}"}]
"#,
            Format::Yaml,
        )
        .unwrap();
        let bind = |argv: &[&str]| {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            parse(&spec, &argv)
        };
        let Ok(Parsed::Values(v)) = bind(&["web", "-e", "production", "--lines=500"]) else {
            panic!("{:?}", bind(&["web", "-e", "production", "--lines=500"]));
        };
        assert_eq!(
            (&v["env"], &v["lines"], &v["zone"]),
            (&s("production"), &Value::Int(500), &s(""))
        );
        // Defaults (and an optional positional left out) are not checked here.
        assert!(bind(&["web"]).is_ok());
        assert_eq!(
            bind(&["web", "--env", "dev"]).unwrap_err(),
            "--env must be one of: staging, production"
        );
        assert_eq!(
            bind(&["web", "-e=prod"]).unwrap_err(),
            "--env must be one of: staging, production"
        );
        assert_eq!(
            bind(&["web", "--lines", "0"]).unwrap_err(),
            "--lines must be at least 1"
        );
        assert_eq!(
            bind(&["web", "--lines", "501"]).unwrap_err(),
            "--lines must be at most 500"
        );
        assert_eq!(
            bind(&["web", "--lines", "lots"]).unwrap_err(),
            r#"--lines: "lots" is not a whole number"#
        );
        assert_eq!(
            bind(&["web", "--tag", "x"]).unwrap_err(),
            "--tag must be at least 2 characters long"
        );
        assert_eq!(
            bind(&["Web"]).unwrap_err(),
            "<service> must match the pattern ^[a-z]+$"
        );
        assert_eq!(
            bind(&["webapp"]).unwrap_err(),
            "<service> must be at most 5 characters long"
        );
        assert_eq!(
            bind(&["web", "c"]).unwrap_err(),
            "<zone> must be one of: a, b"
        );
        let h = help(&spec, "my logs");
        assert!(
            h.contains("  -e, --env <env>    [one of: staging, production] (default: staging)\n"),
            "{h}"
        );
    }

    #[test]
    fn usage_and_help_come_from_the_spec() {
        assert_eq!(
            usage(&spec(), "my cli run deploy"),
            "my cli run deploy --env <env> [--replicas <replicas>] [--force] [--note <note>] <service> [region]"
        );
        let h = help(&spec(), "my ops deploy");
        assert!(
            h.starts_with("Deploy: Ship it\n\nUsage: my ops deploy --env <env>"),
            "{h}"
        );
        assert!(
            h.contains("  <service>             What to ship (required)\n"),
            "{h}"
        );
        assert!(h.contains("  -e, --env <env>       (required)\n"), "{h}");
        assert!(h.contains("      --replicas <int>  (default: 2)\n"), "{h}");
    }
}
