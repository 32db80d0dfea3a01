//! Running a command spec: bind the command line to its arguments, render every step,
//! check the policy, the shells and the dependencies, ask for confirmation, run the steps
//! in order, and record the run in the history.
//!
//! Everything that can refuse a run happens before the first step starts, so a usage
//! error, a template error or a missing dependency never leaves a half-done run behind.
//! Each job has its file: `args` (the spec's command line), `template`, `exec` (one step)
//! and `journal` (the history of runs). Which spec a name means is the catalog's business
//! (`catalog::resolve`).

pub mod args;
pub mod exec;
pub mod journal;
pub mod template;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use my_api::spec::{arg_env_name, Spec};

use crate::app::{now, rfc3339, App};
use crate::catalog::resolve::Resolved;
use crate::error::{Error, Result, EXIT_INTERRUPTED, EXIT_MISSING_DEPENDENCY, EXIT_TIMEOUT};
use crate::out;
use exec::Outcome;
use template::Data;

/// Characters a line may not hold when the spec restricts executables: they would let
/// a line run something other than its first word.
const SHELL_METACHARACTERS: [&str; 7] = ["|", ";", "&", "`", "$(", ">", "<"];

/// `my`'s own run options.
#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Skip `policy.requireConfirmation`'s prompt.
    pub yes: bool,
    /// Print the rendered steps; run nothing.
    pub dry_run: bool,
}

/// A step, rendered and ready.
struct Prepared<'a> {
    name: &'a str,
    shell: &'a str,
    timeout: Duration,
    script: String,
    env: Vec<(String, String)>,
    continue_on_error: bool,
}

/// Runs `cmd` with the spec arguments `argv`.
pub fn execute(app: &App, cmd: &Resolved, argv: &[String], opts: Options) -> Result<()> {
    let spec = &cmd.spec;
    let values = match args::parse(spec, argv) {
        Ok(args::Parsed::Values(v)) => v,
        Ok(args::Parsed::Help) => {
            out::line(args::help(spec, &cmd.invoked_as).trim_end());
            return Ok(());
        }
        Err(why) => {
            return Err(Error::Usage(format!(
                "{}: {why} (usage: {})",
                cmd.full_name(),
                args::usage(spec, &cmd.invoked_as)
            )))
        }
    };
    let env = template_env(spec);
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let home = std::env::var("HOME").unwrap_or_default();
    let data = Data {
        args: &values,
        env: &env,
        cwd: &cwd,
        home: &home,
    };
    let mut own_env: Vec<(String, String)> = values
        .iter()
        .map(|(name, v)| (arg_env_name(name), v.to_string()))
        .collect();
    own_env.push(("MY_API_URL".into(), app.api_url().to_string()));
    let steps = prepare(cmd, &data, &own_env)?;
    if opts.dry_run {
        print_dry_run(cmd, &steps);
        return Ok(());
    }
    check_dependencies(cmd)?;
    if spec.policy.require_confirmation && !opts.yes {
        confirm(cmd)?;
    }
    // Only now, and only if the spec asks: the token may need a refresh (network).
    let token = if spec.policy.expose_token {
        let active = crate::auth::session::active(app).inspect_err(|_| {
            out::note(format!(
                "{} needs your API credential (policy.exposeToken):",
                cmd.full_name()
            ))
        })?;
        Some(active)
    } else {
        None
    };
    let started = Instant::now();
    let time = rfc3339(now());
    let result = run_steps(&steps, token.as_ref().map(|t| t.token.expose()));
    let exit_code = match &result {
        Ok(()) => 0,
        Err(e) => i32::from(e.exit_code()),
    };
    let entry = journal::Entry {
        time,
        slug: cmd.slug().to_string(),
        library: cmd.library.clone(),
        version: cmd.version.map(u64::from),
        source: cmd.from.kind().to_string(),
        args: journal::redact(&values),
        exit_code,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    if let Err(e) = journal::append(&app.settings.config_dir, &entry) {
        out::note(format!(
            "warning: the run was not recorded in the history: {e}"
        ));
    }
    result
}

/// `.env` in templates: the process environment, without the API token unless the spec
/// opted in (a template could otherwise copy it anywhere).
/// Variables that are not UTF-8 are left out (they could not be printed anyway).
fn template_env(spec: &Spec) -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| spec.policy.expose_token || k != "MY_API_TOKEN")
        .collect()
}

/// Renders every step (script and env) and checks shells and the executables policy.
fn prepare<'a>(
    cmd: &'a Resolved,
    data: &Data,
    own_env: &[(String, String)],
) -> Result<Vec<Prepared<'a>>> {
    let spec = &cmd.spec;
    let (open, close) = spec.delimiters();
    let mut prepared = Vec::with_capacity(spec.steps.len());
    for step in &spec.steps {
        let fail = |what: &str, e: template::TemplateError| {
            let hint = if open == "{{" && e.message.contains("unknown") {
                " (if the script needs a literal {{, set defaults.templateDelimiters)"
            } else {
                ""
            };
            Error::Other(format!(
                "{}: step {:?}: {what} {e}{hint}",
                cmd.full_name(),
                step.name
            ))
        };
        let script = template::render(&step.run.script(), open, close, data)
            .map_err(|e| fail("template", e))?;
        let mut env = Vec::new();
        for (k, v) in spec.defaults.env.iter().chain(&step.env) {
            let value = template::render(v, open, close, data)
                .map_err(|e| fail(&format!("env {k}:"), e))?;
            env.retain(|(key, _): &(String, String)| key != k);
            env.push((k.clone(), value));
        }
        // `my`'s own variables win over the spec's.
        env.retain(|(k, _)| !own_env.iter().any(|(o, _)| o == k));
        env.extend(own_env.iter().cloned());
        if let Some(allowed) = &spec.policy.allowed_executables {
            check_allowed(&script, allowed).map_err(|why| {
                Error::Other(format!("{}: step {:?}: {why}", cmd.full_name(), step.name))
            })?;
        }
        let shell = spec.shell_for(step);
        exec::check_shell(shell)?;
        prepared.push(Prepared {
            name: &step.name,
            shell,
            timeout: spec.timeout_for(step),
            script,
            env,
            continue_on_error: step.continue_on_error,
        });
    }
    Ok(prepared)
}

/// `policy.allowedExecutables`: the first word of every line must be listed, and no line
/// may hold a shell metacharacter.
fn check_allowed(script: &str, allowed: &[String]) -> std::result::Result<(), String> {
    for (i, line) in script.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(m) = SHELL_METACHARACTERS.iter().find(|m| line.contains(*m)) {
            return Err(format!(
                "line {}: {m:?} is not allowed when policy.allowedExecutables is set",
                i + 1
            ));
        }
        let first = line.split_whitespace().next().unwrap_or_default();
        if !allowed.iter().any(|a| a == first) {
            return Err(format!(
                "line {}: {first:?} is not in policy.allowedExecutables ({})",
                i + 1,
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn print_dry_run(cmd: &Resolved, steps: &[Prepared]) {
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        out::line(format!(
            "# step {}/{total}: {} (shell {}, timeout {}){}",
            i + 1,
            step.name,
            step.shell,
            humantime::format_duration(step.timeout),
            if step.continue_on_error {
                ", continues on error"
            } else {
                ""
            }
        ));
        for (k, v) in &step.env {
            if !k.starts_with("MY_") {
                out::line(format!("# env {k}={v}"));
            }
        }
        out::line(&step.script);
    }
    if !cmd.spec.dependencies.is_empty() {
        out::line(format!("# needs: {}", cmd.spec.dependencies.join(", ")));
    }
}

/// Every dependency must be on PATH (or, written as a path, be an executable file).
fn check_dependencies(cmd: &Resolved) -> Result<()> {
    for dep in &cmd.spec.dependencies {
        if find_program(dep) {
            continue;
        }
        let needs = match &cmd.library {
            Some(lib) => format!("the {lib} library's `{}` command needs it", cmd.slug()),
            None => format!("the `{}` command needs it", cmd.slug()),
        };
        return Err(Error::Exit {
            code: EXIT_MISSING_DEPENDENCY,
            message: format!("{dep} not found on PATH; {needs}"),
        });
    }
    Ok(())
}

fn find_program(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return executable(Path::new(name));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(name))))
}

fn confirm(cmd: &Resolved) -> Result<()> {
    let steps: Vec<&str> = cmd.spec.steps.iter().map(|s| s.name.as_str()).collect();
    if std::io::stdin().is_terminal() {
        out::note(format!(
            "{} ({}) will run: {}",
            cmd.spec.metadata.name,
            cmd.full_name(),
            steps.join(", ")
        ));
    }
    let answer = out::ask(
        "Proceed? [y/N] ",
        Error::Usage(format!(
            "{} asks for confirmation (policy.requireConfirmation) and stdin is not a terminal: pass --yes to run it",
            cmd.full_name()
        )),
    )?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::Other("aborted: nothing was run".into()))
    }
}

/// Runs the steps in order; the error carries the exit code the run ends with.
fn run_steps(steps: &[Prepared], token: Option<&str>) -> Result<()> {
    let announce = steps.len() > 1 && std::io::stderr().is_terminal();
    let mut first_failure: Option<(u8, String)> = None;
    let mut failed = 0;
    for (i, step) in steps.iter().enumerate() {
        if announce {
            out::note(format!("==> [{}/{}] {}", i + 1, steps.len(), step.name));
        }
        let mut env = step.env.clone();
        if let Some(token) = token {
            env.push(("MY_API_TOKEN".into(), token.to_string()));
        }
        let outcome = exec::run_step(&exec::Step {
            shell: step.shell,
            script: &step.script,
            env: &env,
            remove: &["MY_API_TOKEN"],
            timeout: step.timeout,
        })?;
        let (code, message) = match outcome {
            Outcome::Exited(0) => continue,
            Outcome::Exited(code) => (
                u8::try_from(code).unwrap_or(1),
                format!("step {:?} failed with exit code {code}", step.name),
            ),
            Outcome::TimedOut => (
                EXIT_TIMEOUT,
                format!(
                    "step {:?} timed out after {}; it was stopped with every process it started",
                    step.name,
                    humantime::format_duration(step.timeout)
                ),
            ),
            Outcome::Interrupted(sig) => {
                let code = if sig == crate::sys::signal::SIGINT {
                    EXIT_INTERRUPTED
                } else {
                    u8::try_from(128 + sig).unwrap_or(EXIT_INTERRUPTED)
                };
                return Err(Error::Exit {
                    code,
                    message: format!("interrupted: step {:?} was stopped", step.name),
                });
            }
        };
        failed += 1;
        if !step.continue_on_error {
            return Err(Error::Exit { code, message });
        }
        out::note(format!("{message}; continuing (continueOnError)"));
        first_failure.get_or_insert((code, message));
    }
    match first_failure {
        None => Ok(()),
        Some((code, first)) => Err(Error::Exit {
            code,
            message: format!(
                "{failed} of {} steps failed (the first: {first})",
                steps.len()
            ),
        }),
    }
}

/// Takes `my`'s own `-y`/`--yes` and `--dry-run` out of a library command's arguments
/// (`my ops deploy --env prod --yes`), unless the spec declares flags of those names;
/// `--` ends the search.
pub fn take_own_flags(spec: &Spec, argv: &mut Vec<String>) -> Options {
    let declares = |long: &str, short: Option<&str>| {
        spec.args
            .flags
            .iter()
            .any(|f| f.name == long || (short.is_some() && f.short.as_deref() == short))
    };
    let end = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let mut opts = Options::default();
    let mut kept = Vec::with_capacity(argv.len());
    for (i, a) in argv.drain(..).enumerate() {
        let own_yes = (a == "--yes" || a == "-y") && !declares("yes", Some("y"));
        let own_dry = a == "--dry-run" && !declares("dry-run", None);
        if i < end && own_yes {
            opts.yes = true;
        } else if i < end && own_dry {
            opts.dry_run = true;
        } else {
            kept.push(a);
        }
    }
    *argv = kept;
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_executables_check_first_words_and_metacharacters() {
        let allowed = vec!["df".to_string(), "echo".to_string()];
        assert_eq!(
            check_allowed("df -h '.'\n\n# note\necho ok", &allowed),
            Ok(())
        );
        assert_eq!(
            check_allowed("df -h\nrm -rf /", &allowed).unwrap_err(),
            r#"line 2: "rm" is not in policy.allowedExecutables (df, echo)"#
        );
        for bad in [
            "df; rm x",
            "df | sh",
            "echo $(id)",
            "echo `id`",
            "df > f",
            "df && rm",
        ] {
            assert!(check_allowed(bad, &allowed).is_err(), "{bad}");
        }
    }

    #[test]
    fn own_flags_are_taken_unless_the_spec_declares_them() {
        let spec = Spec::parse(
            "schemaVersion: 1\nkind: command\nmetadata: {name: X, slug: x}\nargs: {flags: [{name: dry-run, type: bool}]}\nsteps: [{name: s, run: [\"true\"]}]\n",
            my_api::spec::Format::Yaml,
        )
        .unwrap();
        let mut argv: Vec<String> = ["-y", "--dry-run", "a", "--", "--yes"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let opts = take_own_flags(&spec, &mut argv);
        assert!(opts.yes && !opts.dry_run);
        assert_eq!(argv, ["--dry-run", "a", "--", "--yes"]);
    }
}
