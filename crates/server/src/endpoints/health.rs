//! `GET /healthz` and `GET /readyz`: what a supervisor or load balancer probes. Neither
//! needs a token, and neither says more than whether the server can answer.

use crate::app::App;
use crate::db::Db;
use crate::web::{Error, Params, Reply, Request};

/// Not a code the CLI ever matches: the database did not answer.
const NOT_READY: &str = "NOT_READY";

/// `GET /healthz`: the process is up and answering.
pub(crate) fn healthz(_: &App, _: &mut Db, _: &Request, _: &Params) -> Result<Reply, Error> {
    Ok(Reply::json_no_store(
        200,
        &serde_json::json!({"status": "ok"}),
    ))
}

/// `GET /readyz`: the database answers a query; 503 when it does not, so a load balancer
/// sends requests elsewhere.
pub(crate) fn readyz(_: &App, db: &mut Db, _: &Request, _: &Params) -> Result<Reply, Error> {
    match db.read(|tx| tx.ping()) {
        Ok(()) => Ok(Reply::json_no_store(
            200,
            &serde_json::json!({"status": "ok"}),
        )),
        Err(e) => {
            eprintln!("readyz: the database did not answer: {e}");
            Err(Error::api(503, NOT_READY, "the database is not reachable"))
        }
    }
}
