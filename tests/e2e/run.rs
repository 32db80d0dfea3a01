//! Running command specs, end to end: the real `my` running real shells, from spec files
//! (`my cli run -f`) and local sources (`my source add`, `my <library> <command>`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

/// A scratch folder for spec files, marker files and pid files.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        Work {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a spec file, with `WORK` standing for this folder; returns its path.
    fn spec(&self, name: &str, yaml: &str) -> String {
        let path = self.path(name);
        let text = yaml.replace("WORK", &self.dir.path().display().to_string());
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn has(&self, name: &str) -> bool {
        self.path(name).exists()
    }
}

/// Whether a process is gone (a zombie left for a non-reaping init counts as gone).
fn gone(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let dead = match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        if dead || Instant::now() > deadline {
            return dead;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `my ARGS…` with its output going to files in `work` (not pipes, which a surviving
/// grandchild would hold open), so a test sees the exit at once.
fn start(env: &TestEnv, work: &Work, args: &[&str]) -> std::process::Child {
    let out = std::fs::File::create(work.path("my.out")).unwrap();
    let err = std::fs::File::create(work.path("my.err")).unwrap();
    env.cmd(args).stdout(out).stderr(err).spawn().unwrap()
}

/// Waits for `child` (at most `limit`): its exit code and stderr.
fn wait(mut child: std::process::Child, work: &Work, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("my did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(work.path("my.err")).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

const GREET: &str = r#"
schemaVersion: 1
kind: command
metadata: {name: Greet, slug: greet}
args:
  positional:
    - {name: who, required: true}
    - {name: greeting, default: hello}
  flags:
    - {name: count, short: c, type: int, default: 1}
    - {name: loud, type: bool}
    - {name: dry-run, type: bool}
steps:
  - name: Greet
    run:
      - 'echo "{{.args.greeting}} {{.args.who}} x{{.args.count}} loud={{.args.loud}}"'
      - 'echo "env: $MY_ARG_WHO $MY_ARG_COUNT $MY_ARG_LOUD $MY_ARG_DRY_RUN"'
      - 'echo "cwd={{.cwd}}"'
      - '{{if .args.loud}}echo LOUD{{else}}echo quiet{{end}}'
"#;

#[test]
fn a_spec_file_runs_with_positionals_flags_types_and_defaults() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec("greet.yaml", GREET);
    let r = env
        .run_in(work.dir.path(), &["cli", "run", "-f", &spec, "ada"])
        .ok();
    let cwd = work.dir.path().canonicalize().unwrap();
    assert_eq!(
        r.stdout,
        format!(
            "hello ada x1 loud=false\nenv: ada 1 false false\ncwd={}\nquiet\n",
            cwd.display()
        )
    );
    // Flags before and after positionals, `=` and short forms, and a flag of the spec named
    // like `my`'s own --dry-run: after -f FILE everything is the command's.
    let r = env
        .run(&[
            "cli",
            "run",
            "-f",
            &spec,
            "--loud",
            "ada",
            "-c",
            "3",
            "hi",
            "--dry-run",
        ])
        .ok();
    assert!(
        r.stdout
            .starts_with("hi ada x3 loud=true\nenv: ada 3 true true\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("LOUD\n"));
    let r = env.run(&["cli", "run", "-f", &spec, "--", "--ada--"]).ok();
    assert!(r.stdout.starts_with("hello --ada-- x1"), "{}", r.stdout);
    // The command's own help.
    let r = env.run(&["cli", "run", "-f", &spec, "--help"]).ok();
    assert!(r.stdout.contains("Usage: my cli run -f"), "{}", r.stdout);
    assert!(r.stdout.contains("--count <int>"), "{}", r.stdout);
}

#[test]
fn a_missing_or_bad_argument_is_a_usage_error_and_no_step_runs() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "deploy.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Deploy, slug: deploy}
args:
  positional: [{name: service, required: true}]
  flags: [{name: env, short: e, required: true}, {name: replicas, type: int}]
steps:
  - {name: Mark, run: ['touch "WORK/ran"']}
"#,
    );
    let r = env.run(&["cli", "run", "-f", &spec, "--env", "prod"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("missing required argument <service>"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("usage: my cli run -f"), "{}", r.stderr);
    let r = env.run(&["cli", "run", "-f", &spec, "web"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing required flag --env"),
        "{}",
        r.stderr
    );
    let r = env.run(&[
        "cli",
        "run",
        "-f",
        &spec,
        "web",
        "-e",
        "x",
        "--replicas",
        "two",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains(r#"--replicas: "two" is not a whole number"#),
        "{}",
        r.stderr
    );
    let r = env.run(&["cli", "run", "-f", &spec, "web", "-e", "x", "--bogus"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown flag --bogus"), "{}", r.stderr);
    assert!(!work.has("ran"), "a step ran despite the usage error");
    // An invalid spec file names the field; `my`'s own bad flags are usage errors too.
    let bad = work.spec(
        "bad.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: X, slug: Bad}\nsteps: []\n",
    );
    let r = env.run(&["cli", "run", "-f", &bad]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(r#"metadata.slug: "Bad" must match ^[a-z][a-z0-9-]*$"#),
        "{}",
        r.stderr
    );
    assert_eq!(env.run(&["cli", "run", "--bogus", "x"]).code, 2);
    env.run(&["cli", "run", "-f", &spec, "web", "-e", "x"]).ok();
    assert!(work.has("ran"));
}

/// Written as upstream's `examples/library/ops/deploy.yaml` is: `run: |`, constraints.
const UPSTREAM_DEPLOY: &str = r#"
schemaVersion: 1
kind: command
metadata:
  name: Deploy
  slug: deploy
  description: Deploy a service
args:
  positional:
    - name: service
      required: true
      pattern: '^[a-z][a-z0-9-]*$'
      maxLength: 20
  flags:
    - name: env
      short: e
      default: staging
      enum: [staging, production]
    - name: replicas
      type: int
      default: 2
      min: 1
      max: 10
    - name: dry-run
      short: n
      type: bool
defaults:
  shell: /bin/sh
  timeout: 30s
steps:
  - name: Deploy
    run: |
      target="{{.args.service}}@{{.args.env}}"
      touch "WORK/ran"
      echo "deploying $target x{{.args.replicas}}"
"#;

#[test]
fn an_upstream_spec_runs_its_script_and_refuses_values_outside_its_constraints() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec("deploy.yaml", UPSTREAM_DEPLOY);
    for (args, message) in [
        (
            &["web", "--env", "prod"][..],
            "--env must be one of: staging, production",
        ),
        (
            &["web", "--replicas", "11"],
            "--replicas must be at most 10",
        ),
        (
            &["Web"],
            "<service> must match the pattern ^[a-z][a-z0-9-]*$",
        ),
    ] {
        let mut argv = vec!["cli", "run", "-f", &spec];
        argv.extend_from_slice(args);
        let r = env.run(&argv);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        assert!(!work.has("ran"), "a step ran despite {args:?}");
    }
    // The block is one script: a variable set on its first line is seen on its last.
    let r = env
        .run(&["cli", "run", "-f", &spec, "web", "-e", "production"])
        .ok();
    assert_eq!(r.stdout, "deploying web@production x2\n");
    assert!(work.has("ran"));
    // A pattern the engine cannot compile is refused when the spec is loaded.
    let bad = work.spec(
        "bad.yaml",
        &UPSTREAM_DEPLOY.replace("'^[a-z][a-z0-9-]*$'", "'([a-z'"),
    );
    let r = env.run(&["cli", "run", "-f", &bad, "web"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("args.positional[0].pattern:"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_dependency_stops_the_run_before_any_step() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "pods.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Pods, slug: pods}
dependencies: [sh, no-such-program-xyz]
steps:
  - {name: Mark, run: ['touch "WORK/ran"']}
"#,
    );
    let r = env.run(&["cli", "run", "-f", &spec]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "my: no-such-program-xyz not found on PATH; the `pods` command needs it"
    );
    assert!(!work.has("ran"));
}

#[test]
fn a_failing_steps_exit_code_passes_through() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "fail.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Fail, slug: fail}
steps:
  - {name: Fails, run: ['echo before', 'exit 7']}
  - {name: Never, run: ['touch "WORK/ran"']}
"#,
    );
    let r = env.run(&["cli", "run", "-f", &spec]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(r.stdout, "before\n");
    assert!(
        r.stderr.contains(r#"step "Fails" failed with exit code 7"#),
        "{}",
        r.stderr
    );
    assert!(!work.has("ran"), "the step after a failure ran");
}

#[test]
fn continue_on_error_runs_the_rest_and_fails_with_the_first_code() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "cont.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Cont, slug: cont}
steps:
  - {name: First, run: ['exit 3'], continueOnError: true}
  - {name: Second, run: ['touch "WORK/second"']}
  - {name: Third, run: ['exit 4'], continueOnError: true}
"#,
    );
    let r = env.run(&["cli", "run", "-f", &spec]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        work.has("second"),
        "the step after a continueOnError failure did not run"
    );
    assert!(r.stderr.contains("2 of 3 steps failed"), "{}", r.stderr);
}

#[test]
fn a_step_past_its_timeout_is_killed_with_its_children() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "slow.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Slow, slug: slow}
steps:
  - name: Slow
    timeout: 1s
    run:
      - 'sleep 300 &'
      - 'echo $! > "WORK/child.pid"'
      - 'sleep 301'
  - {name: Never, run: ['touch "WORK/ran"']}
"#,
    );
    let child = start(&env, &work, &["cli", "run", "-f", &spec]);
    let (code, stderr) = wait(child, &work, Duration::from_secs(20));
    assert_eq!(code, 124, "{stderr}");
    assert!(
        stderr.contains(r#"step "Slow" timed out after 1s"#),
        "{stderr}"
    );
    let child = std::fs::read_to_string(work.path("child.pid")).unwrap();
    assert!(
        gone(&child),
        "the step's background child {child} survived the timeout"
    );
    assert!(!work.has("ran"));
}

#[test]
fn ctrl_c_stops_the_steps_process_group_and_exits_130() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "wait.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Wait, slug: wait}
steps:
  - name: Wait
    run:
      - 'sleep 300 &'
      - 'echo $! > "WORK/child.pid"'
      - 'sleep 301'
"#,
    );
    let child = start(&env, &work, &["cli", "run", "-f", &spec]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !work.has("child.pid") {
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = wait(child, &work, Duration::from_secs(15));
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let pid = std::fs::read_to_string(work.path("child.pid")).unwrap();
    assert!(
        gone(&pid),
        "the step's background child {pid} survived Ctrl-C"
    );
}

const CONFIRM: &str = r#"
schemaVersion: 1
kind: command
metadata: {name: Drop, slug: drop}
steps:
  - {name: Drop, run: ['touch "WORK/ran"']}
policy:
  requireConfirmation: true
"#;

#[test]
fn confirmation_without_a_terminal_needs_yes() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec("drop.yaml", CONFIRM);
    let r = env.run(&["cli", "run", "-f", &spec]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    assert!(!work.has("ran"));
    env.run(&["cli", "run", "--yes", "-f", &spec]).ok();
    assert!(work.has("ran"));
}

#[test]
fn confirmation_on_a_terminal_n_aborts_and_y_runs() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec("drop.yaml", CONFIRM);
    let r = env.run_on_terminal(&["cli", "run", "-f", &spec], "n\n");
    assert!(r.stdout.contains("Proceed? [y/N]"), "{}", r.stdout);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!work.has("ran"), "answering n still ran the step");
    let r = env.run_on_terminal(&["cli", "run", "-f", &spec], "y\n");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(work.has("ran"));
}

#[test]
fn a_step_on_a_terminal_can_read_the_keyboard() {
    // Regression: a step in its own process group must also get the terminal, or reading
    // from it stops the step (SIGTTIN) and the run hangs.
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "ask.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Ask, slug: ask}
steps:
  - {name: Ask, run: ['read answer', 'echo "got:$answer"']}
"#,
    );
    let r = env.run_on_terminal(&["cli", "run", "-f", &spec], "hello\n");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("got:hello"), "{}", r.stdout);
}

#[test]
fn argument_values_cannot_inject_shell_commands() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "echo.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Echo, slug: echo}
args:
  positional: [{name: value, required: true}]
steps:
  - name: Echo
    run:
      - 'echo "env:$MY_ARG_VALUE"'
      - 'echo quoted:{{quote .args.value}}'
      - 'printf "%s\n" {{.args.value | quote}}'
"#,
    );
    for value in [
        "$(touch pwned)",
        "; touch pwned",
        "'; touch pwned; '",
        "`touch pwned`",
    ] {
        let r = env
            .run_in(work.dir.path(), &["cli", "run", "-f", &spec, value])
            .ok();
        assert_eq!(
            r.stdout,
            format!("env:{value}\nquoted:{value}\n{value}\n"),
            "the value did not arrive verbatim"
        );
        assert!(!work.has("pwned"), "{value:?} ran a command");
    }
    // The check can fail: the same value rendered raw does run the command.
    let raw = work.spec(
        "raw.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: Raw, slug: raw}\nargs: {positional: [{name: value}]}\nsteps: [{name: Raw, run: ['echo {{.args.value}}']}]\n",
    );
    env.run_in(
        work.dir.path(),
        &["cli", "run", "-f", &raw, "; touch pwned"],
    )
    .ok();
    assert!(work.has("pwned"));
}

#[test]
fn allowed_executables_refuse_other_programs_and_metacharacters() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "disk.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Disk, slug: disk}
args: {positional: [{name: path, default: "."}]}
steps:
  - {name: Disk, run: ['echo {{.args.path}}']}
policy: {allowedExecutables: [echo]}
"#,
    );
    let r = env
        .run_in(work.dir.path(), &["cli", "run", "-f", &spec, "/tmp"])
        .ok();
    assert_eq!(r.stdout, "/tmp\n");
    let r = env.run_in(
        work.dir.path(),
        &["cli", "run", "-f", &spec, "x; touch pwned"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(r#"";" is not allowed when policy.allowedExecutables is set"#),
        "{}",
        r.stderr
    );
    assert!(!work.has("pwned"));
}

#[test]
fn dry_run_prints_the_rendered_steps_and_runs_nothing() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "mark.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Mark, slug: mark}
args: {flags: [{name: name, default: x}]}
dependencies: [no-such-program-xyz]
defaults: {env: {TARGET: "t-{{.args.name}}"}}
steps:
  - {name: Mark, run: ['touch "WORK/{{.args.name}}"']}
"#,
    );
    let r = env
        .run(&["cli", "run", "--dry-run", "-f", &spec, "--name", "y"])
        .ok();
    let dir = work.dir.path().display().to_string();
    assert_eq!(
        r.stdout,
        format!("# step 1/1: Mark (shell /bin/sh, timeout 5m)\n# env TARGET=t-y\ntouch \"{dir}/y\"\n# needs: no-such-program-xyz\n")
    );
    assert!(!work.has("y"));
}

#[test]
fn the_api_url_always_reaches_steps_and_the_token_only_when_the_spec_asks() {
    let mut env = TestEnv::offline();
    let token = my_api::token::assemble(my_api::token::TokenKind::Personal, &"a".repeat(30));
    env.set("MY_API_TOKEN", &token);
    let work = Work::new();
    let show = r#"
schemaVersion: 1
kind: command
metadata: {name: Show, slug: show}
steps:
  - {name: Show, run: ['echo "url=$MY_API_URL token=${MY_API_TOKEN:-unset}"']}
"#;
    let plain = work.spec("plain.yaml", show);
    let r = env.run(&["cli", "run", "-f", &plain]).ok();
    assert_eq!(r.stdout, format!("url={} token=unset\n", env.api_url));
    let exposed = work.spec(
        "exposed.yaml",
        &format!("{show}policy: {{exposeToken: true}}\n"),
    );
    let r = env.run(&["cli", "run", "-f", &exposed]).ok();
    assert_eq!(r.stdout, format!("url={} token={token}\n", env.api_url));
    // Nor can a template copy it from the environment.
    let sneaky = work.spec(
        "sneaky.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: S, slug: s}\nsteps: [{name: S, run: ['echo {{.env.MY_API_TOKEN}}']}]\n",
    );
    let r = env.run(&["cli", "run", "-f", &sneaky]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("environment variable MY_API_TOKEN is not set"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains(&token) && !r.stderr.contains(&token));
}

#[test]
fn history_records_runs_with_secret_looking_values_redacted() {
    let env = TestEnv::offline();
    let work = Work::new();
    let spec = work.spec(
        "login.yaml",
        r#"
schemaVersion: 1
kind: command
metadata: {name: Login, slug: login}
args: {flags: [{name: api-token}, {name: env}]}
steps:
  - {name: Login, run: ['test -n "$MY_ARG_API_TOKEN"']}
"#,
    );
    env.run(&[
        "cli",
        "run",
        "-f",
        &spec,
        "--api-token",
        "s3cr3t-value",
        "--env",
        "prod",
    ])
    .ok();
    let r = env.run(&["cli", "run", "-f", &spec, "--env", "dev"]);
    assert_eq!(r.code, 1);
    let h = env.run(&["cli", "history", "--json"]).ok().json();
    let runs = h.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["slug"], "login");
    assert_eq!(runs[0]["source"], "file");
    assert_eq!(runs[0]["args"]["api-token"], "REDACTED");
    assert_eq!(runs[0]["args"]["env"], "prod");
    assert_eq!(runs[0]["exit_code"], 0);
    assert_eq!(runs[1]["exit_code"], 1);
    assert!(runs[1]["duration_ms"].is_u64());
    let file = std::fs::read_to_string(env.config_dir().join("history.jsonl")).unwrap();
    assert!(!file.contains("s3cr3t-value"));
    let r = env.run(&["cli", "history", "-n", "1"]).ok();
    assert!(r.stdout.starts_with("TIME"), "{}", r.stdout);
    assert!(
        r.stdout.contains("env=dev") && !r.stdout.contains("env=prod"),
        "{}",
        r.stdout
    );
}

#[test]
fn example_libraries_run_from_a_local_source_without_login() {
    let env = TestEnv::offline();
    let examples = examples_dir().display().to_string();
    let r = env.run(&["source", "add", &examples]).ok();
    assert_eq!(
        r.stdout,
        "Added source examples (folder: kubernetes (3 commands), ops (2 commands))\n"
    );
    let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
    assert!(
        r.stdout.starts_with("Deploying to staging\n"),
        "{}",
        r.stdout
    );
    // Aliases of the library and the command, and `my cli run` by slug.
    let r = env.run(&["o", "d", "-e", "prod"]).ok();
    assert!(r.stdout.starts_with("Deploying to prod\n"), "{}", r.stdout);
    let r = env.run(&["cli", "run", "deploy", "--env", "staging"]).ok();
    assert!(
        r.stdout.starts_with("Deploying to staging\n"),
        "{}",
        r.stdout
    );
    let r = env.run(&["cli", "run", "ops/d", "--env", "qa"]).ok();
    assert!(r.stdout.starts_with("Deploying to qa\n"), "{}", r.stdout);
    let r = env.run(&["ops", "deploy"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("missing required flag --env (usage: my ops deploy --env <env>"),
        "{}",
        r.stderr
    );
    // kubectl is not on this PATH: the dependency message, and no step ran.
    let empty = tempfile::tempdir().unwrap();
    let mut no_kubectl = env.cmd(&["k", "pods"]);
    no_kubectl.env("PATH", empty.path());
    let r: Run = no_kubectl.output().unwrap().into();
    assert_eq!(r.code, 127);
    assert_eq!(
        r.stderr.trim(),
        "my: kubectl not found on PATH; the kubernetes library's `pods` command needs it"
    );
    // `my --help` lists the libraries, `my ops` its commands; built-ins still win.
    let r = env.run(&["--help"]).ok();
    assert!(r.stdout.contains("Installed libraries"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("  kubernetes (k)  Everyday kubectl commands"),
        "{}",
        r.stdout
    );
    let r = env.run(&["ops"]).ok();
    assert!(
        r.stdout
            .contains("  deploy (d)  Deploy a version to an environment"),
        "{}",
        r.stdout
    );
    let r = env.run(&["cli", "show", "pf"]).ok();
    assert!(
        r.stdout
            .contains("Usage: my cli run pf [--namespace <namespace>] <target> <ports>"),
        "{}",
        r.stdout
    );
    let raw = env.run(&["cli", "show", "deploy", "--raw"]).ok().json();
    assert_eq!(raw["metadata"]["slug"], "deploy");
    let list = env.run(&["source", "list", "--json"]).ok().json();
    assert_eq!(list[0]["name"], "examples");
    assert_eq!(list[0]["kind"], "folder");
    // Adding it twice is refused; removing it removes its commands.
    assert_eq!(env.run(&["source", "add", &examples]).code, 2);
    env.run(&["source", "remove", "examples"]).ok();
    let r = env.run(&["ops", "deploy", "--env", "staging"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(r#"unknown command "ops""#),
        "{}",
        r.stderr
    );
    assert_eq!(env.run(&["source", "remove", "examples"]).code, 6);
}

/// The bucket files of the sources' name index, as its head names them.
fn source_buckets(env: &TestEnv) -> Vec<PathBuf> {
    let dir = env.config_dir().join("sources");
    let head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("names.json")).unwrap()).unwrap();
    let generation = head["generation"].as_str().expect("a generation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("names").join(generation))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The config folder without the history of runs.
fn config_tree(env: &TestEnv) -> Tree {
    let mut t = tree(&env.config_dir());
    t.remove("history.jsonl");
    t
}

#[test]
fn a_damaged_or_misleading_sources_name_index_is_never_trusted() {
    let env = TestEnv::offline();
    env.run(&["source", "add", &examples_dir().display().to_string()])
        .ok();
    let runs_deploy = |env: &TestEnv| {
        let r = env.run(&["cli", "run", "deploy", "--env", "staging"]).ok();
        assert!(
            r.stdout.starts_with("Deploying to staging\n"),
            "{}",
            r.stdout
        );
    };
    runs_deploy(&env);
    let head = env.config_dir().join("sources/names.json");
    let index: Vec<(PathBuf, Vec<u8>)> = std::iter::once(head.clone())
        .chain(source_buckets(&env))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    let check = |what: &str| {
        let before = config_tree(&env);
        runs_deploy(&env);
        assert_unchanged(&before, &config_tree(&env), what);
        for (path, bytes) in &index {
            std::fs::write(path, bytes).unwrap();
        }
    };
    let edit = |f: &dyn Fn(&mut Vec<serde_json::Value>)| {
        for path in source_buckets(&env) {
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            f(v["commands"].as_array_mut().unwrap());
            std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        }
    };
    // The index alone is enough to find it: it is what lookups read.
    let registry = env.config_dir().join("sources/sources.json");
    let moved = registry.with_file_name("moved.json");
    std::fs::rename(&registry, &moved).unwrap();
    runs_deploy(&env);
    std::fs::rename(&moved, &registry).unwrap();
    // Misleading: the index sends `deploy` to disk.yaml, or out of the source's folder. The
    // spec read is not `deploy` (or is never read): the registry decides.
    for target in ["disk.yaml", "../../../../../../etc/passwd"] {
        edit(&|commands| {
            for c in commands.iter_mut().filter(|c| c["slug"] == "deploy") {
                c["spec"]["file"] = target.into();
            }
        });
        check(target);
    }
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&head).unwrap()).unwrap();
    for lib in v["libraries"].as_array_mut().unwrap() {
        lib["path"] = "../../..".into();
    }
    std::fs::write(&head, serde_json::to_vec(&v).unwrap()).unwrap();
    check("a library folder outside the source");
    // An index that leaves the command out: the registry is read before "not found".
    edit(&|commands| commands.retain(|c| c["slug"] != "deploy"));
    check("command left out");
    // Damaged.
    for path in source_buckets(&env) {
        std::fs::write(path, "garbage").unwrap();
    }
    check("damaged buckets");
    std::fs::write(&head, "{\"generation\":").unwrap();
    check("damaged head");
}

#[test]
fn sources_in_the_old_layout_are_read_as_they_are_until_the_next_change() {
    let env = TestEnv::offline();
    env.run(&["source", "add", &examples_dir().display().to_string()])
        .ok();
    // What an older `my` left: the registry with its text index beside it, no name index.
    let dir = env.config_dir().join("sources");
    std::fs::remove_file(dir.join("names.json")).unwrap();
    std::fs::remove_dir_all(dir.join("names")).unwrap();
    std::fs::write(
        dir.join("index.tsv"),
        "my-sidecar sources-index 1 0 0 0\nL\texamples\tops\tOps\t\to\x1f\tops\t0\t2\n",
    )
    .unwrap();
    env.run(&["ops", "deploy", "--env", "staging"]).ok();
    let before = config_tree(&env);
    let r = env.run(&["cli", "run", "d", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Deploying to staging"), "{}", r.stdout);
    let r = env.run(&["completion", "--commands", "k"]).ok();
    assert_eq!(r.stdout, "logs\npods\nport-forward\n");
    assert!(env.run(&["--help"]).ok().stdout.contains("  ops (o)"));
    assert_unchanged(&before, &config_tree(&env), "lookups in the old layout");
    // The next change of the sources writes the new layout.
    env.run(&["source", "update", "examples"]).ok();
    assert!(!dir.join("index.tsv").exists());
    assert!(!source_buckets(&env).is_empty());
    let r = env.run(&["o", "d", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Deploying to staging"), "{}", r.stdout);
}

#[test]
fn an_invalid_source_is_refused_whole_and_names_the_file_and_field() {
    let env = TestEnv::offline();
    let work = Work::new();
    std::fs::create_dir(work.path("ops")).unwrap();
    std::fs::write(
        work.path("mycli.yaml"),
        "schemaVersion: 1\nname: broken\nlibraries:\n  ops: {name: Ops, path: ops}\n",
    )
    .unwrap();
    work.spec(
        "ops/deploy.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: D, slug: ship}\nsteps: [{name: s, run: ['true']}]\n",
    );
    let dir = work.dir.path().display().to_string();
    let r = env.run(&["source", "add", &dir]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(r#"deploy.yaml: metadata.slug: "ship" must equal the file name without its extension ("deploy")"#),
        "{}",
        r.stderr
    );
    work.spec(
        "ops/deploy.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: D, slug: deploy}\nargs: {flags: [{name: env, color: red}]}\nsteps: [{name: s, run: ['true']}]\n",
    );
    let r = env.run(&["source", "add", &dir]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(r#"unknown field "color" at args.flags[0]"#),
        "{}",
        r.stderr
    );
    let list = env.run(&["source", "list", "--json"]).ok().json();
    assert_eq!(list, serde_json::json!([]));
    let repos = env.config_dir().join("sources/repos");
    assert_eq!(
        std::fs::read_dir(&repos).map(|d| d.count()).unwrap_or(0),
        0,
        "staging left behind"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn a_git_source_is_cloned_updated_and_kept_when_an_update_is_invalid() {
    let env = TestEnv::offline();
    let work = Work::new();
    let repo = work.path("repo");
    copy_tree(&examples_dir(), &repo);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "examples"]);
    let url = format!("file://{}", repo.display());
    let r = env.run(&["source", "add", &url, "--name", "ex"]).ok();
    assert!(
        r.stdout.starts_with("Added source ex (git: "),
        "{}",
        r.stdout
    );
    let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Deploying to staging"), "{}", r.stdout);

    let deploy = repo.join("ops/deploy.yaml");
    let text = std::fs::read_to_string(&deploy).unwrap();
    std::fs::write(
        &deploy,
        text.replace("echo Deploying to", "echo Shipping to"),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "ship"]);
    let r = env.run(&["source", "update", "ex"]).ok();
    assert!(r.stdout.starts_with("Updated ex"), "{}", r.stdout);
    let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
    assert!(r.stdout.starts_with("Shipping to staging"), "{}", r.stdout);

    std::fs::write(&deploy, "schemaVersion: 1\nkind: command\n").unwrap();
    git(&repo, &["commit", "-qam", "break"]);
    let r = env.run(&["source", "update", "ex"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(r#"source "ex" was not updated"#),
        "{}",
        r.stderr
    );
    let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
    assert!(
        r.stdout.starts_with("Shipping to staging"),
        "the old copy was lost: {}",
        r.stdout
    );
}

#[test]
fn installed_library_commands_run_from_the_cache_also_with_the_server_stopped() {
    let mut server = Server::start(&[]);
    server.admin(&["library", "import", &examples_dir().display().to_string()]);
    let env = TestEnv::new(&server);
    env.login(&server, "runner@example.com").ok();
    env.run(&["library", "install", "ops"]).ok();
    env.run(&["library", "install", "kubernetes"]).ok();
    let work = Work::new();
    // A personal command with a library command's slug: `my cli run` takes the personal one.
    let personal = work.spec(
        "deploy.yaml",
        "schemaVersion: 1\nkind: command\nmetadata: {name: Mine, slug: deploy}\nsteps: [{name: s, run: ['echo personal deploy']}]\n",
    );
    env.run(&["cli", "push", "-f", &personal]).ok();
    env.run(&["library", "sync"]).ok();

    let check = |env: &TestEnv| {
        let r = env.run(&["ops", "deploy", "--env", "staging"]).ok();
        assert!(
            r.stdout.starts_with("Deploying to staging\n"),
            "{}",
            r.stdout
        );
        let r = env
            .run(&["cli", "run", "ops/deploy", "--env", "staging"])
            .ok();
        assert!(
            r.stdout.starts_with("Deploying to staging\n"),
            "{}",
            r.stdout
        );
        let r = env.run(&["o", "d", "-e", "prod"]).ok();
        assert!(r.stdout.starts_with("Deploying to prod\n"), "{}", r.stdout);
        let r = env.run(&["cli", "run", "deploy"]).ok();
        assert_eq!(r.stdout, "personal deploy\n");
        let empty = tempfile::tempdir().unwrap();
        let r: Run = env
            .cmd(&["k", "pods"])
            .env("PATH", empty.path())
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 127);
        assert_eq!(
            r.stderr.trim(),
            "my: kubectl not found on PATH; the kubernetes library's `pods` command needs it"
        );
    };
    check(&env);
    let h = env.run(&["cli", "history", "--json"]).ok().json();
    assert_eq!(h[0]["source"], "catalog");
    assert_eq!(h[0]["library"], "ops");
    assert_eq!(h[0]["version"], 1);
    let r = env.run(&["--help"]).ok();
    assert!(r.stdout.contains("  ops (o)"), "{}", r.stdout);

    server.stop();
    check(&env);

    // A cached body that no longer matches the catalog's spec_hash is refused, and says how
    // to get a good one; nothing runs.
    let catalog: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.config_dir().join("cache/profiles/default/catalog.json"))
            .unwrap(),
    )
    .unwrap();
    let item = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == "deploy" && i["library"]["slug"] == "ops")
        .unwrap();
    let body = env
        .config_dir()
        .join("cache/specs")
        .join(item["command_id"].as_str().unwrap())
        .join(format!("{}.json", item["version"]));
    let text = std::fs::read_to_string(&body).unwrap();
    let tampered = text.replace("echo Deploying to", "touch pwned; echo Deploying to");
    assert_ne!(text, tampered);
    std::fs::write(&body, tampered).unwrap();
    let r = env.run_in(work.dir.path(), &["ops", "deploy", "--env", "staging"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its SHA-256"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("my library sync"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(!work.has("pwned"));
}
