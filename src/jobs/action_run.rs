//! One command of a comment job: check who asks, resolve it to an action
//! (`/retry` to the issue's last failed command), run the checks before
//! changes, then the action with its step journal, keeping the command's
//! status comment up to date.

use std::time::Instant;

use super::comment::{Failure, Run};
use super::journal::CommandResult;
use super::{edits, replies};
use crate::actions::{
    self, adoption_candidates, catalog_changes, preflight, resolve_hook, resolve_rerun, verdict,
    Action, ActionError, HookTarget, JournalError, JournalSink, Outcome, Plan, SaveFuture,
    StepReport, Verdict,
};
use crate::command::{self, Command, Invocation};
use crate::store::RequestState;

impl Run<'_> {
    /// The command a `/retry` runs again: the issue's last command whose
    /// latest outcome is a failure. Kept in the journal once found.
    async fn retry_target(&mut self, index: usize) -> Result<Result<Command, String>, Failure> {
        let text = match self.journal.commands[index].retried.clone() {
            Some(t) => Some(t),
            None => {
                let rows = self.store.issue_requests().await?;
                let found = edits::last_failed(&rows);
                if let Some(t) = &found {
                    self.journal.commands[index].retried = Some(t.clone());
                    self.save().await?;
                }
                found
            }
        };
        let Some(text) = text else {
            return Ok(Err(replies::nothing_to_retry()));
        };
        Ok(command::parse_comment(&text)
            .into_iter()
            .next()
            .and_then(|inv| inv.result.ok())
            .filter(|c| c.is_mutating() && !matches!(c, Command::Retry))
            .ok_or_else(replies::nothing_to_retry))
    }

    /// The repos this App made for the run `action` would create.
    async fn adoptable(&self, action: &Action) -> Result<Vec<String>, Failure> {
        let mut found = Vec::new();
        for (full_name, key) in adoption_candidates(action, &self.bot.settings) {
            if self.store.made_repo(&full_name).await?.as_deref() == Some(key.as_str()) {
                found.push(full_name);
            }
        }
        Ok(found)
    }

    pub(super) async fn run_command(
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
            Command::Help { topic } => {
                let s = &self.bot.settings;
                let here = replies::HelpContext {
                    studio_org: &s.studio.org,
                    xml_org: &s.xml.org,
                    requests_repo: &self.job.repo,
                    operators: self.bot.operators_team.as_ref(),
                };
                Ok(CommandResult::done(replies::help(topic.as_deref(), &here)))
            }
            Command::Approve => self.approve().await,
            Command::Cancel => self.cancel().await,
            Command::Status => {
                let rows = self.store.issue_requests().await?;
                let form = self.store.form_request().await?;
                let repo = self.job.repo.to_string();
                Ok(CommandResult::done(replies::status_list(
                    self.web(),
                    &repo,
                    self.job.issue,
                    form.as_ref(),
                    &rows,
                )))
            }
            Command::Courses { course } => {
                let course = course.as_ref().map(|c| c.as_str());
                let runs = self.store.catalog(course).await?;
                Ok(CommandResult::done(replies::courses_list(
                    self.web(),
                    course,
                    &runs,
                )))
            }
            Command::Plan(inner) => {
                let inner = match inner.as_ref() {
                    Command::Retry => match self.retry_target(index).await? {
                        Ok(c) => c,
                        Err(reply) => {
                            return Ok(CommandResult::not_run(RequestState::Invalid, reply))
                        }
                    },
                    c => c.clone(),
                };
                let s = &self.bot.settings;
                let action = match self.resolve(&inner).await {
                    Ok(a) => a,
                    Err(e) => return action_error(e),
                };
                let adoptable = self.adoptable(&action).await?;
                let planned = match actions::plan(&action, s) {
                    Ok(plan) => preflight(self.gh, s, &action, &adoptable)
                        .await
                        .map(|c| (plan, c)),
                    Err(e) => Err(e),
                };
                match planned {
                    Ok((plan, checks)) => Ok(CommandResult::done(replies::dry_run(
                        &inner, &plan, &checks,
                    ))),
                    Err(e) => action_error(e),
                }
            }
            Command::Run(_)
            | Command::Rerun(_)
            | Command::Release(_)
            | Command::AddHook(_)
            | Command::Retry => {
                if self.job.approved_by.is_some() {
                    // An approver let it run: neither asked nor gated again.
                    return self.run_action(index, cmd).await;
                }
                if self.bot.require_approval && !self.job.form {
                    let operator = super::approval::is_member(
                        self.gh,
                        self.bot.operators_team.as_ref(),
                        &self.job.author,
                    )
                    .await?;
                    if !operator {
                        let heading = replies::heading(cmd, false);
                        return Ok(CommandResult::not_run(
                            RequestState::Pending,
                            replies::pending_command(
                                &heading,
                                super::approval::approvers(self.bot),
                            ),
                        ));
                    }
                }
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

    async fn resolve(&self, cmd: &Command) -> Result<Action, ActionError> {
        let known = match named_course(cmd) {
            Some(c) => self.store.catalog(Some(c.as_str())).await?,
            None => Vec::new(),
        };
        resolve(self.gh, &self.bot.settings, cmd, &known).await
    }

    async fn run_action(
        &mut self,
        index: usize,
        asked: &Command,
    ) -> Result<CommandResult, Failure> {
        // `/retry` runs the issue's last failed command in its place.
        let cmd = match asked {
            Command::Retry => match self.retry_target(index).await? {
                Ok(c) => c,
                Err(reply) => return Ok(CommandResult::not_run(RequestState::Invalid, reply)),
            },
            c => c.clone(),
        };
        let action = match self.journal.commands[index].resolved.clone() {
            Some(a) => a,
            None => match self.resolve(&cmd).await {
                Ok(a) => {
                    self.journal.commands[index].resolved = Some(a.clone());
                    self.save().await?;
                    a
                }
                Err(e) => return action_error(e),
            },
        };
        let mut plan = match actions::plan(&action, &self.bot.settings) {
            Ok(p) => p,
            Err(e) => return action_error(e),
        };
        let heading = replies::heading(&cmd, matches!(asked, Command::Retry));
        let fresh = {
            let steps = &self.journal.commands[index].steps;
            steps.done.is_empty() && steps.in_flight.is_none()
        };
        if fresh {
            // Checks before changes: nothing is written unless all pass.
            let adoptable = self.adoptable(&action).await?;
            let checks = match preflight(self.gh, &self.bot.settings, &action, &adoptable).await {
                Ok(c) => c,
                Err(e) => return action_error(e),
            };
            match verdict(&checks) {
                Verdict::Refused => {
                    return Ok(CommandResult::not_run(
                        RequestState::Invalid,
                        replies::refused_by_checks(&heading, &checks),
                    ))
                }
                Verdict::AlreadyDone => {
                    return Ok(CommandResult::done(replies::already_done(
                        &heading, &checks,
                    )))
                }
                Verdict::Go { adopt } => self.journal.commands[index].adopt = adopt,
            }
        }
        plan.reconcile = self.journal.commands[index].adopt;
        if self.journal.commands[index].started_at.is_none() {
            self.journal.commands[index].started_at = Some(chrono::Utc::now());
        }
        if self.journal.commands[index].steps.done.is_empty() {
            let text = replies::running(&self.status(&heading, &plan, &[], index));
            self.put_status(index, &text).await?;
        }
        let made_for = action.effect().and_then(|e| {
            e.to.map(|to| self.bot.settings.names.course_key(e.course, to))
        });
        let mut steps = std::mem::take(&mut self.journal.commands[index].steps);
        let outcome = {
            let mut sink = ProgressSink {
                run: self,
                index,
                plan: &plan,
                heading: &heading,
                made_for: made_for.as_deref(),
                last_edit: Instant::now(),
            };
            let (gh, settings) = (sink.run.gh, &sink.run.bot.settings);
            actions::execute(gh, settings, &plan, &mut steps, &mut sink).await
        };
        let done = steps.done.clone();
        self.journal.commands[index].steps = steps;
        match outcome {
            Ok(result) => {
                let status = self.status(&heading, &plan, &result.outcomes, index);
                let text = replies::done(&status);
                let runs = catalog_changes(&self.bot.settings, &action, &result.outcomes);
                if let Err(e) = self.store.record_runs(&runs).await {
                    tracing::warn!(error = %e, "could not update the course catalog");
                }
                Ok(CommandResult::done(text))
            }
            Err(ActionError::Journal(e)) => Err(Failure::Journal(e)),
            Err(e) if e.is_transient() && !self.final_attempt => {
                Err(Failure::Transient(format!("step {}: {e}", done.len() + 1)))
            }
            Err(e) => Ok(CommandResult::failed(replies::failed(
                &self.status(&heading, &plan, &done, index),
                &e,
            ))),
        }
    }
}

/// The course a command names only by code, whose runs must be looked up.
pub(super) fn named_course(cmd: &Command) -> Option<&crate::naming::Course> {
    match cmd {
        Command::Release(r) => Some(&r.course),
        Command::AddHook(h) => Some(&h.run.course),
        Command::Rerun(r) => Some(&r.course),
        _ => None,
    }
}

/// A chat command as a provisioning action. `/rerun` and `/release` name
/// only the course, so they look up its org and runs first (read-only).
pub(super) async fn resolve(
    gh: &crate::github::GitHub,
    s: &crate::actions::Settings,
    cmd: &Command,
    known: &[crate::catalog::CatalogRun],
) -> Result<Action, ActionError> {
    match cmd {
        Command::Run(action) => Ok(action.clone()),
        Command::Release(r) => {
            resolve_hook(gh, s, &r.course, &r.term, HookTarget::Production, known).await
        }
        Command::AddHook(h) => {
            resolve_hook(gh, s, &h.run.course, &h.run.term, h.target, known).await
        }
        Command::Rerun(r) => {
            resolve_rerun(gh, s, &r.course, &r.new_term, r.from.as_ref(), known).await
        }
        Command::Help { .. }
        | Command::Plan(_)
        | Command::Retry
        | Command::Status
        | Command::Courses { .. }
        | Command::Approve
        | Command::Cancel => Err(ActionError::NotFound(format!(
            "/{} is not a provisioning action",
            cmd.name()
        ))),
    }
}

/// An action that could not start: a user's mistake (its run is not there, a
/// name too long) is answered as such; a transient error retries the job.
fn action_error(e: ActionError) -> Result<CommandResult, Failure> {
    if e.is_transient() {
        return Err(Failure::Transient(e.to_string()));
    }
    let text = replies::action_error(&e);
    Ok(if e.is_user_error() {
        CommandResult::not_run(RequestState::Invalid, text)
    } else {
        CommandResult::failed(text)
    })
}

/// Saves the job journal after every step and edits the status comment when
/// enough time has passed since the last edit.
struct ProgressSink<'r, 'a> {
    run: &'r mut Run<'a>,
    index: usize,
    plan: &'r Plan,
    heading: &'r str,
    /// The course key of the run whose repo the plan creates.
    made_for: Option<&'r str>,
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
            // Remember the repos this App makes, so that the command sent
            // again after a failure may adopt them (and nothing else).
            if let (
                Some(Outcome::RepoCreated {
                    full_name,
                    in_place: false,
                    ..
                }),
                Some(key),
            ) = (report.outcome, self.made_for)
            {
                self.run.store.record_made_repo(full_name, key).await?;
            }
            if report.outcome.is_some()
                && !is_last
                && self.last_edit.elapsed() >= self.run.bot.progress_interval
            {
                let view = self
                    .run
                    .status(self.heading, self.plan, &journal.done, self.index);
                let text = replies::progress(&view);
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
