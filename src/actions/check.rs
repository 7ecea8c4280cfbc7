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

/// Whether every check passed, and whether the action has nothing left to do.
pub fn verdict(checks: &[Check]) -> (bool, bool) {
    let ok = checks.iter().all(Check::passed);
    let done = checks
        .iter()
        .any(|c| c.outcome == CheckOutcome::AlreadyDone);
    (ok, done)
}

/// Runs the read-only checks of `action`.
pub async fn preflight(
    gh: &GitHub,
    s: &Settings,
    action: &Action,
) -> Result<Vec<Check>, ActionError> {
    let mut checks = Vec::new();
    if let Some(e) = action.effect() {
        let org = match e.kind {
            CourseKind::Studio => &s.studio_org,
            CourseKind::Xml => &s.xml_org,
        };
        if e.needs_staging_hook() {
            hook_configured(s, HookTarget::Staging, &mut checks);
        }
        match (e.from, e.to) {
            (Some(from), _) if e.release => {
                let run = CourseRun {
                    course: e.course.clone(),
                    term: from.clone(),
                };
                release(gh, s, org, &run, &mut checks).await?;
            }
            (from, to) => {
                if let (Some(from), Some(to)) = (from, to) {
                    term_after(from, to, &mut checks);
                }
                if let Some(from) = from {
                    run_exists(gh, org, s, e.course, from, &mut checks).await?;
                }
                if let Some(to) = to {
                    repo_absent(gh, s, e.course, to, &mut checks).await?;
                }
            }
        }
    }
    members_exist(gh, action.members(), &mut checks).await?;
    Ok(checks)
}

fn hook_configured(s: &Settings, target: HookTarget, checks: &mut Vec<Check>) {
    let set = match target {
        HookTarget::Staging => s.staging_gitreload.is_some(),
        HookTarget::Production => s.production_gitreload.is_some(),
    };
    let what = format!("the {} gitreload URL is configured", target.label());
    checks.push(if set {
        Check::pass(what)
    } else {
        Check::fail(
            what,
            format!("an operator must set {} for this server", target.setting()),
        )
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

/// The new run's repo exists in neither org.
async fn repo_absent(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    term: &Term,
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    let names = s.names.candidate_repo_names(course, term);
    for org in [&s.studio_org, &s.xml_org] {
        let mut found = None;
        for name in &names {
            if gh.get_repo(org, name).await?.is_some() {
                found = Some(name.clone());
                break;
            }
        }
        let what = format!("no repo for {course} {term} in {org} yet");
        checks.push(match found {
            None => Check::pass(what),
            Some(name) => Check::fail(
                what,
                format!("{org}/{name} already exists; choose another term, or use it as it is"),
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

/// A release: the run exists, the production URL is configured, and the hook
/// is not already there (then the release is done already).
async fn release(
    gh: &GitHub,
    s: &Settings,
    org: &str,
    r: &CourseRun,
    checks: &mut Vec<Check>,
) -> Result<(), ActionError> {
    hook_configured(s, HookTarget::Production, checks);
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
    if let Some(url) = &s.production_gitreload {
        let hooks = gh.list_hooks(org, &repo).await?;
        if hooks
            .iter()
            .any(|h| h.config.url.as_deref() == Some(url.expose()))
        {
            checks.push(Check {
                what: format!("{org}/{repo} has the production hook already"),
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
