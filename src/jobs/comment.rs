//! The comment driver: one job per comment that holds commands (ingress
//! decides which comments qualify, once). For each command: check who asks,
//! resolve it to an action, run the action with its step journal, and keep
//! one status comment per command up to date. 👀 on receipt, 🚀 or 😕 at the end.
//!
//! Everything said on GitHub is journaled like the action steps, so a job
//! that is retried or resumed after a crash edits the comment it already
//! posted instead of posting a second one.

use std::time::Instant;

use serde_json::Value;

use super::journal::{CommandJournal, CommandResult, JobJournal, JobJournalStore, JournalFailure};
use super::replies;
use super::{Bot, CommentJob, JobVerdict};
use crate::actions::{
    self, catalog_changes, preflight, resolve_release, resolve_rerun, verdict, Action, ActionError,
    JournalError, JournalSink, Outcome, Plan, SaveFuture, StepReport,
};
use crate::command::{self, Command, Invocation};
use crate::github::types::Reaction;
use crate::github::GitHub;
use crate::store::RequestState;

type Failure = JournalFailure;

struct Run<'a> {
    bot: &'a Bot,
    gh: &'a GitHub,
    job: &'a CommentJob,
    job_id: i64,
    store: &'a mut dyn JobJournalStore,
    journal: JobJournal,
}

impl Run<'_> {
    async fn save(&mut self) -> Result<(), Failure> {
        let v = serde_json::to_value(&self.journal)
            .map_err(|e| JournalError(format!("journal does not serialise: {e}")))?;
        Ok(self.store.save(&v).await?)
    }

    fn owner(&self) -> &str {
        self.job.repo.owner().as_str()
    }

    /// Create the command's status comment, or edit it if it exists. A create
    /// whose answer was lost is found again by its hidden marker.
    async fn put_status(&mut self, index: usize, text: &str) -> Result<(), Failure> {
        let marker = replies::marker(self.job_id, index);
        let body = replies::bounded(&crate::secret::redact(&format!("{marker}\n{text}")));
        let (owner, name) = (self.owner().to_string(), self.job.repo.name().to_string());
        if self.journal.commands[index].status_comment.is_none()
            && self.journal.commands[index].status_pending
        {
            let found = self
                .gh
                .list_issue_comments(&owner, &name, self.job.issue)
                .await?
                .into_iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(&marker)));
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

    async fn react(&self, content: Reaction) -> Result<(), Failure> {
        self.gh
            .add_comment_reaction(
                self.owner(),
                self.job.repo.name(),
                self.job.comment_id,
                content,
            )
            .await?;
        Ok(())
    }

    /// Write permission on the requests repo, or membership of the operators team.
    async fn authorized(&mut self) -> Result<bool, Failure> {
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

    async fn run_command(
        &mut self,
        index: usize,
        inv: &Invocation,
    ) -> Result<CommandResult, Failure> {
        let cmd = match &inv.result {
            Err(e) => {
                return Ok(CommandResult::not_run(
                    RequestState::Invalid,
                    replies::invalid(&inv.text, e),
                ))
            }
            Ok(c) => c,
        };
        match cmd {
            Command::Help { topic } => Ok(CommandResult::done(replies::help(topic.as_deref()))),
            Command::Plan(inner) => {
                let s = &self.bot.settings;
                let planned = match self.resolve(inner).await {
                    Ok(action) => match actions::plan(&action, s) {
                        Ok(plan) => preflight(self.gh, s, &action).await.map(|c| (plan, c)),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                match planned {
                    Ok((plan, checks)) => {
                        Ok(CommandResult::done(replies::dry_run(inner, &plan, &checks)))
                    }
                    Err(e) => action_error(e, None),
                }
            }
            Command::Run(_) | Command::Rerun(_) | Command::Release(_) => {
                if !self.authorized().await? {
                    return Ok(CommandResult::not_run(
                        RequestState::Refused,
                        replies::refusal(
                            &self.job.author,
                            &self.job.repo,
                            self.bot.operators_team.as_ref(),
                            cmd,
                        ),
                    ));
                }
                self.run_action(index, cmd).await
            }
        }
    }

    /// A chat command as a provisioning action. `/rerun` and `/release` name
    /// only the course, so they look up its org and runs first (read-only).
    async fn resolve(&self, cmd: &Command) -> Result<Action, ActionError> {
        let s = &self.bot.settings;
        match cmd {
            Command::Run(action) => Ok(action.clone()),
            Command::Release(r) => resolve_release(self.gh, s, &r.course, &r.term).await,
            Command::Rerun(r) => {
                resolve_rerun(self.gh, s, &r.course, &r.new_term, r.from.as_ref()).await
            }
            Command::Help { .. } | Command::Plan(_) => Err(ActionError::NotFound(format!(
                "/{} is not a provisioning action",
                cmd.name()
            ))),
        }
    }

    async fn run_action(&mut self, index: usize, cmd: &Command) -> Result<CommandResult, Failure> {
        let action = match self.journal.commands[index].resolved.clone() {
            Some(a) => a,
            None => match self.resolve(cmd).await {
                Ok(a) => {
                    self.journal.commands[index].resolved = Some(a.clone());
                    self.save().await?;
                    a
                }
                Err(e) => return action_error(e, None),
            },
        };
        let plan = match actions::plan(&action, &self.bot.settings) {
            Ok(p) => p,
            Err(e) => return action_error(e, None),
        };
        let heading = replies::heading(cmd);
        let fresh = {
            let steps = &self.journal.commands[index].steps;
            steps.done.is_empty() && steps.in_flight.is_none()
        };
        if fresh {
            // Checks before changes: nothing is written unless all pass.
            let checks = match preflight(self.gh, &self.bot.settings, &action).await {
                Ok(c) => c,
                Err(e) => return action_error(e, None),
            };
            match verdict(&checks) {
                (false, _) => {
                    return Ok(CommandResult::not_run(
                        RequestState::Invalid,
                        replies::refused_by_checks(&heading, &checks),
                    ))
                }
                (true, true) => {
                    return Ok(CommandResult::done(replies::already_done(
                        &heading, &checks,
                    )))
                }
                (true, false) => {}
            }
        }
        if self.journal.commands[index].steps.done.is_empty() {
            self.put_status(index, &replies::running(&heading, &plan))
                .await?;
        }
        let mut steps = std::mem::take(&mut self.journal.commands[index].steps);
        let outcome = {
            let mut sink = ProgressSink {
                run: self,
                index,
                plan: &plan,
                heading: &heading,
                last_edit: Instant::now(),
            };
            let (gh, settings) = (sink.run.gh, &sink.run.bot.settings);
            actions::execute(gh, settings, &plan, &mut steps, &mut sink).await
        };
        let done = steps.done.clone();
        self.journal.commands[index].steps = steps;
        match outcome {
            Ok(result) => {
                let text = replies::done(&heading, &plan, &result.outcomes, result.hooks_removed());
                let runs = catalog_changes(&self.bot.settings, &action, &result.outcomes);
                if let Err(e) = self.store.record_runs(&runs).await {
                    tracing::warn!(error = %e, "could not update the course catalog");
                }
                Ok(CommandResult::done(text))
            }
            Err(ActionError::Journal(e)) => Err(Failure::Journal(e)),
            Err(e) => {
                let failed_at = done.len() + 1;
                if e.is_transient() {
                    return Err(Failure::Transient(format!("step {failed_at}: {e}")));
                }
                let mut r = action_error(e, Some((&plan, &done)))?;
                r.text = replies::failed_at(&heading, failed_at, &r.text);
                Ok(r)
            }
        }
    }
}

/// A final action error becomes the command's reply; a transient one retries
/// the job.
fn action_error(
    e: ActionError,
    progress: Option<(&Plan, &[Outcome])>,
) -> Result<CommandResult, Failure> {
    if e.is_transient() {
        return Err(Failure::Transient(e.to_string()));
    }
    Ok(CommandResult::failed(replies::action_error(&e, progress)))
}

/// Saves the job journal after every step and edits the status comment when
/// enough time has passed since the last edit.
struct ProgressSink<'r, 'a> {
    run: &'r mut Run<'a>,
    index: usize,
    plan: &'r Plan,
    heading: &'r str,
    last_edit: Instant,
}

impl JournalSink for ProgressSink<'_, '_> {
    fn save<'s>(
        &'s mut self,
        journal: &'s actions::Journal,
        report: StepReport<'s>,
    ) -> SaveFuture<'s> {
        Box::pin(async move {
            self.run.journal.commands[self.index].steps = journal.clone();
            let is_last = report.index + 1 == report.total;
            self.run.save().await.map_err(|f| match f {
                Failure::Journal(e) => e,
                Failure::Transient(e) | Failure::Final(e) => JournalError(e),
            })?;
            if report.outcome.is_some()
                && !is_last
                && self.last_edit.elapsed() >= self.run.bot.progress_interval
            {
                let text = replies::progress(self.heading, self.plan, &journal.done, report.total);
                // Progress is best effort: a failed edit must not fail the action.
                if let Err(f) = self.run.put_status(self.index, &text).await {
                    tracing::warn!(error = %f, "could not update the status comment");
                }
                self.last_edit = Instant::now();
            }
            Ok(())
        })
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
    // Past the limit, one more place answers for all the rest.
    let total = invocations.len();
    invocations.truncate(bot.max_commands + 1);
    if invocations.is_empty() {
        return JobVerdict::Done(serde_json::json!({ "commands": 0 }));
    }
    let mut run = Run {
        bot,
        gh,
        job,
        job_id,
        store,
        journal,
    };
    match drive(&mut run, &invocations, total, final_attempt).await {
        Ok(v) => v,
        Err(Failure::Journal(e)) => JobVerdict::Retry(format!("journal: {e}")),
        Err(Failure::Final(e)) => JobVerdict::Unanswerable(e),
        Err(Failure::Transient(e)) if final_attempt => JobVerdict::Failed(e),
        Err(Failure::Transient(e)) => JobVerdict::Retry(e),
    }
}

async fn drive(
    run: &mut Run<'_>,
    invocations: &[Invocation],
    total: usize,
    final_attempt: bool,
) -> Result<JobVerdict, Failure> {
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
        if answered && !run.authorized().await? {
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
        let command = match &inv.result {
            Ok(c) => c.to_string(),
            Err(_) => inv.text.clone(),
        };
        if let Err(e) = run
            .store
            .record_command(index, &command, result.state)
            .await
        {
            tracing::warn!(error = %e, "could not record the request");
        }
        run.bot.metrics.observe_command(result.state.as_str());
        run.journal.commands[index].result = Some(result);
        run.save().await?;
    }
    let quiet = run.journal.commands.iter().all(|c| {
        c.result
            .as_ref()
            .is_some_and(|r| r.state == RequestState::Throttled)
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
        run.react(reaction).await?;
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
