//! SQL for the resource model: organizations and their members, projects, environments
//! and log lines. Rows come back as the wire types where they are the same thing.

use super::pg::LOG_CHANNEL;
use super::sql::{params, Row};
use super::{Backend, DbResult, Tx};
use my_api::org::{Environment, Organization, Project};

/// An environment with its internal id (log lines hang off it).
#[derive(Debug, Clone)]
pub(crate) struct EnvironmentRow {
    /// `env_…`, never shown.
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
}

/// A stored log line.
#[derive(Debug, Clone)]
pub(crate) struct LogRow {
    pub(crate) seq: i64,
    pub(crate) time_ms: i64,
    pub(crate) message: String,
}

fn organization_row(row: &Row) -> DbResult<Organization> {
    Ok(Organization {
        id: row.get(0)?,
        name: row.get(1)?,
        slug: row.get(2)?,
    })
}

fn project_row(row: &Row) -> DbResult<Project> {
    Ok(Project {
        id: row.get(0)?,
        organization: row.get(1)?,
        name: row.get(2)?,
        slug: row.get(3)?,
    })
}

fn log_row(row: &Row) -> DbResult<LogRow> {
    Ok(LogRow {
        seq: row.get(0)?,
        time_ms: row.get(1)?,
        message: row.get(2)?,
    })
}

impl Tx<'_> {
    // ---- organizations and members -------------------------------------------------

    pub(crate) fn insert_organization(&self, org: &Organization, now: i64) -> DbResult<()> {
        self.execute(
            "INSERT INTO organizations (id, name, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![org.id, org.name, org.slug, now],
        )?;
        Ok(())
    }

    /// The organization whose id or slug is `key`.
    pub(crate) fn organization(&self, key: &str) -> DbResult<Option<Organization>> {
        self.query_opt(
            "SELECT id, name, slug FROM organizations WHERE id = ?1 OR slug = ?1",
            params![key],
            organization_row,
        )
    }

    /// The organization whose id or slug is `key`, if `user_id` is a member of it.
    pub(crate) fn member_organization(
        &self,
        user_id: &str,
        key: &str,
    ) -> DbResult<Option<Organization>> {
        self.query_opt(
            "SELECT o.id, o.name, o.slug FROM organizations o
                 JOIN memberships m ON m.org_id = o.id AND m.user_id = CAST(?1 AS TEXT)
                 WHERE o.id = CAST(?2 AS TEXT) OR o.slug = CAST(?2 AS TEXT)",
            params![user_id, key],
            organization_row,
        )
    }

    /// The organizations `user_id` belongs to, by slug.
    pub(crate) fn organizations_of(&self, user_id: &str) -> DbResult<Vec<Organization>> {
        let rows = self.query_map(
            "SELECT o.id, o.name, o.slug FROM organizations o
             JOIN memberships m ON m.org_id = o.id WHERE m.user_id = CAST(?1 AS TEXT)
             ORDER BY o.slug",
            params![user_id],
            organization_row,
        )?;
        Ok(rows)
    }

    /// Makes `user_id` a member; false if they already were (their role is kept).
    pub(crate) fn add_member(
        &self,
        org_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> DbResult<bool> {
        let changed = self.execute(
            "INSERT INTO memberships (org_id, user_id, role, created_at)
                 VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![org_id, user_id, role, now],
        )?;
        Ok(changed == 1)
    }

    // ---- projects and environments -------------------------------------------------

    pub(crate) fn insert_project(&self, project: &Project, now: i64) -> DbResult<()> {
        self.execute(
            "INSERT INTO projects (id, org_id, name, slug, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                project.id,
                project.organization,
                project.name,
                project.slug,
                now
            ],
        )?;
        Ok(())
    }

    /// The project of `org_id` whose id or slug is `key`.
    pub(crate) fn project(&self, org_id: &str, key: &str) -> DbResult<Option<Project>> {
        self.query_opt(
            "SELECT id, org_id, name, slug FROM projects
                 WHERE org_id = ?1 AND (id = ?2 OR slug = ?2)",
            params![org_id, key],
            project_row,
        )
    }

    /// The projects of `org_id`, by slug.
    pub(crate) fn projects(&self, org_id: &str) -> DbResult<Vec<Project>> {
        let rows = self.query_map(
            "SELECT id, org_id, name, slug FROM projects WHERE org_id = ?1 ORDER BY slug",
            params![org_id],
            project_row,
        )?;
        Ok(rows)
    }

    pub(crate) fn insert_environment(&self, env: &EnvironmentRow, now: i64) -> DbResult<()> {
        self.execute(
            "INSERT INTO environments (id, project_id, name, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            params![env.id, env.project_id, env.name, now],
        )?;
        Ok(())
    }

    pub(crate) fn environment(
        &self,
        project_id: &str,
        name: &str,
    ) -> DbResult<Option<EnvironmentRow>> {
        self.query_opt(
            "SELECT id, project_id, name FROM environments WHERE project_id = ?1 AND name = ?2",
            params![project_id, name],
            |row| {
                Ok(EnvironmentRow {
                    id: row.get(0)?,
                    project_id: row.get(1)?,
                    name: row.get(2)?,
                })
            },
        )
    }

    /// Environments of one project of `org_id`, or of all its projects; by project slug,
    /// then name.
    pub(crate) fn environments(
        &self,
        org_id: &str,
        project_id: Option<&str>,
    ) -> DbResult<Vec<Environment>> {
        let rows = self.query_map(
            "SELECT e.name, e.project_id FROM environments e
             JOIN projects p ON p.id = e.project_id
             WHERE p.org_id = CAST(?1 AS TEXT) AND (CAST(?2 AS TEXT) IS NULL OR p.id = CAST(?2 AS TEXT))
             ORDER BY p.slug, e.name",
            params![org_id, project_id],
            |row| {
                Ok(Environment {
                    name: row.get(0)?,
                    project: row.get(1)?,
                })
            },
        )?;
        Ok(rows)
    }

    // ---- log lines -----------------------------------------------------------------

    /// Appends `messages`, in order, and returns their `seq`s.
    pub(crate) fn append_logs(
        &self,
        env_id: &str,
        time_ms: i64,
        messages: &[&str],
    ) -> DbResult<Vec<i64>> {
        let mut seqs = Vec::with_capacity(messages.len());
        for message in messages {
            seqs.push(self.query_row(
                "INSERT INTO log_lines (environment_id, time_ms, message) VALUES (?1, ?2, ?3)
                 RETURNING seq",
                params![env_id, time_ms, *message],
                |r| r.get(0),
            )?);
        }
        // Other processes' long polls wake at the commit (see `db::listen_for_log_lines`):
        // one notification for the whole batch, not one round trip per line under the
        // write lock.
        if self.backend() == Backend::Pg && !messages.is_empty() {
            self.execute(&format!("SELECT pg_notify('{LOG_CHANNEL}', '')"), params![])?;
        }
        Ok(seqs)
    }

    /// Up to `limit` lines after `after`, oldest first.
    pub(crate) fn log_after(
        &self,
        env_id: &str,
        after: i64,
        limit: usize,
    ) -> DbResult<Vec<LogRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query_map(
            "SELECT seq, time_ms, message FROM log_lines
             WHERE environment_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![env_id, after, limit],
            log_row,
        )?;
        Ok(rows)
    }

    /// The newest `limit` lines, oldest first.
    pub(crate) fn log_tail(&self, env_id: &str, limit: usize) -> DbResult<Vec<LogRow>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query_map(
            "SELECT seq, time_ms, message FROM log_lines
             WHERE environment_id = ?1 ORDER BY seq DESC LIMIT ?2",
            params![env_id, limit],
            log_row,
        )?;
        let mut lines = rows;
        lines.reverse();
        Ok(lines)
    }

    /// The newest `seq` of any line in any environment (0 for none): lines appended
    /// later always have a greater one.
    /// The newest line's seq in one environment (0 when it has none): never another
    /// environment's, which would tell a reader how much everyone else logs.
    pub(crate) fn newest_log_seq(&self, environment_id: &str) -> DbResult<i64> {
        self.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM log_lines WHERE environment_id = ?1",
            params![environment_id],
            |r| r.get(0),
        )
    }
}
