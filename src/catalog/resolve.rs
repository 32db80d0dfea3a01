//! Finding the spec a command line names: a spec file (`-f`), a slug for `my cli run`
//! (`deploy`, `d`, `ops/deploy`), or a library and command (`my ops deploy`, `my k pf`).
//!
//! Names resolve in the active profile's cached catalog first (personal commands, then
//! library commands), then in the local sources. A catalog spec is run only if its cached
//! body still matches the catalog's `spec_hash`.
//!
//! Names are looked up in the indexes kept beside the catalog and the sources registry
//! (`catalog::Names`, `sources::SourceNames`), so a run reads one item and one spec however
//! many commands there are; whatever an index says is checked against the files before
//! anything runs or is reported missing.

use std::path::Path;

use my_api::catalog::library_reference;
use my_api::spec::{Format, Spec, MAX_SPEC_BYTES};

use super::sources::{self, Named, SourceLib, SourceNames};
use crate::catalog::{active_profile, CatalogLib, NameEntry, Names};
use crate::error::{Error, Result};
use crate::settings::Settings;

/// Where a spec came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(String),
    Source(String),
    /// The cached catalog of this profile.
    Catalog(String),
}

impl Origin {
    /// `file`, `source` or `catalog`, as history records it.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::File(_) => "file",
            Origin::Source(_) => "source",
            Origin::Catalog(_) => "catalog",
        }
    }
}

/// A spec ready to run, and what to call it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub spec: Spec,
    pub library: Option<String>,
    pub version: Option<u32>,
    pub from: Origin,
    /// How the user invoked it, for usage lines: `my ops deploy`, `my cli run deploy`.
    pub invoked_as: String,
    /// The body as the catalog cached it (`my cli show --raw` prints it verbatim).
    pub body: Option<Vec<u8>>,
}

impl Resolved {
    pub fn slug(&self) -> &str {
        &self.spec.metadata.slug
    }

    /// `ops/deploy`, or `deploy` for a command outside any library.
    pub fn full_name(&self) -> String {
        match &self.library {
            Some(lib) => format!("{lib}/{}", self.slug()),
            None => self.slug().to_string(),
        }
    }
}

/// `my cli run -f FILE`: a JSON or YAML spec file (by extension; JSON if it starts with `{`).
pub fn file(path: &str) -> Result<Resolved> {
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
pub enum Library<'a> {
    /// Installed in the active profile: its commands are catalog items (by their place
    /// in the catalog).
    Catalog {
        named: Named,
        lib: CatalogLib<'a>,
    },
    Source(SourceLib<'a>),
}

impl Library<'_> {
    /// Its slug (or `owner/slug`), aliases and a description.
    pub fn named(&self) -> Named {
        match self {
            Library::Catalog { named, .. } => named.clone(),
            Library::Source(lib) => lib.named(),
        }
    }

    /// The first line of `my LIBRARY --help`.
    pub fn title(&self) -> String {
        match self {
            Library::Catalog { named, lib } => {
                format!("{}: installed library, {} commands", named.slug, lib.count)
            }
            Library::Source(lib) => {
                let named = lib.named();
                format!(
                    "{}: {} (library {}, from source {})",
                    named.name,
                    named.summary(),
                    named.slug,
                    lib.source()
                )
            }
        }
    }

    /// Its commands' names.
    pub fn commands(&self) -> Vec<Named> {
        match self {
            Library::Catalog { lib, .. } => lib.items().map(|(_, i)| item_named(&i)).collect(),
            Library::Source(lib) => lib.commands().map(|c| c.named()).collect(),
        }
    }

    fn answers_to(&self, name: &str) -> bool {
        match self {
            // Its slug without the owner too: `my ops` reaches `acme/ops`.
            Library::Catalog { named, lib } => named.answers_to(name) || lib.library.slug == name,
            Library::Source(lib) => lib.answers_to(name),
        }
    }
}

fn item_named(item: &NameEntry) -> Named {
    Named {
        slug: item.slug(),
        name: item.name(),
        description: Some(item.description()).filter(|d| !d.is_empty()),
        aliases: item.aliases(),
    }
}

/// One command found by name, before its spec is read: a catalog item, or a library of
/// the sources and the row of one of its commands.
enum Found {
    Item(usize),
    Source(usize, usize),
}

/// Everything runnable by name: the active profile's cached catalog (when there is one)
/// and the local sources.
///
/// Names come from the sidecar indexes of the catalog and of the sources registry while
/// those describe their files; what a name resolves to is then checked against the real
/// files (the catalog item read back, the spec's own slug). When that check fails, the
/// names are read from the files themselves and the name is resolved once more.
pub struct Index {
    config_dir: std::path::PathBuf,
    /// The active profile's slug, or why there is none.
    profile: std::result::Result<String, String>,
    catalog: Option<Names>,
    /// Why there is no catalog, for "not found" messages.
    no_catalog: Option<String>,
    sources: SourceNames,
    /// Read from the files themselves, not from sidecars.
    fresh: bool,
}

impl Index {
    /// Reads the names of the active profile's catalog and of the local sources. A
    /// missing or unreadable catalog is not an error here: local sources still run.
    pub fn load(settings: &Settings) -> Result<Index> {
        let profile = active_profile(settings, None)
            .and_then(|p| p.slug().map(String::from))
            .map_err(|e| e.to_string());
        Index::read(&settings.config_dir, profile, false)
    }

    fn read(
        config_dir: &Path,
        profile: std::result::Result<String, String>,
        fresh: bool,
    ) -> Result<Index> {
        let names = profile.clone().and_then(|p| {
            let read = if fresh {
                Names::from_catalog(config_dir, &p)
            } else {
                Names::load(config_dir, &p)
            };
            match read.and_then(|r| r.trusted()) {
                Ok(Some(names)) => Ok(names),
                Ok(None) => Err(format!(
                    "no cached catalog for profile {p:?}: run `my library sync`"
                )),
                Err(e) => Err(e.to_string()),
            }
        });
        let sources = if fresh {
            SourceNames::from_registry(config_dir)?
        } else {
            SourceNames::load(config_dir)?
        };
        let (catalog, no_catalog) = match names {
            Ok(n) => (Some(n), None),
            Err(why) => (None, Some(why)),
        };
        Ok(Index {
            config_dir: config_dir.to_path_buf(),
            profile,
            catalog,
            no_catalog,
            sources,
            fresh,
        })
    }

    /// Every library, the catalog's first.
    pub fn libraries(&self) -> Vec<Library<'_>> {
        let mut libs: Vec<Library> = Vec::new();
        if let Some(catalog) = &self.catalog {
            for lib in catalog.libraries() {
                let l = &lib.library;
                let reference = library_reference(l.owner.as_deref(), &l.slug);
                libs.push(Library::Catalog {
                    named: Named {
                        name: reference.clone(),
                        slug: reference,
                        description: Some(format!("{} commands, installed", lib.count)),
                        aliases: l.aliases.clone(),
                    },
                    lib,
                });
            }
        }
        libs.extend(self.sources.libraries().map(Library::Source));
        libs
    }

    /// The library `name` means: its slug, `owner/slug` or an alias (catalog first).
    pub fn library(&self, name: &str) -> Option<Library<'_>> {
        self.libraries().into_iter().find(|l| l.answers_to(name))
    }

    /// `my cli run SLUG`: `library/command`, a personal command, or a command slug or alias
    /// that exactly one library has.
    pub fn slug(&mut self, target: &str) -> Result<Resolved> {
        let invoked_as = format!("{} cli run {target}", crate::BIN);
        self.resolve(&invoked_as, |index| index.find_slug(target))
    }

    /// `my LIBRARY COMMAND`: the library by slug, `owner/slug` or alias, its command by slug
    /// or alias.
    pub fn library_command(&mut self, library: &str, command: &str) -> Result<Resolved> {
        let invoked_as = format!("{} {library} {command}", crate::BIN);
        self.resolve(&invoked_as, |index| index.find_in_library(library, command))
    }

    /// The library `name` means, like [`Index::library`]; when the indexes know no such
    /// library, the files themselves are read before saying so.
    pub fn find_library(&mut self, name: &str) -> Result<Option<Library<'_>>> {
        if self.library(name).is_none() && !self.fresh {
            self.reread()?;
        }
        Ok(self.library(name))
    }

    /// Reads the names from the files themselves, not from the indexes.
    fn reread(&mut self) -> Result<()> {
        *self = Index::read(&self.config_dir, self.profile.clone(), true)?;
        Ok(())
    }

    /// Finds with `find` and reads what it found. When the indexes do not find the name, or
    /// turn out not to describe the files, the files themselves are read and the name is
    /// found again: an index never decides alone that a command does not exist, nor which
    /// spec runs.
    fn resolve(
        &mut self,
        invoked_as: &str,
        find: impl Fn(&Index) -> Result<Found>,
    ) -> Result<Resolved> {
        let found = match find(self) {
            Err(_) if !self.fresh => {
                self.reread()?;
                find(self)?
            }
            found => found?,
        };
        if let Some(resolved) = self.read_found(&found, invoked_as)? {
            return Ok(resolved);
        }
        if self.fresh {
            return Err(Error::Other(
                "the command changed while it was read: run it again".into(),
            ));
        }
        self.reread()?;
        let found = find(self)?;
        self.read_found(&found, invoked_as)?.ok_or_else(|| {
            Error::Other("the command changed while it was read: run it again".into())
        })
    }

    fn find_slug(&self, target: &str) -> Result<Found> {
        if let Some((lib, cmd)) = target.rsplit_once('/') {
            return self.find_in_library(lib, cmd);
        }
        let named: Vec<(usize, NameEntry)> = match &self.catalog {
            Some(c) => c
                .maybe_named(target)
                .into_iter()
                .map(|i| (i, c.entry(i)))
                .filter(|(_, e)| e.answers_to(target))
                .collect(),
            None => Vec::new(),
        };
        if let Some((i, _)) = named.iter().find(|(_, e)| e.is_personal()) {
            return Ok(Found::Item(*i));
        }
        let mut found: Vec<Found> = named.iter().map(|(i, _)| Found::Item(*i)).collect();
        found.extend(
            self.sources
                .commands_named(target)
                .into_iter()
                .map(|(lib, row)| Found::Source(lib, row)),
        );
        match found.len() {
            0 => Err(Error::NotFound(format!(
                "command {target:?} not found: no installed library, personal command or local source has it{}",
                match &self.no_catalog {
                    Some(why) => format!(" ({why})"),
                    None => String::new(),
                }
            ))),
            1 => Ok(found.remove(0)),
            _ => {
                let libs: Vec<String> = found.iter().map(|f| self.library_of(f)).collect();
                Err(Error::Usage(format!(
                    "{target:?} is a command of several libraries ({}): run it as LIBRARY/{target}",
                    libs.join(", ")
                )))
            }
        }
    }

    fn find_in_library(&self, library: &str, command: &str) -> Result<Found> {
        let lib = self
            .library(library)
            .ok_or_else(|| Error::NotFound(format!("no library named {library:?} is installed")))?;
        let found = match &lib {
            Library::Catalog { lib, .. } => lib.command(command).map(Found::Item),
            Library::Source(lib) => lib
                .command(command)
                .map(|c| Found::Source(lib.index, c.row)),
        };
        found.ok_or_else(|| {
            let names: Vec<String> = lib.commands().into_iter().map(|n| n.slug).collect();
            Error::NotFound(format!(
                "library {} has no command {command:?} (it has {})",
                lib.named().slug,
                names.join(", ")
            ))
        })
    }

    /// Reads and checks the spec of what was found; `None` when what the indexes said does
    /// not hold in the files (never when the names came from the files themselves).
    fn read_found(&self, found: &Found, invoked_as: &str) -> Result<Option<Resolved>> {
        let library = Some(self.library_of(found)).filter(|l| !l.is_empty());
        match *found {
            Found::Source(l, row) => {
                let lib = self.sources.lib(l);
                let loaded = lib
                    .command_at(row)
                    .ok_or_else(|| {
                        Error::Other("the sources index changed while it was read".into())
                    })
                    .and_then(|cmd| sources::load_spec(&self.config_dir, &lib, &cmd));
                let spec = match loaded {
                    Ok(spec) => spec,
                    Err(_) if !self.fresh => return Ok(None),
                    Err(e) => return Err(e),
                };
                Ok(Some(Resolved {
                    spec,
                    library,
                    version: None,
                    from: Origin::Source(lib.source()),
                    invoked_as: invoked_as.to_string(),
                    body: None,
                }))
            }
            Found::Item(i) => {
                let catalog = self
                    .catalog
                    .as_ref()
                    .expect("catalog items come from a loaded catalog");
                let Some(item) = catalog.item(&catalog.entry(i))? else {
                    return if self.fresh {
                        Err(Error::Other(
                            "the cached catalog changed while it was read: run the command again"
                                .into(),
                        ))
                    } else {
                        Ok(None)
                    };
                };
                // Checked against the catalog's spec_hash: a tampered body is refused.
                let body = catalog.spec_bytes(&item)?;
                let spec = Spec::from_json(&body).map_err(|e| {
                    Error::Cache(format!(
                        "the cached spec of {:?} (v{}) is not a valid spec ({e}): run `my library sync`",
                        item.slug, item.version
                    ))
                })?;
                Ok(Some(Resolved {
                    spec,
                    library,
                    version: Some(item.version),
                    from: Origin::Catalog(catalog.profile().to_string()),
                    invoked_as: invoked_as.to_string(),
                    body: Some(body),
                }))
            }
        }
    }

    /// The library a found command belongs to (`""` for a personal command).
    fn library_of(&self, found: &Found) -> String {
        match *found {
            Found::Item(i) => self
                .catalog
                .as_ref()
                .and_then(|c| c.entry(i).library())
                .map(|l| library_reference(l.owner.as_deref(), &l.slug))
                .unwrap_or_default(),
            Found::Source(l, _) => self.sources.lib(l).slug(),
        }
    }
}
