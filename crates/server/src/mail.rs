//! Outgoing mail. In development mode (the only mode for now; SMTP comes later) each mail
//! is written as one RFC 5322 `.eml` file into the outbox folder, atomically (temporary
//! file, then rename). The log names the recipient and the file, never the link: a link
//! signs in whoever opens it. Only `--print-links` (refused behind https) prints it.

use crate::clock;
use crate::crypto::secrets;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const FROM: &str = "My Cloud <no-reply@my.localhost>";

/// A sign-in mail: the magic link, and for the device flow the code to compare.
pub(crate) struct SignInMail<'a> {
    pub(crate) to: &'a str,
    /// Display form, `WDJB-MJHT`; `None` for a browser sign-in, which has no code.
    pub(crate) user_code: Option<&'a str>,
    pub(crate) link: &'a str,
    pub(crate) link_ttl_secs: u64,
    pub(crate) requested_from: &'a str,
    pub(crate) requested_at: i64,
}

/// A strict check of an email address, before any mail is built: `local@domain` in plain
/// ASCII, the local part a dot-atom (RFC 5322 `atext` and single dots inside, at most 64
/// bytes), the domain dot-separated labels of letters, digits and inner hyphens, at most
/// 254 bytes in all. Quoted local parts, comments, lists (`a,b@x`), angle brackets and
/// markup are refused: nothing but one address ever reaches a `To:` header or a page.
pub(crate) fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let dot_atom = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(atext));
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    address.len() <= 254 && dot_atom && domain.split('.').all(label)
}

/// Creates the outbox folder if it does not exist.
pub(crate) fn prepare_outbox(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Writes the mail into `outbox` as `<unix_millis>-<random>.eml` and logs the recipient
/// and the file; the link too only when `print_link` (a development server's flag).
pub(crate) fn send_sign_in(
    outbox: &Path,
    mail: &SignInMail,
    now_ms: i64,
    print_link: bool,
) -> io::Result<PathBuf> {
    fs::create_dir_all(outbox)?;
    let name = format!("{now_ms}-{}.eml", hex(&secrets::random_bytes::<6>()));
    let path = outbox.join(&name);
    let temp = outbox.join(format!(".{name}.tmp"));
    let text = render(mail, now_ms);
    let written = write_private(&temp, text.as_bytes()).and_then(|()| fs::rename(&temp, &path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if print_link {
        eprintln!("mail to {}: {} ({})", mail.to, path.display(), mail.link);
    } else {
        eprintln!("mail to {}: {}", mail.to, path.display());
    }
    Ok(path)
}

/// Creates `path` readable by the owner only (the mail holds a sign-in link) and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `15 minutes`, `1 minute`, `90 seconds`.
fn describe_ttl(secs: u64) -> String {
    match secs {
        60 => "1 minute".into(),
        1 => "1 second".into(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// The whole message, CRLF line endings.
fn render(mail: &SignInMail, now_ms: i64) -> String {
    let now = now_ms.div_euclid(1000);
    let subject = match mail.user_code {
        Some(code) => format!("Sign in to My Cloud (code {code})"),
        None => "Sign in to My Cloud".to_string(),
    };
    let headers = [
        format!("From: {FROM}"),
        format!("To: {}", mail.to),
        format!("Subject: {subject}"),
        format!("Date: {}", clock::rfc5322(now)),
        format!(
            "Message-ID: <{now_ms}.{}@my.localhost>",
            hex(&secrets::random_bytes::<8>())
        ),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8".into(),
        "Content-Transfer-Encoding: 8bit".into(),
    ];
    let check = match mail.user_code {
        Some(code) => vec![
            "Check that your terminal shows this code:".to_string(),
            String::new(),
            format!("    {code}"),
            String::new(),
            "If you did not just run `my cli login`, press Deny on the page this link opens."
                .into(),
            String::new(),
            "Then open this link to confirm or deny the sign-in:".into(),
        ],
        None => vec![
            "Open this link in the browser where you started, to confirm or deny the sign-in:"
                .to_string(),
        ],
    };
    let mut body = vec![
        "Hello,".to_string(),
        String::new(),
        "Someone asked to sign in to My Cloud with this email address.".into(),
    ];
    body.extend(check);
    body.extend([
        String::new(),
        mail.link.to_string(),
        String::new(),
        format!(
            "The link works once and expires in {}.",
            describe_ttl(mail.link_ttl_secs)
        ),
        format!(
            "It was requested from {} at {}.",
            mail.requested_from,
            clock::rfc3339(mail.requested_at)
        ),
        "If you did not ask to sign in, ignore this email: nothing happens without a click.".into(),
    ]);
    let mut text = headers.join("\r\n");
    text.push_str("\r\n\r\n");
    text.push_str(&body.join("\r\n"));
    text.push_str("\r\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignInMail<'static> {
        SignInMail {
            to: "ann@example.com",
            user_code: Some("WDJB-MJHT"),
            link: "http://127.0.0.1:7780/magic/abc",
            link_ttl_secs: 900,
            requested_from: "127.0.0.1",
            requested_at: 0,
        }
    }

    #[test]
    fn renders_headers_and_body() {
        let text = render(&sample(), 1_000);
        assert!(
            text.starts_with("From: My Cloud <no-reply@my.localhost>\r\nTo: ann@example.com\r\n")
        );
        assert!(text.contains("\r\nSubject: Sign in to My Cloud (code WDJB-MJHT)\r\n"));
        assert!(text.contains("\r\nDate: Thu, 01 Jan 1970 00:00:01 +0000\r\n"));
        assert!(text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
        assert!(text.contains("\r\n\r\nhttp://127.0.0.1:7780/magic/abc\r\n\r\n"));
        assert!(text.contains("expires in 15 minutes."));
        assert!(text.contains("requested from 127.0.0.1 at 1970-01-01T00:00:00Z."));
        assert!(text.contains("If you did not just run `my cli login`, press Deny"));
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn browser_mails_have_no_code() {
        let mail = SignInMail {
            user_code: None,
            ..sample()
        };
        let text = render(&mail, 1_000);
        assert!(text.contains("\r\nSubject: Sign in to My Cloud\r\n"));
        assert!(!text.contains("(code") && !text.contains("this code"));
        assert!(text.contains("\r\n\r\nhttp://127.0.0.1:7780/magic/abc\r\n\r\n"));
    }

    #[test]
    fn address_validation() {
        assert!(valid_address("ann@example.com"));
        assert!(valid_address("a+tag@localhost"));
        assert!(valid_address("first.last-1@sub.example-mail.co"));
        assert!(valid_address("o'brien@example.ie"));
        for bad in [
            "",
            "ann",
            "@x",
            "ann@",
            "a@b@c",
            "a b@x",
            "a@x\r\nBcc: y",
            "a\t@x",
            "a,b@x.example",
            "a@x.example,b@y.example",
            "<script>@x.example",
            "a@<b>.example",
            "\"a b\"@x.example",
            "Ann <ann@example.com>",
            "a(comment)@x.example",
            ".a@x.example",
            "a..b@x.example",
            "a@-x.example",
            "a@x..example",
            "a@x.example.",
            "ann@exämple.com",
            "änn@example.com",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
        assert!(!valid_address(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn ttl_wording() {
        assert_eq!(describe_ttl(900), "15 minutes");
        assert_eq!(describe_ttl(60), "1 minute");
        assert_eq!(describe_ttl(2), "2 seconds");
    }

    #[test]
    fn writes_one_eml_file() {
        let dir = std::env::temp_dir().join(format!("my-server-mail-{}", secrets::new_id("t")));
        let path = send_sign_in(&dir, &sample(), 1_234, false).unwrap();
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with("1234-") && names[0].ends_with(".eml"));
        assert!(fs::read_to_string(&path).unwrap().contains("WDJB-MJHT"));
        fs::remove_dir_all(dir).unwrap();
    }
}
