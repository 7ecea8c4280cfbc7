//! The LMS checklist: once a form request's command has succeeded, the bot
//! posts the steps that need a person as a task list. People tick its boxes
//! (an `issue_comment.edited` on the bot's comment, sent by a person); when
//! every box is ticked the bot says so, sets the run's catalog state and
//! closes the issue.

use serde::{Deserialize, Serialize};

use super::comment::{Failure, Run};
use super::replies::{self, CHECKLIST_DONE_MARKER, CHECKLIST_MARKER};
use super::{Bot, JobVerdict};
use crate::actions::ActionError;
use crate::checklist::{ticks, Subject, Workflow};
use crate::command::{self, Command};
use crate::github::GitHub;
use crate::naming::{Course, RepoFullName, Term};
use crate::store::Store;

/// The payload of a [`super::JobKind::Checklist`] job: a person edited the
/// bot's checklist comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ChecklistJob {
    pub repo: RepoFullName,
    pub issue: u64,
    pub comment_id: u64,
    pub body: String,
    /// Who ticked.
    pub sender: String,
    pub installation_id: u64,
}

/// The workflow, course and term of a request's command.
fn subject_of(cmd: &Command) -> Option<(Workflow, Course, Term)> {
    match cmd {
        Command::Rerun(r) => Some((Workflow::Rerun, r.course.clone(), r.new_term.clone())),
        Command::Release(r) => Some((Workflow::Release, r.course.clone(), r.term.clone())),
        Command::Run(a) => {
            let e = a.effect()?;
            match (e.from, e.to) {
                (None, Some(to)) => Some((Workflow::NewCourse, e.course.clone(), to.clone())),
                (Some(_), Some(to)) => Some((Workflow::Rerun, e.course.clone(), to.clone())),
                (Some(from), None) if e.releases() => {
                    Some((Workflow::Release, e.course.clone(), from.clone()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

impl Run<'_> {
    /// Posts the checklist of this form request's command, once.
    pub(super) async fn post_checklist(&mut self) -> Result<(), Failure> {
        if self.journal.checklist.is_some() {
            return Ok(());
        }
        let Some(Ok(cmd)) = command::parse_comment(&self.job.body)
            .into_iter()
            .next()
            .map(|i| i.result)
        else {
            return Ok(());
        };
        let Some((workflow, course, term)) = subject_of(&cmd) else {
            return Ok(());
        };
        let Some(steps) = self.bot.checklists.get(workflow) else {
            return Ok(());
        };
        let key = self.bot.settings.names.course_key(&course, &term);
        let runs = self.store.catalog(Some(course.as_str())).await?;
        let repo = runs
            .iter()
            .find(|r| r.course_key == key)
            .map(|r| r.repo.clone())
            .unwrap_or_default();
        let subject = Subject {
            course_key: &key,
            course: course.as_str(),
            term: term.as_str(),
            repo: &repo,
        };
        let text = replies::lms_checklist(workflow, &subject, &steps.filled(&subject));
        let (owner, name) = (self.owner().to_string(), self.job.repo.name().to_string());
        // A post whose answer was lost is found again by its marker.
        let found =
            super::find_ours(self.gh, &self.job.repo, self.job.issue, CHECKLIST_MARKER).await?;
        let id = match found {
            Some(c) => c.id,
            None => {
                self.gh
                    .create_comment(&owner, &name, self.job.issue, &text)
                    .await?
                    .id
            }
        };
        self.journal.checklist = Some(id);
        self.save().await
    }
}

/// `key=… workflow=…` of a checklist comment's marker line.
fn marker_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let line = body.lines().next()?.strip_prefix(CHECKLIST_MARKER)?;
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .map(|v| v.trim_end_matches("-->"))
        .filter(|v| !v.is_empty())
}

/// Runs one checklist job; the worker turns an error into its verdict.
pub async fn run(
    bot: &Bot,
    gh: &GitHub,
    store: &Store,
    job: &ChecklistJob,
) -> Result<JobVerdict, ActionError> {
    let (ticked, total) = ticks(&job.body);
    if total == 0 || ticked < total {
        return Ok(JobVerdict::Done(
            serde_json::json!({ "ticked": ticked, "total": total }),
        ));
    }
    let (owner, repo) = (job.repo.owner().as_str(), job.repo.name());
    let key = marker_field(&job.body, "key")
        .unwrap_or_default()
        .to_string();
    let workflow: Option<Workflow> =
        marker_field(&job.body, "workflow").and_then(|w| w.parse().ok());
    let done_marker = format!("{CHECKLIST_DONE_MARKER} comment={}", job.comment_id);
    let said = super::find_ours(gh, &job.repo, job.issue, &done_marker)
        .await?
        .is_some();
    if said {
        return Ok(JobVerdict::Done(
            serde_json::json!({ "complete": true, "again": true }),
        ));
    }
    // The run's state, when the workflow names one.
    let when_done = workflow
        .and_then(|w| bot.checklists.get(w))
        .and_then(|s| s.when_done);
    let mut updated = None;
    if let Some(state) = when_done {
        if let Ok(Some(mut run)) = store.catalog_run(&key).await {
            run.state = state;
            run.title = None;
            store
                .upsert_run(&run)
                .await
                .map_err(|e| ActionError::Journal(crate::actions::JournalError(e.to_string())))?;
            updated = Some(state);
        }
    }
    let text = replies::checklist_done(&done_marker, &job.sender, &key, updated);
    gh.create_comment(owner, repo, job.issue, &text).await?;
    gh.close_issue(owner, repo, job.issue).await?;
    Ok(JobVerdict::Done(serde_json::json!({ "complete": true })))
}
