//! Finding a course's runs on GitHub, and resolving the chat commands that
//! name only a course (`/rerun COURSE NEW_TERM`, `/release COURSE TERM`): which org holds
//! it (studio or xml) and which term is the latest. Read-only calls.

use super::{
    Action, ActionError, AddHook, CourseRerun, CourseRun, HookTarget, RerunStudio, RerunXmlCourse,
    Settings,
};
use crate::catalog::{CatalogRun, CourseKind, RunState};
use crate::github::GitHub;
use crate::naming::{Course, Term};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub kind: CourseKind,
    pub org: String,
    pub repo: String,
    pub term: Term,
    /// The repo's description, which a Studio rerun keeps.
    pub description: Option<String>,
}

fn orgs(s: &Settings) -> impl Iterator<Item = (CourseKind, &str)> {
    CourseKind::ALL.iter().map(|&k| (k, s.org_of(k)))
}

/// The repo of one run. The catalog's (`known`) first, confirmed with one
/// GET; else studio org first, then xml; today's name, then the legacy
/// double-dash one. At most four GETs, usually one or two.
pub async fn find_run(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    term: &Term,
    known: &[CatalogRun],
) -> Result<Option<RunRef>, ActionError> {
    let listed = known.iter().find(|r| {
        r.course == course.as_str() && r.term == term.as_str() && r.state != RunState::Retired
    });
    if let Some((owner, name)) = listed.and_then(|r| r.repo.split_once('/')) {
        if let Some(r) = gh.get_repo(owner, name).await? {
            let kind = listed.map_or(CourseKind::Xml, |l| l.kind);
            return Ok(Some(RunRef {
                kind,
                org: owner.to_string(),
                repo: r.name,
                term: term.clone(),
                description: r.description,
            }));
        }
    }
    for (kind, org) in orgs(s) {
        for name in s.names.candidate_repo_names(course, term) {
            if let Some(r) = gh.get_repo(org, &name).await? {
                return Ok(Some(RunRef {
                    kind,
                    org: org.to_string(),
                    repo: r.name,
                    term: term.clone(),
                    description: r.description,
                }));
            }
        }
    }
    Ok(None)
}

/// Every run of a course in both orgs, by listing the orgs' repos (100 a page).
pub async fn list_runs(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
) -> Result<Vec<RunRef>, ActionError> {
    let mut runs = Vec::new();
    for (kind, org) in orgs(s) {
        for repo in gh.list_org_repos(org).await? {
            if let Some(term) = s.names.run_matches(&repo.name, course) {
                runs.push(RunRef {
                    kind,
                    org: org.to_string(),
                    repo: repo.name,
                    term,
                    description: repo.description,
                });
            }
        }
    }
    runs.sort_by(|a, b| a.term.cmp(&b.term));
    Ok(runs)
}

/// The latest run of a course across both orgs, by term order. Only two runs
/// of the same latest term, one in each org, are ambiguous: then the old term
/// must be named.
pub async fn find_latest_run(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    new_term: &Term,
) -> Result<Option<RunRef>, ActionError> {
    // The run being rerun comes before the new term. A run of the new term
    // itself may already exist (a rerun that stopped halfway, sent again):
    // that is the target, not the source.
    let all = list_runs(gh, s, course).await?;
    let latest = all.last().map(|r| r.term.clone());
    let mut runs: Vec<RunRef> = all.into_iter().filter(|r| r.term < *new_term).collect();
    let Some(best) = runs.pop() else {
        return match latest {
            Some(latest) => Err(ActionError::NotFound(format!(
                "the new term {new_term} must come after the latest run of {course} ({latest})"
            ))),
            None => Ok(None),
        };
    };
    if runs
        .iter()
        .any(|r| r.term == best.term && r.kind != best.kind)
    {
        let term = &best.term;
        return Err(ActionError::NotFound(format!(
            "course {course} has a {term} run in both {} and {}; say which one to rerun: \
             `/rerun-studio {course} {term} {new_term}` for the Studio run, or \
             `/rerun-xml {course} {term}` to retire the XML run's hooks",
            s.studio.org, s.xml.org
        )));
    }
    Ok(Some(best))
}

/// "No repo for COURSE TERM", with the runs that do exist, so a mistyped term
/// is easy to correct.
async fn run_not_found(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    term: &Term,
) -> Result<ActionError, ActionError> {
    let runs = list_runs(gh, s, course).await?;
    let known = if runs.is_empty() {
        format!("{course} has no run in either")
    } else {
        let list: Vec<String> = runs
            .iter()
            .map(|r| format!("`{}` ({})", r.term, r.kind))
            .collect();
        format!("the runs of {course} are {}", list.join(", "))
    };
    Ok(ActionError::NotFound(format!(
        "no repo for {course} {term} in {} or {}; {known}",
        s.studio.org, s.xml.org
    )))
}

/// `/release COURSE TERM` and `/add-hook COURSE TERM HOOK`: the action of
/// whichever org holds the run (a production hook is a release).
pub async fn resolve_hook(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    term: &Term,
    target: HookTarget,
    known: &[CatalogRun],
) -> Result<Action, ActionError> {
    let Some(found) = find_run(gh, s, course, term, known).await? else {
        return Err(run_not_found(gh, s, course, term).await?);
    };
    let run = CourseRun {
        course: course.clone(),
        term: term.clone(),
    };
    Ok(match (target, found.kind) {
        (HookTarget::Production, CourseKind::Studio) => Action::ReleaseStudio(run),
        (HookTarget::Production, CourseKind::Xml) => Action::ReleaseXml(run),
        (HookTarget::Staging, kind) => Action::AddHook(AddHook {
            course: run.course,
            term: run.term,
            target,
            kind,
        }),
    })
}

/// `/rerun COURSE NEW_TERM [from OLD_TERM]`: the rerun of the named run, or of
/// the course's latest run, in whichever org holds it. The new term must sort
/// after the old one.
pub async fn resolve_rerun(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    new_term: &Term,
    from: Option<&Term>,
    known: &[CatalogRun],
) -> Result<Action, ActionError> {
    // The latest run is always looked for on GitHub: a run made by hand is
    // in no catalog, and missing it would copy an older run's content.
    let run = match from {
        Some(old) => match find_run(gh, s, course, old, known).await? {
            Some(run) => run,
            None => return Err(run_not_found(gh, s, course, old).await?),
        },
        None => find_latest_run(gh, s, course, new_term)
            .await?
            .ok_or_else(|| {
                ActionError::NotFound(format!(
                    "no run of {course} found in {} or {}",
                    s.studio.org, s.xml.org
                ))
            })?,
    };
    if run.term >= *new_term {
        return Err(ActionError::NotFound(format!(
            "the new term {new_term} must come after the run being rerun ({})",
            run.term
        )));
    }
    Ok(match run.kind {
        CourseKind::Studio => Action::RerunStudio(RerunStudio {
            run: CourseRerun {
                course: course.clone(),
                term: run.term,
                new_term: new_term.clone(),
            },
            // The new run keeps the old one's description.
            description: run.description,
        }),
        CourseKind::Xml => Action::RerunXmlCourse(RerunXmlCourse {
            course: course.clone(),
            term: run.term,
            new_term: new_term.clone(),
        }),
    })
}
