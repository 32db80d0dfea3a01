//! The server-rendered HTML pages of the sign-in flows, and HTML escaping.
//!
//! Pages load nothing from elsewhere (inline CSS only, matching the CSP that
//! `web::Reply::html` sets), read well on a phone, and escape every value they
//! interpolate. Every form carries a hidden `csrf` field. Elements a browser test drives have stable ids: the `email` input,
//! the `send`, `confirm`, `deny`, `authorize` and `cancel` buttons, the user code in
//! `code` and the account's email in `account`.

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:30rem;\
margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b;background:#fff}\
h1{font-size:1.4rem}\
.code{font:700 2.2rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;letter-spacing:.12em;\
text-align:center;padding:.8rem;border:2px solid #bbb;border-radius:.5rem;margin:1rem 0}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}dt{color:#666}dd{margin:0;\
overflow-wrap:anywhere}\
form{margin:.6rem 0}label{display:block;margin:.6rem 0 .2rem}\
input{font-size:1rem;padding:.6rem;width:100%;box-sizing:border-box;border:1px solid #999;\
border-radius:.4rem}\
button{font-size:1rem;padding:.75rem;width:100%;border-radius:.4rem;border:1px solid #888;\
background:#f2f2f2;color:inherit;cursor:pointer;margin-top:.6rem}\
button.primary{background:#0b57d0;border-color:#0b57d0;color:#fff}\
.error{color:#b00020}.note{color:#666;font-size:.9rem}\
@media (prefers-color-scheme:dark){body{background:#121212;color:#eee}\
button{background:#2a2a2a}dt,.note{color:#aaa}input{background:#1e1e1e;color:#eee}}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <title>{} · My Cloud</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// A page with a heading and one paragraph of already-safe HTML.
fn message(title: &str, paragraph_html: &str) -> String {
    layout(
        title,
        &format!("<h1>{}</h1><p>{paragraph_html}</p>", escape(title)),
    )
}

/// Hidden form fields, escaped.
fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

/// A form holding only hidden fields and one button with `id`.
fn button_form(action: Option<&str>, fields: &[(&str, &str)], id: &str, label: &str) -> String {
    let action = action
        .map(|a| format!(" action=\"{}\"", escape(a)))
        .unwrap_or_default();
    let class = if matches!(id, "confirm" | "authorize") {
        " class=\"primary\""
    } else {
        ""
    };
    format!(
        "<form method=\"post\"{action}>{}<button{class} id=\"{id}\" type=\"submit\">{}</button></form>",
        hidden(fields),
        escape(label)
    )
}

/// What a magic link's page shows.
pub(crate) struct LinkPage<'a> {
    /// The device flow's user code; `None` for a browser sign-in, which has none.
    pub(crate) user_code: Option<&'a str>,
    pub(crate) email: &'a str,
    pub(crate) ip: &'a str,
    /// The address the link is being opened from, when it is not the one that asked.
    pub(crate) opened_from: Option<&'a str>,
    pub(crate) requested_at: &'a str,
    pub(crate) csrf: &'a str,
}

/// The page a magic link shows: it never acts, the buttons POST back to the same URL.
pub(crate) fn confirm(page: &LinkPage) -> String {
    let intro = match page.user_code {
        Some(code) => format!(
            "<p>Check that your terminal shows this code:</p>\
             <div class=\"code\" id=\"code\">{}</div>",
            escape(code)
        ),
        None => "<p>The My Cloud CLI asked to sign in through your browser. Confirming also \
                 signs this browser in, so the next sign-in is one click.</p>"
            .into(),
    };
    let note = if page.user_code.is_some() {
        "Only confirm if you started this sign-in and the codes match. If you did not just run \
         <code>my cli login</code>, press Deny."
    } else {
        "Only confirm if you started this sign-in. Open this link in the browser on the \
         computer where you ran <code>my cli login</code>: the sign-in ends by returning there."
    };
    let warning = page
        .opened_from
        .map(|here| {
            format!(
                "<p class=\"error\" id=\"elsewhere\">This sign-in was requested from {}, but \
                 you are opening the link from {}. If that is not the computer where you ran \
                 <code>my cli login</code>, press Deny.</p>",
                escape(page.ip),
                escape(here)
            )
        })
        .unwrap_or_default();
    let confirm = [("csrf", page.csrf), ("action", "confirm")];
    let deny = [("csrf", page.csrf), ("action", "deny")];
    layout(
        "Confirm sign-in",
        &format!(
            "<h1>Sign in to My Cloud?</h1>{intro}{warning}\
             <dl><dt>Account</dt><dd id=\"account\">{}</dd>\
             <dt>Requested from</dt><dd>{}</dd>\
             <dt>At</dt><dd>{}</dd></dl>{}{}\
             <p class=\"note\">{note}</p>",
            escape(page.email),
            escape(page.ip),
            escape(page.requested_at),
            button_form(None, &confirm, "confirm", "Confirm sign-in"),
            button_form(None, &deny, "deny", "Deny"),
        ),
    )
}

/// The browser sign-in page for someone without a web session: an email form.
pub(crate) fn sign_in_form(
    action: &str,
    request_id: &str,
    csrf: &str,
    email: &str,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let cancel = [
        ("request", request_id),
        ("csrf", csrf),
        ("action", "cancel"),
    ];
    layout(
        "Sign in",
        &format!(
            "<h1>Sign in to My Cloud</h1>{error}\
             <p>The My Cloud CLI on this computer asked to sign in. Enter your email address \
             and we will send you a sign-in link.</p>\
             <form method=\"post\" action=\"{}\">{}\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" value=\"{}\" autocomplete=\"email\" \
             autofocus required>\
             <button class=\"primary\" id=\"send\" type=\"submit\">Email me a sign-in link</button>\
             </form>{}",
            escape(action),
            hidden(&[("request", request_id), ("csrf", csrf), ("action", "send")]),
            escape(email),
            button_form(Some(action), &cancel, "cancel", "Cancel"),
        ),
    )
}

/// What the "Authorize my CLI" page shows.
pub(crate) struct ConsentPage<'a> {
    /// Where the buttons post.
    pub(crate) action: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) email: &'a str,
    /// The loopback port the CLI listens on.
    pub(crate) port: &'a str,
    pub(crate) requested_at: &'a str,
    /// The same request with `prompt=login`, to sign in as someone else.
    pub(crate) switch_account: &'a str,
    /// Where the sign-out button posts, and its CSRF token.
    pub(crate) sign_out: &'a str,
    pub(crate) sign_out_csrf: &'a str,
}

/// One click for someone already signed in in this browser.
pub(crate) fn consent(page: &ConsentPage) -> String {
    let authorize = [
        ("request", page.request_id),
        ("csrf", page.csrf),
        ("action", "authorize"),
    ];
    let cancel = [
        ("request", page.request_id),
        ("csrf", page.csrf),
        ("action", "cancel"),
    ];
    let sign_out = [
        ("csrf", page.sign_out_csrf),
        ("return_to", page.switch_account),
    ];
    layout(
        "Authorize my CLI",
        &format!(
            "<h1>Authorize my CLI?</h1>\
             <p>This browser is signed in to My Cloud as <strong>{email}</strong>. The My \
             Cloud CLI on this computer asks to sign in to <strong>that account</strong>.</p>\
             <dl><dt>Account</dt><dd id=\"account\">{email}</dd>\
             <dt>CLI port</dt><dd id=\"port\">{}</dd>\
             <dt>At</dt><dd>{}</dd></dl>{}{}\
             <p class=\"note\">Only authorize if you just ran <code>my cli login</code>. \
             Not you? <a id=\"switch\" href=\"{}\">Use another account</a>, or sign this \
             browser out.</p>{}",
            escape(page.port),
            escape(page.requested_at),
            button_form(Some(page.action), &authorize, "authorize", "Authorize"),
            button_form(Some(page.action), &cancel, "cancel", "Cancel"),
            escape(page.switch_account),
            button_form(Some(page.sign_out), &sign_out, "signout", "Sign out"),
            email = escape(page.email),
        ),
    )
}

/// After the sign-out button, when there is no sign-in to go back to.
pub(crate) fn signed_out() -> String {
    message(
        "Signed out",
        "This browser is signed out of My Cloud. Run <code>my cli login --web</code> to sign \
         in again.",
    )
}

/// A bad `client_id` or `redirect_uri`: shown, never redirected to (RFC 6749 §4.1.2.1).
pub(crate) fn authorize_error(text: &str) -> String {
    message(
        "Sign-in request not valid",
        &format!("{} Run <code>my cli login</code> again.", escape(text)),
    )
}

/// A form post without a valid CSRF token (or without the web session it was made for).
pub(crate) fn forbidden() -> String {
    message(
        "Form not accepted",
        "This form could not be verified: it is missing its security token, came from \
         another site, or your browser session ended. Go back, reload the page and try again.",
    )
}

/// A browser sign-in request that expired or was already decided.
pub(crate) fn request_over() -> String {
    message(
        "Sign-in request over",
        "This sign-in request has expired or was already answered. \
         Run <code>my cli login</code> again.",
    )
}

/// A browser sign-in's link opened in another browser than the one that started it.
pub(crate) fn wrong_browser() -> String {
    message(
        "Open this link where you started",
        "This sign-in link only works in the browser where you started signing in. Open \
         it in the browser on the computer where you ran <code>my cli login --web</code>. \
         If you did not start a sign-in, ignore the email.",
    )
}

pub(crate) fn link_invalid() -> String {
    message(
        "Link not valid",
        "This sign-in link is not valid or was already used.",
    )
}

pub(crate) fn link_expired() -> String {
    message(
        "Link expired",
        "This sign-in link has expired. Run <code>my cli login</code> again.",
    )
}

pub(crate) fn signed_in() -> String {
    message("Signed in", "Signed in. You can return to your terminal.")
}

pub(crate) fn denied() -> String {
    message("Sign-in denied", "Sign-in denied. You can close this page.")
}

pub(crate) fn bad_request(text: &str) -> String {
    message("Bad request", &escape(text))
}

/// The sign-in mail could not be sent: the mail relay is down or refused it.
pub(crate) fn mail_unavailable() -> String {
    message(
        "Email not sent",
        "The sign-in email could not be sent right now. Nothing was changed: go back and \
         try again in a minute.",
    )
}

pub(crate) fn too_many(text: &str) -> String {
    message("Too many attempts", &escape(text))
}

pub(crate) fn check_inbox() -> String {
    message(
        "Check your inbox",
        "Check your inbox: we sent a sign-in link to that address. \
         Open it and compare the code with the one in your terminal.",
    )
}

/// After the browser sign-in's email form; the same whether or not the account exists.
pub(crate) fn check_inbox_browser(email: &str) -> String {
    layout(
        "Check your inbox",
        &format!(
            "<h1>Check your inbox</h1>\
             <p>We sent a sign-in link to <strong id=\"account\">{}</strong>. \
             Open it in this browser to finish signing in.</p>\
             <p class=\"note\">No email? Check the address and your spam folder, or go back \
             and send it again.</p>",
            escape(email)
        ),
    )
}

/// The RFC 8628 verification page: type the code shown in the terminal, and an email.
pub(crate) fn device_form(user_code: &str, email: &str, csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            "<h1>Sign in to My Cloud</h1>{error}\
             <p>Enter the code shown in your terminal and your email address. \
             We will send you a sign-in link.</p>\
             <form method=\"post\">{}\
             <label for=\"user_code\">Code</label>\
             <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
             autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"XXXX-XXXX\" required>\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" value=\"{}\" autocomplete=\"email\" required>\
             <button class=\"primary\" id=\"send\" type=\"submit\">Send sign-in link</button></form>",
            hidden(&[("csrf", csrf)]),
            escape(user_code),
            escape(email)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_interpolated() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        let page = confirm(&LinkPage {
            user_code: Some("WDJB-MJHT"),
            email: "<script>@x",
            ip: "127.0.0.1",
            opened_from: Some("<i>"),
            requested_at: "now",
            csrf: "\"><b>",
        });
        assert!(page.contains("&lt;script&gt;@x"));
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<i>"));
        let form = device_form("\"><b>", "", "t", Some("<i>"));
        assert!(!form.contains("<b>") && !form.contains("<i>"));
        let sign_in = sign_in_form("/a", "azr_1", "t", "\"><b>", Some("<i>"));
        assert!(!sign_in.contains("<b>") && !sign_in.contains("<i>"));
    }

    #[test]
    fn pages_are_mobile_ready() {
        assert!(signed_in().contains("name=\"viewport\""));
        assert!(link_expired().contains("This sign-in link has expired."));
    }

    #[test]
    fn forms_carry_csrf_and_stable_ids() {
        let page = confirm(&LinkPage {
            user_code: None,
            email: "ann@example.com",
            ip: "127.0.0.1",
            opened_from: None,
            requested_at: "now",
            csrf: "tok",
        });
        assert_eq!(page.matches("name=\"csrf\" value=\"tok\"").count(), 2);
        for id in ["confirm", "deny", "account"] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(!page.contains("id=\"code\""));
        let consent = consent(&ConsentPage {
            action: "/oauth/authorize/consent",
            request_id: "azr_1",
            csrf: "tok",
            email: "ann@example.com",
            port: "5000",
            requested_at: "now",
            switch_account: "/oauth/authorize?a=1&prompt=login",
            sign_out: "/sign-out",
            sign_out_csrf: "out",
        });
        for id in ["authorize", "cancel", "account", "switch", "signout"] {
            assert!(consent.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(consent.contains("href=\"/oauth/authorize?a=1&amp;prompt=login\""));
        let sign_in = sign_in_form("/s", "azr_1", "tok", "", None);
        for id in ["email", "send", "cancel"] {
            assert!(sign_in.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(sign_in.matches("name=\"csrf\" value=\"tok\"").count(), 2);
    }
}
