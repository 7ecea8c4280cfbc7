//! A comment job's journal: what was said on GitHub and how far each
//! command's action got. Saved after every change, so a retried or resumed
//! job edits the comments it posted and skips the steps it finished.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::{self, JournalError, SaveFuture};
use crate::catalog::CatalogRun;
use crate::github::types::Reaction;
use crate::github::GitHubError;
use crate::store::RequestState;

pub type AnsweredFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, JournalError>> + Send + 'a>>;

/// Durable storage of the job's journal (the job store's row), and the
/// records kept beside it.
pub trait JobJournalStore: Send + Sync {
    fn save<'a>(&'a mut self, journal: &'a Value) -> SaveFuture<'a>;
    /// What became of command `index`.
    fn record_command<'a>(
        &'a mut self,
        index: usize,
        command: &'a str,
        state: RequestState,
    ) -> SaveFuture<'a>;
    /// Course runs created, released or retired by a finished action.
    fn record_runs<'a>(&'a mut self, runs: &'a [CatalogRun]) -> SaveFuture<'a>;
    /// Whether this job's author got an answer on its issue within the last
    /// hour from another job.
    fn answered_within_the_hour(&self) -> AnsweredFuture<'_>;
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct JobJournal {
    pub eyes: bool,
    pub authorized: Option<bool>,
    pub commands: Vec<CommandJournal>,
    pub final_reaction: Option<Reaction>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CommandJournal {
    pub status_comment: Option<u64>,
    /// A status comment was being created when the journal was last saved.
    pub status_pending: bool,
    pub resolved: Option<actions::Action>,
    pub steps: actions::Journal,
    pub result: Option<CommandResult>,
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
