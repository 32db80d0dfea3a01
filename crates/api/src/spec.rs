//! The command spec (`schemaVersion: 1`, `kind: command`): its types as on the wire, parsing
//! from JSON or YAML, validation whose errors name the field, and the canonical JSON form
//! and hash that the server stores and the CLI checks before it runs a cached spec.
//!
//! Kept in the wire crate because three parties must agree on it byte for byte: the server
//! (upload, `admin library import`), the CLI's sync (hash check) and the CLI's runner.
//! Running a spec (argument parsing, templates, shells) is the CLI's job, not this file's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The only spec schema version there is.
pub const SCHEMA_VERSION: u32 = 1;
/// The only spec kind there is.
pub const KIND: &str = "command";
/// The shell a step runs with when neither the step nor `defaults` names one.
pub const DEFAULT_SHELL: &str = "/bin/sh";
/// A step's timeout when neither the step nor `defaults` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The longest timeout a spec may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Template delimiters when `defaults.templateDelimiters` is not set.
pub const DEFAULT_DELIMITERS: [&str; 2] = ["{{", "}}"];
/// The largest spec file (or body) accepted, as the server's default body limit.
pub const MAX_SPEC_BYTES: usize = 256 * 1024;
/// Flag names the runner keeps for itself.
pub const RESERVED_FLAGS: [&str; 1] = ["help"];

/// A command spec. Field order is the canonical JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub schema_version: u32,
    pub kind: String,
    pub metadata: Metadata,
    /// Programs that must be on PATH before any step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Args::is_empty")]
    pub args: Args,
    #[serde(default, skip_serializing_if = "Defaults::is_empty")]
    pub defaults: Defaults,
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Policy::is_empty")]
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    /// `^[a-z][a-z0-9-]*$`; also the spec's file name in a library.
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Other slugs the command answers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Args {
    /// Bound in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positional: Vec<Positional>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}

impl Args {
    fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.flags.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Positional {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// A string, number or bool in the file; always a string here.
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<String>,
    /// The only values allowed (`enum` in the file).
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// A regular expression the value must match somewhere (anchor it with `^…$`), as
    /// upstream's Go `regexp.MatchString`; checked to compile when the spec is parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The fewest characters (not bytes) the value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// The most characters (not bytes) the value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flag {
    /// Used as `--name`.
    pub name: String,
    /// One character, used as `-s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "FlagType::is_string")]
    pub kind: FlagType,
    /// A string, number or bool in the file; always a string here.
    #[serde(
        default,
        deserialize_with = "scalar",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// The only values allowed (`enum` in the file).
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// A regular expression the value must match somewhere (anchor it with `^…$`), as
    /// upstream's Go `regexp.MatchString`; checked to compile when the spec is parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The fewest characters (not bytes) the value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// The most characters (not bytes) the value may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// The smallest value of an `int` flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The largest value of an `int` flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// The type of a flag's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagType {
    #[default]
    String,
    /// Takes no value on the command line: present means `true`.
    Bool,
    /// A signed 64-bit whole number.
    Int,
}

impl FlagType {
    fn is_string(&self) -> bool {
        *self == FlagType::String
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// Absolute path of the shell every step runs with (default `/bin/sh`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// A duration like `30s`, `5m` or `1h30m` (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Environment of every step; values are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// `[open, close]`, e.g. `["<%", "%>"]`, so a literal `{{` reaches tools like helm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_delimiters: Option<Vec<String>>,
}

impl Defaults {
    fn is_empty(&self) -> bool {
        *self == Defaults::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    /// The script (a template): one string, or lines joined by newlines.
    pub run: Run,
    /// Added to `defaults.env` (and wins over it); values are templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Go on with the next step when this one fails (the run still fails).
    #[serde(default, skip_serializing_if = "is_false")]
    pub continue_on_error: bool,
}

/// A step's `run`, in the shape it was written, so the canonical JSON (and the hash) of a
/// spec written with lines is what it always was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Run {
    /// `run: |` or `run: echo hi` (upstream's shape): the string is the script, as written.
    Script(String),
    /// `run: [line, line]`: the lines joined by newlines are the script.
    Lines(Vec<String>),
}

impl Run {
    /// The script the shell is given (before templates are rendered).
    pub fn script(&self) -> String {
        match self {
            Run::Script(text) => text.clone(),
            Run::Lines(lines) => lines.join("\n"),
        }
    }

    /// The script's lines, for display.
    pub fn lines(&self) -> Vec<&str> {
        match self {
            Run::Script(text) => text.lines().collect(),
            Run::Lines(lines) => lines.iter().map(String::as_str).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Run {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Run, D::Error> {
        struct RunVisitor;
        impl<'de> Visitor<'de> for RunVisitor {
            type Value = Run;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a script (a string) or a list of lines")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Run, E> {
                Ok(Run::Script(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Run, A::Error> {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element::<String>()? {
                    lines.push(line);
                }
                Ok(Run::Lines(lines))
            }
        }
        d.deserialize_any(RunVisitor)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// Ask `Proceed? [y/N]` before running (or need `--yes` without a terminal).
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_confirmation: bool,
    /// When set, the first word of every run line must be one of these, and shell
    /// metacharacters are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_executables: Option<Vec<String>>,
    /// Hand the caller's bearer token to the steps as `MY_API_TOKEN` (default: never).
    #[serde(default, skip_serializing_if = "is_false")]
    pub expose_token: bool,
}

impl Policy {
    fn is_empty(&self) -> bool {
        *self == Policy::default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Accepts a string, a whole number or a bool (YAML writes `default: 8080`), as a string.
fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct ScalarVisitor;
    impl Visitor<'_> for ScalarVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a whole number or a bool")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_any(ScalarVisitor)
}

/// A spec or manifest file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format a file name's extension says (`.json`, `.yaml`, `.yml`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// Why a spec (or manifest) was refused. `path` names the field (`args.flags[0].name`),
/// empty for the document as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub path: String,
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Rephrases a deserializer's error with the field path `serde_path_to_error` tracked.
    /// serde's own wording for unknown and missing fields names the field in backticks
    /// after the path already pointed at it; this says it once, the contract's way.
    pub(crate) fn from_serde(path: &serde_path_to_error::Path, inner: String) -> SpecError {
        let path = path.to_string();
        let path = if path == "." { String::new() } else { path };
        if let Some(rest) = inner.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let location = rest.find(" at line ").map_or("", |i| &rest[i..]);
            let parent = match path.rfind('.') {
                Some(i) => &path[..i],
                None => "",
            };
            let at = if parent.is_empty() {
                " at the top level".to_string()
            } else {
                format!(" at {parent}")
            };
            return SpecError::new("", format!("unknown field \"{name}\"{at}{location}"));
        }
        if let Some(rest) = inner.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let location = rest.find(" at line ").map_or("", |i| &rest[i..]);
            let full = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            return SpecError::new(full, format!("is required{location}"));
        }
        SpecError::new(path, inner)
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// Deserializes `text` as `format` into `T`, with errors that carry the field path.
pub(crate) fn deserialize<T: de::DeserializeOwned>(
    text: &str,
    format: Format,
) -> Result<T, SpecError> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(SpecError::new(
            "",
            format!("too large: {} bytes (at most {MAX_SPEC_BYTES})", text.len()),
        ));
    }
    match format {
        Format::Json => from_json_text(text),
        Format::Yaml => {
            // One value tree, then the JSON path: the types' deserializers are compiled for
            // JSON only, not once more for YAML (~0.1 MB of `my`). YAML's own errors (syntax,
            // duplicate keys) keep their line; the JSON text's positions would mislead.
            let value: serde_json::Value =
                serde_norway::from_str(text).map_err(|e| SpecError::new("", e.to_string()))?;
            let json =
                serde_json::to_string(&value).map_err(|e| SpecError::new("", e.to_string()))?;
            from_json_text(&json).map_err(|mut e| {
                if let Some(i) = e.message.find(" at line ") {
                    e.message.truncate(i);
                }
                e
            })
        }
    }
}

fn from_json_text<T: de::DeserializeOwned>(text: &str) -> Result<T, SpecError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| SpecError::from_serde(e.path(), e.inner().to_string()))?;
    de.end()
        .map_err(|e| SpecError::new("", format!("trailing data: {e}")))?;
    Ok(value)
}

impl Spec {
    /// Parses and validates a spec written as `format`.
    pub fn parse(text: &str, format: Format) -> Result<Spec, SpecError> {
        let spec: Spec = deserialize(text, format)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Parses JSON bytes (a cached body or an upload) and validates them.
    pub fn from_json(bytes: &[u8]) -> Result<Spec, SpecError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SpecError::new("", "not UTF-8 text"))?;
        Spec::parse(text, Format::Json)
    }

    /// Checks everything the types cannot say; the first problem is reported.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(SpecError::new(
                "schemaVersion",
                format!("must be {SCHEMA_VERSION}, not {}", self.schema_version),
            ));
        }
        if self.kind != KIND {
            return Err(SpecError::new(
                "kind",
                format!("must be \"{KIND}\", not \"{}\"", self.kind),
            ));
        }
        self.metadata.validate()?;
        for (i, dep) in self.dependencies.iter().enumerate() {
            if dep.trim().is_empty() || dep.chars().any(char::is_whitespace) {
                return Err(SpecError::new(
                    format!("dependencies[{i}]"),
                    format!("{dep:?} is not a program name"),
                ));
            }
        }
        self.args.validate()?;
        self.defaults.validate()?;
        if self.steps.is_empty() {
            return Err(SpecError::new("steps", "must have at least one step"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            step.validate(&format!("steps[{i}]"))?;
        }
        if let Some(allowed) = &self.policy.allowed_executables {
            for (i, exe) in allowed.iter().enumerate() {
                if exe.is_empty() || exe.chars().any(char::is_whitespace) {
                    return Err(SpecError::new(
                        format!("policy.allowedExecutables[{i}]"),
                        format!("{exe:?} is not a program name"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every name the command answers to: its slug, then its aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.metadata.slug.as_str())
            .chain(self.metadata.aliases.iter().map(String::as_str))
    }

    /// The shell `step` runs with.
    pub fn shell_for<'a>(&'a self, step: &'a Step) -> &'a str {
        step.shell
            .as_deref()
            .or(self.defaults.shell.as_deref())
            .unwrap_or(DEFAULT_SHELL)
    }

    /// The timeout of `step` (a validated spec always has parseable durations).
    pub fn timeout_for(&self, step: &Step) -> Duration {
        step.timeout
            .as_deref()
            .or(self.defaults.timeout.as_deref())
            .and_then(|t| parse_timeout(t).ok())
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The template delimiters, `{{` `}}` unless the spec sets its own.
    pub fn delimiters(&self) -> (&str, &str) {
        match self.defaults.template_delimiters.as_deref() {
            Some([open, close]) => (open, close),
            _ => (DEFAULT_DELIMITERS[0], DEFAULT_DELIMITERS[1]),
        }
    }
}

impl Metadata {
    fn validate(&self) -> Result<(), SpecError> {
        if self.name.trim().is_empty() {
            return Err(SpecError::new("metadata.name", "must not be empty"));
        }
        check_slug("metadata.slug", &self.slug)?;
        let mut seen = BTreeSet::from([self.slug.as_str()]);
        for (i, alias) in self.aliases.iter().enumerate() {
            let path = format!("metadata.aliases[{i}]");
            check_slug(&path, alias)?;
            if !seen.insert(alias) {
                return Err(SpecError::new(path, format!("{alias:?} is used twice")));
            }
        }
        Ok(())
    }
}

impl Args {
    fn validate(&self) -> Result<(), SpecError> {
        // Two names that export the same MY_ARG_ variable would shadow each other.
        let mut env_names = BTreeMap::new();
        let mut shorts = BTreeSet::new();
        let mut optional_seen = false;
        let positional = self.positional.iter().enumerate();
        let flags = self.flags.iter().enumerate();
        let names = positional
            .map(|(i, p)| (format!("args.positional[{i}].name"), &p.name))
            .chain(flags.map(|(i, f)| (format!("args.flags[{i}].name"), &f.name)));
        for (path, name) in names {
            check_arg_name(&path, name)?;
            if let Some(other) = env_names.insert(arg_env_name(name), name) {
                return Err(SpecError::new(
                    path,
                    format!(
                        "{name:?} clashes with {other:?} (both are {})",
                        arg_env_name(name)
                    ),
                ));
            }
        }
        for (i, p) in self.positional.iter().enumerate() {
            if p.required && p.default.is_some() {
                return Err(SpecError::new(
                    format!("args.positional[{i}]"),
                    "a required argument cannot have a default",
                ));
            }
            if p.required && optional_seen {
                return Err(SpecError::new(
                    format!("args.positional[{i}]"),
                    "a required argument cannot follow an optional one",
                ));
            }
            optional_seen |= !p.required;
            p.constraints()
                .validate(&format!("args.positional[{i}]"), p.default.as_deref())?;
        }
        for (i, f) in self.flags.iter().enumerate() {
            let path = format!("args.flags[{i}]");
            if RESERVED_FLAGS.contains(&f.name.as_str()) {
                return Err(SpecError::new(
                    format!("{path}.name"),
                    format!("--{} is reserved", f.name),
                ));
            }
            if let Some(short) = &f.short {
                let mut chars = short.chars();
                let ok = matches!((chars.next(), chars.next()), (Some(c), None) if c.is_ascii_alphanumeric() && c != 'h');
                if !ok {
                    return Err(SpecError::new(
                        format!("{path}.short"),
                        format!("{short:?} must be one letter or digit (not h)"),
                    ));
                }
                if !shorts.insert(short) {
                    return Err(SpecError::new(
                        format!("{path}.short"),
                        format!("-{short} is used twice"),
                    ));
                }
            }
            if f.required && f.default.is_some() {
                return Err(SpecError::new(
                    path,
                    "a required flag cannot have a default",
                ));
            }
            if f.required && f.kind == FlagType::Bool {
                return Err(SpecError::new(path, "a bool flag cannot be required"));
            }
            if let Some(default) = &f.default {
                check_value(f.kind, default)
                    .map_err(|m| SpecError::new(format!("{path}.default"), m))?;
            }
            f.constraints().validate(&path, f.default.as_deref())?;
        }
        Ok(())
    }
}

/// An argument's constraints (`enum`, `pattern`, `minLength`, `maxLength`, and `min`,
/// `max` for int flags), positional or flag alike.
struct Constraints<'a> {
    kind: FlagType,
    choices: Option<&'a [String]>,
    pattern: Option<&'a str>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min: Option<i64>,
    max: Option<i64>,
}

impl Positional {
    fn constraints(&self) -> Constraints<'_> {
        Constraints {
            kind: FlagType::String,
            choices: self.choices.as_deref(),
            pattern: self.pattern.as_deref(),
            min_length: self.min_length,
            max_length: self.max_length,
            min: None,
            max: None,
        }
    }

    /// Checks a value given for this argument; the message says what is allowed
    /// (`must be one of: a, b`) and is meant to follow the argument's name.
    pub fn check(&self, value: &str) -> Result<(), String> {
        self.constraints().check(value)
    }
}

impl Flag {
    fn constraints(&self) -> Constraints<'_> {
        Constraints {
            kind: self.kind,
            choices: self.choices.as_deref(),
            pattern: self.pattern.as_deref(),
            min_length: self.min_length,
            max_length: self.max_length,
            min: self.min,
            max: self.max,
        }
    }

    /// Checks a value (already of the flag's type) given for this flag, as
    /// [`Positional::check`] does.
    pub fn check(&self, value: &str) -> Result<(), String> {
        self.constraints().check(value)
    }
}

impl Constraints<'_> {
    /// Checks the constraints themselves, and `default` against them.
    fn validate(&self, path: &str, default: Option<&str>) -> Result<(), SpecError> {
        let fields = [
            ("enum", self.choices.is_some()),
            ("pattern", self.pattern.is_some()),
            ("minLength", self.min_length.is_some()),
            ("maxLength", self.max_length.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
        ];
        for (field, set) in fields {
            if !set {
                continue;
            }
            if self.kind == FlagType::Bool {
                return Err(SpecError::new(
                    format!("{path}.{field}"),
                    "does not apply to a bool flag",
                ));
            }
            if (field == "min" || field == "max") && self.kind != FlagType::Int {
                return Err(SpecError::new(
                    format!("{path}.{field}"),
                    "applies only to an int flag",
                ));
            }
        }
        if let Some(choices) = self.choices {
            if choices.is_empty() {
                return Err(SpecError::new(
                    format!("{path}.enum"),
                    "must list at least one value",
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, choice) in choices.iter().enumerate() {
                let at = format!("{path}.enum[{i}]");
                if choice.is_empty() {
                    return Err(SpecError::new(at, "must not be empty"));
                }
                check_value(self.kind, choice).map_err(|m| SpecError::new(&at, m))?;
                if !seen.insert(choice) {
                    return Err(SpecError::new(at, format!("{choice:?} is listed twice")));
                }
            }
        }
        if let Some(pattern) = self.pattern {
            regex_lite::Regex::new(pattern).map_err(|e| {
                SpecError::new(
                    format!("{path}.pattern"),
                    format!("{pattern:?} is not a regular expression this my understands: {e}"),
                )
            })?;
        }
        if let (Some(lo), Some(hi)) = (self.min_length, self.max_length) {
            if lo > hi {
                return Err(SpecError::new(
                    path,
                    format!("minLength {lo} is larger than maxLength {hi}"),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max) {
            if lo > hi {
                return Err(SpecError::new(
                    path,
                    format!("min {lo} is larger than max {hi}"),
                ));
            }
        }
        if let Some(default) = default {
            self.check(default).map_err(|why| {
                SpecError::new(format!("{path}.default"), format!("{default:?} {why}"))
            })?;
        }
        Ok(())
    }

    fn check(&self, value: &str) -> Result<(), String> {
        if let Some(choices) = self.choices {
            let allowed = match self.kind {
                // As numbers, so `--n 07` is the `7` the spec lists.
                FlagType::Int => choices
                    .iter()
                    .any(|c| c.parse::<i64>().ok() == value.parse::<i64>().ok()),
                _ => choices.iter().any(|c| c == value),
            };
            if !allowed {
                return Err(format!("must be one of: {}", choices.join(", ")));
            }
        }
        if let Some(pattern) = self.pattern {
            // A validated spec's pattern compiles: `Spec::validate` tried it.
            let matched = regex_lite::Regex::new(pattern).is_ok_and(|re| re.is_match(value));
            if !matched {
                return Err(format!("must match the pattern {pattern}"));
            }
        }
        let length = u64::try_from(value.chars().count()).unwrap_or(u64::MAX);
        if let Some(lo) = self.min_length.filter(|lo| length < *lo) {
            return Err(format!("must be at least {lo} {} long", characters(lo)));
        }
        if let Some(hi) = self.max_length.filter(|hi| length > *hi) {
            return Err(format!("must be at most {hi} {} long", characters(hi)));
        }
        if let Ok(n) = value.parse::<i64>() {
            if let Some(lo) = self.min.filter(|lo| n < *lo) {
                return Err(format!("must be at least {lo}"));
            }
            if let Some(hi) = self.max.filter(|hi| n > *hi) {
                return Err(format!("must be at most {hi}"));
            }
        }
        Ok(())
    }
}

fn characters(n: u64) -> &'static str {
    if n == 1 {
        "character"
    } else {
        "characters"
    }
}

impl Defaults {
    fn validate(&self) -> Result<(), SpecError> {
        if let Some(shell) = &self.shell {
            check_shell("defaults.shell", shell)?;
        }
        if let Some(timeout) = &self.timeout {
            check_timeout("defaults.timeout", timeout)?;
        }
        check_env("defaults.env", &self.env)?;
        if let Some(delims) = &self.template_delimiters {
            let ok = delims.len() == 2
                && delims[0] != delims[1]
                && delims
                    .iter()
                    .all(|d| !d.is_empty() && !d.chars().any(char::is_whitespace));
            if !ok {
                return Err(SpecError::new(
                    "defaults.templateDelimiters",
                    "must be two different strings without spaces, an opening and a closing one",
                ));
            }
        }
        Ok(())
    }
}

impl Step {
    fn validate(&self, path: &str) -> Result<(), SpecError> {
        if self.name.trim().is_empty() {
            return Err(SpecError::new(format!("{path}.name"), "must not be empty"));
        }
        match &self.run {
            Run::Lines(lines) if lines.is_empty() => {
                return Err(SpecError::new(
                    format!("{path}.run"),
                    "must have at least one line",
                ));
            }
            Run::Lines(lines) if lines.iter().all(|line| line.trim().is_empty()) => {
                return Err(SpecError::new(
                    format!("{path}.run"),
                    "has only empty lines",
                ));
            }
            Run::Script(text) if text.trim().is_empty() => {
                return Err(SpecError::new(format!("{path}.run"), "must not be empty"));
            }
            _ => {}
        }
        check_env(&format!("{path}.env"), &self.env)?;
        if let Some(timeout) = &self.timeout {
            check_timeout(&format!("{path}.timeout"), timeout)?;
        }
        if let Some(shell) = &self.shell {
            check_shell(&format!("{path}.shell"), shell)?;
        }
        Ok(())
    }
}

/// Whether `s` is a slug: `^[a-z][a-z0-9-]*$`.
pub fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

pub(crate) fn check_slug(path: &str, s: &str) -> Result<(), SpecError> {
    if is_slug(s) {
        Ok(())
    } else {
        Err(SpecError::new(
            path,
            format!("{s:?} must match ^[a-z][a-z0-9-]*$"),
        ))
    }
}

/// Argument names: `^[A-Za-z][A-Za-z0-9_-]*$`, so each is a template key and an env name.
fn check_arg_name(path: &str, s: &str) -> Result<(), SpecError> {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(SpecError::new(
            path,
            format!("{s:?} must match ^[A-Za-z][A-Za-z0-9_-]*$"),
        ))
    }
}

/// The environment variable an argument is exported as: `MY_ARG_` + upper case, `-` → `_`.
pub fn arg_env_name(name: &str) -> String {
    let mut out = String::from("MY_ARG_");
    out.extend(name.chars().map(|c| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    out
}

/// Checks a flag value against its type; the message says what was expected.
pub fn check_value(kind: FlagType, value: &str) -> Result<(), String> {
    match kind {
        FlagType::String => Ok(()),
        FlagType::Bool if value == "true" || value == "false" => Ok(()),
        FlagType::Bool => Err(format!("{value:?} is not true or false")),
        FlagType::Int if value.parse::<i64>().is_ok() => Ok(()),
        FlagType::Int => Err(format!("{value:?} is not a whole number")),
    }
}

fn check_env(path: &str, env: &BTreeMap<String, String>) -> Result<(), SpecError> {
    for key in env.keys() {
        let mut chars = key.chars();
        let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(SpecError::new(
                format!("{path}.{key}"),
                "is not a valid environment variable name",
            ));
        }
    }
    Ok(())
}

/// Shells are absolute paths; whether the file exists is checked where the step runs.
fn check_shell(path: &str, shell: &str) -> Result<(), SpecError> {
    if shell.starts_with('/') && !shell.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(SpecError::new(
            path,
            format!("{shell:?} must be the absolute path of a shell, like /bin/bash"),
        ))
    }
}

fn check_timeout(path: &str, text: &str) -> Result<(), SpecError> {
    parse_timeout(text)
        .map(|_| ())
        .map_err(|m| SpecError::new(path, format!("{text:?}: {m}")))
}

/// Parses a step timeout the way Go writes durations, restricted to whole numbers:
/// one or more `<number><unit>` with units `ms`, `s`, `m`, `h` (`30s`, `5m`, `1h30m`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    const HINT: &str = "must be a duration like 30s, 5m or 1h30m";
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(HINT.into());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 || digits > 9 {
            return Err(HINT.into());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| HINT.to_string())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return Err(HINT.into()),
        };
        rest = &rest[unit_len..];
        total += part;
    }
    if total.is_zero() {
        return Err("must be longer than zero".into());
    }
    if total > MAX_TIMEOUT {
        return Err("may be at most 24h".into());
    }
    Ok(total)
}

/// The spec's canonical JSON: fields in declaration order, maps sorted, defaults left out,
/// no whitespace. The server stores exactly these bytes and hashes them.
pub fn canonical_json(spec: &Spec) -> Vec<u8> {
    // Only structs, strings, bools, integers and string-keyed maps: nothing that
    // serde_json can refuse to serialize.
    serde_json::to_vec(spec).expect("a spec always serializes to JSON")
}

/// Lowercase hex SHA-256 of a spec body.
pub fn spec_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
schemaVersion: 1
kind: command
metadata:
  name: Deploy
  slug: deploy
  aliases: [d]
dependencies: [git]
args:
  positional:
    - name: service
      required: true
  flags:
    - name: env
      short: e
      required: true
    - name: replicas
      type: int
      default: 2
    - name: dry-run
      type: bool
defaults:
  timeout: 1m
  env:
    REGION: eu
steps:
  - name: Deploy
    run:
      - echo "Deploying {{.args.service}} to {{.args.env}}"
    timeout: 1h30m
    continueOnError: true
policy:
  requireConfirmation: true
"#;

    fn yaml_err(text: &str) -> String {
        Spec::parse(text, Format::Yaml).unwrap_err().to_string()
    }

    fn minimal(extra: &str) -> String {
        format!(
            "schemaVersion: 1\nkind: command\nmetadata: {{name: X, slug: x}}\nsteps: [{{name: s, run: [\"true\"]}}]\n{extra}"
        )
    }

    #[test]
    fn valid_yaml_parses_with_defaults_normalized() {
        let spec = Spec::parse(VALID, Format::Yaml).unwrap();
        assert_eq!(spec.metadata.slug, "deploy");
        assert_eq!(spec.args.flags[1].kind, FlagType::Int);
        assert_eq!(spec.args.flags[1].default.as_deref(), Some("2"));
        assert_eq!(spec.timeout_for(&spec.steps[0]), Duration::from_secs(5400));
        assert_eq!(spec.shell_for(&spec.steps[0]), DEFAULT_SHELL);
        assert_eq!(spec.delimiters(), ("{{", "}}"));
        assert!(spec.policy.require_confirmation && !spec.policy.expose_token);
        assert_eq!(spec.names().collect::<Vec<_>>(), ["deploy", "d"]);
    }

    #[test]
    fn canonical_json_round_trips_and_hash_is_stable() {
        let spec = Spec::parse(VALID, Format::Yaml).unwrap();
        let bytes = canonical_json(&spec);
        let again = Spec::from_json(&bytes).unwrap();
        assert_eq!(again, spec);
        assert_eq!(canonical_json(&again), bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"schemaVersion":1,"kind":"command","metadata":"#));
        // Defaults are left out, so `false` written out and omitted hash the same.
        assert!(!text.contains("exposeToken") && !text.contains("\"type\":\"string\""));
        let hash = spec_hash(&bytes);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            spec_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn missing_and_empty_steps_are_named() {
        let no_steps = "schemaVersion: 1\nkind: command\nmetadata: {name: X, slug: x}\n";
        assert_eq!(yaml_err(no_steps), "steps: is required");
        assert_eq!(
            yaml_err(&no_steps.replace("}\n", "}\nsteps: []\n")),
            "steps: must have at least one step"
        );
        assert_eq!(
            Spec::from_json(
                br#"{"schemaVersion":1,"kind":"command","metadata":{"name":"X"},"steps":[]}"#
            )
            .unwrap_err()
            .to_string(),
            "metadata.slug: is required at line 1 column 59"
        );
    }

    #[test]
    fn bad_slug_is_named() {
        assert_eq!(
            yaml_err(&minimal("").replace("slug: x", "slug: Bad")),
            r#"metadata.slug: "Bad" must match ^[a-z][a-z0-9-]*$"#
        );
        assert_eq!(
            yaml_err(&minimal("").replace("slug: x", "slug: x, aliases: [x]")),
            r#"metadata.aliases[0]: "x" is used twice"#
        );
    }

    #[test]
    fn unknown_field_is_named_with_its_path() {
        let text = minimal("args:\n  flags:\n    - name: env\n      foo: 1\n");
        assert!(
            yaml_err(&text).starts_with(r#"unknown field "foo" at args.flags[0]"#),
            "{}",
            yaml_err(&text)
        );
        assert!(yaml_err(&minimal("extra: 1\n"))
            .starts_with(r#"unknown field "extra" at the top level"#));
        let json = br#"{"schemaVersion":1,"kind":"command","metadata":{"name":"X","slug":"x","bar":2},"steps":[]}"#;
        assert!(Spec::from_json(json)
            .unwrap_err()
            .to_string()
            .starts_with(r#"unknown field "bar" at metadata"#));
    }

    #[test]
    fn empty_run_is_refused() {
        assert_eq!(
            yaml_err(&minimal("").replace("run: [\"true\"]", "run: []")),
            "steps[0].run: must have at least one line"
        );
    }

    #[test]
    fn run_is_a_script_or_lines_and_lines_keep_their_canonical_form() {
        let block = minimal("").replace(
            "steps: [{name: s, run: [\"true\"]}]",
            "steps:\n  - name: s\n    run: |\n      echo a\n      echo b\n",
        );
        let spec = Spec::parse(&block, Format::Yaml).unwrap();
        assert_eq!(spec.steps[0].run, Run::Script("echo a\necho b\n".into()));
        assert_eq!(spec.steps[0].run.script(), "echo a\necho b\n");
        assert_eq!(spec.steps[0].run.lines(), ["echo a", "echo b"]);
        let bytes = canonical_json(&spec);
        assert!(String::from_utf8(bytes.clone())
            .unwrap()
            .contains(r#""run":"echo a\necho b\n""#));
        assert_eq!(Spec::from_json(&bytes).unwrap(), spec);

        // The list form serializes byte for byte as before `run` could be a string.
        let spec = Spec::parse(&minimal(""), Format::Yaml).unwrap();
        assert_eq!(spec.steps[0].run.script(), "true");
        let bytes = canonical_json(&spec);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"schemaVersion":1,"kind":"command","metadata":{"name":"X","slug":"x"},"steps":[{"name":"s","run":["true"]}]}"#
        );
        assert_eq!(
            spec_hash(&bytes),
            "4cc76bfbd1164625a6b849d5e107c065c03e62bb58b36c08becb4fd5598d0a8a"
        );

        assert_eq!(
            yaml_err(&minimal("").replace("run: [\"true\"]", "run: \"  \"")),
            "steps[0].run: must not be empty"
        );
        let err = yaml_err(&minimal("").replace("run: [\"true\"]", "run: 5"));
        assert!(
            err.starts_with("steps[0].run: invalid type: integer `5`, expected a script (a string) or a list of lines"),
            "{err}"
        );
    }

    #[test]
    fn argument_constraints_are_parsed_and_checked() {
        let text = minimal(
            "args:\n  positional:\n    - {name: service, enum: [web, api], pattern: '^[a-z]+$', minLength: 2, maxLength: 3}\n  flags:\n    - {name: env, short: e, default: staging, enum: [staging, production]}\n    - {name: lines, type: int, default: 50, min: 1, max: 500}\n    - {name: tier, type: int, enum: ['1', '2']}\n",
        );
        let spec = Spec::parse(&text, Format::Yaml).unwrap();
        let (service, flags) = (&spec.args.positional[0], &spec.args.flags);
        assert_eq!(
            service.choices.as_deref(),
            Some(&["web".into(), "api".into()][..])
        );
        assert_eq!((service.min_length, service.max_length), (Some(2), Some(3)));
        assert_eq!((flags[1].min, flags[1].max), (Some(1), Some(500)));
        let json = String::from_utf8(canonical_json(&spec)).unwrap();
        assert!(
            json.contains(
                r#""enum":["web","api"],"pattern":"^[a-z]+$","minLength":2,"maxLength":3"#
            ),
            "{json}"
        );
        assert_eq!(Spec::from_json(json.as_bytes()).unwrap(), spec);

        assert_eq!(service.check("web"), Ok(()));
        assert_eq!(service.check("db"), Err("must be one of: web, api".into()));
        assert_eq!(
            flags[0].check("prod"),
            Err("must be one of: staging, production".into())
        );
        assert_eq!(flags[1].check("500"), Ok(()));
        assert_eq!(flags[1].check("0"), Err("must be at least 1".into()));
        assert_eq!(flags[1].check("501"), Err("must be at most 500".into()));
        assert_eq!(flags[2].check("02"), Ok(()));
        assert_eq!(flags[2].check("3"), Err("must be one of: 1, 2".into()));
        let lengths = minimal("args:\n  positional:\n    - {name: id, pattern: '^[0-9a-f]+$', minLength: 1, maxLength: 4}\n");
        let id = Spec::parse(&lengths, Format::Yaml).unwrap().args.positional[0].clone();
        assert_eq!(
            id.check("Z1"),
            Err("must match the pattern ^[0-9a-f]+$".into())
        );
        assert_eq!(
            id.check(""),
            Err("must match the pattern ^[0-9a-f]+$".into())
        );
        assert_eq!(
            id.check("abcde"),
            Err("must be at most 4 characters long".into())
        );
        let short = minimal("args:\n  positional: [{name: n, minLength: 2}]\n");
        let n = Spec::parse(&short, Format::Yaml).unwrap().args.positional[0].clone();
        assert_eq!(
            n.check("é"),
            Err("must be at least 2 characters long".into())
        );
        assert_eq!(n.check("éé"), Ok(()));
    }

    #[test]
    fn bad_argument_constraints_are_refused_when_parsed() {
        let flag = |extra: &str| {
            yaml_err(&minimal(&format!(
                "args:\n  flags:\n    - {{name: f, {extra}}}\n"
            )))
        };
        assert!(
            flag("pattern: '(unclosed'").starts_with(r#"args.flags[0].pattern: "(unclosed" is not a regular expression this my understands: "#),
            "{}",
            flag("pattern: '(unclosed'")
        );
        assert_eq!(
            flag("enum: []"),
            "args.flags[0].enum: must list at least one value"
        );
        assert_eq!(
            flag("enum: [a, a]"),
            r#"args.flags[0].enum[1]: "a" is listed twice"#
        );
        assert_eq!(
            flag("enum: ['']"),
            "args.flags[0].enum[0]: must not be empty"
        );
        assert_eq!(
            flag("type: int, enum: [x]"),
            r#"args.flags[0].enum[0]: "x" is not a whole number"#
        );
        assert_eq!(
            flag("min: 1"),
            "args.flags[0].min: applies only to an int flag"
        );
        assert_eq!(
            flag("type: bool, enum: [a]"),
            "args.flags[0].enum: does not apply to a bool flag"
        );
        assert_eq!(
            flag("type: int, min: 5, max: 1"),
            "args.flags[0]: min 5 is larger than max 1"
        );
        assert_eq!(
            flag("minLength: 5, maxLength: 1"),
            "args.flags[0]: minLength 5 is larger than maxLength 1"
        );
        assert_eq!(
            flag("default: dev, enum: [staging, production]"),
            r#"args.flags[0].default: "dev" must be one of: staging, production"#
        );
        assert!(
            flag("maxLength: -1").starts_with("args.flags[0].maxLength: invalid value"),
            "{}",
            flag("maxLength: -1")
        );
        let positional = minimal("args:\n  positional: [{name: p, min: 1}]\n");
        assert!(
            yaml_err(&positional).starts_with(r#"unknown field "min" at args.positional[0]"#),
            "{}",
            yaml_err(&positional)
        );
        let positional = minimal("args:\n  positional: [{name: p, pattern: '[z-a]'}]\n");
        assert!(
            yaml_err(&positional).starts_with("args.positional[0].pattern: "),
            "{}",
            yaml_err(&positional)
        );
    }

    #[test]
    fn bad_types_are_named() {
        let text = minimal("args:\n  flags:\n    - name: n\n      type: float\n");
        let err = yaml_err(&text);
        assert!(
            err.starts_with("args.flags[0].type: unknown variant `float`"),
            "{err}"
        );
        let text =
            minimal("args:\n  flags:\n    - name: n\n      type: int\n      default: many\n");
        assert_eq!(
            yaml_err(&text),
            r#"args.flags[0].default: "many" is not a whole number"#
        );
        let err = yaml_err(&minimal("dependencies: kubectl\n"));
        assert!(
            err.starts_with("dependencies: invalid type: string"),
            "{err}"
        );
        assert_eq!(
            yaml_err(&minimal("").replace("schemaVersion: 1", "schemaVersion: 2")),
            "schemaVersion: must be 1, not 2"
        );
    }

    #[test]
    fn bad_durations_are_named() {
        assert_eq!(
            yaml_err(&minimal("defaults: {timeout: 5 minutes}\n")),
            r#"defaults.timeout: "5 minutes": must be a duration like 30s, 5m or 1h30m"#
        );
        assert_eq!(
            yaml_err(&minimal("").replace("run: [\"true\"]", "run: [\"true\"], timeout: 0s")),
            r#"steps[0].timeout: "0s": must be longer than zero"#
        );
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_timeout("25h").is_err());
        assert!(parse_timeout("1.5s").is_err());
        assert!(parse_timeout("m").is_err());
    }

    #[test]
    fn arguments_and_shells_are_checked() {
        let clash = minimal("args:\n  positional: [{name: a-b}]\n  flags: [{name: a_b}]\n");
        assert_eq!(
            yaml_err(&clash),
            r#"args.flags[0].name: "a_b" clashes with "a-b" (both are MY_ARG_A_B)"#
        );
        let order = minimal("args:\n  positional: [{name: a}, {name: b, required: true}]\n");
        assert_eq!(
            yaml_err(&order),
            "args.positional[1]: a required argument cannot follow an optional one"
        );
        assert_eq!(
            yaml_err(&minimal("defaults: {shell: bash}\n")),
            r#"defaults.shell: "bash" must be the absolute path of a shell, like /bin/bash"#
        );
        assert_eq!(
            yaml_err(&minimal("defaults: {templateDelimiters: [\"<%\"]}\n")),
            "defaults.templateDelimiters: must be two different strings without spaces, an opening and a closing one"
        );
        assert_eq!(arg_env_name("dry-run"), "MY_ARG_DRY_RUN");
    }

    #[test]
    fn yaml_syntax_errors_and_huge_input_are_refused() {
        assert!(yaml_err("schemaVersion: [1\n").contains("line"));
        let huge = "#".repeat(MAX_SPEC_BYTES + 1);
        assert!(yaml_err(&huge).starts_with("too large"));
    }
}
