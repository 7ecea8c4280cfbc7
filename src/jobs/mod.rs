//! The work behind the webhook: workers claim stored jobs and drive them.
//!
//! A job's payload is typed ([`CommentJob`]) and shared with ingress, which
//! builds it; the worker hands it to its driver by [`JobKind`]. What the bot
//! says is written in [`replies`] only.

mod action_run;
mod approval;
mod checklist;
mod comment;
mod edits;
mod journal;
mod replies;
mod request;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::Settings;
use crate::config::TeamRef;
use crate::metrics::Metrics;
use crate::naming::RepoFullName;
pub use crate::store::JobKind;
pub use checklist::ChecklistJob;
pub use replies::CHECKLIST_MARKER;
pub use worker::{Worker, WorkerOptions};

/// What the comment driver needs besides GitHub.
#[derive(Debug, Clone)]
pub struct Bot {
    pub settings: Settings,
    pub operators_team: Option<TeamRef>,
    /// Edit the status comment after a step only if the last edit is at least
    /// this old; the final edit always happens. Keeps quick actions at two
    /// comment writes while long ones (a git copy) still show progress.
    pub progress_interval: Duration,
    /// `ORC_MAX_COMMANDS`: commands run from one comment; the rest get one reply.
    pub max_commands: usize,
    /// `ORC_REQUIRE_APPROVAL`: form requests, and mutating commands from
    /// outside the operators team, wait for an approver's `/approve`.
    pub require_approval: bool,
    /// `ORC_APPROVERS_TEAM`: who may approve when approval is required.
    pub approvers_team: Option<TeamRef>,
    /// The steps a person does once a request has run.
    pub checklists: crate::checklist::Checklists,
    pub metrics: Arc<Metrics>,
    /// GitHub's web address, that the links in replies point at.
    pub web_url: String,
}

/// The payload of a [`JobKind::Comment`] job: a comment in a requests repo
/// that holds at least one command (for an edit: one it did not hold before).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CommentJob {
    pub repo: RepoFullName,
    pub issue: u64,
    pub comment_id: u64,
    #[serde(default)]
    pub comment_url: Option<String>,
    pub author: String,
    pub body: String,
    /// The body before an edit; only commands it did not hold run.
    #[serde(default)]
    pub previous_body: Option<String>,
    pub installation_id: u64,
    /// When the comment was written or last edited, as GitHub says.
    #[serde(default)]
    pub asked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The command came from the issue's course-request form, not from a
    /// comment: reactions go on the issue (`comment_id` is 0), and the
    /// outcome sets the request's label.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub form: bool,
    /// Who approved it: the command runs without asking for approval again
    /// (or for the author's permission, which the approver vouched for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// The payload of a [`JobKind::Request`] job: an issue opened or edited in a
/// requests repo whose body looks like an issue form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RequestJob {
    pub repo: RepoFullName,
    pub issue: u64,
    #[serde(default)]
    pub issue_url: Option<String>,
    pub author: String,
    pub body: String,
    /// The issue's labels when the event was sent.
    #[serde(default)]
    pub labels: Vec<String>,
    pub installation_id: u64,
}

/// The payload of a [`JobKind::Installation`] job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct InstallationJob {
    /// The account the installation served.
    pub account: String,
}

/// Which job a GitHub call is made for: set around each job's work, read by
/// the audit log, so every write it records says which job, which delivery
/// and which login asked.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub job_id: i64,
    pub delivery_id: String,
    pub actor: Option<String>,
}

tokio::task_local! {
    pub static JOB_CONTEXT: JobContext;
}

/// The context of the job this task is running, if any.
pub fn current_job() -> Option<JobContext> {
    JOB_CONTEXT.try_with(Clone::clone).ok()
}

/// The bot's comment on an issue that starts with one of our hidden
/// markers. Only a bot's counts: the App may edit anyone's comment, and a
/// person can paste a marker.
pub(crate) async fn find_ours(
    gh: &crate::github::GitHub,
    repo: &RepoFullName,
    issue: u64,
    marker: &str,
) -> Result<Option<crate::github::types::Comment>, crate::github::GitHubError> {
    Ok(gh
        .list_issue_comments(repo.owner().as_str(), repo.name(), issue)
        .await?
        .into_iter()
        .find(|c| {
            c.user.kind.as_deref() == Some("Bot")
                && c.body.as_deref().is_some_and(|b| b.starts_with(marker))
        }))
}

/// How a job ended, for the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum JobVerdict {
    Done(Value),
    /// GitHub was unavailable: run the job again later (its journal is saved).
    Retry(String),
    Failed(String),
    /// Nothing can be answered (the issue or comment is gone, or GitHub
    /// refuses our replies for good): failed at once, never retried.
    Unanswerable(String),
}

impl From<Result<JobVerdict, crate::actions::ActionError>> for JobVerdict {
    /// A job's own work ended in an error: GitHub's passing trouble and a
    /// journal that could not be saved are tried again later; anything else
    /// is the job's failure.
    fn from(r: Result<JobVerdict, crate::actions::ActionError>) -> JobVerdict {
        use crate::actions::ActionError;
        match r {
            Ok(v) => v,
            Err(ActionError::GitHub(e)) if e.is_transient() => JobVerdict::Retry(e.to_string()),
            Err(e @ ActionError::Journal(_)) => JobVerdict::Retry(e.to_string()),
            Err(e) => JobVerdict::Failed(e.to_string()),
        }
    }
}
