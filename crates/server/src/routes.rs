//! The route table — the index of the server: every URL it answers, with its method and
//! handler — and the dispatcher that runs a request through it.
//!
//! A pattern's `{name}` segment matches one path segment, handed to the handler in
//! [`Params`]. Each route also says how large a body it accepts ([`body_limit`], asked by
//! the HTTP front before it reads one): [`MAX_BODY`] unless the row says otherwise. A path that no pattern matches answers 404; a path that matches with
//! another method answers 405 with `Allow` listing the table's methods for it. A handler's
//! [`Error`] is rendered here; a server failure or a panic becomes a logged 500 for that
//! request only.

use crate::app::App;
use crate::db::Db;
use crate::domain::clients;
use crate::domain::web_session::SIGN_OUT_PATH;
use crate::endpoints::oauth::{authorize, device_authorization, revoke, token};
use crate::endpoints::v1::{
    catalog, commands, environments, libraries, logs, me, organizations, profiles, projects, tokens,
};
use crate::endpoints::{device, health, magic, sign_out, well_known};
use crate::pages;
use crate::web::{log_path, Error, Params, Reply, Request, MAX_BODY};
use my_api::catalog::{paths as catalog_paths, MAX_COMMAND_BYTES, MAX_RELEASE_BYTES};
use my_api::org::paths as org_paths;
use my_api::{codes, paths};
use std::panic::{self, AssertUnwindSafe};

/// What every handler is: pages, OAuth and REST alike.
pub(crate) type Handler = fn(&App, &mut Db, &Request, &Params) -> Result<Reply, Error>;

/// One row of the table.
struct Route {
    method: &'static str,
    pattern: &'static str,
    handler: Handler,
    /// The largest body accepted, in bytes (413 above).
    body_limit: usize,
}

const fn on(method: &'static str, pattern: &'static str, handler: Handler) -> Route {
    Route {
        method,
        pattern,
        handler,
        body_limit: MAX_BODY,
    }
}

impl Route {
    /// The same route, accepting bodies of up to `bytes`.
    const fn up_to(self, bytes: usize) -> Route {
        Route {
            body_limit: bytes,
            ..self
        }
    }
}

/// Every route, by URL family. For one pattern, `Allow` lists the methods in this order.
static ROUTES: &[Route] = &[
    on("GET", my_api::METADATA_PATH, well_known::get),
    on("GET", my_api::OIDC_METADATA_PATH, well_known::get),
    on(
        "POST",
        paths::DEVICE_AUTHORIZATION,
        device_authorization::post,
    ),
    on("POST", paths::TOKEN, token::post),
    on("POST", paths::REVOCATION, revoke::post),
    on("GET", paths::AUTHORIZATION, authorize::get),
    on("POST", paths::AUTHORIZE_SIGN_IN, authorize::post_sign_in),
    on("POST", paths::AUTHORIZE_CONSENT, authorize::post_consent),
    on("GET", HEALTHZ, health::healthz),
    on("GET", READYZ, health::readyz),
    on("GET", paths::DEVICE_PAGE, device::get),
    on("POST", paths::DEVICE_PAGE, device::post),
    on("GET", "/magic/{token}", magic::get),
    on("POST", "/magic/{token}", magic::post),
    on("POST", SIGN_OUT_PATH, sign_out::post),
    on("GET", paths::ME, me::get),
    on("GET", paths::TOKENS, tokens::list),
    on("POST", paths::TOKENS, tokens::create),
    on("PATCH", "/v1/tokens/{id}", tokens::rename),
    on("DELETE", "/v1/tokens/{id}", tokens::revoke),
    on("GET", org_paths::ORGANIZATIONS, organizations::get),
    on("GET", org_paths::PROJECTS, projects::get),
    on("GET", org_paths::ENVIRONMENTS, environments::get),
    on("GET", org_paths::LOGS, logs::read),
    on("POST", org_paths::LOGS, logs::append),
    on("POST", catalog_paths::PROFILES, profiles::create).up_to(MAX_COMMAND_BYTES),
    on("GET", catalog_paths::PROFILES, profiles::list),
    on("GET", catalog_paths::PROFILE, profiles::show),
    on("PATCH", catalog_paths::PROFILE, profiles::update).up_to(MAX_COMMAND_BYTES),
    on("DELETE", catalog_paths::PROFILE, profiles::delete),
    on("POST", catalog_paths::PROFILE_LIBRARIES, profiles::install).up_to(MAX_COMMAND_BYTES),
    on("GET", catalog_paths::PROFILE_LIBRARIES, profiles::libraries),
    on(
        "DELETE",
        catalog_paths::PROFILE_LIBRARY,
        profiles::uninstall,
    ),
    on("DELETE", OWNED_PROFILE_LIBRARY, profiles::uninstall),
    on("GET", catalog_paths::LIBRARIES, libraries::search),
    on("GET", catalog_paths::LIBRARY, libraries::show),
    on("GET", OWNED_LIBRARY, libraries::show),
    on("POST", catalog_paths::LIBRARY_RELEASES, libraries::release).up_to(MAX_RELEASE_BYTES),
    on("POST", catalog_paths::COMMANDS, commands::push).up_to(MAX_COMMAND_BYTES),
    on("GET", catalog_paths::COMMANDS, commands::list),
    on("DELETE", catalog_paths::COMMAND, commands::delete),
    on("GET", catalog_paths::COMMAND_VERSION, commands::version),
    on("GET", catalog_paths::CATALOG, catalog::read),
];

/// Probes for supervisors and load balancers: the process answers; the database does.
pub(crate) const HEALTHZ: &str = "/healthz";
pub(crate) const READYZ: &str = "/readyz";

/// `{library}` of [`catalog_paths::PROFILE_LIBRARY`] and [`catalog_paths::LIBRARY`] is
/// `slug` or `owner/slug`: a pattern segment matches no `/`, so the second form has its own.
const OWNED_PROFILE_LIBRARY: &str = "/v1/profiles/{slug}/libraries/{owner}/{library}";
const OWNED_LIBRARY: &str = "/v1/libraries/{owner}/{library}";

/// The largest body `method` on `path` accepts: its route's limit, else [`MAX_BODY`].
pub(crate) fn body_limit(method: &str, path: &str) -> usize {
    ROUTES
        .iter()
        .find(|route| route.method == method && matches(route.pattern, path).is_some())
        .map_or(MAX_BODY, |route| route.body_limit)
}

/// REST error code the wire crate does not name (the CLI never needs to match it).
const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";

/// The parameters of `path` if it matches `pattern`. A `{name}` segment matches any one
/// segment, even an empty one (`/v1/tokens/` reaches its handler, which answers 404).
fn matches(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Params::default();
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(want), Some(got)) => {
                match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    Some(name) => params.push(name, got),
                    None if want == got => {}
                    None => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The reply to `request` from its handler, a 404 or a 405; `Err` is a server failure's
/// message (to log).
pub(crate) fn route(app: &App, db: &mut Db, request: &Request) -> Result<Reply, String> {
    let mut allowed: Vec<&str> = Vec::new();
    for route in ROUTES {
        let Some(params) = matches(route.pattern, &request.path) else {
            continue;
        };
        if route.method == request.method {
            if route.method != "GET" && request.made_by_another_site(app.origin()) {
                return Ok(refuse_cross_site(request));
            }
            return (route.handler)(app, db, request, &params).or_else(Error::render);
        }
        allowed.push(route.method);
    }
    if allowed.is_empty() {
        return Ok(Reply::api_error(404, codes::NOT_FOUND, "no such endpoint"));
    }
    Ok(
        Reply::api_error(405, METHOD_NOT_ALLOWED, "method not allowed on this path")
            .header("Allow", allowed.join(", ")),
    )
}

/// 403 for a state-changing request another site's page made (login CSRF): a page for a
/// form post, a REST error otherwise.
fn refuse_cross_site(request: &Request) -> Reply {
    eprintln!(
        "refused {} {} from another site",
        request.method,
        log_path(&request.path)
    );
    if request.is_form() {
        Reply::html(403, pages::forbidden())
    } else {
        Reply::api_error(403, codes::FORBIDDEN, "request from another site refused")
    }
}

/// The reply to `request`, whatever happens: a server failure or a panic in its handler
/// becomes a logged 500. Behind a `--trusted-proxy` the handlers see the client it
/// forwarded for.
pub(crate) fn dispatch(app: &App, db: &mut Db, request: &Request) -> Reply {
    if let Some(client) = clients::forwarded_client(&app.settings.trusted_proxies, request) {
        let forwarded = Request {
            ip: client,
            ..request.clone()
        };
        return guarded(&forwarded, || route(app, db, &forwarded));
    }
    guarded(request, || route(app, db, request))
}

/// Runs `handler`; its server errors and panics become a logged 500 for this request only.
fn guarded(request: &Request, handler: impl FnOnce() -> Result<Reply, String>) -> Reply {
    match panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(Ok(reply)) => reply,
        Ok(Err(message)) => {
            let path = log_path(&request.path);
            eprintln!("internal error on {} {path}: {message}", request.method);
            Reply::internal_error()
        }
        // The panic hook has already logged it.
        Err(_) => Reply::internal_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        let params = matches("/v1/tokens/{id}", "/v1/tokens/tok_1").unwrap();
        assert_eq!(params.get("id"), "tok_1");
        assert_eq!(
            matches("/v1/tokens/{id}", "/v1/tokens/").unwrap().get("id"),
            ""
        );
        assert!(matches("/v1/tokens/{id}", "/v1/tokens").is_none());
        assert!(matches("/v1/tokens/{id}", "/v1/tokens/a/b").is_none());
        assert!(matches("/v1/me", "/v1/me/").is_none());
        assert!(matches("/v1/me", "/v1/mee").is_none());
        assert!(matches("/v1/me", "/v1/me").is_some());
    }

    #[test]
    fn parameter_patterns_agree_with_the_wire_paths() {
        let catalog = [
            catalog_paths::PROFILE,
            catalog_paths::PROFILE_LIBRARIES,
            catalog_paths::PROFILE_LIBRARY,
            catalog_paths::LIBRARY,
            catalog_paths::LIBRARY_RELEASES,
            catalog_paths::COMMAND,
            catalog_paths::COMMAND_VERSION,
        ];
        // The `owner/slug` forms extend a wire path by one segment.
        assert_eq!(
            OWNED_PROFILE_LIBRARY.replace("{owner}/", ""),
            catalog_paths::PROFILE_LIBRARY
        );
        assert_eq!(
            OWNED_LIBRARY.replace("{owner}/", ""),
            catalog_paths::LIBRARY
        );
        for route in ROUTES {
            if let Some((prefix, _)) = route.pattern.split_once('{') {
                assert!(
                    [paths::MAGIC_LINK, &format!("{}/", paths::TOKENS)].contains(&prefix)
                        || catalog.contains(&route.pattern)
                        || [OWNED_PROFILE_LIBRARY, OWNED_LIBRARY].contains(&route.pattern),
                    "{}",
                    route.pattern
                );
            }
        }
    }

    #[test]
    fn body_limits_come_from_the_route() {
        assert_eq!(
            body_limit("POST", "/v1/libraries/ops/releases"),
            MAX_RELEASE_BYTES
        );
        assert_eq!(body_limit("POST", "/v1/commands"), MAX_COMMAND_BYTES);
        assert_eq!(body_limit("POST", "/v1/tokens"), MAX_BODY);
        assert_eq!(body_limit("GET", "/v1/libraries/ops/releases"), MAX_BODY);
        assert_eq!(body_limit("POST", "/nowhere"), MAX_BODY);
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
        let app = App::for_test("http://127.0.0.1:1");
        let dir = std::env::temp_dir().join(format!("my-server-routes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = Db::open(&dir.join("t.db")).unwrap();
        let mut send = |method: &str, target: &str| {
            let request = Request::for_test(method, target, None, None);
            route(&app, &mut db, &request).unwrap()
        };
        assert_eq!(send("GET", "/nowhere").status, 404);
        for (method, target, allow) in [
            ("PUT", "/v1/tokens", "GET, POST"),
            ("GET", "/v1/tokens/tok_1", "PATCH, DELETE"),
            ("POST", "/v1/me", "GET"),
            ("GET", "/oauth/token", "POST"),
            ("DELETE", "/magic/abc", "GET, POST"),
            ("POST", my_api::METADATA_PATH, "GET"),
        ] {
            let reply = send(method, target);
            assert_eq!(reply.status, 405, "{method} {target}");
            assert_eq!(
                reply.header_value("Allow"),
                Some(allow),
                "{method} {target}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn handler_panics_become_500() {
        let req = Request::for_test("POST", "/oauth/token", None, None);
        let reply = guarded(&req, || panic!("boom"));
        assert_eq!(reply.status, 500);
        assert!(reply.body_text().contains("INTERNAL"));
        let reply = guarded(&req, || Err("disk full".into()));
        assert_eq!(reply.status, 500);
        assert_eq!(guarded(&req, || Ok(Reply::new(204))).status, 204);
    }
}
