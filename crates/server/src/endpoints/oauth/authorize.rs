//! `/oauth/authorize` and its two forms, the browser sign-in: the authorization endpoint (RFC 6749 §4.1, PKCE per RFC 7636,
//! loopback redirects per RFC 8252 §7.3), the forms of its two pages, and issuing codes.
//!
//! A bad `client_id` or `redirect_uri` is shown on a page and never redirected to; once the
//! redirect URI is known to be a loopback one, every other outcome goes back to it with
//! `state` and `iss` (RFC 9207). A browser without a web session gets an email form that
//! mails a magic link bound to the request (`magic` shows and confirms that link); a
//! browser with one gets the one-click "Authorize my CLI" page. The token endpoint
//! redeems the codes issued here.

use crate::app::App;
use crate::clock;
use crate::crypto::csrf::{self, Purpose};
use crate::crypto::{pkce, secrets};
use crate::db::{AuthRequest, AuthStatus, Db, DbResult, LinkTarget};
use crate::domain::authorization::{
    callback, code_callback, denied_callback, deny, issue_code, Outcome,
};
use crate::domain::clients;
use crate::domain::magic_links::{self, LinkMail, MailAsk};
use crate::domain::oauth::{parse_scope, valid_loopback_redirect};
use crate::domain::web_session::{self, WebUser};
use crate::mail;
use crate::pages::{self, ConsentPage};
use crate::settings::RATE_WINDOW_SECS;
use crate::web::{Error, Form, Params, Reply, Request};
use my_api::{oauth_errors as err, paths};

/// How long an authorization request waits for the person in the browser.
const REQUEST_TTL_SECS: i64 = 600;
/// `state` must carry at least 128 bits (16 characters of base64url or hex is the least).
const MIN_STATE_CHARS: usize = 16;
const MAX_STATE_CHARS: usize = 512;
/// Rate-limit kind: authorization requests per client address (limit: `--rate-limit`).
const AUTHORIZE_RATE: &str = "authorize_request";
/// RFC 6749 §4.1.2.1 error codes the wire crate does not name.
const UNSUPPORTED_RESPONSE_TYPE: &str = "unsupported_response_type";
const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";

/// A validated `GET /oauth/authorize`.
#[derive(Debug)]
struct AuthorizeQuery {
    redirect_uri: String,
    code_challenge: String,
    state: String,
    scope: String,
    /// A valid `login_hint`, to fill in the email form.
    login_hint: Option<String>,
    /// `prompt=login`: ask for the email even if the browser is signed in.
    prompt_login: bool,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Shown on a 400 page: the client or the redirect URI cannot be trusted.
    Page(String),
    /// Sent back to the (valid) redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn valid_state_chars(state: &str) -> bool {
    state.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Checks the parameters in the order RFC 6749 §4.1.2.1 needs: client and redirect URI
/// first (shown on a page), then the rest (sent back to the redirect URI).
fn validate(form: &Form) -> Result<AuthorizeQuery, Refusal> {
    match form.get("client_id") {
        Some(my_api::CLIENT_ID) => {}
        Some(_) => return Err(Refusal::Page("The client_id is not known.".into())),
        None => return Err(Refusal::Page("The client_id is missing.".into())),
    }
    let redirect_uri = match form.get("redirect_uri") {
        Some(uri) if valid_loopback_redirect(uri) => uri.to_string(),
        Some(_) => {
            return Err(Refusal::Page(
                "The redirect_uri must be the CLI's loopback callback \
                 (http://127.0.0.1:PORT/callback or http://[::1]:PORT/callback)."
                    .into(),
            ))
        }
        None => return Err(Refusal::Page("The redirect_uri is missing.".into())),
    };
    // Echoed on errors as the client sent it, unless it is not a state we could echo.
    let raw_state = form
        .get("state")
        .filter(|s| s.len() <= MAX_STATE_CHARS && valid_state_chars(s));
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: raw_state.map(str::to_string),
        error,
        description: description.to_string(),
    };
    match form.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                UNSUPPORTED_RESPONSE_TYPE,
                "only response_type=code is supported",
            ))
        }
        None => return Err(refuse(err::INVALID_REQUEST, "response_type is required")),
    }
    let pkce_required = "PKCE with S256 is required";
    let Some(code_challenge) = form.get("code_challenge") else {
        return Err(refuse(err::INVALID_REQUEST, pkce_required));
    };
    if form.get("code_challenge_method") != Some(pkce::S256) {
        return Err(refuse(err::INVALID_REQUEST, pkce_required));
    }
    if !pkce::valid_challenge(code_challenge) {
        return Err(refuse(
            err::INVALID_REQUEST,
            "code_challenge must be 43 base64url characters",
        ));
    }
    let state = match form.get("state") {
        None => return Err(refuse(err::INVALID_REQUEST, "state is required")),
        Some(s) if s.len() < MIN_STATE_CHARS => {
            return Err(refuse(
                err::INVALID_REQUEST,
                "state must be at least 16 characters",
            ))
        }
        Some(_) if raw_state.is_none() => {
            return Err(refuse(
                err::INVALID_REQUEST,
                "state must be at most 512 printable ASCII characters",
            ));
        }
        Some(s) => s.to_string(),
    };
    let scope =
        parse_scope(form.get("scope")).map_err(|message| refuse(err::INVALID_SCOPE, &message))?;
    let login_hint = form
        .get("login_hint")
        .map(str::trim)
        .filter(|hint| mail::valid_address(hint))
        .map(str::to_string);
    Ok(AuthorizeQuery {
        redirect_uri,
        code_challenge: code_challenge.to_string(),
        state,
        scope,
        login_hint,
        prompt_login: form.get("prompt") == Some("login"),
    })
}

/// Whether the request still waits for an answer.
fn open(request: &AuthRequest, now: i64) -> bool {
    request.status == AuthStatus::Pending && now < request.expires_at
}

/// The loopback port of a valid redirect URI, for the consent page.
fn loopback_port(redirect_uri: &str) -> &str {
    let rest = redirect_uri
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| redirect_uri.strip_prefix("http://[::1]:"))
        .unwrap_or("");
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    &rest[..digits]
}

/// This authorization URL again, with `prompt=login` instead of any `prompt`.
fn switch_account_url(app: &App, query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "prompt" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("prompt", "login");
    format!("{}?{}", app.url(paths::AUTHORIZATION), out.finish())
}

fn sign_in_page(
    app: &App,
    status: u16,
    request_id: &str,
    email: &str,
    error: Option<&str>,
) -> Reply {
    let csrf = csrf::token(&app.key, Purpose::SignIn, &[request_id]);
    Reply::html(
        status,
        pages::sign_in_form(
            &app.url(paths::AUTHORIZE_SIGN_IN),
            request_id,
            &csrf,
            email,
            error,
        ),
    )
}

fn consent_page(app: &App, request: &AuthRequest, web: &WebUser, query: &str) -> Reply {
    let csrf = csrf::token(&app.key, Purpose::Consent, &[&request.id, &web.id_hash]);
    let sign_out_csrf = csrf::token(&app.key, Purpose::SignOut, &[&web.id_hash]);
    Reply::html(
        200,
        pages::consent(&ConsentPage {
            action: &app.url(paths::AUTHORIZE_CONSENT),
            request_id: &request.id,
            csrf: &csrf,
            email: &web.user.email,
            port: loopback_port(&request.redirect_uri),
            requested_at: &clock::rfc3339(request.created_at),
            switch_account: &switch_account_url(app, query),
            sign_out: &app.url(web_session::SIGN_OUT_PATH),
            sign_out_csrf: &sign_out_csrf,
        }),
    )
}

fn forbidden() -> Reply {
    Reply::html(403, pages::forbidden())
}

fn over() -> Reply {
    Reply::html(410, pages::request_over())
}

/// `GET /oauth/authorize`: validates, stores the request, and shows the consent page to a
/// signed-in browser or the email form to anyone else.
pub(crate) fn get(app: &App, db: &mut Db, request: &Request, _: &Params) -> Result<Reply, Error> {
    let params = request
        .query_form()
        .map_err(|message| Refusal::Page(format!("The request is malformed: {message}.")))
        .and_then(|form| validate(&form));
    let params = match params {
        Ok(params) => params,
        Err(Refusal::Page(message)) => {
            return Err(Error::page(400, pages::authorize_error(&message)))
        }
        Err(Refusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            let outcome = Outcome::Error(error, &description);
            return Ok(Reply::see_other(&callback(
                app,
                &redirect_uri,
                state.as_deref(),
                outcome,
            )));
        }
    };
    let now = clock::now_secs();
    let (browser_hash, binding_cookie) = web_session::bind(app, request);
    let stored = db.write(|tx| -> DbResult<Option<(AuthRequest, Option<WebUser>)>> {
        if !tx.rate_allow(
            AUTHORIZE_RATE,
            &clients::rate_key(&request.ip),
            app.settings.rate_limit,
            now,
            now - RATE_WINDOW_SECS,
        )? {
            return Ok(None);
        }
        let auth = AuthRequest {
            id: secrets::new_id("azr"),
            client_id: my_api::CLIENT_ID.to_string(),
            redirect_uri: params.redirect_uri.clone(),
            code_challenge: params.code_challenge.clone(),
            state: params.state.clone(),
            scope: params.scope.clone(),
            client_ip: request.ip.clone(),
            status: AuthStatus::Pending,
            user_id: None,
            created_at: now,
            expires_at: now + REQUEST_TTL_SECS,
            browser_hash: Some(browser_hash),
        };
        tx.insert_auth_request(&auth)?;
        let web = match params.prompt_login {
            true => None,
            false => web_session::current(tx, request, now)?,
        };
        // A hint for another account than the browser's asks for that account.
        let web = web.filter(|web| {
            params
                .login_hint
                .as_deref()
                .is_none_or(|hint| hint.eq_ignore_ascii_case(&web.user.email))
        });
        Ok(Some((auth, web)))
    })?;
    let Some((auth, web)) = stored else {
        let outcome = Outcome::Error(
            TEMPORARILY_UNAVAILABLE,
            "too many sign-in requests; try again later",
        );
        return Ok(Reply::see_other(&callback(
            app,
            &params.redirect_uri,
            Some(&params.state),
            outcome,
        )));
    };
    let page = match web {
        Some(web) => consent_page(app, &auth, &web, &request.query),
        None => sign_in_page(
            app,
            200,
            &auth.id,
            params.login_hint.as_deref().unwrap_or(""),
            None,
        ),
    };
    Ok(page.header("Set-Cookie", binding_cookie))
}

enum SignIn {
    Over,
    /// Over a mail limit: seconds until a mail may be sent again.
    TooManyMails(i64),
    Send(Box<AuthRequest>, String, i64),
    Denied(Box<AuthRequest>),
}

/// `POST /oauth/authorize/sign-in` (`request`, `csrf`, `action=send|cancel`, `email`):
/// mails a magic link bound to the request, or cancels it. The answer to `send` does not
/// depend on whether the address has an account.
pub(crate) fn post_sign_in(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    let Ok(form) = request.form() else {
        return Ok(forbidden());
    };
    let request_id = form.get("request").unwrap_or("");
    if !csrf::verify(
        &app.key,
        Purpose::SignIn,
        &[request_id],
        form.get(csrf::FIELD),
    ) {
        return Ok(forbidden());
    }
    let cancel = match form.get("action") {
        None | Some("send") => false,
        Some("cancel") => true,
        Some(_) => return Err(Error::page(400, pages::bad_request("Unknown action."))),
    };
    let email = form.get("email").unwrap_or("").trim();
    if !cancel && !mail::valid_address(email) {
        return Ok(sign_in_page(
            app,
            400,
            request_id,
            email,
            Some("Enter a valid email address."),
        ));
    }
    let now = clock::now_secs();
    let outcome = db.write(|tx| -> DbResult<SignIn> {
        let Some(auth) = tx.auth_request(request_id)? else {
            return Ok(SignIn::Over);
        };
        if !open(&auth, now) {
            return Ok(SignIn::Over);
        }
        if cancel {
            return Ok(match deny(tx, &auth)? {
                true => SignIn::Denied(Box::new(auth)),
                false => SignIn::Over,
            });
        }
        let ask = MailAsk {
            to: email,
            client: &clients::rate_key(&request.ip),
            request_id: &auth.id,
        };
        if let Err(retry_after) = magic_links::allow_mail(tx, app, &ask, now)? {
            return Ok(SignIn::TooManyMails(retry_after));
        }
        let target = LinkTarget::Authorization(auth.id.clone());
        let (token, expires_at) =
            magic_links::new_link(tx, app, target, email, auth.expires_at, now)?;
        Ok(SignIn::Send(Box::new(auth), token, expires_at))
    })?;
    Ok(match outcome {
        SignIn::Over => over(),
        SignIn::TooManyMails(retry_after) => Reply::html(
            429,
            pages::too_many("Too many sign-in emails. Try again later."),
        )
        .header("Retry-After", retry_after.to_string()),
        SignIn::Denied(auth) => {
            eprintln!("browser sign-in {} cancelled on the sign-in page", auth.id);
            Reply::see_other(&denied_callback(app, &auth))
        }
        SignIn::Send(auth, token, expires_at) => {
            magic_links::mail_link(
                app,
                db,
                &LinkMail {
                    to: email,
                    token: &token,
                    user_code: None,
                    requested_from: &auth.client_ip,
                    requested_at: auth.created_at,
                    expires_at,
                },
                || Reply::html(503, pages::mail_unavailable()),
            )?;
            Reply::html(200, pages::check_inbox_browser(email))
        }
    })
}

enum Consent {
    /// The web session ended since the page was shown.
    SignedOut,
    Over,
    Approved(Box<AuthRequest>, String),
    Denied(Box<AuthRequest>),
}

/// `POST /oauth/authorize/consent` (`request`, `csrf`, `action=authorize|cancel`), with the
/// web session cookie the page was made for.
pub(crate) fn post_consent(
    app: &App,
    db: &mut Db,
    request: &Request,
    _: &Params,
) -> Result<Reply, Error> {
    let Ok(form) = request.form() else {
        return Ok(forbidden());
    };
    let Some(cookie) = web_session::presented(request) else {
        return Ok(forbidden());
    };
    let session_hash = secrets::sha256_hex(cookie);
    let request_id = form.get("request").unwrap_or("");
    if !csrf::verify(
        &app.key,
        Purpose::Consent,
        &[request_id, &session_hash],
        form.get(csrf::FIELD),
    ) {
        return Ok(forbidden());
    }
    let approve = match form.get("action") {
        Some("authorize") => true,
        Some("cancel") => false,
        _ => {
            return Err(Error::page(
                400,
                pages::bad_request("Choose Authorize or Cancel."),
            ))
        }
    };
    let now = clock::now_secs();
    let outcome = db.write(|tx| -> DbResult<Consent> {
        let Some(user) = tx.web_session_user(&session_hash, now)? else {
            return Ok(Consent::SignedOut);
        };
        let Some(auth) = tx.auth_request(request_id)? else {
            return Ok(Consent::Over);
        };
        if !open(&auth, now) {
            return Ok(Consent::Over);
        }
        if !approve {
            return Ok(match deny(tx, &auth)? {
                true => Consent::Denied(Box::new(auth)),
                false => Consent::Over,
            });
        }
        Ok(match issue_code(tx, app, &auth, &user.id, now)? {
            Some(code) => Consent::Approved(Box::new(auth), code),
            None => Consent::Over,
        })
    })?;
    Ok(match outcome {
        Consent::SignedOut => forbidden(),
        Consent::Over => over(),
        Consent::Approved(auth, code) => {
            eprintln!("browser sign-in {} authorized on the consent page", auth.id);
            Reply::see_other(&code_callback(app, &auth, &code))
        }
        Consent::Denied(auth) => {
            eprintln!("browser sign-in {} cancelled on the consent page", auth.id);
            Reply::see_other(&denied_callback(app, &auth))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::parse_form;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const STATE: &str = "0123456789abcdef0123";

    fn query(pairs: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            q.append_pair(name, value);
        }
        q.finish()
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", "my-cli"),
            ("redirect_uri", "http://127.0.0.1:5000/callback"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", STATE),
        ]
    }

    fn with(name: &'static str, value: Option<&'static str>) -> Result<AuthorizeQuery, Refusal> {
        let mut pairs: Vec<_> = good().into_iter().filter(|(n, _)| *n != name).collect();
        if let Some(value) = value {
            pairs.push((name, value));
        }
        validate(&parse_form(query(&pairs).as_bytes()).unwrap())
    }

    fn redirect_error(result: Result<AuthorizeQuery, Refusal>) -> (&'static str, String) {
        match result {
            Err(Refusal::Redirect {
                error, description, ..
            }) => (error, description),
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn valid_requests_pass() {
        let params = with("scope", Some("openid email")).unwrap();
        assert_eq!(params.redirect_uri, "http://127.0.0.1:5000/callback");
        assert_eq!(params.state, STATE);
        assert_eq!(params.scope, "openid email");
        assert!(!params.prompt_login);
        let params = with("login_hint", Some("ann@example.com")).unwrap();
        assert_eq!(params.login_hint.as_deref(), Some("ann@example.com"));
        assert_eq!(with("login_hint", Some("nope")).unwrap().login_hint, None);
        assert!(with("redirect_uri", Some("http://[::1]:1/callback")).is_ok());
        assert!(matches!(
            with("redirect_uri", Some("http://127.0.0.1:631/admin")),
            Err(Refusal::Page(_))
        ));
    }

    #[test]
    fn bad_client_or_redirect_is_a_page() {
        for (name, value) in [
            ("client_id", None),
            ("client_id", Some("other")),
            ("redirect_uri", None),
            ("redirect_uri", Some("http://localhost:5000/cb")),
            ("redirect_uri", Some("https://evil.example/cb")),
            ("redirect_uri", Some("http://127.0.0.1:5000/cb#x")),
            ("redirect_uri", Some("http://user@127.0.0.1:5000/cb")),
        ] {
            assert!(
                matches!(with(name, value), Err(Refusal::Page(_))),
                "{name}={value:?}"
            );
        }
    }

    #[test]
    fn other_errors_go_back_to_the_client() {
        assert_eq!(
            redirect_error(with("response_type", Some("token"))).0,
            "unsupported_response_type"
        );
        assert_eq!(
            redirect_error(with("response_type", None)).0,
            "invalid_request"
        );
        for (name, value) in [
            ("code_challenge_method", Some("plain")),
            ("code_challenge_method", None),
            ("code_challenge_method", Some("S512")),
            ("code_challenge", None),
        ] {
            assert_eq!(
                redirect_error(with(name, value)),
                ("invalid_request", "PKCE with S256 is required".to_string()),
                "{name}={value:?}"
            );
        }
        assert_eq!(
            redirect_error(with("code_challenge", Some("short"))).0,
            "invalid_request"
        );
        assert_eq!(redirect_error(with("state", None)).0, "invalid_request");
        assert_eq!(
            redirect_error(with("state", Some("too-short"))).0,
            "invalid_request"
        );
        assert_eq!(
            redirect_error(with("scope", Some("admin"))).0,
            "invalid_scope"
        );
    }

    #[test]
    fn ports_and_account_switching() {
        assert_eq!(loopback_port("http://127.0.0.1:5000/cb"), "5000");
        assert_eq!(loopback_port("http://[::1]:8080"), "8080");
        let app = App::for_test("http://127.0.0.1:7780");
        assert_eq!(
            switch_account_url(&app, "a=1&prompt=consent&b=x%20y"),
            "http://127.0.0.1:7780/oauth/authorize?a=1&b=x+y&prompt=login"
        );
    }
}
