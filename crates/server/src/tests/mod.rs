//! In-process tests of the whole server below the HTTP front: the real route table and
//! handlers on a real SQLite file, without sockets (`api` for the REST API, `browser` for
//! the browser sign-in), several connections on one database as several processes
//! (`shared_db`), the SQLite and PostgreSQL schemas compared (`schemas`), and the test
//! that keeps the house's layers one-way (`layers`).

mod api;
mod browser;
mod layers;
mod schemas;
mod shared_db;
