//! The organization-scoped part of the contract: organizations, projects, environments
//! and their logs. Kept apart from the sign-in and token types in the crate root because
//! it is the product's resource model, which grows on its own.
//!
//! Scoping: every request below names its organization with `organization=ID|SLUG`, except
//! with an organization access key, whose organization is implied. Projects are named by
//! id (`proj_…`) or slug, environments by name.

use serde::{Deserialize, Serialize};

/// REST paths of the resources.
pub mod paths {
    /// `GET`: the caller's organizations.
    pub const ORGANIZATIONS: &str = "/v1/organizations";
    /// `GET ?organization=`: the organization's projects.
    pub const PROJECTS: &str = "/v1/projects";
    /// `GET ?organization=&project=`: environments (of every project without `project`).
    pub const ENVIRONMENTS: &str = "/v1/environments";
    /// `GET ?organization=&project=&environment=[&after=SEQ][&follow=1][&limit=N]`: a page
    /// of log lines. `POST` (JSON [`AppendLogs`](super::AppendLogs)) appends lines.
    pub const LOGS: &str = "/v1/logs";
}

/// REST error codes of the organization-scoped endpoints (the rest are in `crate::codes`).
pub mod codes {
    /// 400: a personal credential (session or `myc_` token) did not name an organization.
    pub const ORGANIZATION_REQUIRED: &str = "ORGANIZATION_REQUIRED";
}

/// Lines one `GET /v1/logs` page holds at most (and without `limit`).
pub const MAX_LOG_PAGE: usize = 1000;
/// Lines a page holds without `limit`.
pub const DEFAULT_LOG_PAGE: usize = 100;

/// An organization. The slug is unique on the server and never contains `_`, so an
/// identifier and a slug cannot be confused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `org_…`
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// `GET /v1/organizations` answer, sorted by slug.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganizationList {
    pub organizations: Vec<Organization>,
}

/// A project; its slug is unique within its organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// `proj_…`
    pub id: String,
    /// Organization id.
    pub organization: String,
    pub name: String,
    pub slug: String,
}

/// `GET /v1/projects` answer, sorted by slug.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectList {
    pub projects: Vec<Project>,
}

/// An environment; its name is unique within its project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    /// Project id.
    pub project: String,
}

/// `GET /v1/environments` answer, sorted by project slug, then name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvironmentList {
    pub environments: Vec<Environment>,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Increases with every line appended on the server (across environments), so it is a
    /// cursor, not a line number.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The text, as appended (a log line may contain any character but a line break,
    /// including terminal escapes: clients must sanitise before printing).
    pub message: String,
}

/// `GET /v1/logs` answer, oldest line first.
///
/// Without `after` it holds the newest lines (like `tail`); with `after=SEQ` the lines
/// after that one. `next` is what to pass as `after` to continue: the last line's `seq`,
/// or when `lines` is empty the `after` given (the newest `seq` so far without one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogPage {
    pub lines: Vec<LogLine>,
    pub next: u64,
}

/// `POST /v1/logs` body: lines to append to one environment (answer: 201 [`LogPage`] of
/// the appended lines).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendLogs {
    /// Organization id or slug; optional with an organization access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Project id or slug.
    pub project: String,
    /// Environment name.
    pub environment: String,
    /// One entry per line; none may contain a line break.
    pub lines: Vec<String>,
}
