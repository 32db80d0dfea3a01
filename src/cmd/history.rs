//! `my cli history [-n 20] [--json]`: the latest runs, oldest first.

use crate::cli::HistoryArgs;
use mycli::app::App;
use mycli::error::Result;
use mycli::out;
use mycli::runner::journal;

pub(crate) fn run(app: &App, args: HistoryArgs) -> Result<()> {
    let (entries, bad) = journal::read_last(&app.settings.config_dir, args.limit)?;
    if bad > 0 {
        out::note(format!(
            "warning: {bad} unreadable line(s) in {} were skipped",
            journal::path(&app.settings.config_dir).display()
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
