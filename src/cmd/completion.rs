//! `my completion SHELL`: prints the bash, zsh or fish completion script, and answers the
//! questions those scripts ask at TAB time (`--libraries`, `--commands LIB`: what the cached
//! catalog of the active profile holds, so `my <library> <TAB>` completes too).
//!
//! The scripts are the committed copies in `dist/completions/`, generated from the command
//! tree (`make completions`; a test fails when they are out of date). The TAB-time answers
//! read the local cache: no network, no credential store, nothing printed on failure.

use crate::cli::CompletionArgs;
use mycli::app::App;
use mycli::catalog::resolve::Lookup;
use mycli::error::{Error, Result};
use mycli::out;

const BASH: &str = include_str!("../../dist/completions/my.bash");
const ZSH: &str = include_str!("../../dist/completions/_my");
const FISH: &str = include_str!("../../dist/completions/my.fish");

pub(crate) fn run(app: &App, args: CompletionArgs) -> Result<()> {
    if args.libraries || args.commands.is_some() {
        for word in catalog_words(app, args.commands.as_deref()) {
            out::line(word);
        }
        return Ok(());
    }
    let script = match args.shell.as_deref() {
        Some("bash") => BASH,
        Some("zsh") => ZSH,
        Some("fish") => FISH,
        Some(other) => {
            return Err(Error::Usage(format!(
                "unknown shell {other:?}: use bash, zsh or fish"
            )))
        }
        None => {
            return Err(Error::Usage(
                "name a shell: `my completion bash`, `zsh` or `fish`".into(),
            ))
        }
    };
    out::line(script.trim_end());
    Ok(())
}

/// The installed libraries (catalog and local sources, as `my <library>` resolves them), or
/// the command slugs of `library`; nothing when there is no cache (a TAB press must never
/// print an error into the command line).
fn catalog_words(app: &App, library: Option<&str>) -> Vec<String> {
    let Ok(mut lookup) = Lookup::load(&app.settings) else {
        return Vec::new();
    };
    match library {
        None => lookup.libraries().iter().map(|l| l.named().slug).collect(),
        Some(name) => match lookup.library(name) {
            Some(lib) => lookup
                .commands(&lib)
                .map(|c| c.into_iter().map(|c| c.slug).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        },
    }
}
