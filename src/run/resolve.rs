//! Finding the spec a command line names: a spec file (`-f`), a slug for `my cli run`
//! (`deploy`, `d`, `ops/deploy`), or a library and command (`my ops deploy`, `my k pf`).

use std::path::Path;

use my_api::spec::{Format, Spec, MAX_SPEC_BYTES};

use super::sources::Registry;
use crate::error::{Error, Result};

/// Where a spec came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    File(String),
    Source(String),
}

impl Origin {
    /// `file`, `source` (and `catalog`), as history records it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Origin::File(_) => "file",
            Origin::Source(_) => "source",
        }
    }
}

/// A spec ready to run, and what to call it.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) spec: Spec,
    pub(crate) library: Option<String>,
    pub(crate) version: Option<u64>,
    pub(crate) from: Origin,
    /// How the user invoked it, for usage lines: `my ops deploy`, `my cli run deploy`.
    pub(crate) invoked_as: String,
}

impl Resolved {
    pub(crate) fn slug(&self) -> &str {
        &self.spec.metadata.slug
    }

    /// `ops/deploy`, or `deploy` for a command outside any library.
    pub(crate) fn full_name(&self) -> String {
        match &self.library {
            Some(lib) => format!("{lib}/{}", self.slug()),
            None => self.slug().to_string(),
        }
    }
}

/// `my cli run -f FILE`: a JSON or YAML spec file (by extension; JSON if it starts with `{`).
pub(crate) fn file(path: &str) -> Result<Resolved> {
    let p = Path::new(path);
    let len = std::fs::metadata(p)
        .map_err(|e| Error::io(format!("cannot read {path}"), e))?
        .len();
    if len > MAX_SPEC_BYTES as u64 {
        return Err(Error::Other(format!(
            "{path}: too large for a spec ({len} bytes, at most {MAX_SPEC_BYTES})"
        )));
    }
    let text =
        std::fs::read_to_string(p).map_err(|e| Error::io(format!("cannot read {path}"), e))?;
    let format = Format::from_path(p).unwrap_or(if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    });
    let spec = Spec::parse(&text, format).map_err(|e| Error::Other(format!("{path}: {e}")))?;
    Ok(Resolved {
        invoked_as: format!("{} cli run -f {path}", crate::BIN),
        spec,
        library: None,
        version: None,
        from: Origin::File(path.to_string()),
    })
}

/// `my cli run SLUG`: `library/command`, or a command slug or alias that one library has.
pub(crate) fn slug(config_dir: &Path, target: &str) -> Result<Resolved> {
    let registry = Registry::load(config_dir)?;
    let invoked_as = format!("{} cli run {target}", crate::BIN);
    if let Some((lib, cmd)) = target.split_once('/') {
        let mut found = library_command(&registry, config_dir, lib, cmd)?;
        found.invoked_as = invoked_as;
        return Ok(found);
    }
    let matches: Vec<_> = registry.commands_named(target).collect();
    match matches.as_slice() {
        [] => Err(Error::NotFound(format!(
            "command {target:?} not found: no library or source has it (`{} source list` shows the sources)",
            crate::BIN
        ))),
        [(source, lib, cmd)] => Ok(Resolved {
            spec: super::sources::load_spec(config_dir, source, lib, cmd)?,
            library: Some(lib.slug().to_string()),
            version: None,
            from: Origin::Source(source.name.clone()),
            invoked_as,
        }),
        several => {
            let libs: Vec<String> = several.iter().map(|(_, l, _)| l.slug().to_string()).collect();
            Err(Error::Usage(format!(
                "{target:?} is a command of several libraries ({}): run it as LIBRARY/{target}",
                libs.join(", ")
            )))
        }
    }
}

/// `my LIBRARY COMMAND`: the library by slug or alias, its command by slug or alias.
pub(crate) fn library_command(
    registry: &Registry,
    config_dir: &Path,
    library: &str,
    command: &str,
) -> Result<Resolved> {
    let (source, lib) = registry
        .library(library)
        .ok_or_else(|| Error::NotFound(format!("no library named {library:?} is installed")))?;
    let cmd = lib.command(command).ok_or_else(|| {
        let names: Vec<&str> = lib.commands.iter().map(|c| c.named.slug.as_str()).collect();
        Error::NotFound(format!(
            "library {} has no command {command:?} (it has {})",
            lib.slug(),
            names.join(", ")
        ))
    })?;
    Ok(Resolved {
        spec: super::sources::load_spec(config_dir, source, lib, cmd)?,
        library: Some(lib.slug().to_string()),
        version: None,
        from: Origin::Source(source.name.clone()),
        invoked_as: format!("{} {library} {command}", crate::BIN),
    })
}
