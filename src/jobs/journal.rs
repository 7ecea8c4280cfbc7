//! A comment job's journal: what was said on GitHub and how far each
//! command's action got. Saved after every change, so a retried or resumed
//! job edits the comments it posted and skips the steps it finished.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::{self, JournalError, SaveFuture};
use crate::catalog::CatalogRun;
use crate::github::types::Reaction;
use crate::github::GitHubError;
use crate::store::{RequestRecord, RequestState};

/// A read of the records kept beside the journal.
pub type ReadFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, JournalError>> + Send + 'a>>;

/// Durable storage of the job's journal (the job store's row), and the
/// records kept beside it.
pub trait JobJournalStore: Send + Sync {
    fn save<'a>(&'a mut self, journal: &'a Value) -> SaveFuture<'a>;
    /// What became of command `index`, and the comment that answered it.
    fn record_command<'a>(
        &'a mut self,
        index: usize,
        command: &'a str,
        state: RequestState,
        status_comment: Option<u64>,
    ) -> SaveFuture<'a>;
    /// Every command asked on this job's issue so far, oldest first.
    fn issue_requests(&self) -> ReadFuture<'_, Vec<RequestRecord>>;
    /// This App created `full_name` for the run of `course_key`.
    fn record_made_repo<'a>(
        &'a mut self,
        full_name: &'a str,
        course_key: &'a str,
    ) -> SaveFuture<'a>;
    /// The course key of the run this App created `full_name` for, if it did.
    fn made_repo<'a>(&'a self, full_name: &'a str) -> ReadFuture<'a, Option<String>>;
    /// Course runs created, released or retired by a finished action.
    fn record_runs<'a>(&'a mut self, runs: &'a [CatalogRun]) -> SaveFuture<'a>;
    /// Whether this job's author got an answer on its issue within the last
    /// hour from another job.
    fn answered_within_the_hour(&self) -> ReadFuture<'_, bool>;
    /// A form request's command ended: the request is done, or failed.
    fn record_form_outcome(&mut self, ok: bool) -> SaveFuture<'_>;
    /// This issue's course request made with the form, if any.
    fn form_request(&self) -> ReadFuture<'_, Option<crate::store::FormRequest>>;
    /// `/approve`: mark what waits as approved by `approver`, and queue it.
    fn approve<'a>(
        &'a mut self,
        approver: &'a str,
        waiting: &'a super::approval::Waiting,
    ) -> SaveFuture<'a>;
    /// `/cancel`: mark what waits as cancelled.
    fn cancel<'a>(&'a mut self, waiting: &'a super::approval::Waiting) -> SaveFuture<'a>;
    /// The catalog's runs of a course code, or the latest runs.
    fn catalog<'a>(&'a self, course: Option<&'a str>) -> ReadFuture<'a, Vec<CatalogRun>>;
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct JobJournal {
    pub eyes: bool,
    pub authorized: Option<bool>,
    pub commands: Vec<CommandJournal>,
    pub final_reaction: Option<Reaction>,
    /// An edit's job has told the replies of the commands it removed.
    #[serde(default)]
    pub superseded_noted: bool,
    /// The checklist comment posted after a form request's command succeeded.
    #[serde(default)]
    pub checklist: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CommandJournal {
    pub status_comment: Option<u64>,
    /// A status comment was being created when the journal was last saved.
    pub status_pending: bool,
    pub resolved: Option<actions::Action>,
    pub steps: actions::Journal,
    pub result: Option<CommandResult>,
    /// The checks found a repo this App made for the run: finish it, looking
    /// before every write.
    #[serde(default)]
    pub adopt: bool,
    /// For `/retry`: the command line it runs again.
    #[serde(default)]
    pub retried: Option<String>,
    /// When the command's first step started (for "took …").
    #[serde(default)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CommandResult {
    pub ok: bool,
    pub text: String,
    pub state: RequestState,
}

impl CommandResult {
    pub fn done(text: String) -> Self {
        CommandResult {
            ok: true,
            text,
            state: RequestState::Done,
        }
    }

    pub fn failed(text: String) -> Self {
        CommandResult {
            ok: false,
            text,
            state: RequestState::Failed,
        }
    }

    pub fn not_run(state: RequestState, text: String) -> Self {
        CommandResult {
            ok: false,
            text,
            state,
        }
    }
}

/// Why a job stops before its end.
pub(super) enum JournalFailure {
    /// GitHub was unavailable: retry the job later.
    Transient(String),
    /// GitHub refused for good (a 404 or 422): asking again changes nothing.
    Final(String),
    /// The journal could not be saved: stop now, the job resumes later.
    Journal(JournalError),
}

impl std::fmt::Display for JournalFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalFailure::Transient(e) | JournalFailure::Final(e) => f.write_str(e),
            JournalFailure::Journal(e) => write!(f, "journal: {e}"),
        }
    }
}

impl From<GitHubError> for JournalFailure {
    /// Classified once, by [`GitHubError::is_transient`].
    fn from(e: GitHubError) -> Self {
        if e.is_transient() {
            JournalFailure::Transient(e.to_string())
        } else {
            JournalFailure::Final(e.to_string())
        }
    }
}

impl From<JournalError> for JournalFailure {
    fn from(e: JournalError) -> Self {
        JournalFailure::Journal(e)
    }
}
