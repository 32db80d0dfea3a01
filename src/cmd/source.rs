//! `my source add|list|update|remove`: local sources of libraries (folders and git
//! repositories), which need no account.

use crate::cli::{SourceAddArgs, SourceListArgs, SourceRemoveArgs, SourceUpdateArgs};
use mycli::app::App;
use mycli::catalog::sources::{self, Kind, Registry, SourceEntry};
use mycli::error::Result;
use mycli::out;

pub(crate) fn add(app: &App, a: SourceAddArgs) -> Result<()> {
    let entry = sources::add(
        &app.settings.config_dir,
        &a.location,
        a.git_ref.as_deref(),
        a.name.as_deref(),
    )?;
    for lib in &entry.libraries {
        for name in std::iter::once(&lib.named.slug).chain(&lib.named.aliases) {
            if crate::cli::is_builtin(name) {
                out::note(format!(
                    "warning: `{} {name}` is a built-in command, which wins: run this library's commands with `{} cli run {}/COMMAND`",
                    crate::BIN,
                    crate::BIN,
                    lib.slug()
                ));
            }
        }
    }
    if a.json {
        out::json(&entry);
    } else {
        out::line(format!("Added source {} ({})", entry.name, summary(&entry)));
    }
    Ok(())
}

pub(crate) fn list(app: &App, a: SourceListArgs) -> Result<()> {
    let registry = Registry::load(&app.settings.config_dir)?;
    if a.json {
        out::json(&registry.sources);
        return Ok(());
    }
    let rows = registry
        .sources
        .iter()
        .map(|s| {
            let origin = match (&s.git_ref, &s.commit) {
                (Some(r), _) => format!("{} ({r})", s.origin),
                (None, Some(c)) => format!("{} ({})", s.origin, &c[..c.len().min(12)]),
                (None, None) => s.origin.clone(),
            };
            vec![
                s.name.clone(),
                kind(s).into(),
                libraries(s),
                s.updated_at.clone(),
                origin,
            ]
        })
        .collect();
    out::table(&["NAME", "KIND", "LIBRARIES", "UPDATED", "ORIGIN"], rows);
    Ok(())
}

pub(crate) fn update(app: &App, a: SourceUpdateArgs) -> Result<()> {
    let updated = sources::update(&app.settings.config_dir, a.name.as_deref())?;
    if a.json {
        let entries: Vec<&SourceEntry> = updated.iter().map(|(e, _)| e).collect();
        out::json(&entries);
        return Ok(());
    }
    if updated.is_empty() {
        out::note("No sources: add one with `my source add PATH_OR_GIT_URL`.");
    }
    for (entry, changed) in &updated {
        if *changed {
            out::line(format!("Updated {} ({})", entry.name, summary(entry)));
        } else {
            out::line(format!("{} is up to date ({})", entry.name, summary(entry)));
        }
    }
    Ok(())
}

pub(crate) fn remove(app: &App, a: SourceRemoveArgs) -> Result<()> {
    let removed = sources::remove(&app.settings.config_dir, &a.name)?;
    if a.json {
        out::json(&removed);
    } else {
        out::line(format!(
            "Removed source {} ({})",
            removed.name,
            libraries(&removed)
        ));
    }
    Ok(())
}

fn kind(s: &SourceEntry) -> &'static str {
    match s.kind {
        Kind::Git => "git",
        Kind::Folder => "folder",
    }
}

/// `kubernetes (3 commands), ops (2 commands)`.
fn libraries(s: &SourceEntry) -> String {
    let libs: Vec<String> = s
        .libraries
        .iter()
        .map(|l| format!("{} ({} commands)", l.slug(), l.commands.len()))
        .collect();
    libs.join(", ")
}

fn summary(s: &SourceEntry) -> String {
    format!("{}: {}", kind(s), libraries(s))
}
