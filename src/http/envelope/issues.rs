//! `issues` deliveries: an issue opened or edited in a requests repo whose
//! body looks like an issue form becomes a request job. Whether it is the
//! course-request form is for the worker to say: it reads the repo's form
//! template, which ingress does not have.

use std::borrow::Cow;

use serde::Deserialize;

use super::{
    installation_of, is_bot, is_requests_repo, job_target, CommentRef, Envelope, Refusal, UserRef,
};
use crate::jobs::{ChecklistJob, JobKind, RequestJob, CHECKLIST_MARKER};
use crate::naming::RepoFullName;
use crate::store::NewJob;

/// GitHub renders every form field as a `### label` heading, the first
/// field first: a body that does not start so is no form.
fn looks_like_form(body: &str) -> bool {
    body.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.starts_with("### "))
}

/// The issue as an `issues` event carries it.
#[derive(Debug, Default, Deserialize)]
struct IssuesPayload<'a> {
    #[serde(default, borrow)]
    issue: Option<FullIssue<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct FullIssue<'a> {
    #[serde(default)]
    number: Option<u64>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    html_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user: Option<UserRef<'a>>,
    #[serde(default, borrow)]
    labels: Vec<LabelRef<'a>>,
    /// Set when the issue is a pull request.
    #[serde(default)]
    pull_request: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct LabelRef<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

pub(super) fn request_jobs(
    filter: &super::EventFilter,
    env: &Envelope<'_>,
    raw: &[u8],
) -> Result<Vec<NewJob>, Refusal> {
    match env.action.as_deref() {
        Some("opened" | "reopened") => {}
        // Only an edit of the body can change the request.
        Some("edited") if env.changes.as_ref().is_some_and(|c| c.body.is_some()) => {}
        _ => return Ok(Vec::new()),
    }
    let Some(full_name) = env.repository.as_ref().and_then(|r| r.full_name.as_deref()) else {
        return Ok(Vec::new());
    };
    if !is_requests_repo(filter, full_name) {
        return Ok(Vec::new());
    }
    // The envelope parsed already, so this second read of the body succeeds.
    let Ok(payload) = serde_json::from_slice::<IssuesPayload<'_>>(raw) else {
        return Ok(Vec::new());
    };
    let Some(issue) = payload.issue.as_ref() else {
        return Ok(Vec::new());
    };
    if issue.pull_request.is_some() || issue.user.as_ref().is_some_and(is_bot) {
        return Ok(Vec::new());
    }
    let body = issue.body.as_deref().unwrap_or("");
    if !looks_like_form(body) {
        return Ok(Vec::new());
    }
    let (Some(number), Some(author)) = (
        issue.number,
        issue.user.as_ref().and_then(|u| u.login.as_deref()),
    ) else {
        return Ok(Vec::new());
    };
    let (installation_id, repo) = job_target(env, full_name)?;
    let job = RequestJob {
        repo,
        issue: number,
        issue_url: issue.html_url.as_deref().map(str::to_owned),
        author: author.to_owned(),
        body: body.to_owned(),
        labels: issue
            .labels
            .iter()
            .filter_map(|l| l.name.as_deref().map(str::to_owned))
            .collect(),
        installation_id,
    };
    // Checks only read GitHub, and the bot's talk is no provisioning: like
    // `/help`, a request is not queued behind the installation's writes.
    // The command it queues is.
    NewJob::of(JobKind::Request, None, &job)
        .map(|j| vec![j])
        .ok_or(Refusal::BadRepo)
}

/// A person's edit of the bot's checklist comment (its marker says so): the
/// boxes may all be ticked now.
pub(super) fn checklist_jobs(
    env: &Envelope<'_>,
    full_name: &str,
    comment: &CommentRef<'_>,
) -> Vec<NewJob> {
    if env.action.as_deref() != Some("edited") {
        return Vec::new();
    }
    let Some(sender) = env.sender.as_ref().filter(|s| !is_bot(s)) else {
        return Vec::new();
    };
    let body = comment.body.as_deref().unwrap_or("");
    if !body.starts_with(CHECKLIST_MARKER) {
        return Vec::new();
    }
    let (Some(issue), Some(comment_id), Some(login), Ok(repo)) = (
        env.issue.as_ref().and_then(|i| i.number),
        comment.id,
        sender.login.as_deref(),
        RepoFullName::parse(full_name),
    ) else {
        return Vec::new();
    };
    let Some(installation_id) = installation_of(env) else {
        return Vec::new();
    };
    let job = ChecklistJob {
        repo,
        issue,
        comment_id,
        body: body.to_owned(),
        sender: login.to_owned(),
        installation_id,
    };
    NewJob::of(JobKind::Checklist, None, &job)
        .into_iter()
        .collect()
}
