//! The request driver: an issue whose body is the course-request form is
//! read with the repo's form template, turned into the chat command it
//! implies, and checked the way that command would be (names, the runs on
//! GitHub, the members). The answer is one validation comment, edited in
//! place on later edits, and a `request: …` label. A valid request is then
//! queued as a comment job of its command (`CommentJob::form`), under a
//! delivery id made from the issue and the command, so a redelivery or an
//! edit that keeps the command runs nothing twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use super::approval;
use super::replies::{self, RequestCheck, RequestNext, REQUEST_MARKER};
use super::{Bot, JobVerdict, RequestJob};
use crate::actions::{preflight, ActionError, Check, CheckOutcome, JournalError};
use crate::command::{self, Command};
use crate::forms::{self, CourseRequest, RequestProblem, Template};
use crate::github::{GitHub, GitHubError};
use crate::naming::{Course, Login, Term};
use crate::store::{FormRequest, FormState, RequestState, Store};

/// Where operators put the form in the requests repo.
pub const TEMPLATE_PATH: &str = ".github/ISSUE_TEMPLATE/course-request.yml";

crate::word_enum::word_enum! {
    /// The labels that say where a request is.
    RequestLabel {
        Invalid => "request: invalid",
        PendingApproval => "request: pending approval",
        Approved => "request: approved",
        Done => "request: done",
        Failed => "request: failed",
    }
}

impl RequestLabel {
    fn color(self) -> &'static str {
        match self {
            RequestLabel::Invalid => "e11d21",
            RequestLabel::PendingApproval => "fbca04",
            RequestLabel::Approved => "0e8a16",
            RequestLabel::Done => "1d76db",
            RequestLabel::Failed => "b60205",
        }
    }

    fn description(self) -> &'static str {
        match self {
            RequestLabel::Invalid => "The course request has a problem to fix",
            RequestLabel::PendingApproval => "The course request waits for an approver",
            RequestLabel::Approved => "The course request was approved",
            RequestLabel::Done => "The course request ran and succeeded",
            RequestLabel::Failed => "The course request ran and failed",
        }
    }
}

/// Repos whose labels this process has created (or found there): "create
/// missing labels once".
fn labels_made() -> &'static Mutex<HashSet<String>> {
    static MADE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    MADE.get_or_init(Default::default)
}

/// Makes `want` the issue's one `request: …` label. `current` is what the
/// issue is known to carry; labels not known to be there are not removed.
pub(super) async fn set_label(
    gh: &GitHub,
    owner: &str,
    repo: &str,
    issue: u64,
    current: &[String],
    want: Option<RequestLabel>,
) -> Result<(), GitHubError> {
    for l in RequestLabel::ALL {
        if Some(*l) != want && current.iter().any(|c| c.eq_ignore_ascii_case(l.as_str())) {
            gh.remove_issue_label(owner, repo, issue, l.as_str())
                .await?;
        }
    }
    let Some(want) = want else {
        return Ok(());
    };
    if current
        .iter()
        .any(|c| c.eq_ignore_ascii_case(want.as_str()))
    {
        return Ok(());
    }
    let key = format!("{}/{owner}/{repo}#{}", gh.api_url(), want.as_str()).to_ascii_lowercase();
    let known = labels_made()
        .lock()
        .map(|m| m.contains(&key))
        .unwrap_or(false);
    if !known {
        gh.create_label(owner, repo, want.as_str(), want.color(), want.description())
            .await?;
        if let Ok(mut m) = labels_made().lock() {
            m.insert(key);
        }
    }
    gh.add_issue_labels(owner, repo, issue, &[want.as_str()])
        .await
}

/// The folder of issue forms in the requests repo.
pub const TEMPLATE_DIR: &str = ".github/ISSUE_TEMPLATE";

/// Parsed templates by blob sha (`None`: that file is no course-request form).
fn parsed() -> &'static Mutex<HashMap<String, Option<Template>>> {
    static PARSED: OnceLock<Mutex<HashMap<String, Option<Template>>>> = OnceLock::new();
    PARSED.get_or_init(Default::default)
}

/// A template file, parsed once per version.
async fn form_at(
    gh: &GitHub,
    owner: &str,
    repo: &str,
    path: &str,
    sha: Option<&str>,
) -> Result<Option<Template>, GitHubError> {
    if let Some(hit) = sha.and_then(|s| parsed().lock().ok()?.get(s).cloned()) {
        return Ok(hit);
    }
    let Some((sha, text)) = gh.get_file(owner, repo, path).await? else {
        return Ok(None);
    };
    let t = Template::parse(&text).ok();
    if let Ok(mut m) = parsed().lock() {
        m.insert(sha, t.clone());
    }
    Ok(t)
}

/// The repo's course-request form: `course-request.yml` in its issue-form
/// folder (one call), else the first form there with the request's fields,
/// else the shipped one.
async fn template(gh: &GitHub, owner: &str, repo: &str) -> Result<Template, GitHubError> {
    if let Some(t) = form_at(gh, owner, repo, TEMPLATE_PATH, None).await? {
        return Ok(t);
    }
    for (name, sha, kind) in gh.list_dir(owner, repo, TEMPLATE_DIR).await? {
        let is_yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        if kind != "file" || !is_yaml || format!("{TEMPLATE_DIR}/{name}") == TEMPLATE_PATH {
            continue;
        }
        let path = format!("{TEMPLATE_DIR}/{name}");
        if let Some(t) = form_at(gh, owner, repo, &path, Some(&sha)).await? {
            return Ok(t);
        }
    }
    Ok(Template::shipped())
}

fn problem_check(template: &Template, p: &RequestProblem) -> Check {
    let label = |id: &str| template.label_of(id).unwrap_or(id).to_string();
    let (what, why) = match p {
        RequestProblem::Missing(id) => (
            format!("{} is answered", label(id)),
            "this request needs it".to_string(),
        ),
        RequestProblem::UnknownRequest(r) => (
            format!("{} is a known request", label("request")),
            format!("{r:?} is not one of New course, Rerun, Release to production, Team change"),
        ),
        RequestProblem::UnknownKind(k) => (
            format!("{} is xml or studio", label("kind")),
            format!("{k:?} is neither"),
        ),
    };
    Check {
        what,
        outcome: CheckOutcome::Failed(why),
    }
}

/// The names of a request, each by the rule of its kind: a form's user is
/// told which field is wrong, not how the command it implies failed to parse.
fn name_checks(template: &Template, r: &CourseRequest) -> Vec<Check> {
    let label = |id: &str| template.label_of(id).unwrap_or(id).to_string();
    let mut bad = Vec::new();
    let mut check = |id: &str, result: Result<(), crate::naming::NameError>| {
        if let Err(e) = result {
            bad.push(Check {
                what: format!("{} follows the naming rules", label(id)),
                outcome: CheckOutcome::Failed(e.to_string()),
            });
        }
    };
    check("course", Course::parse(&r.course).map(|_| ()));
    check("term", Term::parse(&r.term).map(|_| ()));
    if let Some(t) = &r.new_term {
        check("new_term", Term::parse(t).map(|_| ()));
    }
    for m in &r.members {
        check("members", Login::parse(m).map(|_| ()));
    }
    bad
}

/// The term of the run a request creates (a new course or a rerun).
fn new_run_term(r: &CourseRequest) -> Option<Term> {
    match r.kind {
        forms::RequestKind::NewCourse => Term::parse(&r.term).ok(),
        forms::RequestKind::Rerun => r.new_term.as_deref().and_then(|t| Term::parse(t).ok()),
        _ => None,
    }
}

fn course_of(r: &CourseRequest) -> Result<Course, ActionError> {
    Course::parse(&r.course).map_err(ActionError::Name)
}

/// The checks of a request, and its command when they all pass.
async fn check(
    bot: &Bot,
    gh: &GitHub,
    store: &Store,
    template: &Template,
    answers: &forms::Answers,
) -> Result<(Vec<Check>, Option<String>), ActionError> {
    let request = match CourseRequest::from_answers(answers) {
        Ok(r) => r,
        Err(problems) => {
            let checks = problems
                .iter()
                .map(|p| problem_check(template, p))
                .collect();
            return Ok((checks, None));
        }
    };
    let names = name_checks(template, &request);
    if !names.is_empty() {
        return Ok((names, None));
    }
    let s = &bot.settings;
    let team = match (Course::parse(&request.course), Term::parse(&request.term)) {
        (Ok(c), Ok(t)) => Some(s.names.team_name(&c, &t)),
        _ => None,
    };
    let line = request.command_line(team.as_deref().map(|t| (s.xml.org.as_str(), t)));
    let parsed = command::parse_comment(&line)
        .into_iter()
        .next()
        .map(|i| i.result);
    let cmd = match parsed {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            let failed = Check {
                what: "the names follow the naming rules".into(),
                outcome: CheckOutcome::Failed(e.to_string()),
            };
            return Ok((vec![failed], None));
        }
        None => {
            let failed = Check {
                what: "the request is a command".into(),
                outcome: CheckOutcome::Failed(format!("{line:?} is not one")),
            };
            return Ok((vec![failed], None));
        }
    };
    let mut checks = vec![Check {
        what: "the names follow the naming rules".into(),
        outcome: CheckOutcome::Passed,
    }];
    // The catalog first: a run it already holds needs no GitHub call to refuse.
    if let Some(new_term) = new_run_term(&request) {
        let key = s.names.course_key(&course_of(&request)?, &new_term);
        let held = store
            .catalog_run(&key)
            .await
            .map_err(|e| JournalError(e.to_string()))?
            .filter(|r| r.state != crate::catalog::RunState::Retired);
        if let Some(run) = held {
            checks.push(Check {
                what: format!("the catalog has no run {key} yet"),
                outcome: CheckOutcome::Failed(format!(
                    "it has one, in {} ({}); choose another term",
                    run.repo, run.state
                )),
            });
            return Ok((checks, None));
        }
    }
    let known = match super::action_run::named_course(&cmd) {
        Some(c) => store
            .catalog_runs(c.as_str())
            .await
            .map_err(|e| JournalError(e.to_string()))?,
        None => Vec::new(),
    };
    let action = match super::action_run::resolve(gh, s, &cmd, &known).await {
        Ok(a) => a,
        Err(e) if e.is_user_error() => {
            checks.push(Check {
                what: "the course's runs are found".into(),
                outcome: CheckOutcome::Failed(e.to_string()),
            });
            return Ok((checks, None));
        }
        Err(e) => return Err(e),
    };
    match preflight(gh, s, &action, &[]).await {
        Ok(found) => checks.extend(found),
        Err(e) if e.is_user_error() => checks.push(Check {
            what: "the checks before changes ran".into(),
            outcome: CheckOutcome::Failed(e.to_string()),
        }),
        Err(e) => return Err(e),
    }
    let valid = checks
        .iter()
        .all(|c| !matches!(c.outcome, CheckOutcome::Failed(_)));
    Ok((checks, valid.then(|| canonical(&cmd))))
}

fn canonical(cmd: &Command) -> String {
    cmd.to_string()
}

/// The form's fields as the comment shows them, in the template's order.
fn shown_fields(template: &Template, answers: &forms::Answers) -> Vec<(String, Option<String>)> {
    template
        .fields
        .iter()
        .filter(|f| f.id != "description" && f.id != "confirm")
        .map(|f| {
            let value = answers.0.get(&f.id).map(|a| match a {
                forms::Answer::Text(t) if f.id == "members" => {
                    forms::request::members(t).join(", ")
                }
                forms::Answer::Text(t) => t.clone(),
                forms::Answer::Choices(c) | forms::Answer::Ticked(c) => c.join(", "),
            });
            (f.label.clone(), value)
        })
        .collect()
}

/// Creates or edits the request's one validation comment.
async fn put_comment(gh: &GitHub, job: &RequestJob, text: &str) -> Result<(), GitHubError> {
    let (owner, repo) = (job.repo.owner().as_str(), job.repo.name());
    let body = replies::bounded(&crate::secret::redact(text));
    let ours = super::find_ours(gh, &job.repo, job.issue, REQUEST_MARKER).await?;
    match ours {
        Some(c) => gh.update_comment(owner, repo, c.id, &body).await,
        None => gh
            .create_comment(owner, repo, job.issue, &body)
            .await
            .map(|_| ()),
    }
}

/// Whether a command that came from this issue's form already ran to an end.
async fn already_ran(store: &Store, job: &RequestJob) -> bool {
    store
        .requests_for_issue(&job.repo.to_string(), job.issue as i64)
        .await
        .map(|rows| {
            rows.iter()
                .any(|r| r.comment_id == 0 && r.state == RequestState::Done)
        })
        .unwrap_or(false)
}

/// Runs one request job; the worker turns an error into its verdict.
pub async fn run(
    bot: &Bot,
    gh: &GitHub,
    store: &Store,
    job: &RequestJob,
) -> Result<JobVerdict, ActionError> {
    let (owner, repo) = (job.repo.owner().as_str(), job.repo.name());
    let template = template(gh, owner, repo).await?;
    let Some(answers) = forms::parse(&template, &job.body) else {
        return Ok(JobVerdict::Done(serde_json::json!({ "form": false })));
    };
    // A request that ran is not checked again: its run now exists.
    let prior = store
        .form_requests(&job.repo.to_string(), Some(job.issue as i64))
        .await
        .map_err(|e| JournalError(e.to_string()))?
        .into_iter()
        .next();
    let ran =
        prior.as_ref().is_some_and(|p| p.state == FormState::Done) || already_ran(store, job).await;
    let (checks, command) = if ran {
        (Vec::new(), None)
    } else {
        check(bot, gh, store, &template, &answers).await?
    };
    // Who may let it run: with approval required, the approvers, for every
    // request; without, an operator, for a request its author may not run.
    let gate = match &command {
        Some(_) if !ran => {
            if bot.require_approval {
                true
            } else {
                !approval::may_write(gh, bot, &job.repo, &job.author).await?
            }
        }
        _ => false,
    };
    let dropped = prior
        .as_ref()
        .filter(|p| p.state == FormState::Approved)
        .and_then(|p| p.approved_by.clone());
    let approvers = approval::approvers(bot).map(|t| format!("{}/{}", t.org, t.slug));
    let next = match (&command, ran) {
        (_, true) => RequestNext::AlreadyRan,
        (Some(_), false) if gate => RequestNext::WaitsForApproval {
            approvers: approvers.as_deref(),
            dropped: dropped.as_deref(),
        },
        (Some(c), false) => RequestNext::Runs(c),
        (None, false) => RequestNext::Fix,
    };
    let fields = shown_fields(&template, &answers);
    let text = replies::request_check(&RequestCheck {
        fields: &fields,
        checks: &checks,
        next,
    });
    put_comment(gh, job, &text).await?;
    if ran {
        return Ok(JobVerdict::Done(
            serde_json::json!({ "form": true, "ran": true }),
        ));
    }
    let (state, label) = match (&command, gate) {
        (None, _) => (FormState::Invalid, Some(RequestLabel::Invalid)),
        (Some(_), true) => (
            FormState::PendingApproval,
            Some(RequestLabel::PendingApproval),
        ),
        (Some(_), false) => (FormState::Queued, None),
    };
    let record = FormRequest {
        repo: job.repo.to_string(),
        issue: job.issue as i64,
        author: job.author.clone(),
        fields: serde_json::to_value(&answers).unwrap_or_default(),
        command: command.clone(),
        state,
        approved_by: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    store
        .record_form_request(&record)
        .await
        .map_err(|e| JournalError(e.to_string()))?;
    set_label(gh, owner, repo, job.issue, &job.labels, label).await?;
    let queued = match (&command, gate) {
        (Some(c), false) => {
            let run = approval::form_job(job, c, None);
            approval::enqueue(store, run, "form")
                .await
                .map_err(JournalError)?
        }
        _ => false,
    };
    Ok(JobVerdict::Done(serde_json::json!({
        "form": true,
        "valid": command.is_some(),
        "pending": gate,
        "queued": queued,
    })))
}
