//! Everything the bot says on GitHub, in one place: status comments, refusals,
//! errors and the step checklist. Replies are the product's user interface,
//! so they are written here and snapshot-tested, never assembled ad hoc.

use crate::actions::{ActionError, Check, CheckOutcome, Outcome, Plan};
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

/// The checks before changes, one line each: ✓ passed, ✗ failed (with what
/// to do), ✅ already so.
pub fn checks(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| match &c.outcome {
            CheckOutcome::Passed => format!("- ✓ {}", c.what),
            CheckOutcome::Failed(why) => format!("- ✗ {}: {why}", c.what),
            CheckOutcome::AlreadyDone => format!("- ✅ {}", c.what),
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

/// An action that could not run or stopped, with the steps so far.
pub fn action_error(e: &ActionError, progress: Option<(&Plan, &[Outcome])>) -> String {
    let mut text = match e {
        ActionError::Name(n) => format!("❌ {}", n.to_markdown()),
        e => format!("❌ {e}"),
    };
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

    use super::*;
    use crate::actions::{plan, Action, CourseRun, CreateXmlRepo, HookTarget};
    use crate::config::Config;
    use crate::github::GitHubError;
    use crate::naming::{Course, Login, Term};

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
                html_url: "https://github.example/mitx/content-mit-6004r-2018_Spring".into(),
                clone_url: None,
            },
            Outcome::TeamGranted {
                team: "mitx-content-deployment".into(),
                repo: "mitx/content-mit-6004r-2018_Spring".into(),
            },
            Outcome::TeamPut {
                org: "mitx".into(),
                slug: "content-mit-6004r-2018_spring".into(),
                created: true,
                added: vec!["alice".into()],
                removed: vec![],
            },
            Outcome::HookAdded {
                repo: "mitx/content-mit-6004r-2018_Spring".into(),
                target: HookTarget::Staging,
            },
        ]
    }

    #[test]
    fn status_comments() {
        let (cmd, p) = create_xml();
        let h = heading(&cmd);
        let all = outcomes();
        insta::assert_snapshot!("running", running(&h, &p));
        insta::assert_snapshot!("progress", progress(&h, &p, &all[..2], p.steps.len()));
        insta::assert_snapshot!("done", done(&h, &p, &all, None));
        let e = ActionError::GitHub(GitHubError::RepoExists {
            owner: "mitx".into(),
            repo: "content-mit-6004r-2018_Spring".into(),
        });
        let reply = action_error(&e, Some((&p, &all[..0])));
        insta::assert_snapshot!("failed_at", failed_at(&h, 1, &reply));
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
        insta::assert_snapshot!(
            "done_hooks_removed",
            done(&heading(&Command::Run(action)), &p, &removed, Some(2))
        );
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
        ];
        insta::assert_snapshot!("dry_run", dry_run(&cmd, &p, &list));
        insta::assert_snapshot!(
            "refused_by_checks",
            refused_by_checks(&heading(&cmd), &list)
        );
        let released = vec![Check {
            what: "mitx/content-mit-6004r-2018_Spring has the production hook already".into(),
            outcome: CheckOutcome::AlreadyDone,
        }];
        insta::assert_snapshot!("already_done", already_done(&heading(&cmd), &released));
        let nf =
            ActionError::NotFound("no repo for 6.004r 2017_Fall in MITx-Studio2LMS or mitx".into());
        insta::assert_snapshot!("not_found", action_error(&nf, None));
        insta::assert_snapshot!(
            "retries_exhausted",
            retries_exhausted(
                "/create-xml-repo 6.004r 2018_Spring",
                "GitHub answered 502 to POST /orgs/mitx/repos"
            )
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
        insta::assert_snapshot!("help_topic", help(Some("rerun")));
        assert_eq!(help(None), command::help_text());
    }
}
