//! Finding the spec a command line names: a spec file (`-f`), a slug for `my cli run`
//! (`deploy`, `d`, `ops/deploy`), or a library and command (`my ops deploy`, `my k pf`).
//!
//! Names resolve in the active profile's cached catalog first (personal commands, then
//! library commands), then in the local sources. A catalog spec is run only if its cached
//! body still matches the catalog's `spec_hash`.

use std::path::Path;

use my_api::catalog::{library_reference, CatalogItem};
use my_api::spec::{Format, Spec, MAX_SPEC_BYTES};

use super::sources::{self, CommandEntry, LibraryEntry, Named, Registry, SourceEntry};
use crate::catalog::{active_profile, Catalog};
use crate::error::{Error, Result};
use crate::settings::Settings;

/// Where a spec came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    File(String),
    Source(String),
    /// The cached catalog of this profile.
    Catalog(String),
}

impl Origin {
    /// `file`, `source` or `catalog`, as history records it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Origin::File(_) => "file",
            Origin::Source(_) => "source",
            Origin::Catalog(_) => "catalog",
        }
    }
}

/// A spec ready to run, and what to call it.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) spec: Spec,
    pub(crate) library: Option<String>,
    pub(crate) version: Option<u32>,
    pub(crate) from: Origin,
    /// How the user invoked it, for usage lines: `my ops deploy`, `my cli run deploy`.
    pub(crate) invoked_as: String,
    /// The body as the catalog cached it (`my cli show --raw` prints it verbatim).
    pub(crate) body: Option<Vec<u8>>,
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
        body: None,
    })
}

/// A library `my` can run commands of.
pub(crate) enum Library<'a> {
    /// Installed in the active profile: its commands are catalog items.
    Catalog {
        named: Named,
        items: Vec<&'a CatalogItem>,
    },
    Source {
        source: &'a SourceEntry,
        lib: &'a LibraryEntry,
    },
}

impl Library<'_> {
    /// Its slug (or `owner/slug`), aliases and a description.
    pub(crate) fn named(&self) -> Named {
        match self {
            Library::Catalog { named, .. } => named.clone(),
            Library::Source { lib, .. } => lib.named.clone(),
        }
    }

    /// The first line of `my LIBRARY --help`.
    pub(crate) fn title(&self) -> String {
        match self {
            Library::Catalog { named, items } => {
                format!(
                    "{}: installed library, {} commands",
                    named.slug,
                    items.len()
                )
            }
            Library::Source { source, lib } => format!(
                "{}: {} (library {}, from source {})",
                lib.named.name,
                lib.named.summary(),
                lib.named.slug,
                source.name
            ),
        }
    }

    /// Its commands' names.
    pub(crate) fn commands(&self) -> Vec<Named> {
        match self {
            Library::Catalog { items, .. } => items.iter().map(|i| item_named(i)).collect(),
            Library::Source { lib, .. } => lib.commands.iter().map(|c| c.named.clone()).collect(),
        }
    }
}

fn item_named(item: &CatalogItem) -> Named {
    Named {
        slug: item.slug.clone(),
        name: item.name.clone(),
        description: Some(item.description.clone()).filter(|d| !d.is_empty()),
        aliases: item.aliases.clone(),
    }
}

/// One command found by name, before its spec is read.
enum Found<'a> {
    Item(&'a CatalogItem),
    Source(&'a SourceEntry, &'a LibraryEntry, &'a CommandEntry),
}

/// Everything runnable by name: the active profile's cached catalog (when there is one)
/// and the local sources.
pub(crate) struct Index {
    config_dir: std::path::PathBuf,
    catalog: Option<Catalog>,
    /// Why there is no catalog, for "not found" messages.
    no_catalog: Option<String>,
    registry: Registry,
}

impl Index {
    /// Reads the catalog of the active profile and the sources registry. A missing or
    /// unreadable catalog is not an error here: local sources still run.
    pub(crate) fn load(settings: &Settings) -> Result<Index> {
        let catalog = active_profile(settings, None)
            .and_then(|p| Catalog::load(&settings.config_dir, p.slug()?));
        let (catalog, no_catalog) = match catalog {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Index {
            config_dir: settings.config_dir.clone(),
            catalog,
            no_catalog,
            registry: Registry::load(&settings.config_dir)?,
        })
    }

    fn items(&self) -> &[CatalogItem] {
        self.catalog.as_ref().map_or(&[], |c| c.items())
    }

    /// Every library, the catalog's first.
    pub(crate) fn libraries(&self) -> Vec<Library<'_>> {
        let mut libs: Vec<Library> = Vec::new();
        for item in self.items() {
            let Some(l) = &item.library else { continue };
            let reference = library_reference(l.owner.as_deref(), &l.slug);
            match libs.iter_mut().find_map(|lib| match lib {
                Library::Catalog { named, items } if named.slug == reference => Some(items),
                _ => None,
            }) {
                Some(items) => items.push(item),
                None => libs.push(Library::Catalog {
                    named: Named {
                        name: reference.clone(),
                        slug: reference,
                        description: None,
                        aliases: l.aliases.clone(),
                    },
                    items: vec![item],
                }),
            }
        }
        for lib in &mut libs {
            if let Library::Catalog { named, items } = lib {
                named.description = Some(format!("{} commands, installed", items.len()));
            }
        }
        for source in &self.registry.sources {
            for lib in &source.libraries {
                libs.push(Library::Source { source, lib });
            }
        }
        libs
    }

    /// The library `name` means: its slug, `owner/slug` or an alias (catalog first).
    pub(crate) fn library(&self, name: &str) -> Option<Library<'_>> {
        self.libraries().into_iter().find(|l| {
            let named = l.named();
            named.answers_to(name)
                || matches!(l, Library::Catalog { items, .. }
                    if items.first().and_then(|i| i.library.as_ref()).is_some_and(|x| x.slug == name))
        })
    }

    /// `my cli run SLUG`: `library/command`, a personal command, or a command slug or alias
    /// that exactly one library has.
    pub(crate) fn slug(&self, target: &str) -> Result<Resolved> {
        let invoked_as = format!("{} cli run {target}", crate::BIN);
        if let Some((lib, cmd)) = target.rsplit_once('/') {
            let mut found = self.library_command(lib, cmd)?;
            found.invoked_as = invoked_as;
            return Ok(found);
        }
        let named = |i: &&CatalogItem| i.slug == target || i.aliases.iter().any(|a| a == target);
        if let Some(item) = self
            .items()
            .iter()
            .filter(|i| i.library.is_none())
            .find(named)
        {
            return self.read(Found::Item(item), invoked_as);
        }
        let mut found: Vec<Found> = self
            .items()
            .iter()
            .filter(|i| i.library.is_some())
            .filter(named)
            .map(Found::Item)
            .collect();
        found.extend(
            self.registry
                .commands_named(target)
                .map(|(s, l, c)| Found::Source(s, l, c)),
        );
        match found.len() {
            0 => Err(Error::NotFound(format!(
                "command {target:?} not found: no installed library, personal command or local source has it{}",
                match &self.no_catalog {
                    Some(why) => format!(" ({why})"),
                    None => String::new(),
                }
            ))),
            1 => self.read(found.remove(0), invoked_as),
            _ => {
                let libs: Vec<String> = found.iter().map(library_of).collect();
                Err(Error::Usage(format!(
                    "{target:?} is a command of several libraries ({}): run it as LIBRARY/{target}",
                    libs.join(", ")
                )))
            }
        }
    }

    /// `my LIBRARY COMMAND`: the library by slug, `owner/slug` or alias, its command by slug
    /// or alias.
    pub(crate) fn library_command(&self, library: &str, command: &str) -> Result<Resolved> {
        let lib = self
            .library(library)
            .ok_or_else(|| Error::NotFound(format!("no library named {library:?} is installed")))?;
        let found = match &lib {
            Library::Catalog { items, .. } => items
                .iter()
                .find(|i| i.slug == command || i.aliases.iter().any(|a| a == command))
                .map(|i| Found::Item(i)),
            Library::Source { source, lib } => {
                lib.command(command).map(|c| Found::Source(source, lib, c))
            }
        };
        let found = found.ok_or_else(|| {
            let names: Vec<String> = lib.commands().into_iter().map(|n| n.slug).collect();
            Error::NotFound(format!(
                "library {} has no command {command:?} (it has {})",
                lib.named().slug,
                names.join(", ")
            ))
        })?;
        self.read(found, format!("{} {library} {command}", crate::BIN))
    }

    /// Reads and checks the spec of what was found.
    fn read(&self, found: Found, invoked_as: String) -> Result<Resolved> {
        let library = Some(library_of(&found)).filter(|l| !l.is_empty());
        match found {
            Found::Source(source, lib, cmd) => Ok(Resolved {
                spec: sources::load_spec(&self.config_dir, source, lib, cmd)?,
                library,
                version: None,
                from: Origin::Source(source.name.clone()),
                invoked_as,
                body: None,
            }),
            Found::Item(item) => {
                let catalog = self
                    .catalog
                    .as_ref()
                    .expect("catalog items come from a loaded catalog");
                // Checked against the catalog's spec_hash: a tampered body is refused.
                let body = catalog.spec_bytes(item)?;
                let spec = Spec::from_json(&body).map_err(|e| {
                    Error::Cache(format!(
                        "the cached spec of {:?} (v{}) is not a valid spec ({e}): run `my library sync`",
                        item.slug, item.version
                    ))
                })?;
                Ok(Resolved {
                    spec,
                    library,
                    version: Some(item.version),
                    from: Origin::Catalog(catalog.profile().to_string()),
                    invoked_as,
                    body: Some(body),
                })
            }
        }
    }
}

/// The library a found command belongs to (`""` for a personal command).
fn library_of(found: &Found) -> String {
    match found {
        Found::Item(item) => item
            .library
            .as_ref()
            .map(|l| library_reference(l.owner.as_deref(), &l.slug))
            .unwrap_or_default(),
        Found::Source(_, lib, _) => lib.slug().to_string(),
    }
}
