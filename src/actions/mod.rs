//! orcoursetrion's actions as plans of idempotent steps (see docs/ARCHITECTURE.md).
//!
//! An action first becomes a [`Plan`] (pure: no GitHub call), then
//! [`execute`] runs the steps in order, journaling each one so a retried or
//! resumed job skips what is done and reconciles the one step that was in
//! flight instead of repeating it. A dry run prints the plan and stops.

mod catalog;
mod check;
mod exec;
mod git;
mod import;
mod plan;
mod resolve;

pub use catalog::catalog_changes;
pub use check::{
    adoption_candidates, config_checks, preflight, verdict, Check, CheckOutcome, Verdict,
};
pub use exec::{execute, JournalSink, NoJournal, SaveFuture, StepReport};
pub use git::GitError;
pub use import::scan as scan_catalog;
pub use plan::{plan, HookTarget, Plan, Step};
pub use resolve::{resolve_hook, resolve_rerun};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::CourseKind;
use crate::github::GitHubError;
use crate::naming::{Branch, Course, Login, NameError, OrgName, RepoFullName, TeamName, Term};

pub use crate::config::Settings;

/// `create_export_repo`: a Studio run's export repo, with the Studio deploy
/// team, `.gitignore` and `course.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct CreateExportRepo {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: Course,
    /// Term of the course (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: Term,
    /// Description of the repository
    #[arg(short = 'd', long)]
    pub description: Option<String>,
}

/// A run and the term it is rerun into: what every rerun names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct CourseRerun {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: Course,
    /// Term of the run being rerun (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: Term,
    /// The new term (e.g. 2019_Spring)
    #[arg(short = 'n', long = "new-term", alias = "new_term")]
    pub new_term: Term,
}

/// `rerun_studio`: the old run's hooks off, the new run's export repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct RerunStudio {
    #[command(flatten)]
    #[serde(flatten)]
    pub run: CourseRerun,
    /// Description of the new repository
    #[arg(short = 'd', long)]
    pub description: Option<String>,
}

/// A course run named by course and term: `release_studio`, `rerun_xml`,
/// `release_xml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct CourseRun {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: Course,
    /// Term of the course (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: Term,
}

/// `create_xml_repo`: an XML run's repo, with the XML deploy team, a course
/// team and the staging hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct CreateXmlRepo {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: Course,
    /// Term of the course (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: Term,
    /// Team to give push access (default: the repo name)
    #[arg(short = 'g', long)]
    pub team: Option<TeamName>,
    /// Usernames that replace the team's membership (none given: membership untouched)
    #[arg(short = 'm', long = "member", alias = "members", num_args = 0..)]
    pub members: Option<Vec<Login>>,
    /// Description of the repository
    #[arg(short = 'd', long)]
    pub description: Option<String>,
}

/// `put_team`: create or update a team; members given = exact membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct PutTeam {
    /// Organization of the team
    #[arg(short = 'o', long)]
    pub org: OrgName,
    /// Team name
    #[arg(short = 'g', long)]
    pub team: TeamName,
    /// Pull (read-only) access when the team is created; push otherwise
    #[arg(short = 'r', long = "read_only", alias = "read-only")]
    pub read_only: bool,
    /// Usernames that replace the team's membership (none given: membership untouched)
    #[arg(short = 'm', long = "member", alias = "members", num_args = 0..)]
    pub members: Option<Vec<Login>>,
}

/// `shallow_copy_repo`: one branch copied into another repo without history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct ShallowCopyRepo {
    /// Source repo as OWNER/NAME
    #[arg(short = 's', long)]
    pub src: RepoFullName,
    /// Destination repo as OWNER/NAME (must exist)
    #[arg(long)]
    pub dst: RepoFullName,
    /// Branch of the source to copy (default: its default branch)
    #[arg(short = 'b', long)]
    pub branch: Option<Branch>,
}

/// `add_hook`: one gitreload webhook on a course run, e.g. the staging hook
/// that a half-finished create left out. Idempotent: a hook with the same
/// URL is already the wanted state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct AddHook {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: Course,
    /// Term of the course (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: Term,
    /// Which gitreload: staging or production
    #[arg(long)]
    pub target: HookTarget,
    /// How the course is authored, which names its org: studio or xml
    #[arg(long)]
    pub kind: CourseKind,
}

/// The whole XML rerun that orcoursetrion promised "eventually": a new repo
/// with a history-free copy, the same course team(s) and the staging hook,
/// then the old run's hooks off. It names nothing beyond the [`CourseRerun`].
pub type RerunXmlCourse = CourseRerun;

/// One provisioning action with validated arguments: what the CLI's
/// subcommands are, what chat commands resolve to, and what a job journals.
/// Each variant's arguments are its own struct, so the CLI (clap derives its
/// flags from the struct), the chat parser and the planner share one shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Subcommand)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Create a Studio export repo with the studio deploy team, .gitignore and course.xml.
    #[command(name = "create_export_repo", visible_alias = "create-export-repo")]
    CreateExportRepo(CreateExportRepo),
    /// Remove the webhooks of a Studio run and create the repo of its new term.
    #[command(name = "rerun_studio", visible_alias = "rerun-studio")]
    RerunStudio(RerunStudio),
    /// Add the production gitreload webhook to a Studio run.
    #[command(name = "release_studio", visible_alias = "release-studio")]
    ReleaseStudio(CourseRun),
    /// Create an XML course repo with the xml deploy team, a course team and the staging webhook.
    #[command(name = "create_xml_repo", visible_alias = "create-xml-repo")]
    CreateXmlRepo(CreateXmlRepo),
    /// Remove every webhook of an XML run; prints how many.
    #[command(name = "rerun_xml", visible_alias = "rerun-xml")]
    RerunXml(CourseRun),
    /// Add the production gitreload webhook to an XML run.
    #[command(name = "release_xml", visible_alias = "release-xml")]
    ReleaseXml(CourseRun),
    /// Create or update a team; with -m, its membership becomes exactly those users.
    #[command(name = "put_team", visible_alias = "put-team")]
    PutTeam(PutTeam),
    /// Copy one branch of a repo into another repo without history (overwrites its main).
    #[command(name = "shallow_copy_repo", visible_alias = "shallow-copy-repo")]
    ShallowCopyRepo(ShallowCopyRepo),
    /// Rerun an XML course in full: new repo with a history-free copy, same teams, staging hook.
    #[command(name = "rerun_xml_course", visible_alias = "rerun-xml-course")]
    RerunXmlCourse(RerunXmlCourse),
    /// Add the staging or production gitreload webhook to a course run.
    #[command(name = "add_hook", visible_alias = "add-hook")]
    AddHook(AddHook),
}

impl Action {
    /// orcoursetrion's name of the action (the CLI subcommand).
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateExportRepo(_) => "create_export_repo",
            Action::RerunStudio(_) => "rerun_studio",
            Action::ReleaseStudio(_) => "release_studio",
            Action::CreateXmlRepo(_) => "create_xml_repo",
            Action::RerunXml(_) => "rerun_xml",
            Action::ReleaseXml(_) => "release_xml",
            Action::PutTeam(_) => "put_team",
            Action::ShallowCopyRepo(_) => "shallow_copy_repo",
            Action::RerunXmlCourse(_) => "rerun",
            Action::AddHook(_) => "add_hook",
        }
    }
}

/// What an action does to course runs, read by the checks before changes and
/// by the catalog: a new action states it here, next to its arguments.
#[derive(Debug, Clone, Copy)]
pub struct RunEffect<'a> {
    pub kind: CourseKind,
    pub course: &'a Course,
    /// The run it starts from (it must exist).
    pub from: Option<&'a Term>,
    /// The run it creates (its repo must not exist yet).
    pub to: Option<&'a Term>,
    /// The hook it adds to `from` (production: a release).
    pub hook: Option<HookTarget>,
}

impl RunEffect<'_> {
    /// It releases `from` to production.
    pub fn releases(&self) -> bool {
        self.hook == Some(HookTarget::Production)
    }

    /// A new XML run gets the staging hook.
    pub fn needs_staging_hook(&self) -> bool {
        self.kind == CourseKind::Xml && self.to.is_some()
    }
}

impl Action {
    /// The runs this action touches; `None` for actions on teams and copies.
    pub fn effect(&self) -> Option<RunEffect<'_>> {
        use CourseKind::{Studio, Xml};
        let run = |kind, course, from, to, hook| {
            Some(RunEffect {
                kind,
                course,
                from,
                to,
                hook,
            })
        };
        let release = Some(HookTarget::Production);
        match self {
            Action::CreateExportRepo(a) => run(Studio, &a.course, None, Some(&a.term), None),
            Action::RerunStudio(RerunStudio { run: a, .. }) => {
                run(Studio, &a.course, Some(&a.term), Some(&a.new_term), None)
            }
            Action::ReleaseStudio(a) => run(Studio, &a.course, Some(&a.term), None, release),
            Action::CreateXmlRepo(a) => run(Xml, &a.course, None, Some(&a.term), None),
            Action::RerunXml(a) => run(Xml, &a.course, Some(&a.term), None, None),
            Action::ReleaseXml(a) => run(Xml, &a.course, Some(&a.term), None, release),
            Action::RerunXmlCourse(a) => {
                run(Xml, &a.course, Some(&a.term), Some(&a.new_term), None)
            }
            Action::AddHook(a) => run(a.kind, &a.course, Some(&a.term), None, Some(a.target)),
            Action::PutTeam(_) | Action::ShallowCopyRepo(_) => None,
        }
    }

    /// The logins whose membership the action sets.
    pub fn members(&self) -> Option<&[Login]> {
        match self {
            Action::CreateXmlRepo(a) => a.members.as_deref(),
            Action::PutTeam(a) => a.members.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Error)]
pub enum ActionError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// A name derived for GitHub breaks GitHub's rules (e.g. too long).
    #[error(transparent)]
    Name(#[from] NameError),
    /// A setting the action needs is missing (e.g. no staging hook URL).
    #[error("{0}")]
    NotConfigured(String),
    /// None of a course run's possible repo names exists.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Git(#[from] GitError),
    /// The journal could not be saved: stop before doing more, the job resumes later.
    #[error("could not save progress: {0}")]
    Journal(#[from] JournalError),
}

impl ActionError {
    /// The person who asked can fix it (a run that is not there, a name
    /// too long): a mistake to answer, not a failure of the bot.
    pub fn is_user_error(&self) -> bool {
        matches!(self, ActionError::NotFound(_) | ActionError::Name(_))
    }

    /// Worth retrying the job later (GitHub unavailable or rate limited).
    pub fn is_transient(&self) -> bool {
        match self {
            ActionError::GitHub(e) => e.is_transient(),
            ActionError::Journal(_) => true,
            _ => false,
        }
    }
}

/// The step journal could not be saved. The action stops before its next
/// side effect; the job resumes from the last saved journal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct JournalError(pub String);

/// What one step left behind; the journal holds these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    RepoCreated {
        full_name: String,
        html_url: String,
        clone_url: Option<String>,
        /// Found in place: made by an earlier run of the same command.
        #[serde(default)]
        in_place: bool,
    },
    TeamGranted {
        team: String,
        repo: String,
    },
    FileAdded {
        repo: String,
        path: String,
        #[serde(default)]
        in_place: bool,
    },
    HooksRemoved {
        repo: String,
        count: u32,
    },
    HookAdded {
        repo: String,
        target: HookTarget,
        #[serde(default)]
        in_place: bool,
    },
    TeamPut {
        org: String,
        slug: String,
        /// The team's name, which people know it by (the slug is for URLs).
        #[serde(default)]
        name: String,
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
            Outcome::RepoCreated {
                html_url,
                in_place: true,
                ..
            } => format!("found {html_url} in place, made earlier by this bot"),
            Outcome::RepoCreated { html_url, .. } => format!("created {html_url}"),
            Outcome::TeamGranted { team, repo } => format!("gave team \"{team}\" access to {repo}"),
            Outcome::FileAdded {
                repo,
                path,
                in_place,
            } => {
                if *in_place {
                    format!("{repo} has {path} already")
                } else {
                    format!("committed {path} to {repo}")
                }
            }
            Outcome::HooksRemoved { repo, count } => {
                format!(
                    "removed {count} webhook{} from {repo}",
                    if *count == 1 { "" } else { "s" }
                )
            }
            Outcome::HookAdded {
                repo,
                target,
                in_place,
            } => {
                if *in_place {
                    format!("{repo} has the {target} gitreload webhook already")
                } else {
                    format!("added the {target} gitreload webhook to {repo}")
                }
            }
            Outcome::TeamPut {
                org,
                slug,
                name,
                created,
                added,
                removed,
            } => {
                let verb = if *created { "created" } else { "updated" };
                let shown = if name.is_empty() { slug } else { name };
                let mut s = format!("{verb} team \"{shown}\" in {org}");
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
