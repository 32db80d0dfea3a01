//! `my cli show SLUG [--raw] [--json]`: what a command takes and does, from its spec.

use my_api::spec::canonical_json;

use crate::app::App;
use crate::cli::ShowArgs;
use crate::error::Result;
use crate::out;
use crate::run::{args, resolve};

pub(crate) fn run(app: &App, a: ShowArgs) -> Result<()> {
    let cmd = resolve::slug(&app.settings.config_dir, &a.command)?;
    let spec = &cmd.spec;
    if a.raw {
        out::line(String::from_utf8_lossy(&canonical_json(spec)));
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
        for line in &step.run {
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
