//! The template language of spec `run` lines and `env` values: a documented subset of Go's
//! text/template, so specs written for the original tool keep working, and nothing outside
//! the subset is silently printed as an empty string.
//!
//! Supported: `{{.args.NAME}}`, `{{.env.NAME}}`, `{{.cwd}}`, `{{.home}}`; string ("…" and
//! `…`), integer and `true`/`false` literals; pipelines (`{{.args.x | quote}}`); the
//! functions `or`, `and`, `not`, `eq`, `ne` and `quote` (POSIX shell quoting); `{{if …}}`,
//! `{{else if …}}`, `{{else}}`, `{{end}}`; comments `{{/* … */}}`; trim markers `{{-` and
//! `-}}`; custom delimiters. A missing argument or environment variable is an error naming
//! it. Everything else (`range`, `with`, variables, `printf`, …) is refused by name.

use std::collections::BTreeMap;
use std::fmt;

/// A value an argument can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
}

impl Value {
    /// Go's truth: false, 0 and "" are false.
    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
        }
    }
}

/// What templates can read.
pub struct Data<'a> {
    pub args: &'a BTreeMap<String, Value>,
    pub env: &'a BTreeMap<String, String>,
    pub cwd: &'a str,
    pub home: &'a str,
}

/// A template error, with the 1-based line of the template it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

type Res<T> = Result<T, TemplateError>;

fn err<T>(line: usize, message: impl Into<String>) -> Res<T> {
    Err(TemplateError {
        line,
        message: message.into(),
    })
}

const FUNCTIONS: [&str; 6] = ["or", "and", "not", "eq", "ne", "quote"];
const UNSUPPORTED: [&str; 8] = [
    "range", "with", "define", "template", "block", "break", "continue", "printf",
];

/// Renders `src` with `data`, using `open`/`close` as the action delimiters.
pub fn render(src: &str, open: &str, close: &str, data: &Data) -> Res<String> {
    let nodes = parse(src, open, close)?;
    let mut out = String::with_capacity(src.len());
    exec(&nodes, data, &mut out)?;
    Ok(out)
}

/// POSIX shell quoting: the value inside single quotes, each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str(r"'\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[derive(Debug)]
enum Node {
    Text(String),
    Print(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
}

/// `cmd | cmd | …`, each command's value passed as the last argument of the next.
#[derive(Debug)]
struct Pipeline {
    line: usize,
    commands: Vec<Vec<Operand>>,
}

#[derive(Debug, Clone)]
enum Operand {
    Field(Vec<String>),
    Literal(Value),
    Function(String),
}

/// One `{{…}}` after lexing: its keyword (if any) and its pipeline.
enum Action {
    Pipeline(Pipeline),
    If(Pipeline),
    ElseIf(Pipeline),
    Else,
    End,
    Comment,
}

fn parse(src: &str, open: &str, close: &str) -> Res<Vec<Node>> {
    let mut pieces = Vec::new(); // (text before, action, line)
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    while let Some(start) = rest.find(open) {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after_open = &rest[start + open.len()..];
        let action_line = line + rest[..start].matches('\n').count();
        let trim_before = after_open.starts_with('-')
            && after_open[1..].starts_with(|c: char| c.is_ascii_whitespace());
        if trim_before {
            text = text.trim_end();
        }
        let body_start = if trim_before { 1 } else { 0 };
        let end = find_close(&after_open[body_start..], close).ok_or_else(|| TemplateError {
            line: action_line,
            message: format!("unclosed action: no {close:?} after {open:?}"),
        })? + body_start;
        let mut body = &after_open[body_start..end];
        trim_next = body.ends_with('-')
            && body[..body.len() - 1].ends_with(|c: char| c.is_ascii_whitespace());
        if trim_next {
            body = &body[..body.len() - 1];
        }
        pieces.push((
            text.to_string(),
            Some((lex_action(body.trim(), action_line)?, action_line)),
        ));
        line = action_line + body.matches('\n').count();
        rest = &after_open[end + close.len()..];
    }
    let tail = if trim_next { rest.trim_start() } else { rest };
    pieces.push((tail.to_string(), None));
    let mut iter = pieces.into_iter();
    let (nodes, stop) = parse_nodes(&mut iter)?;
    match stop {
        None => Ok(nodes),
        Some((Action::End, l)) => err(l, "{{end}} without {{if}}"),
        Some((_, l)) => err(l, "{{else}} without {{if}}"),
    }
}

/// Where the action's closing delimiter is, skipping quoted strings.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' => quote = Some(c),
            None if s[i..].starts_with(close) => return Some(i),
            None => {}
        }
    }
    None
}

/// An action and the line it starts on.
type Located = (Action, usize);
type Pieces = std::vec::IntoIter<(String, Option<Located>)>;

/// Parses nodes until an `else`, `else if` or `end` (returned with its line) or the end.
fn parse_nodes(iter: &mut Pieces) -> Res<(Vec<Node>, Option<Located>)> {
    let mut nodes = Vec::new();
    while let Some((text, action)) = iter.next() {
        if !text.is_empty() {
            nodes.push(Node::Text(text));
        }
        let Some((action, line)) = action else { break };
        match action {
            Action::Comment => {}
            Action::Pipeline(p) => nodes.push(Node::Print(p)),
            Action::If(cond) => nodes.push(parse_if(iter, cond)?),
            stop => return Ok((nodes, Some((stop, line)))),
        }
    }
    Ok((nodes, None))
}

fn parse_if(iter: &mut Pieces, cond: Pipeline) -> Res<Node> {
    let start_line = cond.line;
    let mut branches = Vec::new();
    let mut cond = cond;
    loop {
        let (body, stop) = parse_nodes(iter)?;
        match stop {
            Some((Action::End, _)) => {
                branches.push((cond, body));
                return Ok(Node::If {
                    branches,
                    otherwise: Vec::new(),
                });
            }
            Some((Action::ElseIf(next), _)) => {
                branches.push((cond, body));
                cond = next;
            }
            Some((Action::Else, _)) => {
                branches.push((cond, body));
                let (otherwise, stop) = parse_nodes(iter)?;
                return match stop {
                    Some((Action::End, _)) => Ok(Node::If {
                        branches,
                        otherwise,
                    }),
                    _ => err(
                        start_line,
                        "{{if}} has no matching {{end}} after its {{else}}",
                    ),
                };
            }
            _ => return err(start_line, "{{if}} has no matching {{end}}"),
        }
    }
}

fn lex_action(body: &str, line: usize) -> Res<Action> {
    if body.starts_with("/*") {
        return if body.ends_with("*/") {
            Ok(Action::Comment)
        } else {
            err(line, "a comment must be written {{/* … */}}")
        };
    }
    let tokens = tokenize(body, line)?;
    let first = match tokens.first() {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    match first {
        Some("if") => Ok(Action::If(pipeline(&tokens[1..], line, "if")?)),
        Some("else") => match tokens.get(1) {
            None => Ok(Action::Else),
            Some(Token::Word(w)) if w == "if" => {
                Ok(Action::ElseIf(pipeline(&tokens[2..], line, "else if")?))
            }
            Some(_) => err(line, "{{else}} takes nothing after it except `if …`"),
        },
        Some("end") if tokens.len() == 1 => Ok(Action::End),
        Some("end") => err(line, "{{end}} takes no arguments"),
        _ => Ok(Action::Pipeline(pipeline(&tokens, line, "")?)),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field(Vec<String>),
    Str(String),
    Int(i64),
    Pipe,
}

fn tokenize(s: &str, line: usize) -> Res<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let word_end = s[i..]
            .find(|c: char| c.is_whitespace() || c == '|')
            .map_or(s.len(), |n| i + n);
        match c {
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            '"' | '`' => {
                let (value, len) = string_literal(&s[i..], line)?;
                tokens.push(Token::Str(value));
                while chars.peek().is_some_and(|&(j, _)| j < i + len) {
                    chars.next();
                }
            }
            '.' => {
                let word = &s[i..word_end];
                let parts: Vec<String> = word[1..].split('.').map(String::from).collect();
                let ok = parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
                if !ok {
                    return err(
                        line,
                        format!(
                            "{word:?} is not a field (write .args.NAME, .env.NAME, .cwd or .home)"
                        ),
                    );
                }
                tokens.push(Token::Field(parts));
                skip_to(&mut chars, word_end);
            }
            '$' => return err(line, "variables ($x) are not supported in templates"),
            '(' | ')' => return err(line, "parentheses are not supported in templates"),
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let word = &s[i..word_end];
                let n = word.parse::<i64>().map_err(|_| TemplateError {
                    line,
                    message: format!("{word:?} is not a whole number"),
                })?;
                tokens.push(Token::Int(n));
                skip_to(&mut chars, word_end);
            }
            c if c.is_ascii_alphabetic() => {
                let word = &s[i..word_end];
                if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return err(line, format!("{word:?} is not understood"));
                }
                tokens.push(Token::Word(word.to_string()));
                skip_to(&mut chars, word_end);
            }
            other => return err(line, format!("unexpected {other:?} in an action")),
        }
    }
    Ok(tokens)
}

fn skip_to(chars: &mut std::iter::Peekable<std::str::CharIndices>, end: usize) {
    while chars.peek().is_some_and(|&(j, _)| j < end) {
        chars.next();
    }
}

/// A `"…"` (with Go's common escapes) or `` `…` `` literal at the start of `s`: its value
/// and its length in bytes.
fn string_literal(s: &str, line: usize) -> Res<(String, usize)> {
    let quote = s.chars().next().unwrap_or('"');
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((value, i + 1));
        }
        if c == '\\' && quote == '"' {
            let escaped = match chars.next() {
                Some((_, 'n')) => '\n',
                Some((_, 't')) => '\t',
                Some((_, '\\')) => '\\',
                Some((_, '"')) => '"',
                Some((_, other)) => {
                    return err(line, format!("unknown escape \\{other} in a string"))
                }
                None => break,
            };
            value.push(escaped);
        } else {
            value.push(c);
        }
    }
    err(line, "unterminated string")
}

fn pipeline(tokens: &[Token], line: usize, keyword: &str) -> Res<Pipeline> {
    if tokens.is_empty() {
        return err(
            line,
            if keyword.is_empty() {
                "empty action".to_string()
            } else {
                format!("{{{{{keyword}}}}} needs a condition")
            },
        );
    }
    let mut commands = Vec::new();
    for part in tokens.split(|t| *t == Token::Pipe) {
        if part.is_empty() {
            return err(line, "a pipe (|) needs a command on each side");
        }
        let mut command = Vec::new();
        for (i, token) in part.iter().enumerate() {
            command.push(match token {
                Token::Field(path) => Operand::Field(path.clone()),
                Token::Str(s) => Operand::Literal(Value::Str(s.clone())),
                Token::Int(n) => Operand::Literal(Value::Int(*n)),
                Token::Word(w) if w == "true" || w == "false" => {
                    Operand::Literal(Value::Bool(w == "true"))
                }
                Token::Word(w) if FUNCTIONS.contains(&w.as_str()) && i == 0 => {
                    Operand::Function(w.clone())
                }
                Token::Word(w) if UNSUPPORTED.contains(&w.as_str()) => {
                    return err(line, format!("{w} is not supported in templates"))
                }
                Token::Word(w) if ["if", "else", "end"].contains(&w.as_str()) => {
                    return err(line, format!("{w} must start its own action"))
                }
                Token::Word(w) => {
                    return err(
                        line,
                        format!(
                            "unknown function {w:?} (templates have {})",
                            FUNCTIONS.join(", ")
                        ),
                    )
                }
                Token::Pipe => unreachable!("split on pipes"),
            });
        }
        commands.push(command);
    }
    Ok(Pipeline { line, commands })
}

fn exec(nodes: &[Node], data: &Data, out: &mut String) -> Res<()> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(p) => out.push_str(&eval(p, data)?.to_string()),
            Node::If {
                branches,
                otherwise,
            } => {
                let mut taken = None;
                for (cond, body) in branches {
                    if eval(cond, data)?.truthy() {
                        taken = Some(body);
                        break;
                    }
                }
                exec(taken.unwrap_or(otherwise), data, out)?;
            }
        }
    }
    Ok(())
}

fn eval(p: &Pipeline, data: &Data) -> Res<Value> {
    let mut piped: Option<Value> = None;
    for command in &p.commands {
        let (head, rest) = command.split_first().expect("commands are never empty");
        let value = match head {
            Operand::Function(name) => {
                let mut args = rest
                    .iter()
                    .map(|o| operand(o, data, p.line))
                    .collect::<Res<Vec<_>>>()?;
                args.extend(piped.take());
                call(name, args, p.line)?
            }
            other => {
                if !rest.is_empty() || piped.is_some() {
                    return err(
                        p.line,
                        "only a function can take arguments or a piped value",
                    );
                }
                operand(other, data, p.line)?
            }
        };
        piped = Some(value);
    }
    Ok(piped.expect("pipelines are never empty"))
}

fn operand(o: &Operand, data: &Data, line: usize) -> Res<Value> {
    match o {
        Operand::Literal(v) => Ok(v.clone()),
        Operand::Function(f) => err(line, format!("{f} must come first in its command")),
        Operand::Field(path) => field(path, data, line),
    }
}

fn field(path: &[String], data: &Data, line: usize) -> Res<Value> {
    let shown = format!(".{}", path.join("."));
    let (root, rest) = path.split_first().expect("fields are never empty");
    let value = match (root.as_str(), rest) {
        ("args", [name]) => data.args.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = data.args.keys().map(String::as_str).collect();
            TemplateError {
                line,
                message: if known.is_empty() {
                    format!("{shown}: the command has no argument {name:?}")
                } else {
                    format!(
                        "{shown}: the command has no argument {name:?} (it has {})",
                        known.join(", ")
                    )
                },
            }
        })?,
        ("env", [name]) => {
            Value::Str(data.env.get(name).cloned().ok_or_else(|| TemplateError {
                line,
                message: format!("{shown}: environment variable {name} is not set"),
            })?)
        }
        ("cwd", []) => Value::Str(data.cwd.to_string()),
        ("home", []) => Value::Str(data.home.to_string()),
        ("args" | "env", []) => {
            return err(
                line,
                format!("{shown} is a map: name a key, like {shown}.NAME"),
            )
        }
        ("args" | "env" | "cwd" | "home", _) => {
            return err(line, format!("{shown}: no such field"))
        }
        _ => {
            return err(
                line,
                format!("{shown}: unknown field (templates have .args, .env, .cwd and .home)"),
            )
        }
    };
    Ok(value)
}

fn call(name: &str, args: Vec<Value>, line: usize) -> Res<Value> {
    let want = |n: usize| -> Res<()> {
        if args.len() == n {
            Ok(())
        } else {
            err(
                line,
                format!("{name} takes {n} argument(s), not {}", args.len()),
            )
        }
    };
    match name {
        "quote" => {
            want(1)?;
            Ok(Value::Str(shell_quote(&args[0].to_string())))
        }
        "not" => {
            want(1)?;
            Ok(Value::Bool(!args[0].truthy()))
        }
        "or" | "and" => {
            if args.is_empty() {
                return err(line, format!("{name} needs at least one argument"));
            }
            let stop_on = name == "or";
            let last = args.len() - 1;
            let pick = args
                .iter()
                .position(|a| a.truthy() == stop_on)
                .unwrap_or(last);
            Ok(args[pick].clone())
        }
        "eq" | "ne" => {
            if args.len() < 2 || (name == "ne" && args.len() != 2) {
                return err(line, format!("{name} needs two arguments"));
            }
            let mut equal = false;
            for other in &args[1..] {
                if std::mem::discriminant(other) != std::mem::discriminant(&args[0]) {
                    return err(
                        line,
                        format!(
                            "{name}: cannot compare a {} with a {}",
                            args[0].kind(),
                            other.kind()
                        ),
                    );
                }
                equal |= *other == args[0];
            }
            Ok(Value::Bool(if name == "eq" { equal } else { !equal }))
        }
        _ => err(line, format!("unknown function {name:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(src: &str) -> Res<String> {
        with_delims(src, "{{", "}}")
    }

    fn with_delims(src: &str, open: &str, close: &str) -> Res<String> {
        let args = BTreeMap::from([
            ("env".to_string(), Value::Str("staging".into())),
            ("region".to_string(), Value::Str(String::new())),
            ("force".to_string(), Value::Bool(false)),
            ("replicas".to_string(), Value::Int(3)),
            ("evil".to_string(), Value::Str("a'b; $(touch x)".into())),
        ]);
        let env = BTreeMap::from([("USER".to_string(), "ada".to_string())]);
        let data = Data {
            args: &args,
            env: &env,
            cwd: "/work",
            home: "/home/ada",
        };
        render(src, open, close, &data)
    }

    fn message(src: &str) -> String {
        with(src).unwrap_err().to_string()
    }

    #[test]
    fn fields_and_literals() {
        assert_eq!(
            with("deploy {{.args.env}} x{{ .args.replicas }} by {{.env.USER}} in {{.cwd}} ~{{.home}}")
                .unwrap(),
            "deploy staging x3 by ada in /work ~/home/ada"
        );
        assert_eq!(
            with(r#"{{"a\"b"}} {{`raw\n`}} {{42}} {{true}}"#).unwrap(),
            r#"a"b raw\n 42 true"#
        );
        assert_eq!(with("no actions at all").unwrap(), "no actions at all");
    }

    #[test]
    fn functions_and_pipelines() {
        assert_eq!(
            with(r#"{{or .args.region "eu-west-1"}}"#).unwrap(),
            "eu-west-1"
        );
        assert_eq!(with(r#"{{or .args.env "x"}}"#).unwrap(), "staging");
        assert_eq!(with("{{and .args.env .args.force}}").unwrap(), "false");
        assert_eq!(with("{{not .args.force}}").unwrap(), "true");
        assert_eq!(
            with(r#"{{eq .args.env "prod" "staging"}}"#).unwrap(),
            "true"
        );
        assert_eq!(with("{{ne .args.replicas 3}}").unwrap(), "false");
        assert_eq!(
            with("{{quote .args.evil}}").unwrap(),
            r"'a'\''b; $(touch x)'"
        );
        assert_eq!(
            with("{{.args.evil | quote}}").unwrap(),
            r"'a'\''b; $(touch x)'"
        );
        assert_eq!(
            with(r#"{{or .args.region "a b" | quote}}"#).unwrap(),
            "'a b'"
        );
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn conditionals() {
        let t =
            "{{if .args.force}}--force{{else if eq .args.env \"staging\"}}--stage{{else}}-n{{end}}";
        assert_eq!(with(t).unwrap(), "--stage");
        assert_eq!(with("a{{if .args.region}}R{{end}}b").unwrap(), "ab");
        assert_eq!(
            with("{{if .args.env}}{{if .args.force}}F{{else}}{{.args.env}}{{end}}{{end}}").unwrap(),
            "staging"
        );
        assert_eq!(with("a  {{- /* why */ -}}  b").unwrap(), "ab");
        assert_eq!(with("x\n  {{- if true }}\ny{{end}}").unwrap(), "x\ny");
    }

    #[test]
    fn custom_delimiters_let_braces_through() {
        assert_eq!(
            with_delims(
                "kubectl get -o go-template='{{.metadata.name}}' <% .args.env %>",
                "<%",
                "%>"
            )
            .unwrap(),
            "kubectl get -o go-template='{{.metadata.name}}' staging"
        );
    }

    #[test]
    fn missing_keys_are_errors_that_name_them() {
        assert_eq!(
            message("x\n{{.args.nope}}"),
            r#"line 2: .args.nope: the command has no argument "nope" (it has env, evil, force, region, replicas)"#
        );
        assert_eq!(
            message("{{.env.NOPE}}"),
            "line 1: .env.NOPE: environment variable NOPE is not set"
        );
        assert_eq!(
            message("{{.Values.x}}"),
            "line 1: .Values.x: unknown field (templates have .args, .env, .cwd and .home)"
        );
        assert_eq!(
            message("{{.args}}"),
            "line 1: .args is a map: name a key, like .args.NAME"
        );
    }

    #[test]
    fn anything_outside_the_subset_is_refused() {
        assert_eq!(
            message("{{range .args}}x{{end}}"),
            "line 1: range is not supported in templates"
        );
        assert_eq!(
            message("{{$x := 1}}"),
            "line 1: variables ($x) are not supported in templates"
        );
        assert_eq!(
            message(r#"{{printf "%s" .args.env}}"#),
            "line 1: printf is not supported in templates"
        );
        assert!(message("{{upper .args.env}}").starts_with(r#"line 1: unknown function "upper""#));
        assert_eq!(
            message("{{if .args.env}}x"),
            "line 1: {{if}} has no matching {{end}}"
        );
        assert_eq!(message("x\n{{end}}"), "line 2: {{end}} without {{if}}");
        assert_eq!(
            message("{{.args.env"),
            r#"line 1: unclosed action: no "}}" after "{{""#
        );
        assert_eq!(message("{{}}"), "line 1: empty action");
        assert_eq!(
            message("{{.args.env .args.env}}"),
            "line 1: only a function can take arguments or a piped value"
        );
        assert_eq!(
            message("{{eq .args.replicas \"3\"}}"),
            "line 1: eq: cannot compare a int with a string"
        );
    }

    #[test]
    fn odd_input_is_an_error_or_text_never_a_panic() {
        let odd = [
            "{{",
            "}}",
            "{{-",
            "{{- -}}",
            "{{-}}",
            "{{ - }}",
            "{{\"",
            "{{`",
            "{{ . }}",
            "{{..}}",
            "{{.args.}}",
            "{{|}}",
            "{{or}}",
            "{{eq 1}}",
            "é{{.cwd}}é{{",
            "{{\"\\",
            "{{ 1 | 2 }}",
            "{{else}}",
            "{{if}}{{end}}",
            "{{if 1}}{{else}}{{else}}{{end}}",
            "{{/* x",
            "{{ -1 }}",
            "{{99999999999999999999}}",
            "{{.args.env.x}}",
            "{{quote}}",
            "{{not 1 2}}",
            "{{ne 1}}",
        ];
        for t in odd {
            let _ = with(t);
        }
        assert_eq!(with("{{ -1 }}").unwrap(), "-1");
    }
}
