//! Everything the bot says on GitHub, in one place: status comments, refusals,
//! errors and the step checklist. Replies are the product's user interface,
//! so they are written here and snapshot-tested, never assembled ad hoc.

use crate::actions::{ActionError, Outcome, Plan};
use crate::command::{self, Command, CommandError};
use crate::config::TeamRef;
use crate::naming::RepoFullName;
use crate::text::markdown_code;

/// The hidden marker that makes a status comment findable again when the
/// answer to its creation was lost.
pub fn marker(job_id: i64, index: usize) -> String {
    format!("<!-- orcoursetrion:job={job_id}:command={index} -->")
}

/// The first line of a command's status comment.
pub fn heading(cmd: &Command) -> String {
    format!("**`{cmd}`**")
}

/// The plan as a task list, finished steps ticked with what they did.
pub fn checklist(plan: &Plan, done: &[Outcome]) -> String {
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

/// A command line that did not parse.
pub fn invalid(text: &str, e: &CommandError) -> String {
    format!("⚠️ {}: {e}", markdown_code(text))
}

/// `/help` or `/help COMMAND`.
pub fn help(topic: Option<&str>) -> String {
    match topic.and_then(command::find_spec) {
        Some(spec) => command::help_for(spec),
        None => command::help_text(),
    }
}

/// A mutating command from someone who may not run it.
pub fn refusal(
    author: &str,
    repo: &RepoFullName,
    operators: Option<&TeamRef>,
    cmd: &Command,
) -> String {
    let mut who = format!("write access to `{repo}`");
    if let Some(t) = operators {
        who.push_str(&format!(" or membership of `{}/{}`", t.org, t.slug));
    }
    format!(
        "🚫 @{author} you need {who} to run `/{}`. Anyone may use `/help` and `/plan`.",
        cmd.name()
    )
}

/// `/plan COMMAND`: the steps, none ticked.
pub fn dry_run(inner: &Command, plan: &Plan) -> String {
    format!(
        "📋 Dry run of `{inner}` (nothing was changed):\n\n{}",
        checklist(plan, &[])
    )
}

/// An action that could not run or stopped, with the steps so far.
pub fn action_error(e: &ActionError, progress: Option<(&Plan, &[Outcome])>) -> String {
    let mut text = format!("❌ {e}");
    if let Some((plan, done)) = progress {
        text.push_str(&format!("\n\n{}", checklist(plan, done)));
    }
    text
}

/// Before the first step.
pub fn running(heading: &str, plan: &Plan) -> String {
    format!("{heading} ⏳ running\n\n{}", checklist(plan, &[]))
}

/// After a step, while more remain.
pub fn progress(heading: &str, plan: &Plan, done: &[Outcome], total: usize) -> String {
    format!(
        "{heading} ⏳ step {} of {total} done\n\n{}",
        done.len(),
        checklist(plan, done)
    )
}

/// Every step done.
pub fn done(
    heading: &str,
    plan: &Plan,
    outcomes: &[Outcome],
    hooks_removed: Option<u32>,
) -> String {
    let mut text = format!("{heading} ✅ done\n\n{}", checklist(plan, outcomes));
    if let Some(n) = hooks_removed {
        text.push_str(&format!("\n\nWebhooks removed: {n}."));
    }
    text
}

/// A step failed for good.
pub fn failed_at(heading: &str, step: usize, error_reply: &str) -> String {
    format!("{heading} ❌ failed at step {step}\n\n{error_reply}")
}

/// GitHub kept failing until the job's retries ran out.
pub fn retries_exhausted(text: &str, error: &str) -> String {
    format!("❌ `{text}` failed: GitHub kept failing and the retries are used up: {error}")
}
