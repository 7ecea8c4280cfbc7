//! The comment driver: one job per comment that holds commands (ingress
//! decides which comments qualify, once). For each command: check who asks,
//! resolve it to an action, run the action with its step journal, and keep
//! one status comment per command up to date. 👀 on receipt, 🚀 or 😕 at the end.
//!
//! Everything said on GitHub is journaled like the action steps, so a job
//! that is retried or resumed after a crash edits the comment it already
//! posted instead of posting a second one.

use serde_json::Value;

use super::edits;
use super::journal::{CommandJournal, CommandResult, JobJournal, JobJournalStore, JournalFailure};
use super::replies;
use super::request::{set_label, RequestLabel};
use super::{Bot, CommentJob, JobVerdict};
use crate::actions::{JournalError, Outcome, Plan};
use crate::command;
use crate::github::types::{Reaction, ReactionItem};
use crate::github::GitHub;
use crate::store::{FormState, RequestState};

pub(super) type Failure = JournalFailure;

/// One comment job being driven: what it talks to, and its journal.
pub(super) struct Run<'a> {
    pub(super) bot: &'a Bot,
    pub(super) gh: &'a GitHub,
    pub(super) job: &'a CommentJob,
    pub(super) job_id: i64,
    pub(super) store: &'a mut dyn JobJournalStore,
    pub(super) journal: JobJournal,
    /// The job's last attempt: GitHub's failures are final now, and the
    /// reply says what was done and how to finish.
    pub(super) final_attempt: bool,
}

impl Run<'_> {
    pub(super) async fn save(&mut self) -> Result<(), Failure> {
        let v = serde_json::to_value(&self.journal)
            .map_err(|e| JournalError(format!("journal does not serialise: {e}")))?;
        Ok(self.store.save(&v).await?)
    }

    pub(super) fn owner(&self) -> &str {
        self.job.repo.owner().as_str()
    }

    /// Create the command's status comment, or edit it if it exists. A create
    /// whose answer was lost is found again by its hidden marker.
    pub(super) async fn put_status(&mut self, index: usize, text: &str) -> Result<(), Failure> {
        let marker = replies::marker(self.job_id, index);
        let body = replies::bounded(&crate::secret::redact(&format!("{marker}\n{text}")));
        let (owner, name) = (self.owner().to_string(), self.job.repo.name().to_string());
        if self.journal.commands[index].status_comment.is_none()
            && self.journal.commands[index].status_pending
        {
            let found = super::find_ours(self.gh, &self.job.repo, self.job.issue, &marker).await?;
            if let Some(c) = found {
                self.journal.commands[index].status_comment = Some(c.id);
            }
        }
        if let Some(id) = self.journal.commands[index].status_comment {
            self.gh.update_comment(&owner, &name, id, &body).await?;
            return Ok(());
        }
        self.journal.commands[index].status_pending = true;
        self.save().await?;
        let c = self
            .gh
            .create_comment(&owner, &name, self.job.issue, &body)
            .await?;
        self.journal.commands[index].status_comment = Some(c.id);
        self.journal.commands[index].status_pending = false;
        self.save().await
    }

    /// React to the comment, or to the issue for a form's request.
    pub(super) async fn react(&self, content: Reaction) -> Result<ReactionItem, Failure> {
        let (owner, repo) = (self.owner(), self.job.repo.name());
        Ok(if self.job.form {
            self.gh
                .add_issue_reaction(owner, repo, self.job.issue, content)
                .await?
        } else {
            self.gh
                .add_comment_reaction(owner, repo, self.job.comment_id, content)
                .await?
        })
    }

    /// GitHub's web address, as the comment's own address shows it (the
    /// configured one when the webhook did not say).
    pub(super) fn web(&self) -> &str {
        self.job
            .comment_url
            .as_deref()
            .and_then(|u| {
                let rest = u.find("://").map(|i| i + 3)?;
                let end = u[rest..].find('/').map_or(u.len(), |i| rest + i);
                Some(&u[..end])
            })
            .unwrap_or(&self.bot.web_url)
    }

    /// The status view of command `index` (who asked, when, for how long).
    pub(super) fn status<'s>(
        &'s self,
        heading: &'s str,
        plan: &'s Plan,
        done: &'s [Outcome],
        index: usize,
    ) -> replies::Status<'s> {
        let started = self.journal.commands[index].started_at;
        let took = started.and_then(|t| (chrono::Utc::now() - t).to_std().ok());
        replies::Status {
            heading,
            asked: replies::Asked {
                author: &self.job.author,
                at: self.job.asked_at,
                took,
                approved_by: self.job.approved_by.as_deref(),
            },
            web: self.web(),
            plan,
            done,
        }
    }

    /// Write permission on the requests repo, or membership of the operators team.
    pub(super) async fn authorized(&mut self) -> Result<bool, Failure> {
        if let Some(a) = self.journal.authorized {
            return Ok(a);
        }
        let role = self
            .gh
            .collaborator_permission(self.owner(), self.job.repo.name(), &self.job.author)
            .await?;
        let mut ok = role.can_write();
        if !ok {
            if let Some(team) = &self.bot.operators_team {
                ok = self
                    .gh
                    .is_team_member(&team.org, &team.slug, &self.job.author)
                    .await?;
            }
        }
        self.journal.authorized = Some(ok);
        self.save().await?;
        Ok(ok)
    }
}

/// Run one comment job from its payload and journal.
pub async fn run_comment_job(
    bot: &Bot,
    gh: &GitHub,
    job_id: i64,
    job: &CommentJob,
    journal: Option<&Value>,
    store: &mut dyn JobJournalStore,
    final_attempt: bool,
) -> JobVerdict {
    let journal = journal
        .and_then(|v| serde_json::from_value::<JobJournal>(v.clone()).ok())
        .unwrap_or_default();
    let mut invocations = match &job.previous_body {
        Some(prev) => command::new_invocations(prev, &job.body),
        None => command::parse_comment(&job.body),
    };
    // An edit's commands that the new body no longer holds.
    let removed = match &job.previous_body {
        Some(prev) => command::new_invocations(&job.body, prev),
        None => Vec::new(),
    };
    // Past the limit, one more place answers for all the rest.
    let total = invocations.len();
    invocations.truncate(bot.max_commands + 1);
    if invocations.is_empty() && removed.is_empty() {
        return JobVerdict::Done(serde_json::json!({ "commands": 0 }));
    }
    let mut run = Run {
        bot,
        gh,
        job,
        job_id,
        store,
        journal,
        final_attempt,
    };
    let edit = edits::Edit {
        added: &invocations,
        removed: &removed,
    };
    match drive(&mut run, edit, total, final_attempt).await {
        Ok(v) => v,
        Err(Failure::Journal(e)) => JobVerdict::Retry(format!("journal: {e}")),
        Err(Failure::Final(e)) => JobVerdict::Unanswerable(e),
        Err(Failure::Transient(e)) if final_attempt => JobVerdict::Failed(e),
        Err(Failure::Transient(e)) => JobVerdict::Retry(e),
    }
}

async fn drive(
    run: &mut Run<'_>,
    edit: edits::Edit<'_>,
    total: usize,
    final_attempt: bool,
) -> Result<JobVerdict, Failure> {
    let invocations = edit.added;
    if !edit.removed.is_empty() && !run.journal.superseded_noted {
        edits::note_superseded(run.gh, &*run.store, run.job, run.job_id, edit).await?;
        run.journal.superseded_noted = true;
        run.save().await?;
    }
    if invocations.is_empty() {
        return Ok(JobVerdict::Done(
            serde_json::json!({ "commands": 0, "superseded": edit.removed.len() }),
        ));
    }
    if run.journal.final_reaction.take().is_some() {
        // A finished job run again (its delivery was redelivered after it
        // failed): retry the commands that did not succeed; finished steps
        // stay finished, their journals are kept.
        for c in &mut run.journal.commands {
            if c.result.as_ref().is_some_and(|r| !r.ok) {
                c.result = None;
            }
        }
    }
    if run.journal.commands.len() < invocations.len() {
        run.journal
            .commands
            .resize_with(invocations.len(), CommandJournal::default);
    }
    if run.job.form && !form_still_stands(run).await? {
        // The form was edited (or cancelled) after this run was queued: the
        // validation comment says what happens now.
        return Ok(JobVerdict::Done(
            serde_json::json!({ "commands": 0, "stale": true }),
        ));
    }
    if !run.journal.eyes {
        run.react(Reaction::Eyes).await?;
        run.journal.eyes = true;
        run.save().await?;
    }
    // A user who may not write gets one answer per issue per hour: a comment
    // full of commands, or many comments, cannot make the bot post at will.
    let mut answered = run
        .journal
        .commands
        .iter()
        .any(|c| c.status_comment.is_some())
        || run.store.answered_within_the_hour().await?;
    for (index, inv) in invocations.iter().enumerate() {
        if run.journal.commands[index].result.is_some() {
            continue;
        }
        let vouched = run.job.approved_by.is_some();
        if answered && !vouched && !run.authorized().await? && !run.approves(inv).await? {
            run.journal.commands[index].result = Some(CommandResult::not_run(
                RequestState::Throttled,
                String::new(),
            ));
            run.bot
                .metrics
                .observe_command(RequestState::Throttled.as_str());
            continue;
        }
        let result = if index >= run.bot.max_commands {
            // One reply for the commands past the limit.
            CommandResult::not_run(
                RequestState::Refused,
                replies::too_many_commands(run.bot.max_commands, total),
            )
        } else {
            match run.run_command(index, inv).await {
                Ok(r) => r,
                Err(Failure::Transient(e)) if final_attempt => {
                    CommandResult::failed(replies::retries_exhausted(&inv.text, &e))
                }
                // GitHub refused for good: say so now rather than retry.
                Err(Failure::Final(e)) => CommandResult::failed(replies::github_refused(&e)),
                Err(f) => return Err(f),
            }
        };
        run.put_status(index, &result.text).await?;
        answered = true;
        // A `/retry` is recorded as the command it ran, whose latest outcome
        // it now is.
        let command = match (&run.journal.commands[index].retried, &inv.result) {
            (Some(t), _) => t.clone(),
            (None, Ok(c)) => c.to_string(),
            (None, Err(_)) => inv.text.clone(),
        };
        let status_comment = run.journal.commands[index].status_comment;
        if let Err(e) = run
            .store
            .record_command(index, &command, result.state, status_comment)
            .await
        {
            tracing::warn!(error = %e, "could not record the request");
        }
        run.bot.metrics.observe_command(result.state.as_str());
        run.journal.commands[index].result = Some(result);
        run.save().await?;
    }
    // Not answered yet (throttled), or waiting for approval: no outcome to show.
    let quiet = run.journal.commands.iter().all(|c| {
        c.result
            .as_ref()
            .is_some_and(|r| matches!(r.state, RequestState::Throttled | RequestState::Pending))
    });
    if quiet {
        // Seen (👀), and nothing more.
        return Ok(JobVerdict::Done(
            serde_json::json!({ "commands": total, "quiet": true }),
        ));
    }
    // The reaction speaks for the commands that were answered.
    let all_ok = run.journal.commands.iter().all(|c| {
        c.result
            .as_ref()
            .is_some_and(|r| r.ok || r.state == RequestState::Throttled)
    });
    let reaction = if all_ok {
        Reaction::Rocket
    } else {
        Reaction::Confused
    };
    if run.journal.final_reaction.is_none() {
        let ours = run.react(reaction).await?;
        if run.job.previous_body.is_some() {
            // After an edit the reactions show the latest outcome only.
            edits::clear_stale_reactions(run.gh, run.job, &ours).await?;
        }
        if run.job.form {
            // The outcome is the request's label; the other outcome's goes.
            let (want, other) = if all_ok {
                (RequestLabel::Done, RequestLabel::Failed)
            } else {
                (RequestLabel::Failed, RequestLabel::Done)
            };
            let (owner, repo) = (run.owner().to_string(), run.job.repo.name().to_string());
            let mut current = vec![other.as_str().to_string()];
            if run.job.approved_by.is_some() {
                current.push(RequestLabel::Approved.as_str().to_string());
            }
            // The checklist first: the label says the request is through.
            if all_ok {
                run.post_checklist().await?;
            }
            run.store.record_form_outcome(all_ok).await?;
            set_label(run.gh, &owner, &repo, run.job.issue, &current, Some(want)).await?;
        }
        run.journal.final_reaction = Some(reaction);
        run.save().await?;
    }
    // User mistakes (invalid, refused) are answered, not failures of the job.
    let failed = run
        .journal
        .commands
        .iter()
        .filter(|c| {
            c.result
                .as_ref()
                .is_some_and(|r| r.state == RequestState::Failed)
        })
        .count();
    let summary = serde_json::json!({
        "commands": total,
        "ok": all_ok,
    });
    Ok(if failed == 0 {
        JobVerdict::Done(summary)
    } else {
        JobVerdict::Failed(format!("{failed} command(s) failed"))
    })
}

/// Whether a form's queued command is still what the form asks, as queued
/// (approved, or needing no approval), and not cancelled or re-checked since.
async fn form_still_stands(run: &Run<'_>) -> Result<bool, Failure> {
    if run.journal.eyes {
        return Ok(true); // it started: finish it
    }
    let Some(f) = run.store.form_request().await? else {
        return Ok(true);
    };
    let state_ok = match &run.job.approved_by {
        Some(by) => f.state == FormState::Approved && f.approved_by.as_deref() == Some(by),
        None => f.state == FormState::Queued,
    };
    Ok(state_ok && f.command.as_deref() == Some(run.job.body.as_str()))
}

impl Run<'_> {
    /// `/approve` or `/cancel` from a member of the approving or operators
    /// team: never throttled, whatever their permission on the repo.
    async fn approves(&self, inv: &command::Invocation) -> Result<bool, Failure> {
        if !matches!(
            inv.result,
            Ok(command::Command::Approve | command::Command::Cancel)
        ) {
            return Ok(false);
        }
        let me = &self.job.author;
        Ok(
            super::approval::is_member(self.gh, super::approval::approvers(self.bot), me).await?
                || super::approval::is_member(self.gh, self.bot.operators_team.as_ref(), me)
                    .await?,
        )
    }
}
