//! Syncing one profile's catalog into the cache: `GET /v1/catalog` with `If-None-Match`
//! (a 304 records only the time, in the summary beside the catalog), then the spec bodies the
//! cache lacks or holds damaged, each checked against its `spec_hash` before it is stored.
//! The catalog, its name index and its summary are written after every body, so a sync that
//! fails leaves the previous catalog as it was. This is the only writer of the profile's
//! cache: commands are looked up in it without writing.

use super::active::{self, ActiveProfile};
use super::cache::{self, CatalogFile, Read};
use super::remote;
use crate::api::{Method, Reply};
use crate::app::App;
use crate::auth::session;
use crate::error::{Error, Result};
use crate::out;
use crate::secret::Secret;
use my_api::catalog::{fill, paths, valid_slug, Catalog, CatalogItem};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a sync did.
#[derive(Debug, Clone)]
pub struct Synced {
    /// The profile the server resolved.
    pub profile: String,
    pub commands: usize,
    /// Spec bodies downloaded (the others were cached already).
    pub fetched: usize,
    /// False when the server answered 304: the catalog had not changed.
    pub changed: bool,
    pub synced_at: String,
}

impl Synced {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "profile": self.profile,
            "commands": self.commands,
            "fetched_specs": self.fetched,
            "changed": self.changed,
            "synced_at": self.synced_at,
        })
    }

    /// One line for people: "Synced work: 12 commands (3 specs fetched)."
    pub fn describe(&self) -> String {
        let fetched = match self.fetched {
            0 => String::new(),
            1 => " (1 spec fetched)".to_string(),
            n => format!(" ({n} specs fetched)"),
        };
        if self.changed {
            format!(
                "Synced {}: {}{fetched}.",
                self.profile,
                commands(self.commands)
            )
        } else {
            format!(
                "Catalog of {} is up to date: {}{fetched}.",
                self.profile,
                commands(self.commands)
            )
        }
    }
}

/// "1 command", "12 commands".
pub fn commands(n: usize) -> String {
    if n == 1 {
        "1 command".into()
    } else {
        format!("{n} commands")
    }
}

/// Syncs the catalog of `target` into the cache. A corrupt cached catalog is reported on
/// stderr and replaced (it is never sent as `If-None-Match`).
pub fn sync(app: &App, target: &ActiveProfile) -> Result<Synced> {
    let dir = &app.settings.config_dir;
    let previous = match &target.slug {
        Some(slug) => match CatalogFile::read(dir, slug)? {
            Read::Found(file) => Some(file),
            Read::Missing => None,
            Read::Corrupt(why) => {
                out::note(format!("warning: {why}; syncing it again"));
                None
            }
        },
        None => None,
    };
    let path = match target.query() {
        Some(slug) => format!("{}?profile={slug}", paths::CATALOG),
        None => paths::CATALOG.to_string(),
    };
    let etag = previous.as_ref().and_then(|f| f.etag.clone());
    let headers: Vec<(&str, &str)> = etag.iter().map(|e| ("If-None-Match", e.as_str())).collect();
    // The cached bodies are checked while the request is in flight: after a 304 that check is
    // all the work left, and reading a thousand small files costs about what the request does.
    let (sent, cached) = std::thread::scope(|s| {
        let check = previous
            .as_ref()
            .map(|p| s.spawn(|| cached_bodies(dir, &p.items)));
        let sent = session::send_with(app, Method::Get, &path, None, &headers);
        let cached = check.and_then(|c| c.join().ok()).unwrap_or_default();
        (sent, cached)
    });
    let (reply, active) = sent?;
    let synced_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let (file, changed) = match (reply.status, previous) {
        (304, Some(mut previous)) if etag.is_some() => {
            previous.synced_at = synced_at;
            (previous, false)
        }
        (200, _) => {
            let etag = reply.etag.clone();
            let answer: Catalog = reply.json()?;
            check_answer(&answer, target)?;
            let file = CatalogFile {
                profile: answer.profile,
                items: answer.items,
                etag,
                synced_at,
            };
            (file, true)
        }
        _ => return Err(refusal(reply, target)),
    };
    let fetched = fetch_missing(app, &active.token, &file.items, &cached)?;
    if changed || !cache::touch_synced_at(dir, &file) {
        cache::store(dir, &file)?;
    }
    if target.decided_by_token() && target.slug.as_deref() != Some(file.profile.as_str()) {
        active::remember_for_token(app, &file.profile)?;
    }
    Ok(Synced {
        commands: file.items.len(),
        profile: file.profile,
        fetched,
        changed,
        synced_at: file.synced_at,
    })
}

/// The answer must be for the profile asked for, and safe to use as paths.
fn check_answer(answer: &Catalog, target: &ActiveProfile) -> Result<()> {
    if !valid_slug(&answer.profile) {
        return Err(Error::Other(format!(
            "the server's catalog names an invalid profile {:?}; nothing was cached",
            answer.profile
        )));
    }
    if let Some(asked) = target.query() {
        if asked != answer.profile {
            return Err(Error::Other(format!(
                "asked for the catalog of {asked:?}, the server answered with {:?}; nothing was cached",
                answer.profile
            )));
        }
    }
    cache::check_items(&answer.items).map_err(|why| {
        Error::Other(format!(
            "the server's catalog is unusable ({why}); nothing was cached"
        ))
    })
}

/// Spec bodies downloaded at once. A full sync of a large catalog is mostly waiting for the
/// server, which answers requests in parallel.
const PARALLEL_FETCHES: usize = 4;

/// A cached spec body: command id, version and hash.
type BodyKey = (String, u32, String);

fn body_key(item: &CatalogItem) -> BodyKey {
    (
        item.command_id.clone(),
        item.version,
        item.spec_hash.clone(),
    )
}

/// The bodies of `items` that are cached and match their hash.
fn cached_bodies(dir: &Path, items: &[CatalogItem]) -> HashSet<BodyKey> {
    items
        .iter()
        .filter(|item| cache::spec_is_cached(dir, item))
        .map(body_key)
        .collect()
}

/// Downloads the spec bodies the cache does not hold (or holds damaged: a run refuses such a
/// body and leaves it for this), checking each against its hash before storing it; after the
/// first failure no new download starts. `cached` holds bodies already found good. Returns
/// how many were fetched.
fn fetch_missing(
    app: &App,
    token: &Secret,
    items: &[CatalogItem],
    cached: &HashSet<BodyKey>,
) -> Result<usize> {
    let dir = &app.settings.config_dir;
    let missing: Vec<&CatalogItem> = items
        .iter()
        .filter(|item| !cached.contains(&body_key(item)) && !cache::spec_is_cached(dir, item))
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let failed = AtomicBool::new(false);
    let per_thread = missing.len().div_ceil(PARALLEL_FETCHES);
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = missing
            .chunks(per_thread)
            .map(|part| {
                let failed = &failed;
                scope.spawn(move || {
                    for item in part {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = fetch_one(app, token, item) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Error::Other("a spec download failed".into())))
            })
            .collect()
    });
    results.into_iter().collect::<Result<()>>()?;
    Ok(missing.len())
}

/// Downloads one spec body and stores it if its SHA-256 is the catalog's.
fn fetch_one(app: &App, token: &Secret, item: &CatalogItem) -> Result<()> {
    let version = item.version.to_string();
    let path = fill(paths::COMMAND_VERSION, &[&item.command_id, &version]);
    let mut reply = app.client.get(&app.url(&path), Some(token))?;
    if reply.status == 401 {
        // The access token expired mid-sync: the session layer refreshes and retries.
        reply = session::send(app, Method::Get, &path, None)?.0;
    }
    if !reply.is_success() {
        return Err(reply.into_error());
    }
    let got = my_api::spec::spec_hash(reply.body.as_bytes());
    if got != item.spec_hash {
        return Err(Error::Other(format!(
            "refused the spec of {:?} (v{}) from the server: its SHA-256 is {got}, the catalog says {}; it was not cached and the catalog was not updated",
            item.slug, item.version, item.spec_hash
        )));
    }
    cache::write_spec(&app.settings.config_dir, item, reply.body.as_bytes())
}

/// The error for a catalog request the server did not answer with 200 (or 304).
fn refusal(reply: Reply, target: &ActiveProfile) -> Error {
    if reply.status == 304 {
        return Error::Other(
            "the server answered 304 Not Modified to a request without If-None-Match".into(),
        );
    }
    remote::refused(reply.into_error(), &|| {
        format!(
            "profile {:?} not found (see `my cli profile list`)",
            target.slug.as_deref().unwrap_or("of MY_API_TOKEN")
        )
    })
}
