//! Outgoing mail, through one of two [`Mailer`]s. In development (the default) each mail
//! is written as one RFC 5322 `.eml` file into the outbox folder, atomically (temporary
//! file, then rename). In production (`--smtp-url`) lettre builds a multipart text + HTML
//! message (its headers encoded by lettre, the recipient a checked address, so nothing a
//! client sends can add a header) and hands it to the relay over TLS (STARTTLS or implicit;
//! plain only to a loopback relay), retrying a relay that is down or busy a few times.
//! The log names the recipient, never the link: a link signs in whoever opens it. Only
//! `--print-links` (refused behind https) prints it.

use crate::clock;
use crate::crypto::secrets;
use crate::pages::escape;
use crate::settings::{Settings, SmtpRelay, SmtpSecurity};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// Tries per mail when the relay is down or answers "try later" (4xx); a refusal (5xx)
/// is final at once.
const SMTP_ATTEMPTS: u32 = 3;
/// Wait before the second try, doubled before the third.
const SMTP_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Longest wait for the relay's answer at each step of one try.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where sign-in mail goes.
pub(crate) enum Mailer {
    /// Development: `.eml` files in `dir`.
    Outbox {
        dir: PathBuf,
        from: String,
        print_links: bool,
    },
    /// Production: an SMTP relay.
    Smtp {
        transport: Box<SmtpTransport>,
        from: Mailbox,
        /// `host:port`, for the log.
        relay: String,
        print_links: bool,
    },
}

/// Why a mail was not sent.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The relay is down, too slow, or refused the mail, after every try: the caller
    /// answers 503.
    Unavailable(String),
    /// The outbox could not be written: the server's fault.
    Outbox(io::Error),
}

impl Mailer {
    /// The mailer `settings` ask for; reads the SMTP password file. The error says what
    /// is wrong with the configuration.
    pub(crate) fn new(settings: &Settings) -> Result<Mailer, String> {
        let Some(relay) = &settings.smtp else {
            return Ok(Mailer::Outbox {
                dir: settings.mail_dir.clone(),
                from: settings.mail_from.clone(),
                print_links: settings.print_links,
            });
        };
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| format!("invalid --mail-from: {e}"))?;
        Ok(Mailer::Smtp {
            transport: Box::new(smtp_transport(relay, &from)?),
            relay: format!("{}:{}", relay.host, relay.port),
            from,
            print_links: settings.print_links,
        })
    }

    /// Sends `mail`.
    pub(crate) fn send_sign_in(&self, mail: &SignInMail, now_ms: i64) -> Result<(), SendError> {
        match self {
            Mailer::Outbox {
                dir,
                from,
                print_links,
            } => write_outbox(dir, from, mail, now_ms, *print_links)
                .map(|_| ())
                .map_err(SendError::Outbox),
            Mailer::Smtp {
                transport,
                from,
                relay,
                print_links,
            } => {
                let message = message(from, mail, now_ms)
                    .map_err(|e| SendError::Unavailable(format!("cannot build the mail: {e}")))?;
                send_with_retries(transport, &message, mail.to, relay)?;
                match print_links {
                    true => eprintln!("mail to {}: sent through {relay} ({})", mail.to, mail.link),
                    false => eprintln!("mail to {}: sent through {relay}", mail.to),
                }
                Ok(())
            }
        }
    }
}

/// The relay's transport: TLS as `relay.security` says, the server certificate checked
/// against the system's trust store, and the login when a user is named.
fn smtp_transport(relay: &SmtpRelay, from: &Mailbox) -> Result<SmtpTransport, String> {
    let tls = TlsParameters::new(relay.host.clone())
        .map_err(|e| format!("cannot set up TLS for the SMTP relay: {e}"))?;
    let tls = match relay.security {
        SmtpSecurity::Implicit => Tls::Wrapper(tls),
        SmtpSecurity::StartTls => Tls::Required(tls),
        SmtpSecurity::LoopbackPlainAllowed => Tls::Opportunistic(tls),
    };
    // "Dangerous" only in that lettre leaves TLS to the caller: it is set just above.
    let mut builder = SmtpTransport::builder_dangerous(relay.host.as_str())
        .port(relay.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT))
        .hello_name(ClientId::Domain(from.email.domain().to_string()));
    if let Some(user) = &relay.user {
        let password = match (&relay.password_file, &relay.password) {
            (Some(file), _) => fs::read_to_string(file)
                .map_err(|e| format!("cannot read --smtp-password-file {}: {e}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            (None, Some(password)) => password.0.clone(),
            (None, None) => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// Sends `message`, trying again while the relay is down, slow or answers 4xx.
fn send_with_retries(
    transport: &SmtpTransport,
    message: &Message,
    to: &str,
    relay: &str,
) -> Result<(), SendError> {
    let mut delay = SMTP_RETRY_DELAY;
    for attempt in 1..=SMTP_ATTEMPTS {
        let error = match transport.send(message) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        eprintln!("mail to {to}: try {attempt} of {SMTP_ATTEMPTS} through {relay} failed: {error}");
        if error.is_permanent() || attempt == SMTP_ATTEMPTS {
            return Err(SendError::Unavailable(error.to_string()));
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
    unreachable!("the last try returns")
}

/// `Name <address>` or a bare address, as lettre reads it; the error is a usage message.
pub(crate) fn check_mailbox(text: &str) -> Result<String, String> {
    let mailbox: Mailbox = text
        .parse()
        .map_err(|e| format!("invalid --mail-from `{}`: {e}", text.escape_debug()))?;
    if !valid_address(mailbox.email.as_ref()) {
        return Err(format!(
            "invalid --mail-from `{}`: not a plain address",
            text.escape_debug()
        ));
    }
    Ok(text.to_string())
}

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
fn write_outbox(
    outbox: &Path,
    from: &str,
    mail: &SignInMail,
    now_ms: i64,
    print_link: bool,
) -> io::Result<PathBuf> {
    fs::create_dir_all(outbox)?;
    let name = format!("{now_ms}-{}.eml", hex(&secrets::random_bytes::<6>()));
    let path = outbox.join(&name);
    let temp = outbox.join(format!(".{name}.tmp"));
    let text = render(from, mail, now_ms);
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

fn subject(mail: &SignInMail) -> String {
    match mail.user_code {
        Some(code) => format!("Sign in to My Cloud (code {code})"),
        None => "Sign in to My Cloud".to_string(),
    }
}

/// The development `.eml` file: the text part only, CRLF line endings.
fn render(from: &str, mail: &SignInMail, now_ms: i64) -> String {
    let now = now_ms.div_euclid(1000);
    let headers = [
        format!("From: {from}"),
        format!("To: {}", mail.to),
        format!("Subject: {}", subject(mail)),
        format!("Date: {}", clock::rfc5322(now)),
        format!(
            "Message-ID: <{now_ms}.{}@my.localhost>",
            hex(&secrets::random_bytes::<8>())
        ),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8".into(),
        "Content-Transfer-Encoding: 8bit".into(),
    ];
    let mut text = headers.join("\r\n");
    text.push_str("\r\n\r\n");
    text.push_str(&body_lines(mail).join("\r\n"));
    text.push_str("\r\n");
    text
}

/// The relay's message: text and HTML alternatives, with `Date` and `Message-ID`; lettre
/// encodes every header.
fn message(from: &Mailbox, mail: &SignInMail, now_ms: i64) -> Result<Message, String> {
    let to: Mailbox = mail.to.parse().map_err(|e| format!("bad recipient: {e}"))?;
    let sent = UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
    let lines = body_lines(mail);
    let text = lines.join("\r\n") + "\r\n";
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject(mail))
        .date(sent)
        .message_id(Some(format!(
            "<{now_ms}.{}@{}>",
            hex(&secrets::random_bytes::<8>()),
            from.email.domain()
        )))
        .multipart(MultiPart::alternative_plain_html(text, html(mail, &lines)))
        .map_err(|e| e.to_string())
}

/// The HTML part: the text's paragraphs, escaped, with the link as a link.
fn html(mail: &SignInMail, lines: &[String]) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n",
    );
    for paragraph in lines.split(|line| line.is_empty()) {
        let text = paragraph.join(" ");
        let text = text.trim();
        if text == mail.link {
            let link = escape(mail.link);
            html.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>\n"));
        } else if Some(text) == mail.user_code {
            html.push_str(&format!(
                "<p><strong><code>{}</code></strong></p>\n",
                escape(text)
            ));
        } else {
            html.push_str(&format!("<p>{}</p>\n", escape(text)));
        }
    }
    html.push_str("</body></html>\n");
    html
}

/// The text of the mail, one line each (empty lines between paragraphs).
fn body_lines(mail: &SignInMail) -> Vec<String> {
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
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DEFAULT_MAIL_FROM;

    #[test]
    fn the_relay_message_is_multipart_with_encoded_headers() {
        let from: Mailbox = "Mÿ Cloud <no-reply@example.com>".parse().unwrap();
        let message = message(&from, &sample(), 1_000).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        for header in [
            "From: =?utf-8?",
            "To: ann@example.com",
            "Subject: Sign in to My Cloud (code WDJB-MJHT)",
            "Date: Thu, 01 Jan 1970 00:00:01 +0000",
            "Message-ID: <1000.",
            "@example.com>",
            "Content-Type: multipart/alternative;",
        ] {
            assert!(head.contains(header), "no {header:?} in {head}");
        }
        let body = body.replace("=\r\n", "").replace("=3D", "=");
        for part in [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html; charset=utf-8",
            "<a href=\"http://127.0.0.1:7780/magic/abc\">",
            "<strong><code>WDJB-MJHT</code></strong>",
        ] {
            assert!(body.contains(part), "no {part:?} in {body}");
        }
        assert!(check_mailbox("Ops <ops@example.com>").is_ok());
        assert!(check_mailbox("ops@example.com\r\nBcc: x@y.z").is_err());
        assert!(check_mailbox("not an address").is_err());
    }

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
        let text = render(DEFAULT_MAIL_FROM, &sample(), 1_000);
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
        let text = render(DEFAULT_MAIL_FROM, &mail, 1_000);
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
        let path = write_outbox(&dir, DEFAULT_MAIL_FROM, &sample(), 1_234, false).unwrap();
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
