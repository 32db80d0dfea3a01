//! Issue 12: each attack on my-server, performed against the real binary, and refused.

use crate::util::*;
use base64::Engine as _;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Starts my-server under `umask 022` (the usual default) with `db` as its database:
/// (the child, its URL) or, when it refuses to start, its exit code and stderr.
fn start_with_umask_022(
    db: &Path,
    mail: &Path,
) -> Result<(std::process::Child, String), (i32, String)> {
    let mut child = Command::new("sh")
        .args(["-c", "umask 022; exec \"$@\"", "sh"])
        .arg(server_bin())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--mail-dir")
        .arg(mail)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("my-server listening on ") {
        Some(url) => Ok((child, url.to_string())),
        None => {
            let out = child.wait_with_output().unwrap();
            Err((
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    }
}

/// Attack: with umask 022 the database (which holds the signing keys) and its -wal/-shm
/// were 0644, readable by every local user. Now they are 0600 in a 0700 folder, and a
/// database others can read is refused at start.
#[test]
fn the_database_is_private_and_a_readable_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let folder = root.path().join("state");
    let db = folder.join("my.db");
    let mail = root.path().join("mail");
    let (mut child, url) = start_with_umask_022(&db, &mail).unwrap();
    // A write, so the -wal and -shm files exist.
    let r = browser()
        .post(&format!("{url}/oauth/device_authorization"))
        .send_form([("client_id", "my-cli")])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let wal = folder.join("my.db-wal");
    let shm = folder.join("my.db-shm");
    assert_eq!(mode(&folder), 0o700, "the folder the server made");
    for file in [&db, &wal, &shm] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let _ = child.kill();
    let _ = child.wait();

    // An operator's `chmod 644` (or a copy made with umask 022) is refused with the fix.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = start_with_umask_022(&db, &mail).unwrap_err();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("open to other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // The admin commands refuse it too.
    let out = Command::new(server_bin())
        .args(["admin", "rotate-key", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (mut child, _) = start_with_umask_022(&db, &mail).unwrap();
    let _ = child.kill();
    let _ = child.wait();
}

/// Every maximal run of exactly 43 base64url characters (a 32-byte token's length).
fn token_shaped(bytes: &[u8]) -> Vec<String> {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let mut found = Vec::new();
    for run in bytes.split(|b| !is_b64(b)) {
        if run.len() == 43 {
            found.push(String::from_utf8_lossy(run).into_owned());
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Attack: during the refresh grace window the raw successor refresh token sat in a
/// column (and, after its "wipe", in the -wal file). Someone holding a copy of the
/// database files tries every token-shaped string as a refresh token: none works now.
#[test]
fn a_copy_of_the_database_holds_no_usable_refresh_token() {
    let server = Server::start(&["--refresh-grace", "60s"]);
    let env = TestEnv::new(&server);
    env.login(&server, "victim@example.com").ok();
    let r0 = env.stored()["refresh_token"].as_str().unwrap().to_string();
    let (status, rotated) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &r0)]);
    assert_eq!(status, 200, "{rotated}");
    let live = rotated["refresh_token"].as_str().unwrap().to_string();

    let mut stolen = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", server.db().display());
        stolen.extend(std::fs::read(&path).unwrap_or_default());
    }
    assert!(!stolen.is_empty());
    let raw = B64.decode(&live).unwrap();
    assert!(
        !stolen.windows(live.len()).any(|w| w == live.as_bytes())
            && !stolen.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the live refresh token is in the database files"
    );
    for candidate in token_shaped(&stolen) {
        let (status, answer) = server.token_grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &candidate),
        ]);
        assert_ne!(
            status, 200,
            "{candidate} from the database refreshed: {answer}"
        );
    }
    // The grace window itself still works for the one who holds the predecessor.
    let (status, again) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &r0)]);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["refresh_token"].as_str(), Some(live.as_str()));
}

/// The `kid` of a JWT's header.
fn kid(jwt: &str) -> String {
    let header = B64.decode(jwt.split('.').next().unwrap()).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().expect("a kid").to_string()
}

fn me_status(server: &Server, jwt: &str) -> u16 {
    browser()
        .get(&format!("{}/v1/me", server.url))
        .header("Authorization", &format!("Bearer {jwt}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

/// Keys carry an id and rotate: after `admin rotate-key`, new tokens name the new key while
/// tokens signed by the previous one stay valid; a second rotation retires the first key.
#[test]
fn signing_keys_rotate_and_old_tokens_live_until_the_next_rotation() {
    let mut server = Server::start(&["--access-ttl", "1h"]);
    let env = TestEnv::new(&server);
    env.login(&server, "rotate@example.com").ok();
    let first = env.stored()["access_token"].as_str().unwrap().to_string();
    let first_kid = kid(&first);
    assert_eq!(me_status(&server, &first), 200);

    let rotated: serde_json::Value =
        serde_json::from_str(server.admin(&["rotate-key"]).trim()).unwrap();
    let second_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(second_kid, first_kid);
    // The running server still accepts the old key's token.
    assert_eq!(me_status(&server, &first), 200);
    server.restart();
    let refresh = env.stored()["refresh_token"].as_str().unwrap().to_string();
    let (status, fresh) =
        server.token_grant(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(status, 200, "{fresh}");
    let second = fresh["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid(&second), second_kid);
    assert_eq!(
        me_status(&server, &first),
        200,
        "signed by the previous key"
    );
    assert_eq!(me_status(&server, &second), 200);

    let third: serde_json::Value =
        serde_json::from_str(server.admin(&["rotate-key"]).trim()).unwrap();
    assert_eq!(third["retired"], 1);
    server.restart();
    assert_eq!(me_status(&server, &first), 401, "two rotations ago");
    assert_eq!(me_status(&server, &second), 200);
}

/// Attack: every mailed link was printed to the server's stderr, so whoever read the log
/// (journald, a log shipper, CI output) could sign in as anyone. Now the log names the
/// recipient and the outbox file only; `--print-links` is for development and refused
/// behind https.
#[test]
fn mailed_links_never_reach_the_log() {
    let server = Server::start(&[]);
    let env = TestEnv::new(&server);
    let login = env.spawn(&["cli", "login", "--email", "logged@example.com", "--json"]);
    let link = server.wait_for_link("logged@example.com");
    let token = link.rsplit('/').next().unwrap().to_string();
    let log = server.log();
    assert!(!log.contains(&token), "the link is in the log:\n{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("mail to logged@example.com: "))
        .unwrap_or_else(|| panic!("no mail line in the log:\n{log}"));
    assert!(line.ends_with(".eml"), "{line}");
    // Someone reading the log has nothing to open; the person with the mail signs in.
    let (status, _) = press(&link, "confirm");
    assert_eq!(status, 200);
    finish(login, std::time::Duration::from_secs(20)).ok();
    assert!(!server.log().contains(&token));

    let dev = Server::start(&["--print-links"]);
    let env = TestEnv::new(&dev);
    let login = env.spawn(&["cli", "login", "--email", "dev@example.com"]);
    let link = dev.wait_for_link("dev@example.com");
    assert!(dev.log().contains(&link), "{}", dev.log());
    let mut login = login;
    let _ = login.kill();
    let _ = login.wait();

    let out = Command::new(server_bin())
        .args([
            "--print-links",
            "--public-url",
            "https://my.example",
            "--db",
        ])
        .arg(dev.dir.path().join("other.db"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--print-links"), "{stderr}");
}
