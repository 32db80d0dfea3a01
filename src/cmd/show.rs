//! `my cli show SLUG [--raw] [--json]`: what a command takes and does, from its spec.

use my_api::spec::canonical_json;

use crate::cli::ShowArgs;
use mycli::app::App;
use mycli::catalog::resolve::Lookup;
use mycli::error::Result;
use mycli::out;
use mycli::runner::args;

pub(crate) fn run(app: &App, a: ShowArgs) -> Result<()> {
    let cmd = Lookup::load(&app.settings)?.slug(&a.command)?;
    let spec = &cmd.spec;
    if a.raw {
        // The body as the catalog cached it, or the canonical form of a local spec.
        let body = cmd.body.clone().unwrap_or_else(|| canonical_json(spec));
        out::line(String::from_utf8_lossy(&body));
        return Ok(());
    }
    if a.json {
        out::json(&serde_json::json!({
            "slug": cmd.slug(),
            "library": cmd.library,
            "version": cmd.version,
            "source": cmd.from.kind(),
            "spec": spec,
        }));
        return Ok(());
    }
    out::line(format!("{} ({})", spec.metadata.name, cmd.full_name()));
    out::line(args::help(spec, &cmd.invoked_as).trim_end());
    out::line("\nSteps:");
    for (i, step) in spec.steps.iter().enumerate() {
        out::line(format!(
            "  {}. {} (shell {}, timeout {}){}",
            i + 1,
            step.name,
            spec.shell_for(step),
            humantime::format_duration(spec.timeout_for(step)),
            if step.continue_on_error {
                ", continues on error"
            } else {
                ""
            }
        ));
        for line in step.run.lines() {
            out::line(format!("       {line}"));
        }
    }
    let policy = &spec.policy;
    let mut notes = Vec::new();
    if policy.require_confirmation {
        notes.push("asks for confirmation".to_string());
    }
    if let Some(allowed) = &policy.allowed_executables {
        notes.push(format!("runs only {}", allowed.join(", ")));
    }
    if policy.expose_token {
        notes.push("receives your API token (MY_API_TOKEN)".to_string());
    }
    if !notes.is_empty() {
        out::line(format!("\nPolicy: {}", notes.join("; ")));
    }
    Ok(())
}
