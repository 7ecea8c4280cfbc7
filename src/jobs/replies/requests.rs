//! What the bot says about requests: the validation comment of an issue
//! form, `/status` and `/courses`.

use super::checks;
use crate::actions::{Check, CheckOutcome};
use crate::catalog::CatalogRun;
use crate::store::{RequestRecord, RequestState};
use crate::text::markdown_code;

/// The hidden marker of a request's one validation comment, found again and
/// edited in place when the issue is edited.
pub const REQUEST_MARKER: &str = "<!-- orcoursetrion:request -->";

/// What happens to a checked request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestNext<'a> {
    /// Valid: it runs now as this command.
    Runs(&'a str),
    /// Not valid: the form must be fixed.
    Fix,
    /// It ran already; an edit does not run it again.
    AlreadyRan,
    /// Valid, and waiting for a member of `approvers` to `/approve` it.
    /// `dropped`: who had approved it before this edit.
    WaitsForApproval {
        approvers: Option<&'a str>,
        dropped: Option<&'a str>,
    },
}

/// A request's validation: its fields, its checks, and what comes next.
#[derive(Debug, Clone, Copy)]
pub struct RequestCheck<'a> {
    /// (label, value) in the form's order; absent answers shown as such.
    pub fields: &'a [(String, Option<String>)],
    pub checks: &'a [Check],
    pub next: RequestNext<'a>,
}

/// A cell of a Markdown table: user input as a code span (it cannot render
/// as Markdown or ping anyone), on one line, with its pipes escaped.
fn cell(s: &str) -> String {
    markdown_code(&s.replace(['\n', '\r'], " ")).replace('|', "\\|")
}

/// The validation comment of a course-request form.
pub fn request_check(v: &RequestCheck) -> String {
    let valid = !v
        .checks
        .iter()
        .any(|c| matches!(c.outcome, CheckOutcome::Failed(_)));
    let verdict = match v.next {
        RequestNext::AlreadyRan => "✅ ran",
        RequestNext::WaitsForApproval { .. } => "✓ valid, ⏸️ waits for approval",
        _ if valid => "✓ valid",
        _ => "✗ not valid",
    };
    let rows: Vec<String> = v
        .fields
        .iter()
        .map(|(label, value)| match value {
            Some(x) => format!("| {} | {} |", label.replace('|', "\\|"), cell(x)),
            None => format!("| {} | _no answer_ |", label.replace('|', "\\|")),
        })
        .collect();
    let next = match v.next {
        RequestNext::Runs(cmd) => format!(
            "**Next:** it runs now, as\n\n```\n{}\n```\n\nThe comment below follows it.",
            cmd.replace('`', "'")
        ),
        RequestNext::Fix => "**Next:** fix what is marked ✗ by editing the issue; the checks then run again. Nothing was changed on GitHub.".to_string(),
        RequestNext::AlreadyRan => "**Next:** nothing. This request ran already, so editing it does not run it again; open a new issue for another request.".to_string(),
        RequestNext::WaitsForApproval { approvers, dropped } => {
            let who = match approvers {
                Some(t) => format!("a member of @{t} other than its author"),
                None => "an approver (none is configured: set ORC_APPROVERS_TEAM or ORC_OPERATORS_TEAM)".to_string(),
            };
            let was = match dropped {
                Some(a) => format!("The edit dropped the approval by @{a}. "),
                None => String::new(),
            };
            format!("**Next:** {was}It waits for approval: {who} comments `/approve`, and it runs. `/cancel` withdraws it.")
        }
    };
    let checked = if v.checks.is_empty() {
        String::new()
    } else {
        format!("**Checks**\n\n{}\n\n", checks(v.checks))
    };
    format!(
        "{REQUEST_MARKER}\n**Course request** {verdict}\n\n| field | answer |\n|---|---|\n{}\n\n{checked}{next}",
        rows.join("\n")
    )
}

/// `/status`: every command asked on this issue, with where it is.
pub fn status_list(
    web: &str,
    repo: &str,
    issue: u64,
    form: Option<&crate::store::FormRequest>,
    rows: &[RequestRecord],
) -> String {
    if rows.is_empty() && form.is_none() {
        return "**Requests of this issue**: none yet. Open a course request with the issue form, or write a command (`/help` lists them).".to_string();
    }
    let form_line = form
        .map(|f| {
            let approved = match &f.approved_by {
                Some(a) => format!(", approved by @{a}"),
                None => String::new(),
            };
            let cmd = f
                .command
                .as_deref()
                .map(markdown_code)
                .unwrap_or_else(|| "–".into());
            format!(
                "The course request of this issue, by @{}: {}{approved}; its command: {cmd}.\n\n",
                f.author,
                form_state_word(f.state)
            )
        })
        .unwrap_or_default();
    if rows.is_empty() {
        return format!("**Requests of this issue**\n\n{}", form_line.trim_end());
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let from = if r.comment_id == 0 {
                "the issue form".to_string()
            } else {
                format!(
                    "[a comment]({web}/{repo}/issues/{issue}#issuecomment-{})",
                    r.comment_id
                )
            };
            let answer = match r.status_comment {
                Some(id) => format!("[answer]({web}/{repo}/issues/{issue}#issuecomment-{id})"),
                None => "–".to_string(),
            };
            format!(
                "| {} | {} | {} | {from} | {answer} |",
                cell(&r.command),
                cell(&r.author),
                state_word(r.state)
            )
        })
        .collect();
    format!(
        "**Requests of this issue**\n\n{form_line}| command | asked by | state | from | answer |\n|---|---|---|---|---|\n{}",
        lines.join("\n")
    )
}

fn form_state_word(s: crate::store::FormState) -> &'static str {
    use crate::store::FormState;
    match s {
        FormState::Invalid => "⚠️ invalid (the form needs a fix)",
        FormState::PendingApproval => "⏸️ waits for approval",
        FormState::Approved => "👍 approved, queued",
        FormState::Queued => "⏳ queued",
        FormState::Done => "✅ done",
        FormState::Failed => "❌ failed",
        FormState::Cancelled => "🚫 cancelled",
    }
}

fn state_word(s: RequestState) -> &'static str {
    match s {
        RequestState::Done => "✅ done",
        RequestState::Failed => "❌ failed",
        RequestState::Refused => "⛔ refused",
        RequestState::Invalid => "⚠️ invalid",
        RequestState::Throttled => "🔇 not answered",
        RequestState::Pending => "⏸️ waits for approval",
        RequestState::Approved => "👍 approved",
        RequestState::Cancelled => "🚫 cancelled",
    }
}

/// `/courses [COURSE]`: catalog runs with their repos and states.
pub fn courses_list(web: &str, course: Option<&str>, runs: &[CatalogRun]) -> String {
    let title = match course {
        Some(c) => format!("**Runs of {}**", markdown_code(c)),
        None => "**Latest course runs**".to_string(),
    };
    if runs.is_empty() {
        return format!("{title}: none in the catalog.");
    }
    let lines: Vec<String> = runs
        .iter()
        .map(|r| {
            let pushed = r
                .last_push_at
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "–".to_string());
            format!(
                "| {} | [{}]({web}/{}) | {} | {} | {pushed} |",
                markdown_code(&r.course_key),
                r.repo,
                r.repo,
                r.kind,
                r.state
            )
        })
        .collect();
    format!(
        "{title}\n\n| course key | repo | kind | state | last push |\n|---|---|---|---|---|\n{}",
        lines.join("\n")
    )
}

/// `/approve` or `/cancel` on an issue where nothing waits.
pub fn nothing_waits() -> String {
    "Nothing on this issue waits for approval (`/status` shows its requests).".to_string()
}

/// `/approve` by the author of a request.
pub fn own_approval(login: &str) -> String {
    format!("⛔ @{login}, you asked for this request, so someone else must approve it.")
}

/// `/approve` by someone outside the approving team.
pub fn not_an_approver(login: &str, team: Option<&crate::config::TeamRef>) -> String {
    match team {
        Some(t) => format!(
            "⛔ @{login}, only members of @{}/{} may approve requests here.",
            t.org, t.slug
        ),
        None => format!(
            "⛔ @{login}, no team may approve requests here: an operator sets ORC_APPROVERS_TEAM (or ORC_OPERATORS_TEAM)."
        ),
    }
}

/// `/cancel` by someone who neither asked nor operates.
pub fn not_yours_to_cancel(login: &str) -> String {
    format!("⛔ @{login}, only the request's author or an operator may cancel it.")
}

fn command_list(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("- {}", markdown_code(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/approve` done: what now runs.
pub fn approved(approver: &str, lines: &[String]) -> String {
    format!(
        "👍 Approved by @{approver}. This runs now, and its status follows below:\n\n{}",
        command_list(lines)
    )
}

/// `/cancel` done.
pub fn cancelled(login: &str, lines: &[String]) -> String {
    format!(
        "🚫 Cancelled by @{login}. This will not run:\n\n{}",
        command_list(lines)
    )
}

/// A mutating command parked until someone approves it.
pub fn pending_command(heading: &str, approvers: Option<&crate::config::TeamRef>) -> String {
    let who = match approvers {
        Some(t) => format!("a member of @{}/{} other than you", t.org, t.slug),
        None => "an approver (none is configured)".to_string(),
    };
    format!(
        "{heading} ⏸️ waits for approval: {who} comments `/approve`, and it runs. `/cancel` withdraws it. Nothing was changed."
    )
}

/// The hidden marker of the bot's checklist comment; `key=` and `workflow=`
/// follow it on its line.
pub const CHECKLIST_MARKER: &str = "<!-- orcoursetrion:checklist";
/// The hidden marker of the note that a checklist is complete.
pub const CHECKLIST_DONE_MARKER: &str = "<!-- orcoursetrion:checklist-done";

/// The steps that need a person, as a task list to tick.
pub fn lms_checklist(
    workflow: crate::checklist::Workflow,
    s: &crate::checklist::Subject<'_>,
    steps: &[String],
) -> String {
    let boxes: Vec<String> = steps.iter().map(|st| format!("- [ ] {st}")).collect();
    format!(
        "{CHECKLIST_MARKER} key={} workflow={workflow} -->\n**What is left for a person** ({})\n\nTick each step when it is done; when every box is ticked, the bot closes this issue.\n\n{}",
        s.course_key,
        markdown_code(s.course_key),
        boxes.join("\n")
    )
}

/// Every box of the checklist is ticked.
pub fn checklist_done(
    marker: &str,
    last: &str,
    key: &str,
    state: Option<crate::catalog::RunState>,
) -> String {
    let catalog = match state {
        Some(st) => format!(" The catalog now has {} as {st}.", markdown_code(key)),
        None => String::new(),
    };
    format!("{marker} -->\n✅ Every step is done (the last ticked by @{last}).{catalog} Closing this issue.")
}
