//! The server-rendered HTML pages of the sign-in flow, and HTML escaping.
//!
//! Pages load nothing from elsewhere (inline CSS only, matching the CSP set in `http`),
//! read well on a phone, and escape every value they interpolate.

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
         <meta name=\"referrer\" content=\"no-referrer\">\
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

/// The page a magic link shows: it never acts, the buttons POST back to the same URL.
pub(crate) fn confirm(user_code: &str, email: &str, ip: &str, requested_at: &str) -> String {
    layout(
        "Confirm sign-in",
        &format!(
            "<h1>Sign in to My Cloud?</h1>\
             <p>Check that your terminal shows this code:</p>\
             <div class=\"code\">{}</div>\
             <dl><dt>Account</dt><dd>{}</dd>\
             <dt>Requested from</dt><dd>{}</dd>\
             <dt>At</dt><dd>{}</dd></dl>\
             <form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"confirm\">\
             <button class=\"primary\" type=\"submit\">Confirm sign-in</button></form>\
             <form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"deny\">\
             <button type=\"submit\">Deny</button></form>\
             <p class=\"note\">Only confirm if you started this sign-in and the codes match.</p>",
            escape(user_code),
            escape(email),
            escape(ip),
            escape(requested_at)
        ),
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

/// The RFC 8628 verification page: type the code shown in the terminal, and an email.
pub(crate) fn device_form(user_code: &str, email: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            "<h1>Sign in to My Cloud</h1>{error}\
             <p>Enter the code shown in your terminal and your email address. \
             We will send you a sign-in link.</p>\
             <form method=\"post\">\
             <label for=\"user_code\">Code</label>\
             <input id=\"user_code\" name=\"user_code\" value=\"{}\" autocomplete=\"off\" \
             autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"XXXX-XXXX\" required>\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" value=\"{}\" autocomplete=\"email\" required>\
             <button class=\"primary\" type=\"submit\">Send sign-in link</button></form>",
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
        let page = confirm("WDJB-MJHT", "<script>@x", "127.0.0.1", "now");
        assert!(page.contains("&lt;script&gt;@x"));
        assert!(!page.contains("<script>"));
        let form = device_form("\"><b>", "", Some("<i>"));
        assert!(!form.contains("<b>") && !form.contains("<i>"));
    }

    #[test]
    fn pages_are_mobile_ready() {
        assert!(signed_in().contains("name=\"viewport\""));
        assert!(link_expired().contains("This sign-in link has expired."));
    }
}
