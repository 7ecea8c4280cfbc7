//! Who may run what, and the approval of requests that wait.
//!
//! A request waits (`pending`) when approval is required (`ORC_REQUIRE_APPROVAL`:
//! every form request, and mutating commands from outside the operators
//! team), or when its author may not run it (then an operator approves).
//! `/approve` by a member of the approving team who is not the author queues
//! the request's command as a new comment job that carries the approver;
//! `/cancel` by the author or an operator withdraws it.

use super::comment::{Failure, Run};
use super::journal::CommandResult;
use super::replies;
use super::request::{set_label, RequestLabel};
use super::{Bot, CommentJob, JobKind, RequestJob};
use crate::config::TeamRef;
use crate::github::{GitHub, GitHubError};
use crate::naming::RepoFullName;
use crate::store::{
    DeliveryOutcome, FormRequest, FormState, NewDelivery, NewJob, RequestRecord, RequestState,
    Store,
};

/// The team whose members approve: the approvers when approval is required,
/// else the operators (who approve what its author may not run).
pub(super) fn approvers(bot: &Bot) -> Option<&TeamRef> {
    if bot.require_approval {
        bot.approvers_team.as_ref()
    } else {
        bot.operators_team.as_ref()
    }
}

pub(super) async fn is_member(
    gh: &GitHub,
    team: Option<&TeamRef>,
    login: &str,
) -> Result<bool, GitHubError> {
    match team {
        Some(t) => gh.is_team_member(&t.org, &t.slug, login).await,
        None => Ok(false),
    }
}

/// Write permission on the requests repo, or membership of the operators
/// team: who may run mutating commands.
pub(super) async fn may_write(
    gh: &GitHub,
    bot: &Bot,
    repo: &RepoFullName,
    login: &str,
) -> Result<bool, GitHubError> {
    let role = gh
        .collaborator_permission(repo.owner().as_str(), repo.name(), login)
        .await?;
    Ok(role.can_write() || is_member(gh, bot.operators_team.as_ref(), login).await?)
}

/// The comment job that runs a form request's command.
pub(super) fn form_job(job: &RequestJob, command: &str, approved_by: Option<&str>) -> CommentJob {
    CommentJob {
        repo: job.repo.clone(),
        issue: job.issue,
        comment_id: 0,
        comment_url: job.issue_url.clone(),
        author: job.author.clone(),
        body: command.to_string(),
        previous_body: None,
        installation_id: job.installation_id,
        asked_at: None,
        form: true,
        approved_by: approved_by.map(str::to_string),
    }
}

/// Queues `run` as a comment job. The delivery id is the issue, `why` and
/// the command: the same command for the same reason is queued once.
pub(super) async fn enqueue(store: &Store, run: CommentJob, why: &str) -> Result<bool, String> {
    let digest = ring::digest::digest(&ring::digest::SHA256, run.body.as_bytes());
    let id = format!(
        "request:{}#{}:{why}:{}",
        run.repo,
        run.issue,
        &hex::encode(digest.as_ref())[..16]
    );
    let installation = i64::try_from(run.installation_id).ok();
    let payload = serde_json::to_value(&run).map_err(|e| e.to_string())?;
    let delivery = NewDelivery {
        id,
        event: "request".into(),
        action: None,
        installation_id: installation,
        body: bytes::Bytes::from(payload.to_string()),
        parse_error: None,
    };
    let new = NewJob {
        kind: JobKind::Comment,
        installation_id: installation,
        payload,
    };
    match store.record_delivery(delivery, vec![new]).await {
        Ok(DeliveryOutcome::Stored { .. }) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// This issue's requests that wait for approval.
pub(super) struct Waiting {
    pub form: Option<FormRequest>,
    pub commands: Vec<RequestRecord>,
}

impl Waiting {
    fn is_empty(&self) -> bool {
        self.form.is_none() && self.commands.is_empty()
    }

    fn authors(&self) -> impl Iterator<Item = &str> {
        self.form
            .iter()
            .map(|f| f.author.as_str())
            .chain(self.commands.iter().map(|c| c.author.as_str()))
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.form
            .iter()
            .filter_map(|f| f.command.clone())
            .chain(self.commands.iter().map(|c| c.command.clone()))
            .collect()
    }
}

impl Run<'_> {
    async fn waiting(&self) -> Result<Waiting, Failure> {
        let form = self
            .store
            .form_request()
            .await?
            .filter(|f| f.state == FormState::PendingApproval);
        let commands = self
            .store
            .issue_requests()
            .await?
            .into_iter()
            .filter(|r| r.state == RequestState::Pending)
            .collect();
        Ok(Waiting { form, commands })
    }

    /// What waits for approval here, with the login of `me` who acts on it;
    /// or, when nothing waits, the reply that says so.
    async fn waiting_for(
        &mut self,
        me: &str,
    ) -> Result<Result<(Waiting, String), CommandResult>, Failure> {
        let waiting = self.waiting().await?;
        if waiting.is_empty() {
            return Ok(Err(CommandResult::not_run(
                RequestState::Invalid,
                replies::nothing_waits(),
            )));
        }
        Ok(Ok((waiting, me.to_owned())))
    }

    /// `/approve`.
    pub(super) async fn approve(&mut self) -> Result<CommandResult, Failure> {
        let (waiting, me) = match self.waiting_for(&self.job.author.clone()).await? {
            Ok(found) => found,
            Err(nothing) => return Ok(nothing),
        };
        if waiting.authors().any(|a| a.eq_ignore_ascii_case(&me)) {
            return Ok(CommandResult::not_run(
                RequestState::Refused,
                replies::own_approval(&me),
            ));
        }
        let team = approvers(self.bot);
        if !is_member(self.gh, team, &me).await? {
            return Ok(CommandResult::not_run(
                RequestState::Refused,
                replies::not_an_approver(&me, team),
            ));
        }
        self.store.approve(&me, &waiting).await?;
        if waiting.form.is_some() {
            let (owner, repo) = (self.owner().to_string(), self.job.repo.name().to_string());
            let current = [RequestLabel::PendingApproval.as_str().to_string()];
            set_label(
                self.gh,
                &owner,
                &repo,
                self.job.issue,
                &current,
                Some(RequestLabel::Approved),
            )
            .await?;
        }
        Ok(CommandResult::done(replies::approved(
            &me,
            &waiting.lines(),
        )))
    }

    /// `/cancel`.
    pub(super) async fn cancel(&mut self) -> Result<CommandResult, Failure> {
        let (waiting, me) = match self.waiting_for(&self.job.author.clone()).await? {
            Ok(found) => found,
            Err(nothing) => return Ok(nothing),
        };
        let own = waiting.authors().all(|a| a.eq_ignore_ascii_case(&me));
        if !own && !is_member(self.gh, self.bot.operators_team.as_ref(), &me).await? {
            return Ok(CommandResult::not_run(
                RequestState::Refused,
                replies::not_yours_to_cancel(&me),
            ));
        }
        self.store.cancel(&waiting).await?;
        if waiting.form.is_some() {
            let (owner, repo) = (self.owner().to_string(), self.job.repo.name().to_string());
            let current = [RequestLabel::PendingApproval.as_str().to_string()];
            set_label(self.gh, &owner, &repo, self.job.issue, &current, None).await?;
        }
        Ok(CommandResult::done(replies::cancelled(
            &me,
            &waiting.lines(),
        )))
    }
}

/// What the store does on `/approve`: the waiting requests are marked
/// approved, and each command is queued as a job that carries the approver.
pub(super) async fn approve_in_store(
    store: &Store,
    via: &CommentJob,
    approver: &str,
    waiting: &Waiting,
) -> Result<(), String> {
    let why = format!("approve-{}", via.comment_id);
    if let Some(f) = &waiting.form {
        let mut approved = f.clone();
        approved.state = FormState::Approved;
        approved.approved_by = Some(approver.to_string());
        store
            .record_form_request(&approved)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(cmd) = &f.command {
            let job = RequestJob {
                repo: via.repo.clone(),
                issue: via.issue,
                issue_url: None,
                author: f.author.clone(),
                body: String::new(),
                labels: Vec::new(),
                installation_id: via.installation_id,
            };
            enqueue(store, form_job(&job, cmd, Some(approver)), &why).await?;
        }
    }
    for c in &waiting.commands {
        set_request_state(store, c, RequestState::Approved).await?;
        let run = CommentJob {
            repo: via.repo.clone(),
            issue: via.issue,
            comment_id: u64::try_from(c.comment_id).unwrap_or_default(),
            comment_url: None,
            author: c.author.clone(),
            body: c.command.clone(),
            previous_body: None,
            installation_id: via.installation_id,
            asked_at: None,
            form: false,
            approved_by: Some(approver.to_string()),
        };
        enqueue(store, run, &why).await?;
    }
    Ok(())
}

/// What the store does on `/cancel`.
pub(super) async fn cancel_in_store(store: &Store, waiting: &Waiting) -> Result<(), String> {
    if let Some(f) = &waiting.form {
        store
            .set_form_state(&f.repo, f.issue, FormState::Cancelled)
            .await
            .map_err(|e| e.to_string())?;
    }
    for c in &waiting.commands {
        set_request_state(store, c, RequestState::Cancelled).await?;
    }
    Ok(())
}

/// Records a waiting command in its new `state`.
async fn set_request_state(
    store: &Store,
    request: &RequestRecord,
    state: RequestState,
) -> Result<(), String> {
    let row = RequestRecord {
        state,
        ..request.clone()
    };
    store.record_request(&row).await.map_err(|e| e.to_string())
}
