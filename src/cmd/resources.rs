//! The organization-scoped commands the context serves: `my orgs list`, `my projects list`,
//! `my environments list` and `my logs [--follow]`.

use crate::cli::{EnvironmentsListArgs, LogsArgs, OrgsListArgs, ProjectsListArgs};
use crate::cmd::context::{self, query};
use my_api::org::{self, EnvironmentList, LogLine, LogPage, OrganizationList, ProjectList};
use mycli::error::{Error, Result};
use mycli::{app::App, out};
use std::time::Duration;

pub(crate) fn orgs(app: &App, a: OrgsListArgs) -> Result<()> {
    let list: OrganizationList = context::get(app, org::paths::ORGANIZATIONS)?;
    if a.json {
        out::json(&list.organizations);
        return Ok(());
    }
    let rows = list
        .organizations
        .iter()
        .map(|o| vec![o.id.clone(), o.slug.clone(), o.name.clone()]);
    out::table(&["ID", "SLUG", "NAME"], rows.collect());
    Ok(())
}

pub(crate) fn projects(app: &App, a: ProjectsListArgs) -> Result<()> {
    let scope = context::scope(app, a.organization.as_deref(), None, None);
    let path = format!(
        "{}{}",
        org::paths::PROJECTS,
        query(&[("organization", scope.organization.as_deref())])
    );
    let list: ProjectList = context::get(app, &path)?;
    if a.json {
        out::json(&list.projects);
        return Ok(());
    }
    let rows = list
        .projects
        .iter()
        .map(|p| vec![p.id.clone(), p.slug.clone(), p.name.clone()]);
    out::table(&["ID", "SLUG", "NAME"], rows.collect());
    Ok(())
}

pub(crate) fn environments(app: &App, a: EnvironmentsListArgs) -> Result<()> {
    let scope = context::scope(app, a.organization.as_deref(), a.project.as_deref(), None);
    let path = format!(
        "{}{}",
        org::paths::ENVIRONMENTS,
        query(&[
            ("organization", scope.organization.as_deref()),
            ("project", scope.project.as_deref())
        ])
    );
    let list: EnvironmentList = context::get(app, &path)?;
    if a.json {
        out::json(&list.environments);
        return Ok(());
    }
    let rows = list
        .environments
        .iter()
        .map(|e| vec![e.name.clone(), e.project.clone()]);
    out::table(&["NAME", "PROJECT"], rows.collect());
    Ok(())
}

pub(crate) fn logs(app: &App, a: LogsArgs) -> Result<()> {
    let scope = context::scope(
        app,
        a.organization.as_deref(),
        a.project.as_deref(),
        a.environment.as_deref(),
    );
    let project = scope.project.ok_or_else(|| {
        Error::Usage("no project: pass --project or run `my use --project <id|slug>`".into())
    })?;
    let environment = scope.environment.ok_or_else(|| {
        Error::Usage(
            "no environment: pass --environment or run `my use --environment <name>`".into(),
        )
    })?;
    let base = [
        ("organization", scope.organization.as_deref()),
        ("project", Some(project.as_str())),
        ("environment", Some(environment.as_str())),
    ];
    let first: LogPage = context::get(app, &format!("{}{}", org::paths::LOGS, query(&base)))?;
    print_lines(&first.lines, a.json);
    if !a.follow {
        return Ok(());
    }
    // `--follow` runs until Ctrl-C, which is how it is meant to end: exit 0, not 130. Every
    // printed line is already flushed (`out::line` flushes each one).
    mycli::sys::signal::exit_on_interrupt(0);
    let mut next = first.next;
    let mut backoff = Duration::from_secs(1);
    loop {
        let after = next.to_string();
        let mut pairs = base.to_vec();
        pairs.push(("after", Some(after.as_str())));
        pairs.push(("follow", Some("1")));
        match context::get::<LogPage>(app, &format!("{}{}", org::paths::LOGS, query(&pairs))) {
            Ok(page) => {
                print_lines(&page.lines, a.json);
                next = page.next.max(next);
                backoff = Duration::from_secs(1);
            }
            // A dropped connection or a failing server: wait and resume after the last line
            // printed, so nothing is shown twice.
            Err(Error::Unavailable(why)) => {
                out::note(format!("{why}; reconnecting in {} s", backoff.as_secs()));
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
}

fn print_lines(lines: &[LogLine], json: bool) {
    for l in lines {
        if json {
            out::line(serde_json::json!({ "seq": l.seq, "time": l.time, "message": l.message }));
        } else {
            // One log line stays one line on the terminal.
            out::line(format!("{}  {}", l.time, out::one_line(&l.message)));
        }
    }
}
