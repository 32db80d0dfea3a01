//! `my-server admin …`: inspect the database and set it up — users, organizations and
//! members, projects, environments, log lines, or all of it from one seed file — rotate
//! the JWT signing key, and count what the periodic sweep keeps in check.
//!
//! Each command prints JSON on stdout (one object per line) and fails with a one-line
//! message. Commands that write open the database like the server does, creating and
//! migrating it if needed, so a fresh server can be set up before it first starts. They
//! are safe to run while servers use the same file.

mod library;

use crate::clock;
use crate::crypto::secrets;
use crate::db::{self, Db, DbError, EnvironmentRow, Tx};
use crate::domain::keys;
use crate::names;
use my_api::org::{Environment, Organization, Project};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

/// One `my-server admin …` command, its arguments checked (names, slugs, emails).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Task {
    Sessions,
    UserCreate {
        email: String,
    },
    OrgCreate {
        name: String,
        slug: String,
    },
    OrgAddMember {
        org: String,
        email: String,
    },
    ProjectCreate {
        org: String,
        name: String,
        slug: String,
    },
    EnvCreate {
        org: String,
        project: String,
        name: String,
    },
    /// `message: None` reads the lines from stdin.
    LogAppend {
        org: String,
        project: String,
        env: String,
        message: Option<String>,
    },
    Seed {
        file: PathBuf,
    },
    RotateKey,
    Stats,
    /// Publish each library of a source folder as a system library release.
    LibraryImport {
        dir: PathBuf,
        version: Option<String>,
    },
}

/// Runs one admin command against the database `setting` names (a file or a URL).
pub(crate) fn run(setting: &Path, task: Task) -> Result<(), String> {
    let target = db::Target::parse(setting)?;
    if task == Task::Sessions {
        return sessions(&target);
    }
    let cannot_open = |e: DbError| format!("cannot open database {target}: {e}");
    target.ensure_private()?;
    let mut db = Db::connect(&target).map_err(cannot_open)?;
    db.migrate(secrets::random_bytes::<32>(), clock::now_secs())
        .map_err(cannot_open)?;
    let now = clock::now_secs();
    match task {
        Task::Sessions => Ok(()),
        Task::UserCreate { email } => {
            let user = db.write(|tx| -> Result<_, Failure> {
                Ok(tx.ensure_user(&email, &secrets::new_id("usr"), now)?)
            })?;
            print_json(&UserLine {
                id: user.id,
                email: user.email,
            })
        }
        Task::OrgCreate { name, slug } => {
            let org = db.write(|tx| -> Result<Organization, Failure> {
                if let Some(existing) = tx.organization(&slug)? {
                    return Err(Failure(format!(
                        "an organization with slug \"{slug}\" already exists ({})",
                        existing.id
                    )));
                }
                let org = Organization {
                    id: secrets::new_id("org"),
                    name,
                    slug,
                };
                tx.insert_organization(&org, now)?;
                Ok(org)
            })?;
            print_json(&org)
        }
        Task::OrgAddMember { org, email } => {
            let line = db.write(|tx| -> Result<MemberLine, Failure> {
                let org = organization(tx, &org)?;
                let user = tx.ensure_user(&email, &secrets::new_id("usr"), now)?;
                let added = tx.add_member(&org.id, &user.id, "member", now)?;
                Ok(MemberLine {
                    organization: org.id,
                    user: user.id,
                    email: user.email,
                    added,
                })
            })?;
            print_json(&line)
        }
        Task::ProjectCreate { org, name, slug } => {
            let project = db.write(|tx| -> Result<Project, Failure> {
                let org = organization(tx, &org)?;
                if let Some(existing) = tx.project(&org.id, &slug)? {
                    return Err(Failure(format!(
                        "organization \"{}\" already has a project \"{slug}\" ({})",
                        org.slug, existing.id
                    )));
                }
                let project = Project {
                    id: secrets::new_id("proj"),
                    organization: org.id,
                    name,
                    slug,
                };
                tx.insert_project(&project, now)?;
                Ok(project)
            })?;
            print_json(&project)
        }
        Task::EnvCreate { org, project, name } => {
            let env = db.write(|tx| -> Result<Environment, Failure> {
                let org = organization(tx, &org)?;
                let project = project_of(tx, &org, &project)?;
                if tx.environment(&project.id, &name)?.is_some() {
                    return Err(Failure(format!(
                        "project \"{}\" already has an environment \"{name}\"",
                        project.slug
                    )));
                }
                tx.insert_environment(&new_environment(&project, &name), now)?;
                Ok(Environment {
                    name,
                    project: project.id,
                })
            })?;
            print_json(&env)
        }
        Task::LogAppend {
            org,
            project,
            env,
            message,
        } => log_append(&mut db, &org, &project, &env, message),
        Task::Seed { file } => seed(&mut db, &file, now),
        Task::RotateKey => {
            let (kid, retired) = db
                .write(|tx| keys::rotate(tx, now))
                .map_err(|e| format!("cannot rotate the signing key: {e}"))?;
            eprintln!(
                "new signing key {kid}: servers sign with it within 30 s; tokens signed by the \
                 previous key stay valid until they expire"
            );
            print_json(&Rotated { kid, retired })
        }
        Task::Stats => {
            let counts = db
                .read(|tx| tx.table_counts())
                .map_err(|e| format!("cannot count rows: {e}"))?;
            let object: serde_json::Map<String, serde_json::Value> = counts
                .into_iter()
                .map(|(table, n)| (table.to_string(), n.into()))
                .collect();
            print_json(&object)
        }
        Task::LibraryImport { dir, version } => {
            library::import(&mut db, &dir, version.as_deref(), now)
        }
    }
}

#[derive(Serialize)]
struct Rotated {
    /// The new signing key's id.
    kid: String,
    /// How many older keys were deleted.
    retired: usize,
}

/// An admin command's failure, as the one line to print.
struct Failure(String);

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        Failure(format!("database: {e}"))
    }
}

impl From<Failure> for String {
    fn from(f: Failure) -> Self {
        f.0
    }
}

fn organization(tx: &Tx, key: &str) -> Result<Organization, Failure> {
    tx.organization(key)?
        .ok_or_else(|| Failure(format!("organization \"{key}\" not found")))
}

fn project_of(tx: &Tx, org: &Organization, key: &str) -> Result<Project, Failure> {
    tx.project(&org.id, key)?.ok_or_else(|| {
        Failure(format!(
            "project \"{key}\" not found in organization \"{}\"",
            org.slug
        ))
    })
}

fn new_environment(project: &Project, name: &str) -> EnvironmentRow {
    EnvironmentRow {
        id: secrets::new_id("env"),
        project_id: project.id.clone(),
        name: name.to_string(),
    }
}

#[derive(Serialize)]
struct UserLine {
    id: String,
    email: String,
}

#[derive(Serialize)]
struct MemberLine {
    organization: String,
    user: String,
    email: String,
    /// False when they already were a member.
    added: bool,
}

/// Writes `value` as one JSON line on stdout; a closed pipe (`| head`) is not an error.
fn print_json<T: Serialize>(value: &T) -> Result<(), String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{json}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}

/// One line of `my-server admin sessions`.
#[derive(Serialize)]
struct SessionLine {
    id: String,
    user_email: String,
    refresh_count: i64,
    revoked: bool,
    expires_at: String,
    created_at: String,
}

fn sessions(target: &db::Target) -> Result<(), String> {
    let read = |e: DbError| format!("cannot read sessions from {target}: {e}");
    let mut db = Db::connect_existing(target).map_err(read)?;
    let sessions = db.read(|tx| tx.session_summaries()).map_err(read)?;
    for session in sessions {
        print_json(&SessionLine {
            id: session.id,
            user_email: session.user_email,
            refresh_count: session.refresh_count,
            revoked: session.revoked,
            expires_at: clock::rfc3339(session.expires_at),
            created_at: clock::rfc3339(session.created_at),
        })?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Appended {
    appended: u64,
    /// The last appended line's seq (what a follower passes as `after` to see later lines).
    next: i64,
}

/// Appends `message`, or every line of stdin as it arrives (so a running program's output
/// can be piped in), each in its own short transaction.
fn log_append(
    db: &mut Db,
    org: &str,
    project: &str,
    env: &str,
    message: Option<String>,
) -> Result<(), String> {
    let env = db.read(|tx| -> Result<EnvironmentRow, Failure> {
        let org = organization(tx, org)?;
        let project = project_of(tx, &org, project)?;
        tx.environment(&project.id, env)?.ok_or_else(|| {
            Failure(format!(
                "environment \"{env}\" not found in project \"{}\"",
                project.slug
            ))
        })
    })?;
    let mut done = Appended {
        appended: 0,
        next: 0,
    };
    let mut append = |line: &str| -> Result<(), String> {
        let line = names::log_line(line)?;
        done.next = db.write(|tx| -> Result<_, Failure> {
            let seqs = tx.append_logs(&env.id, clock::now_millis(), &[line])?;
            Ok(seqs.last().copied().unwrap_or_default())
        })?;
        done.appended += 1;
        Ok(())
    };
    match message {
        Some(message) => append(&message)?,
        None => {
            for line in io::stdin().lock().lines() {
                let line = line.map_err(|e| format!("cannot read stdin: {e}"))?;
                append(line.strip_suffix('\r').unwrap_or(&line))?;
            }
        }
    }
    print_json(&done)
}

/// The seed file: `{"organizations":[{"name","slug","members":[email…],
/// "projects":[{"name","slug","environments":[name…]}]}]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    organizations: Vec<SeedOrganization>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedOrganization {
    name: String,
    slug: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    projects: Vec<SeedProject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProject {
    name: String,
    slug: String,
    #[serde(default)]
    environments: Vec<String>,
}

/// What a seed file describes, after it ran: everything in it, created or found.
#[derive(Serialize, Default)]
struct Seeded {
    organizations: Vec<Organization>,
    projects: Vec<Project>,
    environments: Vec<Environment>,
}

/// Checks every name, slug and address before anything is written.
fn check_seed(seed: &SeedFile) -> Result<(), String> {
    for org in &seed.organizations {
        names::slug("organization slug", &org.slug)?;
        names::display_name(
            &format!("the name of organization \"{}\"", org.slug),
            &org.name,
        )?;
        for member in &org.members {
            if !crate::mail::valid_address(member.trim()) {
                return Err(format!(
                    "member \"{}\" of organization \"{}\" is not a valid email address",
                    member.escape_debug(),
                    org.slug
                ));
            }
        }
        for project in &org.projects {
            names::slug("project slug", &project.slug)?;
            names::display_name(
                &format!("the name of project \"{}\"", project.slug),
                &project.name,
            )?;
            for env in &project.environments {
                names::slug("environment name", env)?;
            }
        }
    }
    Ok(())
}

/// Creates what `file` describes and is missing, in one transaction (all or nothing).
/// Existing organizations and projects are matched by slug and left as they are.
fn seed(db: &mut Db, file: &Path, now: i64) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read seed file {}: {e}", file.display()))?;
    let seed: SeedFile = serde_json::from_str(&text)
        .map_err(|e| format!("invalid seed file {}: {e}", file.display()))?;
    check_seed(&seed).map_err(|e| format!("invalid seed file {}: {e}", file.display()))?;
    let seeded = db.write(|tx| -> Result<Seeded, Failure> {
        let mut seeded = Seeded::default();
        for wanted in &seed.organizations {
            let org = match tx.organization(&wanted.slug)? {
                Some(org) => org,
                None => {
                    let org = Organization {
                        id: secrets::new_id("org"),
                        name: wanted.name.trim().to_string(),
                        slug: wanted.slug.clone(),
                    };
                    tx.insert_organization(&org, now)?;
                    org
                }
            };
            for email in &wanted.members {
                let user = tx.ensure_user(email.trim(), &secrets::new_id("usr"), now)?;
                tx.add_member(&org.id, &user.id, "member", now)?;
            }
            for wanted in &wanted.projects {
                let project = match tx.project(&org.id, &wanted.slug)? {
                    Some(project) => project,
                    None => {
                        let project = Project {
                            id: secrets::new_id("proj"),
                            organization: org.id.clone(),
                            name: wanted.name.trim().to_string(),
                            slug: wanted.slug.clone(),
                        };
                        tx.insert_project(&project, now)?;
                        project
                    }
                };
                for name in &wanted.environments {
                    if tx.environment(&project.id, name)?.is_none() {
                        tx.insert_environment(&new_environment(&project, name), now)?;
                    }
                    seeded.environments.push(Environment {
                        name: name.clone(),
                        project: project.id.clone(),
                    });
                }
                seeded.projects.push(project);
            }
            seeded.organizations.push(org);
        }
        Ok(seeded)
    })?;
    print_json(&seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_files_are_checked_before_writing() {
        let parse = |json: &str| -> Result<(), String> {
            let seed: SeedFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
            check_seed(&seed)
        };
        assert!(parse(
            r#"{"organizations":[{"name":"Acme","slug":"acme","members":["a@example.com"],
                "projects":[{"name":"Store","slug":"store","environments":["production"]}]}]}"#
        )
        .is_ok());
        assert!(parse(r#"{"organizations":[{"name":"Acme","slug":"Acme"}]}"#).is_err());
        assert!(parse(r#"{"organizations":[{"name":"A","slug":"a","members":["x"]}]}"#).is_err());
        // A typo in a field name is an error, not a silently skipped part.
        assert!(parse(r#"{"organizations":[{"name":"A","slug":"a","member":["a@b"]}]}"#).is_err());
        assert!(parse(
            r#"{"organizations":[{"name":"A","slug":"a","projects":[{"name":"P","slug":"p","environments":["Prod"]}]}]}"#
        )
        .is_err());
    }
}
