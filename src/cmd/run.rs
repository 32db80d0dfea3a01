//! `my cli run` and `my <library> <command>`: find the spec, hand it to the runner. Also
//! the libraries part of `my --help` and of `my <library>` alone.

use crate::cli::RunArgs;
use mycli::app::App;
use mycli::catalog::resolve::{self, Lookup};
use mycli::catalog::Named;
use mycli::error::{Error, Result};
use mycli::out;
use mycli::runner;
use mycli::settings::Settings;

pub(crate) fn run(app: &App, args: RunArgs) -> Result<()> {
    let opts = runner::Options {
        yes: args.yes,
        dry_run: args.dry_run,
    };
    let (cmd, argv) = match &args.file {
        Some(file) => (resolve::file(file)?, args.args),
        None => {
            let (target, rest) = args
                .args
                .split_first()
                .ok_or_else(|| Error::Usage("`my cli run` needs a command".into()))?;
            (Lookup::load(&app.settings)?.slug(target)?, rest.to_vec())
        }
    };
    runner::execute(app, &cmd, &argv, opts)
}

/// `my LIBRARY [COMMAND [ARGS…]]`.
pub(crate) fn library(app: &App, words: Vec<String>) -> Result<()> {
    let mut lookup = Lookup::load(&app.settings)?;
    let name = &words[0];
    let Some(lib) = lookup.find_library(name)? else {
        return Err(Error::Usage(format!(
            "unknown command {name:?}: it is neither a built-in command nor an installed library (`{} --help` lists both)",
            crate::BIN
        )));
    };
    let command = match words.get(1).map(String::as_str) {
        None | Some("--help" | "-h" | "help") => {
            out::line(format!(
                "{}\n\nUsage: {} {name} COMMAND [ARGS…]\n\nCommands:",
                lib.title(),
                crate::BIN
            ));
            print_names(&lookup.commands(&lib)?);
            return Ok(());
        }
        Some(c) => c,
    };
    let cmd = lookup.library_command(name, command)?;
    let mut argv = words[2..].to_vec();
    let opts = runner::take_own_flags(&cmd.spec, &mut argv);
    runner::execute(app, &cmd, &argv, opts)
}

/// `my --help`: argh's text, then the installed libraries (when the config is readable).
pub(crate) fn top_help(text: &str) {
    out::line(text.trim_end());
    let Ok(lookup) = Settings::resolve().and_then(|s| Lookup::load(&s)) else {
        return;
    };
    let libs: Vec<Named> = lookup.libraries().iter().map(|l| l.named()).collect();
    if !libs.is_empty() {
        out::line("\nInstalled libraries (my LIBRARY COMMAND [ARGS…]):");
        print_names(&libs);
    }
}

/// `  slug (alias, …)  description` lines, the descriptions aligned.
fn print_names(items: &[Named]) {
    let rows: Vec<(String, &str)> = items
        .iter()
        .map(|n| {
            let names = if n.aliases.is_empty() {
                n.slug.clone()
            } else {
                format!("{} ({})", n.slug, n.aliases.join(", "))
            };
            (names, n.summary())
        })
        .collect();
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (names, text) in rows {
        out::line(format!("  {names:<width$}  {text}"));
    }
}
