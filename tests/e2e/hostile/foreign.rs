//! A foreign RFC 8628 server, written here: OpenID Connect discovery only, endpoints at
//! other paths than ours (`/device/auth`, `/token`, `/token/revocation`), opaque tokens,
//! `/v1/me` answering only `{"id", "email"}` or missing in favour of `userinfo_endpoint`,
//! `login_hint` ignored and no mail sent: the person enters the code on its page, which the
//! test does by calling [`Foreign::approve`]. Its answers can be overridden per test to
//! turn it hostile.

use super::server::{Behaviour, Fake, Req, Resp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

pub const USER_CODE: &str = "WDJB-MJHT";
pub const REFRESH_TOKEN: &str = "foreign-refresh-token-0123456789";

#[derive(Default)]
pub struct State {
    pub approved: AtomicBool,
    /// No `/v1/me`: only the OIDC `userinfo_endpoint`.
    pub userinfo_only: bool,
    /// Merged into the metadata, the device authorization and the token answers.
    pub metadata_extra: Mutex<Value>,
    pub device_extra: Mutex<Value>,
    pub token_extra: Mutex<Value>,
    /// What the token endpoint answers with, instead of the default.
    pub token_reply: Mutex<Option<(u16, Value)>>,
    /// Where the metadata redirects to, instead of being served.
    pub redirect_metadata_to: Mutex<Option<String>>,
    /// What `/v1/me` (and userinfo) answer with, instead of the default (once).
    pub me: Mutex<Option<Resp>>,
    /// The redirect_uri the CLI sent with its device authorization request.
    pub redirect_uri: Mutex<Option<String>>,
    pub tokens_issued: AtomicUsize,
    /// How many of the next token requests fail: odd ones with 503, even ones by closing
    /// the connection without an answer.
    pub token_failures: AtomicUsize,
}

pub struct Foreign {
    pub fake: Fake,
    pub state: Arc<State>,
}

impl Foreign {
    pub fn start(behaviour: Behaviour, state: State) -> Foreign {
        let state = Arc::new(state);
        let s = state.clone();
        let fake = Fake::start(behaviour, move |req| answer(&s, req));
        Foreign { fake, state }
    }

    /// The person entered the code: polls succeed from now on. Returns the CLI's loopback
    /// `redirect_uri`, if it sent one.
    pub fn approve(&self) -> Option<String> {
        self.state.approved.store(true, SeqCst);
        self.state.redirect_uri.lock().unwrap().clone()
    }

    /// How many token-endpoint requests polled with the device code.
    pub fn polls(&self) -> usize {
        self.fake
            .requests_to("/token")
            .iter()
            .filter(|r| {
                r.param("grant_type")
                    .is_some_and(|g| g.ends_with("device_code"))
            })
            .count()
    }
}

fn merge(mut base: Value, extra: &Mutex<Value>) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), &*extra.lock().unwrap()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn answer(s: &State, req: &Req) -> Resp {
    let base = &req.base;
    let bearer_ok = req
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer foreign-access-"));
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", path) if path.starts_with("/.well-known/") => {
            if let Some(to) = &*s.redirect_metadata_to.lock().unwrap() {
                return Resp::redirect(&format!("{to}{path}"));
            }
            if path != "/.well-known/openid-configuration" {
                return Resp::not_found();
            }
            let mut meta = json!({
                "issuer": base,
                "token_endpoint": format!("{base}/token"),
                "device_authorization_endpoint": format!("{base}/device/auth"),
                "revocation_endpoint": format!("{base}/token/revocation"),
                "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
            });
            if s.userinfo_only {
                meta["userinfo_endpoint"] = json!(format!("{base}/me"));
            }
            Resp::json(200, merge(meta, &s.metadata_extra))
        }
        ("POST", "/device/auth") => {
            *s.redirect_uri.lock().unwrap() = req.param("redirect_uri");
            let device = json!({
                "device_code": "foreign-device-code",
                "user_code": USER_CODE,
                "verification_uri": format!("{base}/device"),
                "expires_in": 600,
                "interval": 1,
            });
            Resp::json(200, merge(device, &s.device_extra))
        }
        ("POST", "/token")
            if s.token_failures
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok() =>
        {
            if s.token_failures.load(SeqCst).is_multiple_of(2) {
                Resp::json(503, json!({}))
            } else {
                Resp::hang_up()
            }
        }
        ("POST", "/token") if s.token_reply.lock().unwrap().is_some() => {
            let (status, body) = s.token_reply.lock().unwrap().clone().unwrap();
            Resp::json(status, body)
        }
        ("POST", "/token") => match req.param("grant_type").as_deref() {
            Some(g) if g.ends_with("device_code") && !s.approved.load(SeqCst) => {
                Resp::json(400, json!({"error": "authorization_pending"}))
            }
            Some(g) if g.ends_with("device_code") || g == "refresh_token" => {
                let n = s.tokens_issued.fetch_add(1, SeqCst);
                let tokens = json!({
                    "access_token": format!("foreign-access-{n}"),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": REFRESH_TOKEN,
                });
                Resp::json(200, merge(tokens, &s.token_extra))
            }
            _ => Resp::json(400, json!({"error": "unsupported_grant_type"})),
        },
        ("POST", "/token/revocation") => Resp::json(200, json!({})),
        ("GET", "/v1/me") if s.userinfo_only => Resp::not_found(),
        ("GET", "/v1/me") | ("GET", "/me") if bearer_ok => match s.me.lock().unwrap().take() {
            Some(r) => r,
            None if req.path == "/me" => {
                Resp::json(200, json!({"sub": "u-42", "email": "ada@foreign.example"}))
            }
            None => Resp::json(200, json!({"id": "u-42", "email": "ada@foreign.example"})),
        },
        ("GET", "/v1/me") | ("GET", "/me") => Resp::json(401, json!({"error": "invalid_token"})),
        _ => Resp::not_found(),
    }
}
