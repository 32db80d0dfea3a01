//! Finding the spec a command line names: a spec file (`-f`), a slug for `my cli run`
//! (`deploy`, `d`, `ops/deploy`), or a library and command (`my ops deploy`, `my k pf`).
//!
//! A [`Lookup`] is the one place a name is asked. It holds the providers of commands in the
//! order names resolve: the active profile's cached catalog (personal commands first, then
//! library commands), then the local sources. Each gives its names as a `catalog::names`
//! index of the same shape, read as its last change wrote it (a few small files, however many
//! commands); a provider without one (a cache written by an older `my`) is read from its own
//! file instead (`catalog.json`, `sources.json`). Nothing here writes.
//!
//! An index only says where to look. What a name resolves to is checked when its spec is
//! read: a catalog item must be safe, answer to the name and belong to its library, and its
//! cached body must match its `spec_hash`; a source's spec file must stay inside the source
//! and be the command it is named as. When a check fails, or the indexes do not find a name,
//! the providers' own files are read and the name is resolved once more: an index never
//! decides alone that a command does not exist, nor which spec runs.

use std::path::{Path, PathBuf};

use my_api::catalog::{library_reference, CatalogItem};
use my_api::spec::{Format, Spec, MAX_SPEC_BYTES};

use super::cache::CatalogFile;
use super::names::{self, Command, Damaged, Named, Names, SpecRef};
use super::{active_profile, cache, sources};
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

/// Where commands come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The cached catalog of this profile.
    Catalog(String),
    /// The local sources.
    Sources,
}

/// A provider of commands and its names.
struct Provider {
    kind: Kind,
    names: Names,
}

/// A library `my` can run commands of.
#[derive(Debug, Clone)]
pub struct Library {
    /// Its provider's place in the lookup, and its place in that provider's names.
    provider: usize,
    at: usize,
    kind: Kind,
    lib: names::Library,
}

impl Library {
    fn reference(&self) -> String {
        reference(&self.kind, &self.lib)
    }

    /// Its slug (or `owner/slug`), aliases and a description, for listings.
    pub fn named(&self) -> Named {
        match self.kind {
            Kind::Catalog(_) => {
                let reference = self.reference();
                Named {
                    name: reference.clone(),
                    slug: reference,
                    description: Some(format!("{} commands, installed", self.lib.commands)),
                    aliases: self.lib.named.aliases.clone(),
                }
            }
            Kind::Sources => self.lib.named.clone(),
        }
    }

    /// The first line of `my LIBRARY --help`.
    pub fn title(&self) -> String {
        let named = &self.lib.named;
        match self.kind {
            Kind::Catalog(_) => format!(
                "{}: installed library, {} commands",
                self.reference(),
                self.lib.commands
            ),
            Kind::Sources => format!(
                "{}: {} (library {}, from source {})",
                named.name,
                named.summary(),
                named.slug,
                self.lib.source.as_deref().unwrap_or_default()
            ),
        }
    }

    /// Its slug, `owner/slug` or an alias; an installed library's slug without the owner
    /// too (`my ops` reaches `acme/ops`).
    fn answers_to(&self, name: &str) -> bool {
        match self.kind {
            Kind::Catalog(_) => self.reference() == name || self.lib.named.answers_to(name),
            Kind::Sources => self.lib.named.answers_to(name),
        }
    }

    /// Whether `other` is this library, as read another time.
    fn is(&self, other: &Library) -> bool {
        self.kind == other.kind
            && self.lib.named.slug == other.lib.named.slug
            && self.lib.owner == other.lib.owner
            && self.lib.source == other.lib.source
    }
}

/// One command found by name, before its spec is read.
struct Found {
    provider: usize,
    command: Command,
}

/// Everything runnable by name: the active profile's cached catalog (when there is one) and
/// the local sources, behind one lookup.
pub struct Lookup {
    config_dir: PathBuf,
    /// The active profile's slug, or why there is none.
    profile: std::result::Result<String, String>,
    providers: Vec<Provider>,
    /// Why there is no catalog, for "not found" messages.
    no_catalog: Option<String>,
}

impl Lookup {
    /// The names of the active profile's catalog and of the local sources. A missing or
    /// unreadable catalog is not an error here: local sources still run.
    pub fn load(settings: &Settings) -> Result<Lookup> {
        let profile = active_profile(settings, None)
            .and_then(|p| p.slug().map(String::from))
            .map_err(|e| e.to_string());
        Lookup::read(&settings.config_dir, profile, false)
    }

    /// The providers' names: from their indexes unless `fresh`, else (or when there is no
    /// index) from their own files.
    fn read(
        config_dir: &Path,
        profile: std::result::Result<String, String>,
        fresh: bool,
    ) -> Result<Lookup> {
        let mut providers = Vec::new();
        let catalog = profile.clone().and_then(|p| {
            let indexed = if fresh {
                None
            } else {
                cache::read_names(config_dir, &p)
            };
            let names = match indexed {
                Some(names) => names,
                None => match CatalogFile::read(config_dir, &p).and_then(|r| r.trusted()) {
                    Ok(Some(file)) => file.names().into_names(),
                    Ok(None) => {
                        return Err(format!(
                            "no cached catalog for profile {p:?}: run `my library sync`"
                        ))
                    }
                    Err(e) => return Err(e.to_string()),
                },
            };
            Ok(Provider {
                kind: Kind::Catalog(p),
                names,
            })
        });
        let no_catalog = match catalog {
            Ok(provider) => {
                providers.push(provider);
                None
            }
            Err(why) => Some(why),
        };
        let indexed = if fresh {
            None
        } else {
            sources::read_names(config_dir)
        };
        let names = match indexed {
            Some(names) => names,
            None => sources::names_from_registry(config_dir)?,
        };
        providers.push(Provider {
            kind: Kind::Sources,
            names,
        });
        Ok(Lookup {
            config_dir: config_dir.to_path_buf(),
            profile,
            providers,
            no_catalog,
        })
    }

    /// Whether every provider's names were read from its own file.
    fn is_fresh(&self) -> bool {
        self.providers.iter().all(|p| p.names.is_fresh())
    }

    /// Reads the names from the providers' own files, not from their indexes.
    fn reread(&mut self) -> Result<()> {
        *self = Lookup::read(&self.config_dir, self.profile.clone(), true)?;
        Ok(())
    }

    /// Every library, the catalog's first.
    pub fn libraries(&self) -> Vec<Library> {
        let mut libs = Vec::new();
        for (provider, p) in self.providers.iter().enumerate() {
            for (at, lib) in p.names.libraries().iter().enumerate() {
                libs.push(Library {
                    provider,
                    at,
                    kind: p.kind.clone(),
                    lib: lib.clone(),
                });
            }
        }
        libs
    }

    /// The library `name` means: its slug, `owner/slug` or an alias (catalog first).
    pub fn library(&self, name: &str) -> Option<Library> {
        self.libraries().into_iter().find(|l| l.answers_to(name))
    }

    /// The library `name` means, like [`Lookup::library`]; when the indexes know no such
    /// library, the providers' files are read before saying so.
    pub fn find_library(&mut self, name: &str) -> Result<Option<Library>> {
        if self.library(name).is_none() && !self.is_fresh() {
            self.reread()?;
        }
        Ok(self.library(name))
    }

    /// The names of `lib`'s commands, in order (from the provider's file when its index
    /// cannot be read).
    pub fn commands(&mut self, lib: &Library) -> Result<Vec<Named>> {
        if let Ok(commands) = self.commands_of(lib) {
            return Ok(commands);
        }
        self.reread()?;
        let again = self.libraries().into_iter().find(|l| l.is(lib));
        match again {
            Some(lib) => self
                .commands_of(&lib)
                .map_err(|Damaged(why)| Error::Other(why)),
            None => Ok(Vec::new()),
        }
    }

    fn commands_of(&self, lib: &Library) -> std::result::Result<Vec<Named>, Damaged> {
        let names = &self.providers[lib.provider].names;
        Ok(names
            .all()?
            .into_iter()
            .filter(|c| c.library == Some(lib.at))
            .map(|c| c.named)
            .collect())
    }

    /// `my cli run SLUG`: `library/command`, a personal command, or a command slug or alias
    /// that exactly one library has.
    pub fn slug(&mut self, target: &str) -> Result<Resolved> {
        let invoked_as = format!("{} cli run {target}", crate::BIN);
        self.resolve(&invoked_as, |lookup| lookup.find_slug(target))
    }

    /// `my LIBRARY COMMAND`: the library by slug, `owner/slug` or alias, its command by slug
    /// or alias.
    pub fn library_command(&mut self, library: &str, command: &str) -> Result<Resolved> {
        let invoked_as = format!("{} {library} {command}", crate::BIN);
        self.resolve(&invoked_as, |lookup| {
            lookup.find_in_library(library, command)
        })
    }

    /// Finds with `find` and reads what it found. When the indexes do not find the name, or
    /// what they found does not hold up, the providers' files are read and the name is found
    /// again.
    fn resolve(
        &mut self,
        invoked_as: &str,
        find: impl Fn(&Lookup) -> Result<Found>,
    ) -> Result<Resolved> {
        let found = match find(self) {
            Err(_) if !self.is_fresh() => {
                self.reread()?;
                find(self)?
            }
            found => found?,
        };
        if let Some(resolved) = self.read_found(&found, invoked_as)? {
            return Ok(resolved);
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
        let mut found = Vec::new();
        for (provider, p) in self.providers.iter().enumerate() {
            for command in p.names.named(target).map_err(damaged)? {
                found.push(Found { provider, command });
            }
        }
        let personal = found.iter().position(|f| {
            f.command.library.is_none()
                && matches!(self.providers[f.provider].kind, Kind::Catalog(_))
        });
        if let Some(at) = personal {
            return Ok(found.swap_remove(at));
        }
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
        let found = self.providers[lib.provider]
            .names
            .named(command)
            .map_err(damaged)?
            .into_iter()
            .find(|c| c.library == Some(lib.at));
        found
            .map(|command| Found {
                provider: lib.provider,
                command,
            })
            .ok_or_else(|| {
                let names: Vec<String> = self
                    .commands_of(&lib)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n.slug)
                    .collect();
                Error::NotFound(format!(
                    "library {} has no command {command:?} (it has {})",
                    lib.named().slug,
                    names.join(", ")
                ))
            })
    }

    /// Reads and checks the spec of what was found; `None` when what an index said does not
    /// hold up (never when the names came from the providers' files: their errors are final).
    fn read_found(&self, found: &Found, invoked_as: &str) -> Result<Option<Resolved>> {
        let provider = &self.providers[found.provider];
        let command = &found.command;
        let lib = command
            .library
            .and_then(|at| provider.names.libraries().get(at));
        let library = Some(self.library_of(found)).filter(|l| !l.is_empty());
        let read = match (&provider.kind, &command.spec) {
            (Kind::Catalog(profile), SpecRef::Item(item)) => self
                .catalog_spec(item, command, lib)
                .map(|(spec, body)| Resolved {
                    spec,
                    library,
                    version: Some(item.version),
                    from: Origin::Catalog(profile.clone()),
                    invoked_as: invoked_as.to_string(),
                    body: Some(body),
                }),
            (Kind::Sources, SpecRef::File(file)) => match lib {
                Some(names::Library {
                    source: Some(source),
                    path: Some(path),
                    ..
                }) => sources::load_spec(&self.config_dir, source, path, file, &command.named.slug)
                    .map(|spec| Resolved {
                        spec,
                        library,
                        version: None,
                        from: Origin::Source(source.clone()),
                        invoked_as: invoked_as.to_string(),
                        body: None,
                    }),
                _ => Err(Error::Other(
                    "the sources' names give a command without its source".into(),
                )),
            },
            _ => Err(Error::Other(
                "a name index holds a command of another provider".into(),
            )),
        };
        match read {
            Ok(resolved) => Ok(Some(resolved)),
            Err(_) if !provider.names.is_fresh() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The spec of a catalog item found as `command` of `lib`, and its body: the item must be
    /// safe to use as paths, be the command it was found as, and its body match its hash.
    fn catalog_spec(
        &self,
        item: &CatalogItem,
        command: &Command,
        lib: Option<&names::Library>,
    ) -> Result<(Spec, Vec<u8>)> {
        let same_library = match (&item.library, lib) {
            (None, None) => true,
            (Some(of_item), Some(lib)) => {
                of_item.slug == lib.named.slug && of_item.owner == lib.owner
            }
            _ => false,
        };
        let same = item.slug == command.named.slug && item.aliases == command.named.aliases;
        if let Err(why) = cache::check_items(std::slice::from_ref(item)) {
            return Err(Error::Cache(format!(
                "the cached catalog is damaged ({why}): run `my library sync`"
            )));
        }
        if !same || !same_library {
            return Err(Error::Cache(format!(
                "the cached catalog's names do not match its item {:?}: run `my library sync`",
                item.slug
            )));
        }
        // Checked against the item's spec_hash: a tampered body is refused.
        let body = super::spec_bytes(&self.config_dir, item)?;
        let spec = Spec::from_json(&body).map_err(|e| {
            Error::Cache(format!(
                "the cached spec of {:?} (v{}) is not a valid spec ({e}): run `my library sync`",
                item.slug, item.version
            ))
        })?;
        // The server names a command after its spec's slug: a body of another command is not
        // this one, whatever hash an index gave for it.
        if spec.metadata.slug != item.slug {
            return Err(Error::Cache(format!(
                "the cached spec of {:?} (v{}) is the command {:?}: run `my library sync`",
                item.slug, item.version, spec.metadata.slug
            )));
        }
        Ok((spec, body))
    }

    /// The library a found command belongs to (`""` for a personal command).
    fn library_of(&self, found: &Found) -> String {
        let provider = &self.providers[found.provider];
        found
            .command
            .library
            .and_then(|at| provider.names.libraries().get(at))
            .map(|lib| reference(&provider.kind, lib))
            .unwrap_or_default()
    }
}

/// What a library is called in messages and history: `slug` or `owner/slug` for an installed
/// library, the slug for a source's.
fn reference(kind: &Kind, lib: &names::Library) -> String {
    match kind {
        Kind::Catalog(_) => library_reference(lib.owner.as_deref(), &lib.named.slug),
        Kind::Sources => lib.named.slug.clone(),
    }
}

/// An index that cannot be read, as the error that sends the lookup to the files.
fn damaged(Damaged(why): Damaged) -> Error {
    Error::Cache(format!("a name index cannot be read ({why})"))
}
