//! The chat bot: one job per comment that holds commands (ingress decides
//! which comments qualify, once). For each command: check who asks, resolve
//! it to an action, run the action with its step journal, and keep one status
//! comment per command up to date. 👀 on receipt, 🚀 or 😕 at the end.
//!
//! Everything said on GitHub is journaled like the action steps, so a job
//! that is retried or resumed after a crash edits the comment it already
//! posted instead of posting a second one.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::{
    self, find_latest_run, find_run, Action, ActionError, CourseKind, JournalSink, Outcome, Plan,
    SaveFuture, Settings, StepReport,
};
use crate::command::{self, Command, Invocation};
use crate::config::TeamRef;
use crate::github::{GitHub, GitHubError};
use crate::naming::{markdown_code, RepoFullName};
use crate::store::{CatalogRun, RunKind, RunState};

/// What the bot needs besides GitHub.
#[derive(Debug, Clone)]
pub struct Bot {
    pub settings: Settings,
    pub operators_team: Option<TeamRef>,
    /// Edit the status comment after a step only if the last edit is at least
    /// this old; the final edit always happens. Keeps quick actions at two
    /// comment writes while long ones (a git copy) still show progress.
    pub progress_interval: Duration,
}

/// The job payload that ingress stores for a comment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CommentJob {
    pub repo: RepoFullName,
    pub issue: u64,
    pub comment_id: u64,
    pub author: String,
    pub body: String,
    #[serde(default)]
    pub previous_body: Option<String>,
    pub installation_id: u64,
}

/// How a job ended, for the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum JobVerdict {
    Done(Value),
    /// GitHub was unavailable: run the job again later (its journal is saved).
    Retry(String),
    Failed(String),
}

/// Durable storage of the job's journal (the job store's row), and the
/// records kept beside it.
pub trait JobJournalStore: Send + Sync {
    fn save<'a>(&'a mut self, journal: &'a Value) -> SaveFuture<'a>;
    /// What became of command `index` (`done`, `failed`, `refused`, `invalid`).
    fn record_command<'a>(
        &'a mut self,
        index: usize,
        command: &'a str,
        state: &'a str,
    ) -> SaveFuture<'a>;
    /// Course runs created, released or retired by a finished action.
    fn record_runs<'a>(&'a mut self, runs: &'a [CatalogRun]) -> SaveFuture<'a>;
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobJournal {
    eyes: bool,
    authorized: Option<bool>,
    commands: Vec<CommandJournal>,
    final_reaction: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CommandJournal {
    status_comment: Option<u64>,
    /// A status comment was being created when the journal was last saved.
    status_pending: bool,
    resolved: Option<Action>,
    steps: actions::Journal,
    result: Option<CommandResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CommandResult {
    ok: bool,
    text: String,
    /// `done`, `failed`, `refused` or `invalid` (the requests table's state).
    #[serde(default)]
    state: String,
}

impl CommandResult {
    fn done(text: String) -> Self {
        CommandResult {
            ok: true,
            text,
            state: "done".into(),
        }
    }
    fn failed(text: String) -> Self {
        CommandResult {
            ok: false,
            text,
            state: "failed".into(),
        }
    }
}

enum Failure {
    /// Retry the job later.
    Transient(String),
    /// The journal could not be saved: stop now, the job resumes later.
    Journal(String),
}

impl From<GitHubError> for Failure {
    fn from(e: GitHubError) -> Self {
        Failure::Transient(e.to_string())
    }
}

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
        let v = serde_json::to_value(&self.journal).map_err(|e| Failure::Journal(e.to_string()))?;
        self.store.save(&v).await.map_err(Failure::Journal)
    }

    fn owner(&self) -> &str {
        self.job.repo.owner().as_str()
    }

    fn marker(&self, index: usize) -> String {
        format!(
            "<!-- orcoursetrion:job={}:command={} -->",
            self.job_id, index
        )
    }

    /// Create the command's status comment, or edit it if it exists. A create
    /// whose answer was lost is found again by its hidden marker.
    async fn put_status(&mut self, index: usize, text: &str) -> Result<(), Failure> {
        let body = format!("{}\n{}", self.marker(index), text);
        let (owner, name) = (self.owner().to_string(), self.job.repo.name().to_string());
        if self.journal.commands[index].status_comment.is_none()
            && self.journal.commands[index].status_pending
        {
            let marker = self.marker(index);
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

    async fn react(&self, content: &str) -> Result<(), Failure> {
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
        let perm = self
            .gh
            .collaborator_permission(self.owner(), self.job.repo.name(), &self.job.author)
            .await?;
        let mut ok = matches!(perm.as_str(), "admin" | "maintain" | "write");
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

    fn refusal(&self, cmd: &Command) -> String {
        let mut who = format!("write access to `{}`", self.job.repo);
        if let Some(t) = &self.bot.operators_team {
            who.push_str(&format!(" or membership of `{}/{}`", t.org, t.slug));
        }
        format!(
            "🚫 @{} you need {who} to run `/{}`. Anyone may use `/help` and `/plan`.",
            self.job.author,
            cmd.name()
        )
    }

    async fn run_command(
        &mut self,
        index: usize,
        inv: &Invocation,
    ) -> Result<CommandResult, Failure> {
        let cmd = match &inv.result {
            Err(e) => {
                return Ok(CommandResult {
                    ok: false,
                    text: format!("⚠️ {}: {e}", markdown_code(&inv.text)),
                    state: "invalid".into(),
                })
            }
            Ok(c) => c,
        };
        match cmd {
            Command::Help { topic } => Ok(CommandResult::done(
                match topic.as_deref().and_then(command::find_spec) {
                    Some(spec) => command::help_for(spec),
                    None => command::help_text(),
                },
            )),
            Command::Plan(inner) => {
                let action = match resolve(self.gh, &self.bot.settings, inner).await {
                    Ok(a) => a,
                    Err(e) => return self.action_error(e, None),
                };
                match actions::plan(&action, &self.bot.settings) {
                    Ok(plan) => Ok(CommandResult::done(format!(
                        "📋 Dry run of `{inner}` (nothing was changed):\n\n{}",
                        checklist(&plan, &[])
                    ))),
                    Err(e) => self.action_error(e, None),
                }
            }
            _ => {
                if !self.authorized().await? {
                    return Ok(CommandResult {
                        ok: false,
                        text: self.refusal(cmd),
                        state: "refused".into(),
                    });
                }
                self.run_action(index, cmd).await
            }
        }
    }

    fn action_error(
        &self,
        e: ActionError,
        plan: Option<(&Plan, &[Outcome])>,
    ) -> Result<CommandResult, Failure> {
        if e.is_transient() {
            return Err(Failure::Transient(e.to_string()));
        }
        let mut text = format!("❌ {e}");
        if let Some((plan, done)) = plan {
            text.push_str(&format!("\n\n{}", checklist(plan, done)));
        }
        Ok(CommandResult::failed(text))
    }

    async fn run_action(&mut self, index: usize, cmd: &Command) -> Result<CommandResult, Failure> {
        let action = match self.journal.commands[index].resolved.clone() {
            Some(a) => a,
            None => match resolve(self.gh, &self.bot.settings, cmd).await {
                Ok(a) => {
                    self.journal.commands[index].resolved = Some(a.clone());
                    self.save().await?;
                    a
                }
                Err(e) => return self.action_error(e, None),
            },
        };
        let plan = match actions::plan(&action, &self.bot.settings) {
            Ok(p) => p,
            Err(e) => return self.action_error(e, None),
        };
        let heading = format!("**`{cmd}`**");
        if self.journal.commands[index].steps.done.is_empty() {
            let text = format!("{heading} ⏳ running\n\n{}", checklist(&plan, &[]));
            self.put_status(index, &text).await?;
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
                let mut text = format!(
                    "{heading} ✅ done\n\n{}",
                    checklist(&plan, &result.outcomes)
                );
                if let Some(n) = result.hooks_removed() {
                    text.push_str(&format!("\n\nWebhooks removed: {n}."));
                }
                let runs = catalog_updates(&self.bot.settings, &action, &result.outcomes);
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
                let mut r = self.action_error(e, Some((&plan, &done)))?;
                r.text = format!("{heading} ❌ failed at step {failed_at}\n\n{}", r.text);
                Ok(r)
            }
        }
    }
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
                Failure::Journal(e) | Failure::Transient(e) => e,
            })?;
            if report.outcome.is_some()
                && !is_last
                && self.last_edit.elapsed() >= self.run.bot.progress_interval
            {
                let text = format!(
                    "{} ⏳ step {} of {} done\n\n{}",
                    self.heading,
                    report.index + 1,
                    report.total,
                    checklist(self.plan, &journal.done)
                );
                // Progress is best effort: a failed edit must not fail the action.
                if let Err(Failure::Transient(e)) | Err(Failure::Journal(e)) =
                    self.run.put_status(self.index, &text).await
                {
                    tracing::warn!(error = %e, "could not update the status comment");
                }
                self.last_edit = Instant::now();
            }
            Ok(())
        })
    }
}

/// The catalog rows an action's outcomes imply: a created run is staging, a
/// released one released, a rerun's old run retired.
fn catalog_updates(s: &Settings, action: &Action, outcomes: &[Outcome]) -> Vec<CatalogRun> {
    let repo_of = |pred: &dyn Fn(&Outcome) -> Option<String>| outcomes.iter().find_map(pred);
    let created = repo_of(&|o| match o {
        Outcome::RepoCreated { full_name, .. } => Some(full_name.clone()),
        _ => None,
    });
    let hooked = repo_of(&|o| match o {
        Outcome::HookAdded { repo, .. } => Some(repo.clone()),
        _ => None,
    });
    let unhooked = repo_of(&|o| match o {
        Outcome::HooksRemoved { repo, .. } => Some(repo.clone()),
        _ => None,
    });
    let run = |org: &str,
               course: &crate::naming::Course,
               term: &crate::naming::Term,
               repo: Option<String>,
               kind: RunKind,
               state: RunState| {
        repo.map(|repo| CatalogRun {
            org: org.to_string(),
            course: course.to_string(),
            title: None,
            term: term.to_string(),
            course_key: s.names.course_key(course, term),
            repo,
            kind,
            state,
        })
    };
    let (studio, xml) = (s.studio_org.as_str(), s.xml_org.as_str());
    let runs = match action {
        Action::CreateExportRepo { course, term, .. } => {
            vec![run(
                studio,
                course,
                term,
                created,
                RunKind::Studio,
                RunState::Staging,
            )]
        }
        Action::RerunStudio {
            course,
            term,
            new_term,
            ..
        } => vec![
            run(
                studio,
                course,
                term,
                unhooked,
                RunKind::Studio,
                RunState::Retired,
            ),
            run(
                studio,
                course,
                new_term,
                created,
                RunKind::Studio,
                RunState::Staging,
            ),
        ],
        Action::ReleaseStudio { course, term } => {
            vec![run(
                studio,
                course,
                term,
                hooked,
                RunKind::Studio,
                RunState::Released,
            )]
        }
        Action::CreateXmlRepo { course, term, .. } => {
            vec![run(
                xml,
                course,
                term,
                created,
                RunKind::Xml,
                RunState::Staging,
            )]
        }
        Action::RerunXml { course, term } => {
            vec![run(
                xml,
                course,
                term,
                unhooked,
                RunKind::Xml,
                RunState::Retired,
            )]
        }
        Action::ReleaseXml { course, term } => {
            vec![run(
                xml,
                course,
                term,
                hooked,
                RunKind::Xml,
                RunState::Released,
            )]
        }
        Action::RerunXmlCourse {
            course,
            term,
            new_term,
        } => vec![
            run(xml, course, term, unhooked, RunKind::Xml, RunState::Retired),
            run(
                xml,
                course,
                new_term,
                created,
                RunKind::Xml,
                RunState::Staging,
            ),
        ],
        Action::PutTeam { .. } | Action::ShallowCopyRepo { .. } => Vec::new(),
    };
    runs.into_iter().flatten().collect()
}

/// The plan as a task list, finished steps ticked with what they did.
fn checklist(plan: &Plan, done: &[Outcome]) -> String {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, step)| match done.get(i) {
            Some(o) => format!("- [x] {}: {}", step.describe(), o.summary()),
            None => format!("- [ ] {}", step.describe()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A chat command as a provisioning action. `/rerun` and `/release` name only
/// the course, so they look up its org and runs first (read-only calls).
pub async fn resolve(gh: &GitHub, s: &Settings, cmd: &Command) -> Result<Action, ActionError> {
    Ok(match cmd.clone() {
        Command::CreateExportRepo {
            course,
            term,
            description,
        } => Action::CreateExportRepo {
            course,
            term,
            description,
        },
        Command::RerunStudio {
            course,
            term,
            new_term,
            description,
        } => Action::RerunStudio {
            course,
            term,
            new_term,
            description,
        },
        Command::ReleaseStudio { course, term } => Action::ReleaseStudio { course, term },
        Command::CreateXmlRepo {
            course,
            term,
            team,
            members,
            description,
        } => Action::CreateXmlRepo {
            course,
            term,
            team,
            members,
            description,
        },
        Command::RerunXml { course, term } => Action::RerunXml { course, term },
        Command::ReleaseXml { course, term } => Action::ReleaseXml { course, term },
        Command::PutTeam {
            org,
            team,
            read_only,
            members,
        } => Action::PutTeam {
            org,
            team,
            read_only,
            members,
        },
        Command::Release { course, term } => {
            let run = find_run(gh, s, &course, &term).await?.ok_or_else(|| {
                ActionError::NotFound(format!(
                    "no repo for {course} {term} in {} or {}",
                    s.studio_org, s.xml_org
                ))
            })?;
            match run.kind {
                CourseKind::Studio => Action::ReleaseStudio { course, term },
                CourseKind::Xml => Action::ReleaseXml { course, term },
            }
        }
        Command::Rerun {
            course,
            new_term,
            from,
        } => {
            let run = match &from {
                Some(old) => find_run(gh, s, &course, old).await?,
                None => find_latest_run(gh, s, &course).await?,
            }
            .ok_or_else(|| {
                ActionError::NotFound(match &from {
                    Some(old) => format!(
                        "no repo for {course} {old} in {} or {}",
                        s.studio_org, s.xml_org
                    ),
                    None => format!(
                        "no run of {course} found in {} or {}",
                        s.studio_org, s.xml_org
                    ),
                })
            })?;
            if run.term >= new_term {
                return Err(ActionError::NotFound(format!(
                    "the new term {new_term} must come after the run being rerun ({})",
                    run.term
                )));
            }
            match run.kind {
                CourseKind::Studio => Action::RerunStudio {
                    course,
                    term: run.term,
                    new_term,
                    description: None,
                },
                CourseKind::Xml => Action::RerunXmlCourse {
                    course,
                    term: run.term,
                    new_term,
                },
            }
        }
        Command::Help { .. } | Command::Plan(_) => {
            return Err(ActionError::NotFound(format!(
                "/{} is not a provisioning action",
                cmd.name()
            )))
        }
    })
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
    let invocations = match &job.previous_body {
        Some(prev) => command::new_invocations(prev, &job.body),
        None => command::parse_comment(&job.body),
    };
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
    match drive(&mut run, &invocations, final_attempt).await {
        Ok(v) => v,
        Err(Failure::Journal(e)) => JobVerdict::Retry(format!("journal: {e}")),
        Err(Failure::Transient(e)) if final_attempt => JobVerdict::Failed(e),
        Err(Failure::Transient(e)) => JobVerdict::Retry(e),
    }
}

async fn drive(
    run: &mut Run<'_>,
    invocations: &[Invocation],
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
        run.react("eyes").await?;
        run.journal.eyes = true;
        run.save().await?;
    }
    for (index, inv) in invocations.iter().enumerate() {
        if run.journal.commands[index].result.is_some() {
            continue;
        }
        let result = match run.run_command(index, inv).await {
            Ok(r) => r,
            Err(Failure::Transient(e)) if final_attempt => CommandResult::failed(format!(
                "❌ `{}` failed: GitHub kept failing and the retries are used up: {e}",
                inv.text
            )),
            Err(f) => return Err(f),
        };
        run.put_status(index, &result.text).await?;
        let command = match &inv.result {
            Ok(c) => c.to_string(),
            Err(_) => inv.text.clone(),
        };
        if let Err(e) = run
            .store
            .record_command(index, &command, &result.state)
            .await
        {
            tracing::warn!(error = %e, "could not record the request");
        }
        run.journal.commands[index].result = Some(result);
        run.save().await?;
    }
    let all_ok = run
        .journal
        .commands
        .iter()
        .all(|c| c.result.as_ref().is_some_and(|r| r.ok));
    let reaction = if all_ok { "rocket" } else { "confused" };
    if run.journal.final_reaction.is_none() {
        run.react(reaction).await?;
        run.journal.final_reaction = Some(reaction.to_string());
        run.save().await?;
    }
    let summary = serde_json::json!({
        "commands": invocations.len(),
        "ok": all_ok,
    });
    Ok(if all_ok {
        JobVerdict::Done(summary)
    } else {
        JobVerdict::Failed(format!(
            "{} command(s) did not succeed",
            run.journal
                .commands
                .iter()
                .filter(|c| !c.result.as_ref().is_some_and(|r| r.ok))
                .count()
        ))
    })
}
