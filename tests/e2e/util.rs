//! Test helpers: a real `my-server` on 127.0.0.1:0 with a temp SQLite file (or a PostgreSQL
//! database several servers share) and mail folder, and a `TestEnv` that runs the real `my`
//! with HOME and MY_CONFIG_DIR in a temp folder and the user's own MY_* variables removed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `my` under test: this build's, or the binary `MY_TEST_BIN` names (`make test-static`
/// runs the keyring tests with the static build that way).
pub fn my_bin() -> PathBuf {
    match std::env::var_os("MY_TEST_BIN").filter(|p| !p.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "MY_TEST_BIN={} is not a file", p.display());
            p
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_my")),
    }
}

/// Always this build's `my-server`, whichever `my` is under test.
pub fn server_bin() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_BIN_EXE_my")).with_file_name("my-server");
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`make test` does)",
        p.display()
    );
    p
}

/// A `my-server` command that sees none of the test run's own `MY_SERVER_*` settings (nor
/// its `PGPASSFILE`).
pub fn server_command() -> Command {
    let mut command = Command::new(server_bin());
    for (name, _) in
        std::env::vars().filter(|(k, _)| k.starts_with("MY_SERVER_") || k == "PGPASSFILE")
    {
        command.env_remove(name);
    }
    command
}

pub struct Server {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    /// The `--db` value: the temp SQLite file, or the database URL of `start_on`.
    database: String,
    /// The flags the test asked for, kept for `restart`.
    flags: Vec<String>,
    /// Links already handed out, so a second login by the same address gets the new one.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Server {
    /// Starts a server with generous rate limits and the given extra flags.
    pub fn start(flags: &[&str]) -> Server {
        Server::start_with_env(flags, &[])
    }

    /// Starts a server with the given extra flags and `MY_SERVER_*` variables (the
    /// caller's own are removed).
    pub fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("my.db").display().to_string();
        Server::start_in(dir, "127.0.0.1:0", database, &owned(flags), env)
    }

    /// Starts a server on the database `db_url` (`postgres://…`) instead of a temp SQLite
    /// file: several servers started on one URL share it. The mail folder and log stay
    /// per server.
    pub fn start_on(db_url: &str, flags: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(dir, "127.0.0.1:0", db_url.to_string(), &owned(flags), &[])
    }

    fn start_in(
        dir: tempfile::TempDir,
        listen: &str,
        database: String,
        flags: &[String],
        env: &[(&str, &str)],
    ) -> Server {
        let mut args: Vec<String> = vec![
            "--db".into(),
            database.clone(),
            "--mail-dir".into(),
            dir.path().join("mail").display().to_string(),
        ];
        // Generous unless the test sets its own (a flag given twice is a usage error).
        if !flags.iter().any(|f| f == "--rate-limit") {
            args.extend(["--rate-limit".into(), "100000".into()]);
        }
        args.extend(flags.iter().cloned());
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = server_command()
            .env("MY_SERVER_TEST_CLOCK", dir.path().join("clock"))
            .envs(env.iter().copied())
            .arg("--listen")
            .arg(listen)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start my-server");
        let line = first_line(&mut child);
        let url = line
            .trim()
            .strip_prefix("my-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from my-server: {line:?}"))
            .to_string();
        Server {
            child,
            url,
            dir,
            database,
            flags: flags.to_vec(),
            seen: Default::default(),
        }
    }

    /// Stops the server (simulates it going down); `restart` brings it back on the same port.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.stop();
        let listen = self.url.trim_start_matches("http://").to_string();
        let (database, flags) = (self.database.clone(), self.flags.clone());
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let mut last = None;
        // The port may linger briefly after the kill.
        for _ in 0..50 {
            let probe = std::net::TcpListener::bind(&listen);
            if probe.is_ok() {
                drop(probe);
                last = Some(());
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(last.is_some(), "port {listen} did not come free");
        *self = Server::start_in(dir, &listen, database, &flags, &[]);
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Sets the server's clock (never the CLI's) `secs` ahead of the real time, or behind
    /// when negative, from its next reading on: a test's way to see a lifetime end without
    /// waiting it out (`MY_SERVER_TEST_CLOCK`, which only a debug build honours).
    pub fn set_clock(&self, secs: i64) {
        let file = self.dir.path().join("clock");
        let new = self.dir.path().join("clock.new");
        std::fs::write(&new, secs.to_string()).unwrap();
        std::fs::rename(new, file).unwrap();
    }

    /// The SQLite file of a server from `start` (a `start_on` server has none).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("my.db")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits for the newest mail to `email` and returns its magic link.
    pub fn wait_for_link(&self, email: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(link) = newest_link(&self.mail_dir(), email) {
                if !self.seen.borrow().contains(&link) {
                    self.seen.borrow_mut().push(link.clone());
                    return link;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {email} arrived; server log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `my-server admin sessions` as JSON values.
    pub fn sessions(&self) -> Vec<serde_json::Value> {
        let out = Command::new(server_bin())
            .args(["admin", "sessions", "--db"])
            .arg(&self.database)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "admin sessions: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.url)
    }

    /// POSTs a grant to the token endpoint as the `my-cli` client: (status, JSON answer).
    pub fn token_grant(&self, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let mut r = browser()
            .post(&self.token_endpoint())
            .send_form(form.iter().copied().chain([("client_id", "my-cli")]))
            .unwrap();
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&body).unwrap())
    }
}

fn owned(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|s| s.to_string()).collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn newest_link(dir: &Path, email: &str) -> Option<String> {
    let mut mails: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    mails.sort();
    mails.iter().rev().find_map(|p| {
        let text = std::fs::read_to_string(p).ok()?;
        let to_line = text.lines().find(|l| l.starts_with("To:"))?;
        if !to_line.contains(email) {
            return None;
        }
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with("http") && l.contains("/magic/"))
            .map(String::from)
    })
}

/// A browser stand-in for the magic-link page: plain HTTP, following redirects (so a
/// Confirm lands on the CLI's loopback like a real browser would).
pub fn browser() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// An HTTP client that shows redirects instead of following them.
pub fn no_redirects() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
}

/// GET a page: (status, body).
pub fn get_page(url: &str) -> (u16, String) {
    let mut r = browser().get(url).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

/// POST the Confirm or Deny form of a magic link the way a browser does: fetch the page,
/// then submit with the hidden fields it carries (its CSRF token): (final status, body).
pub fn press(link: &str, action: &str) -> (u16, String) {
    let (_, page) = get_page(link);
    submit(link, &hidden_fields(&page), action)
}

/// [`press`] without following the page's redirect to the CLI's loopback listener, so only
/// the CLI's polling can notice the decision: the status of the POST.
pub fn press_without_redirect(link: &str, action: &str) -> u16 {
    let (_, page) = get_page(link);
    submit_with(&no_redirects(), link, &hidden_fields(&page), action).0
}

/// POSTs `action` with hidden fields captured earlier (to replay a form after its link
/// was used or expired).
pub fn submit(link: &str, hidden: &[(String, String)], action: &str) -> (u16, String) {
    submit_with(&browser(), link, hidden, action)
}

fn submit_with(
    agent: &ureq::Agent,
    link: &str,
    hidden: &[(String, String)],
    action: &str,
) -> (u16, String) {
    let mut form: Vec<(String, String)> = hidden
        .iter()
        .filter(|(k, _)| k != "action")
        .cloned()
        .collect();
    form.push(("action".into(), action.into()));
    let mut r = agent
        .post(link)
        .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

/// `name`/`value` pairs of the hidden inputs of a page (first occurrence of each name).
pub fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&amp;", "&")
                .replace("&quot;", "\""),
        )
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in page.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if !tag.contains("type=\"hidden\"") {
            continue;
        }
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            if !out.iter().any(|(k, _)| *k == n) {
                out.push((n, v));
            }
        }
    }
    out
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub struct TestEnv {
    pub home: tempfile::TempDir,
    pub api_url: String,
    pub vars: Vec<(String, String)>,
}

impl TestEnv {
    /// A user whose credentials go to the 0600 file store.
    pub fn new(server: &Server) -> TestEnv {
        TestEnv::with_store(server, "file")
    }

    pub fn with_store(server: &Server, store: &str) -> TestEnv {
        TestEnv {
            home: tempfile::tempdir().unwrap(),
            api_url: server.url.clone(),
            vars: vec![("MY_CREDENTIAL_STORE".into(), store.into())],
        }
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.vars.retain(|(key, _)| key != k);
        self.vars.push((k.into(), v.into()));
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".my")
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.config_dir().join("credentials.json")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(my_bin());
        for (k, _) in std::env::vars() {
            // Whether a browser can be opened depends on these: each test sets what it needs.
            if k.starts_with("MY_")
                || [
                    "CI",
                    "BROWSER",
                    "DISPLAY",
                    "WAYLAND_DISPLAY",
                    "SSH_CONNECTION",
                    "SSH_TTY",
                ]
                .contains(&k.as_str())
            {
                c.env_remove(k);
            }
        }
        c.env("HOME", self.home.path())
            .env("MY_CONFIG_DIR", self.config_dir())
            .env("MY_API_URL", &self.api_url)
            .env("MY_KEYRING_TIMEOUT_MS", "3000")
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().unwrap().into()
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A whole magic-link login for `email`: start it, confirm the mailed link, wait.
    pub fn login(&self, server: &Server, email: &str) -> Run {
        let child = self.spawn(&["cli", "login", "--email", email, "--json"]);
        let link = server.wait_for_link(email);
        let (status, _) = press(&link, "confirm");
        assert_eq!(status, 200, "confirm did not land on a page");
        finish(child, Duration::from_secs(20))
    }

    pub fn stored(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.credentials_file()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["credentials"][&self.api_url].clone()
    }
}

/// Waits for every child (killing any after `limit`) and checks that all exited 0.
pub fn finish_all_ok(children: Vec<Child>, limit: Duration) -> Vec<Run> {
    let runs: Vec<Run> = children.into_iter().map(|c| finish(c, limit)).collect();
    let failed: Vec<&Run> = runs.iter().filter(|r| r.code != 0).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed, first: {}",
        failed.len(),
        runs.len(),
        failed[0].stderr
    );
    runs
}

/// Waits for a child to exit (killing it after `limit`) and collects its output.
pub fn finish(mut child: Child, limit: Duration) -> Run {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let run: Run = child.wait_with_output().unwrap().into();
            panic!(
                "my did not finish within {limit:?}\nstdout: {}\nstderr: {}",
                run.stdout, run.stderr
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .map(|mut s| s.read_to_string(&mut stdout));
    child
        .stderr
        .take()
        .map(|mut s| s.read_to_string(&mut stderr));
    let status = child.wait().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// Whether a child is still running after `d`.
pub fn still_running_after(child: &mut Child, d: Duration) -> bool {
    std::thread::sleep(d);
    child.try_wait().unwrap().is_none()
}

impl Server {
    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill only sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
    }

    /// Waits up to `limit` for the server to exit; its status, or None if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Runs `my-server admin ARGS… --db <this server's db>` and returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(server_bin())
            .arg("admin")
            .args(args)
            .arg("--db")
            .arg(&self.database)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl TestEnv {
    /// Runs `my ARGS…` on a pseudo-terminal (util-linux `script`), typing `input`.
    pub fn run_on_terminal(&self, args: &[&str], input: &str) -> Run {
        let quoted: Vec<String> = std::iter::once(my_bin().display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect();
        let cmd = self.cmd(&[]);
        let mut script = Command::new("script");
        script.args(["-qec", &quoted.join(" "), "/dev/null"]);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            // Give the prompt a moment to appear before answering it.
            std::thread::sleep(Duration::from_millis(700));
            // The program may already have exited (that is for the test to judge).
            let _ = stdin.write_all(input.as_bytes());
            std::thread::sleep(Duration::from_millis(300));
        }
        finish(child, Duration::from_secs(20))
    }
}

/// A port nothing listens on.
/// The first line `child` prints on stdout (a server's address, a relay's port).
pub fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim().to_string()
}

pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// A child whose stderr is collected in the background, so a test can wait for a line
/// while the process keeps running.
pub struct Watched {
    pub child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Watched {
    pub fn new(mut child: Child) -> Watched {
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Watched { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "never printed {needle:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit (killing after `limit`): (exit code, stdout, stderr).
    pub fn finish(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "my did not finish within {limit:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .map(|mut s| s.read_to_string(&mut stdout));
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        std::thread::sleep(Duration::from_millis(50));
        Run {
            code,
            stdout,
            stderr: self.stderr(),
        }
    }
}

/// The example libraries shipped in the repository (`examples/libraries`).
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/libraries")
}

impl TestEnv {
    /// A user with no server at all (spec files and local sources need none): the API URL
    /// points at a closed port.
    pub fn offline() -> TestEnv {
        TestEnv {
            home: tempfile::tempdir().unwrap(),
            api_url: closed_port_url(),
            vars: vec![("MY_CREDENTIAL_STORE".into(), "file".into())],
        }
    }

    /// Runs `my ARGS…` with `dir` as the current folder.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.cmd(args).current_dir(dir).output().unwrap().into()
    }
}

/// Acme with project my-store (production, staging) and a member, set up by admin commands.
pub fn acme(server: &Server, members: &[&str]) -> String {
    let org: serde_json::Value =
        serde_json::from_str(&server.admin(&["org", "create", "--name", "Acme", "--slug", "acme"]))
            .unwrap();
    for m in members {
        server.admin(&["org", "add-member", "--org", "acme", "--email", m]);
    }
    server.admin(&[
        "project", "create", "--org", "acme", "--name", "My Store", "--slug", "my-store",
    ]);
    for env in ["production", "staging"] {
        server.admin(&[
            "env",
            "create",
            "--org",
            "acme",
            "--project",
            "my-store",
            "--name",
            env,
        ]);
    }
    org["id"].as_str().unwrap().to_string()
}

/// Every file and folder under a folder, by path, with what a write changes: whether it is a
/// folder, its length, modification and change times (nanoseconds), inode and mode.
pub type Tree = std::collections::BTreeMap<String, (bool, u64, i128, i128, u64, u32)>;

/// The [`Tree`] of `dir`. A folder's times change when an entry is created, renamed or
/// removed in it, so even a temp file written and deleted shows, and a change time moves
/// with a chmod too: two equal trees mean nothing was written.
pub fn tree(dir: &Path) -> Tree {
    use std::os::unix::fs::MetadataExt;
    let mut found = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        let m = std::fs::symlink_metadata(&at).unwrap();
        let rel = at.strip_prefix(dir).unwrap().display().to_string();
        found.insert(
            rel,
            (
                m.is_dir(),
                m.len(),
                i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
                m.ino(),
                m.mode(),
            ),
        );
        if m.is_dir() {
            for entry in std::fs::read_dir(&at).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
    }
    found
}

/// Asserts that `before` and `after` (from [`tree`]) are the same, naming what differs.
pub fn assert_unchanged(before: &Tree, after: &Tree, what: &str) {
    let changed: std::collections::BTreeSet<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{what} wrote {changed:?}");
}
