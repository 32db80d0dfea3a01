//! `my cli init [NAME] [--force]`: write a starter spec to edit, try with `my cli run -f`
//! and publish with `my cli push`. It never overwrites a file without `--force`.

use crate::cli::InitArgs;
use mycli::catalog::checked_slug;
use mycli::error::{Error, Result};
use mycli::out;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

/// The starter spec; `{slug}` is replaced. It must stay valid (a unit test parses it).
const STARTER: &str = r#"# A command spec: edit it, run it with `my cli run -f FILE`, publish it with `my cli push -f FILE`.
schemaVersion: 1
kind: command
metadata:
  name: {slug}
  slug: {slug}
  description: Say hello
args:
  positional:
    - name: who
      description: Who to greet
      default: world
  flags:
    - name: shout
      short: s
      type: bool
      description: Greet in capitals
steps:
  - name: Greet
    run:
      - echo "Hello, {{.args.who}}!{{if .args.shout}} (loudly){{end}}"
"#;

pub(crate) fn run(a: InitArgs) -> Result<()> {
    let (slug, file) = match &a.name {
        Some(name) => {
            let slug = checked_slug(name, "command name")?;
            (slug.to_string(), PathBuf::from(format!("{slug}.yaml")))
        }
        None => ("hello".to_string(), PathBuf::from("command.yaml")),
    };
    let text = starter(&slug);
    let mut options = OpenOptions::new();
    options.write(true);
    if a.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut f = match options.open(&file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage(format!(
                "{} already exists: pass --force to overwrite it",
                file.display()
            )))
        }
        Err(e) => return Err(Error::io(format!("cannot create {}", file.display()), e)),
    };
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("cannot write {}", file.display()), e))?;
    if a.json {
        out::json(&serde_json::json!({ "file": file, "slug": slug }));
    } else {
        out::note(format!(
            "Wrote {}. Try it with `my cli run -f {}`, publish it with `my cli push -f {}`.",
            file.display(),
            file.display(),
            file.display()
        ));
    }
    Ok(())
}

fn starter(slug: &str) -> String {
    STARTER.replace("{slug}", slug)
}

#[cfg(test)]
mod tests {
    use super::starter;
    use my_api::spec::{Format, Spec};

    #[test]
    fn the_starter_is_a_valid_spec() {
        let spec = Spec::parse(&starter("greet"), Format::Yaml).unwrap();
        assert_eq!(spec.metadata.slug, "greet");
    }
}
