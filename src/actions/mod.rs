//! orcoursetrion's actions as plans of idempotent steps (SPEC §3).
//!
//! An action first becomes a [`Plan`] (pure: no GitHub call), then
//! [`execute`] runs the steps in order, journaling each one so a retried or
//! resumed job skips what is done and reconciles the one step that was in
//! flight instead of repeating it. A dry run prints the plan and stops.

mod exec;
mod plan;
mod resolve;

pub use exec::{execute, JournalSink, NoJournal, SaveFuture, StepReport};
pub use plan::{plan, HookTarget, Plan, RepoTarget, Step};
pub use resolve::{find_latest_run, find_run, CourseKind, RunRef};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::github::api::Committer;
use crate::github::GitHubError;
use crate::naming::{Course, Login, Names, OrgName, RepoFullName, TeamName, Term};
use crate::secret::Secret;

/// What the actions need to know about the installation's conventions
/// (orcoursetrion's `ORC_*` settings).
#[derive(Debug, Clone)]
pub struct Settings {
    pub names: Names,
    pub studio_org: String,
    pub xml_org: String,
    pub studio_deploy_team: String,
    pub xml_deploy_team: String,
    pub staging_gitreload: Option<Secret>,
    pub production_gitreload: Option<Secret>,
    pub gitreload_secret: Option<Secret>,
    pub committer: Committer,
}

/// One provisioning action with validated arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateExportRepo {
        course: Course,
        term: Term,
        description: Option<String>,
    },
    RerunStudio {
        course: Course,
        term: Term,
        new_term: Term,
        description: Option<String>,
    },
    ReleaseStudio {
        course: Course,
        term: Term,
    },
    CreateXmlRepo {
        course: Course,
        term: Term,
        team: Option<TeamName>,
        members: Option<Vec<Login>>,
        description: Option<String>,
    },
    RerunXml {
        course: Course,
        term: Term,
    },
    ReleaseXml {
        course: Course,
        term: Term,
    },
    PutTeam {
        org: OrgName,
        team: TeamName,
        read_only: bool,
        members: Option<Vec<Login>>,
    },
    ShallowCopyRepo {
        src: RepoFullName,
        dst: RepoFullName,
        branch: Option<String>,
    },
    /// The whole xml rerun orcoursetrion promised "eventually": hooks off the
    /// old run, a new repo with a history-free copy, the same course team(s)
    /// and the staging hook.
    RerunXmlCourse {
        course: Course,
        term: Term,
        new_term: Term,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateExportRepo { .. } => "create_export_repo",
            Action::RerunStudio { .. } => "rerun_studio",
            Action::ReleaseStudio { .. } => "release_studio",
            Action::CreateXmlRepo { .. } => "create_xml_repo",
            Action::RerunXml { .. } => "rerun_xml",
            Action::ReleaseXml { .. } => "release_xml",
            Action::PutTeam { .. } => "put_team",
            Action::ShallowCopyRepo { .. } => "shallow_copy_repo",
            Action::RerunXmlCourse { .. } => "rerun",
        }
    }
}

#[derive(Debug, Error)]
pub enum ActionError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// A setting the action needs is missing (e.g. no staging hook URL).
    #[error("{0}")]
    NotConfigured(String),
    /// None of a course run's possible repo names exists.
    #[error("{0}")]
    NotFound(String),
    #[error("git failed: {0}")]
    Git(String),
    /// The journal could not be saved: stop before doing more, the job resumes later.
    #[error("could not save progress: {0}")]
    Journal(String),
}

impl ActionError {
    /// Worth retrying the job later (GitHub unavailable or rate limited).
    pub fn is_transient(&self) -> bool {
        match self {
            ActionError::GitHub(e) => e.is_transient(),
            ActionError::Journal(_) => true,
            _ => false,
        }
    }
}

/// What one step left behind; the journal holds these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    RepoCreated {
        full_name: String,
        html_url: String,
        clone_url: Option<String>,
    },
    TeamGranted {
        team: String,
        repo: String,
    },
    FileAdded {
        repo: String,
        path: String,
    },
    HooksRemoved {
        repo: String,
        count: u32,
    },
    HookAdded {
        repo: String,
        target: HookTarget,
    },
    TeamPut {
        org: String,
        slug: String,
        created: bool,
        added: Vec<String>,
        removed: Vec<String>,
    },
    Copied {
        src: String,
        dst: String,
    },
    TeamsCopied {
        repo: String,
        teams: Vec<String>,
    },
}

impl Outcome {
    /// A one-line, secret-free account of what was done (CLI output, bot comments).
    pub fn summary(&self) -> String {
        match self {
            Outcome::RepoCreated { html_url, .. } => format!("created {html_url}"),
            Outcome::TeamGranted { team, repo } => format!("gave team {team} access to {repo}"),
            Outcome::FileAdded { repo, path } => format!("committed {path} to {repo}"),
            Outcome::HooksRemoved { repo, count } => {
                format!(
                    "removed {count} webhook{} from {repo}",
                    if *count == 1 { "" } else { "s" }
                )
            }
            Outcome::HookAdded { repo, target } => {
                format!("added the {} gitreload webhook to {repo}", target.label())
            }
            Outcome::TeamPut {
                org,
                slug,
                created,
                added,
                removed,
            } => {
                let verb = if *created { "created" } else { "updated" };
                let mut s = format!("{verb} team {org}/{slug}");
                if !added.is_empty() {
                    s.push_str(&format!(", added {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    s.push_str(&format!(", removed {}", removed.join(", ")));
                }
                s
            }
            Outcome::Copied { src, dst } => format!("copied {src} into {dst} without history"),
            Outcome::TeamsCopied { repo, teams } => {
                if teams.is_empty() {
                    format!("no course team to carry over to {repo}")
                } else {
                    format!("gave {} push access to {repo}", teams.join(", "))
                }
            }
        }
    }
}

/// The step journal of one action: outcomes of the finished steps in order,
/// and which step was in flight when the journal was last saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub done: Vec<Outcome>,
    /// Index of a step that started but whose end was not recorded: its side
    /// effect may or may not exist and must be checked before redoing it.
    pub in_flight: Option<usize>,
}

/// What an action ended with, for the CLI's one line and the bot's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    pub outcomes: Vec<Outcome>,
}

impl ActionResult {
    /// The html_url of the repo the action created (orcoursetrion printed it).
    pub fn created_repo_url(&self) -> Option<&str> {
        self.outcomes.iter().rev().find_map(|o| match o {
            Outcome::RepoCreated { html_url, .. } => Some(html_url.as_str()),
            _ => None,
        })
    }

    pub fn hooks_removed(&self) -> Option<u32> {
        let mut total = None;
        for o in &self.outcomes {
            if let Outcome::HooksRemoved { count, .. } = o {
                total = Some(total.unwrap_or(0) + count);
            }
        }
        total
    }
}
