//! Authorization requests of the browser sign-in (RFC 6749 §4.1): deciding one — an
//! authorization code on approval, a denial otherwise — and the callback URL that carries
//! the outcome back to the client's loopback address with `state` and `iss` (RFC 9207).
//!
//! Shared by the consent page (`endpoints::oauth::authorize`) and the magic link that
//! confirms a sign-in by mail (`endpoints::magic`).

use crate::app::App;
use crate::crypto::secrets;
use crate::db::{AuthCode, AuthRequest, AuthStatus, DbResult, Tx};
use my_api::oauth_errors as err;

/// What a callback to the client's loopback address carries.
pub(crate) enum Outcome<'a> {
    Code(&'a str),
    /// An error code and its description.
    Error(&'a str, &'a str),
}

/// `redirect_uri` with the outcome, `state` and `iss` appended to its query.
pub(crate) fn callback(
    app: &App,
    redirect_uri: &str,
    state: Option<&str>,
    outcome: Outcome,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    match outcome {
        Outcome::Code(code) => query.append_pair("code", code),
        Outcome::Error(error, description) => query
            .append_pair("error", error)
            .append_pair("error_description", description),
    };
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", &app.issuer);
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{separator}{}", query.finish())
}

/// Approves `request` for `user_id` and returns a fresh authorization code; `None` if the
/// request was already decided.
pub(crate) fn issue_code(
    tx: &Tx,
    app: &App,
    request: &AuthRequest,
    user_id: &str,
    now: i64,
) -> DbResult<Option<String>> {
    if !tx.decide_auth_request(&request.id, AuthStatus::Approved, Some(user_id))? {
        return Ok(None);
    }
    let code = secrets::token::<32>();
    let ttl = i64::try_from(app.settings.code_ttl).unwrap_or(60);
    tx.insert_auth_code(
        &secrets::sha256_hex(&code),
        &AuthCode {
            request_id: request.id.clone(),
            user_id: user_id.to_string(),
            expires_at: now + ttl,
            used_at: None,
            session_id: None,
        },
        now,
    )?;
    Ok(Some(code))
}

/// Denies `request`; false if it was already decided.
pub(crate) fn deny(tx: &Tx, request: &AuthRequest) -> DbResult<bool> {
    tx.decide_auth_request(&request.id, AuthStatus::Denied, None)
}

/// The callback for a code.
pub(crate) fn code_callback(app: &App, request: &AuthRequest, code: &str) -> String {
    callback(
        app,
        &request.redirect_uri,
        Some(&request.state),
        Outcome::Code(code),
    )
}

/// The callback for a refusal by the person in the browser.
pub(crate) fn denied_callback(app: &App, request: &AuthRequest) -> String {
    callback(
        app,
        &request.redirect_uri,
        Some(&request.state),
        Outcome::Error(err::ACCESS_DENIED, "the sign-in was denied"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_carry_state_and_issuer() {
        let app = App::for_test("http://127.0.0.1:7780");
        assert_eq!(
            callback(
                &app,
                "http://127.0.0.1:5000/cb",
                Some("s t"),
                Outcome::Code("abc")
            ),
            "http://127.0.0.1:5000/cb?code=abc&state=s+t&iss=http%3A%2F%2F127.0.0.1%3A7780"
        );
        assert_eq!(
            callback(
                &app,
                "http://[::1]:5000/cb?x=1",
                None,
                Outcome::Error("access_denied", "no")
            ),
            "http://[::1]:5000/cb?x=1&error=access_denied&error_description=no\
             &iss=http%3A%2F%2F127.0.0.1%3A7780"
        );
    }
}
