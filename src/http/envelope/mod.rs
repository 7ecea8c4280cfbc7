//! What a verified body says: the few fields ingress needs, read without
//! building a `serde_json::Value`, and the jobs they imply.
//!
//! Only the handful of fields ingress needs are deserialised, borrowing from the
//! body where possible; serde skips the rest without building anything (but
//! still checks it is valid JSON). A `serde_json::Value` of a 13 KB
//! issue_comment costs about ten times as much, and this runs for every delivery.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

mod issues;
mod repo_events;

use crate::command;
use crate::jobs::{CommentJob, InstallationJob, JobKind};
use crate::naming::RepoFullName;
use crate::store::NewJob;

/// Which deliveries turn into work.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// `ORC_REQUESTS_REPOS`: the only repos whose comments are read as commands.
    pub requests_repos: Vec<RepoFullName>,
    /// `ORC_COURSE_PREFIX`: only repos named `{prefix}-…` are course repos,
    /// whose pushes and changes the catalog follows (`None`: every repo).
    pub course_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(default)]
    installation: Option<IdRef<'a>>,
    #[serde(default, borrow)]
    repository: Option<RepoRef<'a>>,
    #[serde(default)]
    issue: Option<IssueRef>,
    #[serde(default, borrow)]
    comment: Option<CommentRef<'a>>,
    #[serde(default, borrow)]
    changes: Option<Changes<'a>>,
    /// Who did it (for an edit: the editor, not the comment's author).
    #[serde(default, borrow)]
    sender: Option<UserRef<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct AccountRef<'a> {
    #[serde(default, borrow)]
    login: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct IdRef<'a> {
    #[serde(default, borrow)]
    account: Option<AccountRef<'a>>,
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct RepoRef<'a> {
    #[serde(default, borrow)]
    full_name: Option<Cow<'a, str>>,
    /// An epoch in seconds in `push` payloads, a timestamp elsewhere.
    #[serde(default)]
    pushed_at: Option<Value>,
}

/// Only the number: every `issue_comment` carries the whole issue, and its
/// body (often escaped, so copied) is read only for `issues` events, by
/// `issues::request_jobs`.
#[derive(Debug, Default, Deserialize)]
struct IssueRef {
    #[serde(default)]
    number: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct CommentRef<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    html_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user: Option<UserRef<'a>>,
    /// When the comment was written or last edited (RFC 3339).
    #[serde(default, borrow)]
    updated_at: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct UserRef<'a> {
    #[serde(default, borrow)]
    login: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct Changes<'a> {
    #[serde(default, borrow)]
    body: Option<ChangedText<'a>>,
    /// `repository.renamed`: the old name.
    #[serde(default, borrow)]
    repository: Option<RepoChange<'a>>,
    /// `repository.transferred`: the old owner.
    #[serde(default, borrow)]
    owner: Option<OwnerChange<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct RepoChange<'a> {
    #[serde(default, borrow)]
    name: Option<ChangedText<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct OwnerChange<'a> {
    #[serde(default, borrow)]
    from: Option<OwnerFrom<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct OwnerFrom<'a> {
    #[serde(default, borrow)]
    organization: Option<AccountRef<'a>>,
    #[serde(default, borrow)]
    user: Option<AccountRef<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct ChangedText<'a> {
    #[serde(default, borrow)]
    from: Option<Cow<'a, str>>,
}

/// What ingress learnt from a verified body.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    /// Set when the body is not JSON at all.
    pub parse_error: Option<String>,
    pub jobs: Vec<NewJob>,
    /// A delivery that implied a job that could not run.
    pub refused: Option<Refusal>,
}

/// Why a delivery that asked for work got none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `installation.id` (or not a positive one): nothing to act through.
    NoInstallation,
    /// The repository's name breaks GitHub's rules.
    BadRepo,
}

impl Refusal {
    /// The metrics label and log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoInstallation => "no_installation",
            Refusal::BadRepo => "bad_repo",
        }
    }
}

/// Reads a verified body: its action, installation and the jobs it implies.
/// Not JSON → `parse_error` (serde_json's message names a line and column,
/// never content) and no job. JSON of an unexpected shape → no job.
pub fn inspect_body(filter: &EventFilter, event: &str, body: &[u8]) -> Inspection {
    match serde_json::from_slice::<Envelope<'_>>(body) {
        Ok(env) => {
            let (jobs, refused) = match envelope_jobs(filter, event, &env, body) {
                Ok(jobs) => (jobs, None),
                Err(r) => (Vec::new(), Some(r)),
            };
            Inspection {
                action: env.action.as_deref().map(str::to_owned),
                installation_id: env.installation.as_ref().and_then(|i| i.id),
                parse_error: None,
                jobs,
                refused,
            }
        }
        // Rare: tell "not JSON" from "JSON, but a field we read has another type".
        Err(typed) => match serde_json::from_slice::<Value>(body) {
            Ok(v) => Inspection {
                action: v.get("action").and_then(Value::as_str).map(str::to_owned),
                installation_id: v.pointer("/installation/id").and_then(Value::as_i64),
                parse_error: None,
                jobs: {
                    tracing::warn!(%event, error = %typed, "webhook body has an unexpected shape; no job");
                    Vec::new()
                },
                refused: None,
            },
            Err(e) => Inspection {
                action: None,
                installation_id: None,
                parse_error: Some(e.to_string()),
                jobs: Vec::new(),
                refused: None,
            },
        },
    }
}

/// Whether a comment author is a bot: this app's own comments and other apps'
/// are never read as commands (a loop of bots answering bots is impossible).
fn is_bot(user: &UserRef<'_>) -> bool {
    user.kind.as_deref() == Some("Bot")
        || user.login.as_deref().is_some_and(|l| {
            l.len() >= 5
                && l.is_char_boundary(l.len() - 5)
                && l[l.len() - 5..].eq_ignore_ascii_case("[bot]")
        })
}

/// The installation a job acts through: a positive `installation.id`.
/// The installation and repository a job of this delivery acts for; a job
/// without either could never answer, so the delivery is refused instead.
fn job_target(env: &Envelope<'_>, full_name: &str) -> Result<(u64, RepoFullName), Refusal> {
    let installation_id = installation_of(env).ok_or(Refusal::NoInstallation)?;
    let repo = RepoFullName::parse(full_name).map_err(|_| Refusal::BadRepo)?;
    Ok((installation_id, repo))
}

fn installation_of(env: &Envelope<'_>) -> Option<u64> {
    env.installation
        .as_ref()
        .and_then(|i| i.id)
        .and_then(|id| u64::try_from(id).ok())
        .filter(|id| *id > 0)
}

fn is_requests_repo(filter: &EventFilter, full_name: &str) -> bool {
    let Some((owner, name)) = full_name.split_once('/') else {
        return false;
    };
    filter.requests_repos.iter().any(|r| {
        r.owner().as_str().eq_ignore_ascii_case(owner) && r.name().eq_ignore_ascii_case(name)
    })
}

/// The jobs a verified delivery implies (pure; no I/O).
///
/// Today: one comment job for an `issue_comment` `created`/`edited` in a
/// requests repo, by a human, that holds at least one command (for `edited`:
/// a command the previous body did not hold). Everything else implies nothing.
/// A comment job that could not be run (no installation to act through) is
/// refused here, with a reason, rather than stored to fail later.
/// An installation deleted or suspended: the workers forget which account
/// it served, so no call goes out with its (now refused) tokens.
fn installation_jobs(env: &Envelope<'_>) -> Vec<NewJob> {
    if !matches!(env.action.as_deref(), Some("deleted" | "suspend")) {
        return Vec::new();
    }
    let Some(inst) = env.installation.as_ref() else {
        return Vec::new();
    };
    let Some(account) = inst.account.as_ref().and_then(|a| a.login.as_deref()) else {
        return Vec::new();
    };
    let job = InstallationJob {
        account: account.to_owned(),
    };
    NewJob::of(JobKind::Installation, inst.id, &job)
        .into_iter()
        .collect()
}

fn envelope_jobs(
    filter: &EventFilter,
    event: &str,
    env: &Envelope<'_>,
    raw: &[u8],
) -> Result<Vec<NewJob>, Refusal> {
    if event == "installation" {
        return Ok(installation_jobs(env));
    }
    if event == "issues" {
        return issues::request_jobs(filter, env, raw);
    }
    if event == "push" || event == "repository" {
        return Ok(repo_events::catalog_jobs(filter, event, env));
    }
    if event != "issue_comment" {
        return Ok(Vec::new());
    }
    let previous = match env.action.as_deref() {
        Some("created") => None,
        // An edit that did not touch the body (no `changes.body`) adds no command.
        Some("edited") => match env
            .changes
            .as_ref()
            .and_then(|c| c.body.as_ref())
            .and_then(|b| b.from.as_deref())
        {
            Some(from) => Some(from),
            None => return Ok(Vec::new()),
        },
        _ => return Ok(Vec::new()),
    };
    let Some(full_name) = env.repository.as_ref().and_then(|r| r.full_name.as_deref()) else {
        return Ok(Vec::new());
    };
    if !is_requests_repo(filter, full_name) {
        return Ok(Vec::new());
    }
    let Some(comment) = env.comment.as_ref() else {
        return Ok(Vec::new());
    };
    let user = comment.user.as_ref();
    if user.is_some_and(is_bot) {
        // The one edit of a bot's comment that counts: a person ticking the
        // boxes of our checklist.
        return Ok(issues::checklist_jobs(env, full_name, comment));
    }
    let body = comment.body.as_deref().unwrap_or("");
    let invocations = match previous {
        None => command::parse_comment(body),
        Some(prev) => command::new_invocations(prev, body),
    };
    // An edit that only removes commands still gets a job: the replies to
    // the removed commands say that they were edited out.
    let removes = previous.is_some_and(|prev| !command::new_invocations(body, prev).is_empty());
    if invocations.is_empty() && !removes {
        return Ok(Vec::new());
    }
    // A comment that changes nothing (`/help`, `/plan`, mistakes) is not
    // queued behind the installation's provisioning: its job is not tied to
    // the installation that serialises writes.
    let writes = invocations
        .iter()
        .any(|i| i.result.as_ref().is_ok_and(|c| c.is_mutating()));
    // The worker needs these to answer at all; without them there is no job.
    let (Some(issue), Some(comment_id), Some(author)) = (
        env.issue.as_ref().and_then(|i| i.number),
        comment.id,
        user.and_then(|u| u.login.as_deref()),
    ) else {
        return Ok(Vec::new());
    };
    let (installation_id, repo) = job_target(env, full_name)?;
    let job = CommentJob {
        repo,
        issue,
        comment_id,
        comment_url: comment.html_url.as_deref().map(str::to_owned),
        author: author.to_owned(),
        body: body.to_owned(),
        previous_body: previous.map(str::to_owned),
        installation_id,
        form: false,
        approved_by: None,
        asked_at: comment
            .updated_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc)),
    };
    let queue = if writes {
        i64::try_from(installation_id).ok()
    } else {
        None
    };
    NewJob::of(JobKind::Comment, queue, &job)
        .map(|j| vec![j])
        .ok_or(Refusal::BadRepo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The jobs a payload implies, through the same path as the handler.
    fn jobs(filter: &EventFilter, event: &str, payload: &Value) -> Vec<NewJob> {
        inspect_body(filter, event, &serde_json::to_vec(payload).expect("json")).jobs
    }

    fn filter() -> EventFilter {
        EventFilter {
            requests_repos: vec![RepoFullName::parse("MITx/course-requests").expect("repo")],
            ..Default::default()
        }
    }

    fn comment(action: &str, body: &str) -> Value {
        json!({
            "action": action,
            "issue": {"number": 12},
            "comment": {
                "id": 99,
                "html_url": "https://github.com/mitx/course-requests/issues/12#issuecomment-99",
                "updated_at": "2026-12-01T09:30:00Z",
                "body": body,
                "user": {"login": "alice", "type": "User"}
            },
            "repository": {"full_name": "mitx/Course-Requests"},
            "installation": {"id": 4242}
        })
    }

    #[test]
    fn created_comment_with_a_command_makes_one_job() {
        let found = jobs(
            &filter(),
            "issue_comment",
            &comment("created", "Please\n/help\n"),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, JobKind::Comment);
        // `/help` changes nothing: not queued behind the installation's writes.
        assert_eq!(found[0].installation_id, None);
        let writes = jobs(
            &filter(),
            "issue_comment",
            &comment("created", "/help\n/release 8.01 2018_Spring"),
        );
        assert_eq!(writes[0].installation_id, Some(4242));
        assert_eq!(
            found[0].payload,
            json!({
                "repo": "mitx/Course-Requests",
                "issue": 12,
                "comment_id": 99,
                "comment_url": "https://github.com/mitx/course-requests/issues/12#issuecomment-99",
                "author": "alice",
                "body": "Please\n/help\n",
                "previous_body": null,
                "installation_id": 4242u64,
                "asked_at": "2026-12-01T09:30:00Z"
            })
        );
    }

    #[test]
    fn unknown_commands_still_make_a_job_so_the_bot_can_answer() {
        let jobs = jobs(&filter(), "issue_comment", &comment("created", "/halp"));
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn comments_that_are_not_commands_make_no_job() {
        let f = filter();
        let none = |p: &Value| assert!(jobs(&f, "issue_comment", p).is_empty(), "{p}");
        none(&comment("created", "just words, no command"));
        none(&comment("created", "```\n/help\n```"));
        none(&comment("created", "> /help"));
        none(&comment("deleted", "/help"));
        let mut bot = comment("created", "/help");
        bot["comment"]["user"] = json!({"login": "orcoursetrion[bot]", "type": "Bot"});
        none(&bot);
        let mut bot_by_login = comment("created", "/help");
        bot_by_login["comment"]["user"] = json!({"login": "helper[bot]", "type": "User"});
        none(&bot_by_login);
        let mut elsewhere = comment("created", "/help");
        elsewhere["repository"]["full_name"] = json!("mitx/other");
        none(&elsewhere);
        let mut no_issue = comment("created", "/help");
        no_issue["issue"] = Value::Null;
        none(&no_issue);
        assert!(jobs(&f, "issues", &comment("created", "/help")).is_empty());
        assert!(jobs(
            &EventFilter::default(),
            "issue_comment",
            &comment("created", "/help")
        )
        .is_empty());
    }

    #[test]
    fn inspect_body_reads_action_and_installation() {
        let f = filter();
        for payload in [
            comment("created", "Please \"quote\"\r\n/help\r\n"),
            comment("created", "nothing"),
            json!({"action": "opened", "installation": {"id": 5}}),
        ] {
            let body = serde_json::to_vec(&payload).expect("json");
            let seen = inspect_body(&f, "issue_comment", &body);
            assert_eq!(seen.action.as_deref(), payload["action"].as_str());
            assert_eq!(seen.installation_id, payload["installation"]["id"].as_i64());
            assert_eq!(seen.parse_error, None);
        }
    }

    #[test]
    fn inspect_body_tells_bad_json_from_an_unexpected_shape() {
        let f = filter();
        let bad = inspect_body(&f, "issue_comment", b"{\"action\": ");
        assert!(bad.parse_error.is_some());
        assert!(bad.jobs.is_empty());
        let trailing = inspect_body(&f, "issue_comment", b"{} x");
        assert!(trailing.parse_error.is_some());
        // Valid JSON, but a field ingress reads has another type.
        let mut odd = comment("created", "/help");
        odd["comment"]["id"] = json!("99");
        let seen = inspect_body(
            &f,
            "issue_comment",
            &serde_json::to_vec(&odd).expect("json"),
        );
        assert_eq!(seen.parse_error, None);
        assert_eq!(seen.action.as_deref(), Some("created"));
        assert_eq!(seen.installation_id, Some(4242));
        assert!(seen.jobs.is_empty());
        // Not an object at all.
        let array = inspect_body(&f, "ping", b"[1, 2]");
        assert_eq!((array.parse_error, array.action), (None, None));
    }

    #[test]
    fn edited_comments_count_only_new_commands() {
        let f = filter();
        let mut p = comment("edited", "/help\nthanks");
        p["changes"] = json!({"body": {"from": "/help"}});
        assert!(jobs(&f, "issue_comment", &p).is_empty());

        p["comment"]["body"] = json!("/help\n/plan /help");
        let found = jobs(&f, "issue_comment", &p);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].payload["previous_body"], json!("/help"));

        // Removing a command is answered too: its reply says it was edited out.
        let mut removed = comment("edited", "thanks");
        removed["changes"] = json!({"body": {"from": "/help\nthanks"}});
        assert_eq!(jobs(&f, "issue_comment", &removed).len(), 1);

        // Edited without a body change (e.g. only the title of something else).
        let mut no_change = comment("edited", "/help");
        no_change["changes"] = json!({});
        assert!(jobs(&f, "issue_comment", &no_change).is_empty());
    }

    #[test]
    fn a_comment_job_without_an_installation_is_refused_at_ingress() {
        let f = filter();
        for installation in [Value::Null, json!({"id": -1}), json!({"id": 0}), json!({})] {
            let mut p = comment("created", "/help");
            p["installation"] = installation.clone();
            let seen = inspect_body(&f, "issue_comment", &serde_json::to_vec(&p).expect("json"));
            assert!(seen.jobs.is_empty(), "{installation}");
            assert_eq!(
                seen.refused,
                Some(Refusal::NoInstallation),
                "{installation}"
            );
        }
        // No command, nothing asked: nothing refused either.
        let mut p = comment("created", "thanks");
        p["installation"] = Value::Null;
        let seen = inspect_body(&f, "issue_comment", &serde_json::to_vec(&p).expect("json"));
        assert_eq!(seen.refused, None);
    }
}
