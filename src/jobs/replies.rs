//! Everything the bot says on GitHub, in one place: status comments, refusals,
//! errors and the step checklist. Replies are the product's user interface,
//! so they are written here and snapshot-tested, never assembled ad hoc.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::actions::{ActionError, Check, CheckOutcome, Outcome, Plan};
use crate::command::{self, Command, CommandError};
use crate::config::TeamRef;
use crate::naming::RepoFullName;
use crate::text::markdown_code;

mod requests;
pub use requests::*;

/// The hidden marker that makes a status comment findable again when the
/// answer to its creation was lost.
pub fn marker(job_id: i64, index: usize) -> String {
    format!("<!-- orcoursetrion:job={job_id}:command={index} -->")
}

/// The start of a command's status comment: the command, and for a
/// `/retry` the command it runs again.
pub fn heading(cmd: &Command, retried: bool) -> String {
    if retried {
        format!("**`/retry`** → **`{cmd}`**")
    } else {
        format!("**`{cmd}`**")
    }
}

/// `/retry` on an issue where nothing failed.
pub fn nothing_to_retry() -> String {
    "⚠️ `/retry` found nothing to retry: no command of this issue failed since it last succeeded."
        .to_string()
}

/// Marks a reply whose command an edit removed (see [`superseded`]).
const SUPERSEDED: &str = "<!-- orcoursetrion:superseded -->";

pub fn is_superseded(body: &str) -> bool {
    body.contains(SUPERSEDED)
}

/// An earlier reply, told that an edit removed its command (or replaced it
/// with `replacement`). What the command did stays on record below.
pub fn superseded(body: &str, replacement: Option<&str>) -> String {
    let note = match replacement {
        Some(new) => format!(
            "✏️ An edit replaced this command with {}; see the reply to it. What is below is what this one did.",
            markdown_code(new)
        ),
        None => "✏️ An edit removed this command from the comment. What is below is what it did; nothing more will be done for it.".to_string(),
    };
    // Keep the hidden marker line first, so the reply is still found by it.
    let (marker, rest) = match body.split_once('\n') {
        Some((first, rest)) if first.starts_with("<!--") => (format!("{first}\n"), rest),
        _ => (String::new(), body),
    };
    format!("{marker}{SUPERSEDED}\n> {note}\n\n{rest}")
}

/// The plan as a task list: a finished step says what it did, a step to come
/// what it will do.
pub fn checklist(plan: &Plan, done: &[Outcome]) -> String {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, step)| match done.get(i) {
            Some(o) => format!("- [x] {}", o.summary()),
            None => format!("- [ ] {}", step.describe()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The checks before changes, one line each: ✓ passed, ✗ failed (with what
/// to do), ✅ already so.
pub fn checks(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| match &c.outcome {
            CheckOutcome::Passed => format!("- ✓ {}", c.what),
            CheckOutcome::Failed(why) => format!("- ✗ {}: {why}", c.what),
            CheckOutcome::AlreadyDone => format!("- ✅ {}", c.what),
            CheckOutcome::Adopted { .. } => {
                format!("- ✓ {}: the steps it is missing will run", c.what)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A check failed: nothing was written.
pub fn refused_by_checks(heading: &str, list: &[Check]) -> String {
    format!(
        "{heading} ✗ not started: a check failed, and nothing was changed.\n\n{}\n\nFix what is marked ✗ and send the command again.",
        checks(list)
    )
}

/// What the command asks for is already so.
pub fn already_done(heading: &str, list: &[Check]) -> String {
    format!(
        "{heading} ✅ already done: nothing to change.\n\n{}",
        checks(list)
    )
}

/// A command line that did not parse.
pub fn invalid(text: &str, e: &CommandError) -> String {
    format!("⚠️ {}: {e}", markdown_code(text))
}

/// What `/help` says of this installation: its orgs and who may run what.
#[derive(Debug, Clone, Copy)]
pub struct HelpContext<'a> {
    pub studio_org: &'a str,
    pub xml_org: &'a str,
    pub requests_repo: &'a RepoFullName,
    pub operators: Option<&'a TeamRef>,
}

/// `/help` or `/help COMMAND`, with how this installation is set up, and
/// examples that name its own orgs.
pub fn help(topic: Option<&str>, here: &HelpContext) -> String {
    let text = match topic.and_then(command::find_spec) {
        Some(spec) => command::help_for(spec),
        None => command::help_text(),
    };
    // The table's example names the default XML org; name this one's.
    let text = text.replace("/put-team mitx ", &format!("/put-team {} ", here.xml_org));
    let mut who = format!("write access to `{}`", here.requests_repo);
    if let Some(t) = here.operators {
        who.push_str(&format!(
            " or membership of the team `{}/{}`",
            t.org, t.slug
        ));
    }
    format!(
        "{text}\n\n**Here:** Studio courses are in `{}`, XML courses in `{}`. \
         Commands that change GitHub need {who}; anyone who can comment may use \
         `/help` and `/plan`.",
        here.studio_org, here.xml_org
    )
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
pub fn dry_run(inner: &Command, plan: &Plan, list: &[Check]) -> String {
    let mut text = format!(
        "📋 Dry run of `{inner}` (nothing was changed):\n\n{}",
        checklist(plan, &[])
    );
    if !list.is_empty() {
        text.push_str(&format!("\n\nChecks:\n\n{}", checks(list)));
    }
    text
}

/// An action that could not start (its run was not found, a name too long).
pub fn action_error(e: &ActionError) -> String {
    error_text(e)
}

/// Who asked for a command and when, and how long it has taken.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub author: &'a str,
    pub at: Option<DateTime<Utc>>,
    pub took: Option<Duration>,
    pub approved_by: Option<&'a str>,
}

/// What a status comment shows: the command, who asked, its plan and the
/// steps done. `web`: the GitHub web address that links point at.
#[derive(Debug, Clone, Copy)]
pub struct Status<'a> {
    pub heading: &'a str,
    pub asked: Asked<'a>,
    pub web: &'a str,
    pub plan: &'a Plan,
    pub done: &'a [Outcome],
}

impl Status<'_> {
    /// Heading and one-line summary, who asked, the checklist, the links.
    fn render(&self, summary: &str, extra: &str) -> String {
        let mut text = format!(
            "{} {summary}\n<sub>{}</sub>\n\n{}",
            self.heading,
            asked_line(&self.asked),
            checklist(self.plan, self.done)
        );
        if !extra.is_empty() {
            text.push_str("\n\n");
            text.push_str(extra);
        }
        let links = links(self.web, self.done);
        if !links.is_empty() {
            text.push_str(&format!("\n\n🔗 {links}"));
        }
        text
    }
}

fn asked_line(a: &Asked) -> String {
    let mut line = format!("asked by @{}", a.author);
    if let Some(at) = a.at {
        line.push_str(&format!(" on {}", at.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(by) = a.approved_by {
        line.push_str(&format!(", approved by @{by}"));
    }
    if let Some(took) = a.took {
        line.push_str(&format!(" · took {}", duration(took)));
    }
    line
}

/// `4 s`, `2 min 5 s`, `1 h 3 min`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Markdown links to what the steps touched: each repo, its webhook settings
/// when hooks changed, and each team.
pub fn links(web: &str, done: &[Outcome]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut push = |link: String| {
        if !out.contains(&link) {
            out.push(link);
        }
    };
    for o in done {
        match o {
            Outcome::RepoCreated { full_name, .. } => {
                push(format!("[{full_name}]({web}/{full_name})"))
            }
            Outcome::TeamGranted { repo, .. }
            | Outcome::FileAdded { repo, .. }
            | Outcome::TeamsCopied { repo, .. } => push(format!("[{repo}]({web}/{repo})")),
            Outcome::Copied { dst, .. } => push(format!("[{dst}]({web}/{dst})")),
            Outcome::HooksRemoved { repo, .. } | Outcome::HookAdded { repo, .. } => {
                push(format!("[{repo}]({web}/{repo})"));
                push(format!("[webhooks of {repo}]({web}/{repo}/settings/hooks)"));
            }
            Outcome::TeamPut {
                org, slug, name, ..
            } => {
                let shown = if name.is_empty() { slug } else { name };
                push(format!("[team \"{shown}\"]({web}/orgs/{org}/teams/{slug})"));
            }
        }
    }
    out.join(" · ")
}

/// Before the first step.
pub fn running(v: &Status) -> String {
    let total = v.plan.steps.len();
    v.render(&format!("⏳ running: {total} step{}", plural(total)), "")
}

/// After a step, while more remain.
pub fn progress(v: &Status) -> String {
    v.render(
        &format!("⏳ step {} of {} done", v.done.len(), v.plan.steps.len()),
        "",
    )
}

/// Every step done. The headline is the repo made, else the last step's
/// outcome (for a rerun of an XML run: how many webhooks it removed).
pub fn done(v: &Status) -> String {
    let headline = v
        .done
        .iter()
        .find(|o| matches!(o, Outcome::RepoCreated { .. }))
        .or(v.done.last())
        .map(Outcome::summary)
        .unwrap_or_default();
    v.render(&format!("✅ done: {headline}"), "")
}

/// A step failed for good: what was done (ticked), what is left, and the
/// one command that finishes it once the cause is fixed.
pub fn failed(v: &Status, e: &ActionError) -> String {
    let step = v.done.len() + 1;
    let total = v.plan.steps.len();
    let left = total - v.done.len();
    let finish = if v.done.is_empty() {
        "Nothing was changed. Once that is fixed, comment `/retry` to run it again.".to_string()
    } else {
        let rest = if left == 1 {
            "the step left runs".to_string()
        } else {
            format!("the {left} steps left run")
        };
        format!(
            "{} step{} done (ticked) and {left} left. Once that is fixed, comment `/retry`: \
             the steps done are found in place and kept, and {rest}.",
            v.done.len(),
            plural(v.done.len())
        )
    };
    v.render(
        &format!("❌ stopped at step {step} of {total}"),
        &format!("{}\n\n{finish}", error_text(e)),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn error_text(e: &ActionError) -> String {
    match e {
        ActionError::Name(n) => format!("❌ {}", n.to_markdown()),
        e => format!("❌ {e}"),
    }
}

/// GitHub refused a call for good while the command ran.
pub fn github_refused(error: &str) -> String {
    format!("❌ GitHub refused: {error}")
}

/// The commands past `ORC_MAX_COMMANDS` in one comment, answered once.
pub fn too_many_commands(max: usize, found: usize) -> String {
    format!(
        "⚠️ This comment holds {found} commands; at most {max} run from one comment, \
         so the rest did not run. Post them in another comment."
    )
}

/// What the bot allows itself in one comment; GitHub refuses a comment of
/// more than 65,536 characters, and this leaves room for its own counting.
const COMMENT_BUDGET: usize = 60_000;

/// `text` shortened to fit in one GitHub comment, saying so. The full text
/// stays in the job's record.
pub fn bounded(text: &str) -> String {
    if text.chars().count() <= COMMENT_BUDGET {
        return text.to_owned();
    }
    let note =
        "\n\n… (shortened to fit in a GitHub comment; the full text is kept in the job's record)";
    let keep: String = text
        .chars()
        .take(COMMENT_BUDGET - note.chars().count())
        .collect();
    format!("{keep}{note}")
}

/// GitHub kept failing until the job's retries ran out.
pub fn retries_exhausted(text: &str, error: &str) -> String {
    format!("❌ `{text}` failed: GitHub kept failing and the retries are used up: {error}")
}

/// Every reply the bot can post, as a snapshot: these texts are the product's
/// user interface, so a change to any of them is reviewed as one.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeZone;

    use super::*;
    use crate::actions::{plan, Action, CourseRun, CreateXmlRepo, HookTarget};
    use crate::config::Config;
    use crate::github::GitHubError;
    use crate::naming::{Course, Login, Term};

    const WEB: &str = "https://github.com";

    fn settings() -> crate::config::Settings {
        let vars: HashMap<String, String> = [
            ("ORC_GH_OAUTH2_TOKEN", "t"),
            (
                "ORC_STAGING_GITRELOAD",
                "https://gr:pw@staging.example.edu/gitreload",
            ),
            (
                "ORC_PRODUCTION_GITRELOAD",
                "https://gr:pw@lms.example.edu/gitreload",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config::from_vars(&vars).expect("config").settings
    }

    fn create_xml() -> (Command, Plan) {
        let action = Action::CreateXmlRepo(CreateXmlRepo {
            course: Course::parse("6.004r").unwrap(),
            term: Term::parse("2018_Spring").unwrap(),
            team: None,
            members: Some(vec![Login::parse("alice").unwrap()]),
            description: None,
        });
        let p = plan(&action, &settings()).expect("plan");
        (Command::Run(action), p)
    }

    fn outcomes() -> Vec<Outcome> {
        vec![
            Outcome::RepoCreated {
                full_name: "mitx/content-mit-6004r-2018_Spring".into(),
                html_url: "https://github.com/mitx/content-mit-6004r-2018_Spring".into(),
                clone_url: None,
                in_place: false,
            },
            Outcome::TeamGranted {
                team: "mitx-content-deployment".into(),
                repo: "mitx/content-mit-6004r-2018_Spring".into(),
            },
            Outcome::TeamPut {
                org: "mitx".into(),
                slug: "content-mit-6004r-2018_spring".into(),
                name: "content-mit-6004r-2018_Spring".into(),
                created: true,
                added: vec!["alice".into()],
                removed: vec![],
            },
            Outcome::HookAdded {
                repo: "mitx/content-mit-6004r-2018_Spring".into(),
                target: HookTarget::Staging,
                in_place: false,
            },
        ]
    }

    fn asked(took: Option<u64>) -> Asked<'static> {
        Asked {
            author: "alice",
            at: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).single(),
            took: took.map(Duration::from_secs),
            approved_by: None,
        }
    }

    fn view<'a>(h: &'a str, p: &'a Plan, done: &'a [Outcome], took: Option<u64>) -> Status<'a> {
        Status {
            heading: h,
            asked: asked(took),
            web: WEB,
            plan: p,
            done,
        }
    }

    #[test]
    fn status_comments() {
        let (cmd, p) = create_xml();
        let h = heading(&cmd, false);
        let all = outcomes();
        insta::assert_snapshot!("running", running(&view(&h, &p, &[], None)));
        insta::assert_snapshot!("progress", progress(&view(&h, &p, &all[..2], Some(4))));
        insta::assert_snapshot!("done", done(&view(&h, &p, &all, Some(125))));
        let e = ActionError::GitHub(GitHubError::RepoExists {
            owner: "mitx".into(),
            repo: "content-mit-6004r-2018_Spring".into(),
        });
        insta::assert_snapshot!("failed_first_step", failed(&view(&h, &p, &[], Some(1)), &e));
        let hook = ActionError::GitHub(GitHubError::Status {
            status: 502,
            method: "POST".into(),
            path: "/repos/mitx/content-mit-6004r-2018_Spring/hooks".into(),
            message: "Bad Gateway".into(),
            request_id: None,
        });
        insta::assert_snapshot!(
            "failed_halfway",
            failed(&view(&h, &p, &all[..3], Some(40)), &hook)
        );
        let retried = heading(&cmd, true);
        let mut adopted = all.clone();
        if let Outcome::RepoCreated { in_place, .. } = &mut adopted[0] {
            *in_place = true;
        }
        insta::assert_snapshot!(
            "done_after_retry",
            done(&view(&retried, &p, &adopted, Some(3)))
        );
    }

    #[test]
    fn hooks_removed_are_counted() {
        let action = Action::RerunXml(CourseRun {
            course: Course::parse("6.004r").unwrap(),
            term: Term::parse("2018_Spring").unwrap(),
        });
        let p = plan(&action, &settings()).expect("plan");
        let removed = [Outcome::HooksRemoved {
            repo: "mitx/content-mit-6004r-2018_Spring".into(),
            count: 2,
        }];
        let h = heading(&Command::Run(action), false);
        insta::assert_snapshot!("done_hooks_removed", done(&view(&h, &p, &removed, Some(2))));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Duration::from_secs(0)), "0 s");
        assert_eq!(duration(Duration::from_secs(59)), "59 s");
        assert_eq!(duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(duration(Duration::from_secs(3_780)), "1 h 3 min");
    }

    #[test]
    fn refusals_and_mistakes() {
        let (cmd, p) = create_xml();
        let repo = RepoFullName::parse("mitx/course-requests").unwrap();
        let ops = TeamRef {
            org: "mitx".into(),
            slug: "course-operators".into(),
        };
        insta::assert_snapshot!("refusal", refusal("bob", &repo, Some(&ops), &cmd));
        insta::assert_snapshot!("refusal_no_operators", refusal("bob", &repo, None, &cmd));
        let invs = command::parse_comment("/rerun-stuido 6.004r 2018_Spring 2019_Spring");
        let Err(e) = &invs[0].result else {
            panic!("parsed")
        };
        insta::assert_snapshot!("invalid", invalid(&invs[0].text, e));
        let list = vec![
            Check {
                what: "no repo for 6.004r 2018_Spring in mitx yet".into(),
                outcome: CheckOutcome::Failed(
                    "mitx/content-mit-6004r-2018_Spring already exists; choose another term, or use it as it is".into(),
                ),
            },
            Check {
                what: "user alice exists on GitHub".into(),
                outcome: CheckOutcome::Passed,
            },
            Check {
                what: "the staging gitreload URL is configured".into(),
                outcome: CheckOutcome::Failed(
                    "ask an operator to configure it for this server".into(),
                ),
            },
        ];
        insta::assert_snapshot!("dry_run", dry_run(&cmd, &p, &list));
        let h = heading(&cmd, false);
        insta::assert_snapshot!("refused_by_checks", refused_by_checks(&h, &list));
        let adopted = vec![Check {
            what: "mitx/content-mit-6004r-2018_Spring was made by this bot for 6.004r 2018_Spring"
                .into(),
            outcome: CheckOutcome::Adopted {
                repo: "mitx/content-mit-6004r-2018_Spring".into(),
            },
        }];
        insta::assert_snapshot!("dry_run_adopting", dry_run(&cmd, &p, &adopted));
        let released = vec![Check {
            what: "mitx/content-mit-6004r-2018_Spring has the production hook already".into(),
            outcome: CheckOutcome::AlreadyDone,
        }];
        insta::assert_snapshot!("already_done", already_done(&h, &released));
        let nf = ActionError::NotFound(
            "no repo for 6.004r 2017_Fall in MITx-Studio2LMS or mitx; the runs of 6.004r are `2018_Spring` (xml), `2019_Spring` (studio)".into(),
        );
        insta::assert_snapshot!("not_found", action_error(&nf));
        insta::assert_snapshot!(
            "retries_exhausted",
            retries_exhausted(
                "/create-xml-repo 6.004r 2018_Spring",
                "GitHub answered 502 to POST /orgs/mitx/repos"
            )
        );
        insta::assert_snapshot!("nothing_to_retry", nothing_to_retry());
    }

    #[test]
    fn edited_out_replies() {
        let old =
            "<!-- orcoursetrion:job=3:command=0 -->\n**`/release 6.004r 2018_Spring`** ✅ done";
        let removed = superseded(old, None);
        assert!(is_superseded(&removed));
        assert!(!is_superseded(old));
        assert!(removed.starts_with("<!-- orcoursetrion:job=3:command=0 -->\n"));
        insta::assert_snapshot!("superseded_removed", removed);
        insta::assert_snapshot!(
            "superseded_replaced",
            superseded(old, Some("/release 6.004r 2019_Spring"))
        );
    }

    #[test]
    fn limits_replies() {
        insta::assert_snapshot!("too_many_commands", too_many_commands(10, 50));
        insta::assert_snapshot!(
            "github_refused",
            github_refused(
                "GitHub answered 404 to POST /repos/mitx/x/issues/9/comments: Not Found"
            )
        );
        let long = "x".repeat(100_000);
        let b = bounded(&long);
        assert!(b.chars().count() <= 65_536);
        assert!(b.ends_with("kept in the job's record)"));
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn help_replies() {
        let repo = RepoFullName::parse("mitx/course-requests").unwrap();
        let ops = TeamRef {
            org: "mitx".into(),
            slug: "course-operators".into(),
        };
        let here = HelpContext {
            studio_org: "MITx-Studio2LMS",
            xml_org: "mitx-xml",
            requests_repo: &repo,
            operators: Some(&ops),
        };
        insta::assert_snapshot!("help_topic", help(Some("rerun"), &here));
        let all = help(None, &here);
        assert!(all.starts_with(&command::help_text()[..40]));
        assert!(all.contains("`/put-team mitx-xml \"6.004 staff\""), "{all}");
        insta::assert_snapshot!("help_here", &all[all.find("**Here:**").unwrap_or(0)..]);
    }
}
