//! Checks before changes: before its first write, an action checks all it can
//! check with read calls only (the new repo is absent in both orgs, the run
//! being changed exists, the new term comes after the old, every member
//! exists, the hook URLs are configured). A failed check writes nothing and
//! its reply says what to do; `/plan` shows the same checks with ✓ and ✗.
//!
//! These calls are not the action's: the plan's own steps stay as few as
//! they were, and an action resumed from its journal skips the checks.

use super::plan::HookTarget;
use super::{Action, ActionError, CourseRun, Settings};
use crate::catalog::CourseKind;
use crate::github::GitHub;
use crate::naming::{Course, Login, Term};

/// One check and how it came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, for a reader.
    pub what: String,
    pub outcome: CheckOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    /// Why not, and what to do about it.
    Failed(String),
    /// What the action would do is already so (a release whose hook is
    /// there): nothing to write.
    AlreadyDone,
    /// The new run's repo exists, and this App made it for the same run: a
    /// command that stopped halfway; it is finished, not refused.
    Adopted {
        repo: String,
    },
}

impl Check {
    fn pass(what: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            outcome: CheckOutcome::Passed,
        }
    }
    fn fail(what: impl Into<String>, why: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            outcome: CheckOutcome::Failed(why.into()),
        }
    }
    pub fn passed(&self) -> bool {
        !matches!(self.outcome, CheckOutcome::Failed(_))
    }
}

/// How the checks came out, as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A check failed: write nothing.
    Refused,
    /// The wanted state is already there: write nothing, and say so.
    AlreadyDone,
    /// Go; `adopt`: finish a repo this App made earlier, looking before each write.
    Go { adopt: bool },
}

pub fn verdict(checks: &[Check]) -> Verdict {
    if !checks.iter().all(Check::passed) {
        Verdict::Refused
    } else if checks
        .iter()
        .any(|c| c.outcome == CheckOutcome::AlreadyDone)
    {
        Verdict::AlreadyDone
    } else {
        let adopt = checks
            .iter()
            .any(|c| matches!(c.outcome, CheckOutcome::Adopted { .. }));
        Verdict::Go { adopt }
    }
}

/// The repos `action` would create, as `owner/name` with the course key of
/// their run: the names a command sent again may find in place. The caller
/// says which of them this App made (the job store knows; the CLI does not).
pub fn adoption_candidates(action: &Action, s: &Settings) -> Vec<(String, String)> {
    let Some(e) = action.effect() else {
        return Vec::new();
    };
    let Some(to) = e.to else {
        return Vec::new();
    };
    let key = s.names.course_key(e.course, to);
    s.names
        .candidate_repo_names(e.course, to)
        .into_iter()
        .map(|name| (format!("{}/{name}", s.org_of(e.kind)), key.clone()))
        .collect()
}

/// The checks that need no GitHub call: the hook URLs are configured and the
/// new term comes after the old. A dry run without credentials shows these.
pub fn config_checks(s: &Settings, action: &Action) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(e) = action.effect() {
        if e.needs_staging_hook() {
            hook_configured(s, HookTarget::Staging, &mut checks);
        }
        if let Some(target) = e.hook {
            hook_configured(s, target, &mut checks);
        }
        if let (Some(from), Some(to)) = (e.from, e.to) {
            term_after(from, to, &mut checks);
        }
    }
    checks
}

/// Runs every check of `action`: [`config_checks`], then the read-only
/// calls. `adoptable`: the `owner/name`s that this App made for the run the
/// action creates (see [`adoption_candidates`]).
pub async fn preflight(
    gh: &GitHub,
    s: &Settings,
    action: &Action,
    adoptable: &[String],
) -> Result<Vec<Check>, ActionError> {
    let mut checks = config_checks(s, action);
    if let Some(e) = action.effect() {
        let org = s.org_of(e.kind);
        match (e.from, e.to, e.hook) {
            (Some(from), _, Some(target)) => {
                let run = CourseRun {
                    course: e.course.clone(),
                    term: from.clone(),
                };
                hook_wanted(gh, s, org, &run, target, &mut checks).await?;
            }
            (from, to, _) => {
                if let Some(from) = from {
                    run_exists(gh, org, s, e.course, from, &mut checks).await?;
                }
                if let Some(to) = to {
                    repo_absent(gh, s, org, e.course, to, adoptable, &mut checks).await?;
                }
            }
        }
    }
    members_exist(gh, action.members(), &mut checks).await?;
    Ok(checks)
}

fn hook_configured(s: &Settings, target: HookTarget, checks: &mut Vec<Check>) {
    let set = s.gitreload(target).is_some();
    let what = format!("the {} gitreload URL is configured", target.label());
    checks.push(if set {
        Check::pass(what)
    } else {
        Check::fail(what, "ask an operator to configure it for this server")
    });
}

fn term_after(old: &Term, new: &Term, checks: &mut Vec<Check>) {
    let what = format!("the new term {new} comes after {old}");
    checks.push(if new > old {
        Check::pass(what)
    } else {
        Check::fail(what, "name a later term")
    });
}

/// The new run's repo exists in neither org, or it is one this App made for
/// the same run in `home` (the org the action creates it in): then it is
/// adopted and finished.
async fn repo_absent(
    gh: &GitHub,
    s: &Settings,
    home: &str,
    course: &Course,
    term: &Term,
    adoptable: &[String],
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    let names = s.names.candidate_repo_names(course, term);
    for &kind in CourseKind::ALL {
        let org = s.org_of(kind);
        let mut found = None;
        for name in &names {
            if gh.get_repo(org, name).await?.is_some() {
                found = Some(format!("{org}/{name}"));
                break;
            }
        }
        let what = format!("no repo for {course} {term} in {org} yet");
        checks.push(match found {
            None => Check::pass(what),
            Some(repo)
                if org == home && adoptable.iter().any(|a| a.eq_ignore_ascii_case(&repo)) =>
            {
                Check {
                    what: format!("{repo} was made by this bot for {course} {term}"),
                    outcome: CheckOutcome::Adopted { repo },
                }
            }
            Some(repo) => Check::fail(
                what,
                format!("{repo} already exists; choose another term, or use it as it is"),
            ),
        });
    }
    Ok(())
}

/// The run being changed has a repo in `org`.
async fn run_exists(
    gh: &GitHub,
    org: &str,
    s: &Settings,
    course: &Course,
    term: &Term,
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    let mut found = false;
    for name in s.names.candidate_repo_names(course, term) {
        if gh.get_repo(org, &name).await?.is_some() {
            found = true;
            break;
        }
    }
    let what = format!("the {course} {term} run exists in {org}");
    checks.push(if found {
        Check::pass(what)
    } else {
        Check::fail(
            what,
            "check the course and the term (`/courses` lists the runs)",
        )
    });
    Ok(())
}

/// A hook to add (a release adds the production one): the run exists, the
/// URL is configured, and the hook is not there yet (else it is done already).
async fn hook_wanted(
    gh: &GitHub,
    s: &Settings,
    org: &str,
    r: &CourseRun,
    target: HookTarget,
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    let mut repo = None;
    for name in s.names.candidate_repo_names(&r.course, &r.term) {
        if gh.get_repo(org, &name).await?.is_some() {
            repo = Some(name);
            break;
        }
    }
    let what = format!("the {} {} run exists in {org}", r.course, r.term);
    let Some(repo) = repo else {
        checks.push(Check::fail(what, "check the course and the term"));
        return Ok(());
    };
    checks.push(Check::pass(what));
    if let Some(url) = s.gitreload(target) {
        let hooks = gh.list_hooks(org, &repo).await?;
        if hooks
            .iter()
            .any(|h| h.config.url.as_deref() == Some(url.expose()))
        {
            checks.push(Check {
                what: format!("{org}/{repo} has the {target} hook already"),
                outcome: CheckOutcome::AlreadyDone,
            });
        }
    }
    Ok(())
}

async fn members_exist(
    gh: &GitHub,
    members: Option<&[Login]>,
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    for m in members.unwrap_or_default() {
        let what = format!("user {m} exists on GitHub");
        checks.push(if gh.user_exists(m.as_str()).await? {
            Check::pass(what)
        } else {
            Check::fail(what, format!("user {m} does not exist; check the spelling"))
        });
    }
    Ok(())
}
