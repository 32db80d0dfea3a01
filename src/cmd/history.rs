//! `my cli history [-n 20] [--json]`: the latest runs, oldest first.

use crate::app::App;
use crate::cli::HistoryArgs;
use crate::error::Result;
use crate::out;
use crate::run::history;

pub(crate) fn run(app: &App, args: HistoryArgs) -> Result<()> {
    let (entries, bad) = history::read_last(&app.settings.config_dir, args.limit)?;
    if bad > 0 {
        out::note(format!(
            "warning: {bad} unreadable line(s) in {} were skipped",
            history::path(&app.settings.config_dir).display()
        ));
    }
    if args.json {
        out::json(&entries);
        return Ok(());
    }
    let rows = entries
        .iter()
        .map(|e| {
            let name = match &e.library {
                Some(lib) => format!("{lib}/{}", e.slug),
                None => e.slug.clone(),
            };
            let args: Vec<String> = e.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                e.time.clone(),
                name,
                e.exit_code.to_string(),
                format!("{}ms", e.duration_ms),
                args.join(" "),
            ]
        })
        .collect();
    out::table(&["TIME", "COMMAND", "EXIT", "DURATION", "ARGS"], rows);
    Ok(())
}
