//! Finding a course's runs on GitHub for the chat commands that name only a
//! course (`/rerun COURSE NEW_TERM`, `/release COURSE TERM`): which org holds
//! it (studio or xml) and which term is the latest. Read-only calls.

use serde::{Deserialize, Serialize};

use super::{ActionError, Settings};
use crate::github::GitHub;
use crate::naming::{Course, Term};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CourseKind {
    Studio,
    Xml,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub kind: CourseKind,
    pub org: String,
    pub repo: String,
    pub term: Term,
}

fn orgs(s: &Settings) -> [(CourseKind, &str); 2] {
    [
        (CourseKind::Studio, s.studio_org.as_str()),
        (CourseKind::Xml, s.xml_org.as_str()),
    ]
}

/// The repo of one run: studio org first, then xml; today's name, then the
/// legacy double-dash one. At most four GETs, usually one or two.
pub async fn find_run(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
    term: &Term,
) -> Result<Option<RunRef>, ActionError> {
    for (kind, org) in orgs(s) {
        for name in s.names.candidate_repo_names(course, term) {
            if let Some(r) = gh.get_repo(org, &name).await? {
                return Ok(Some(RunRef {
                    kind,
                    org: org.to_string(),
                    repo: r.name,
                    term: term.clone(),
                }));
            }
        }
    }
    Ok(None)
}

/// The latest run of a course across both orgs, by term order (SPEC §2).
/// Lists the orgs' repos (100 a page); a course found in both orgs is an
/// error, since a rerun would not know which workflow to follow.
pub async fn find_latest_run(
    gh: &GitHub,
    s: &Settings,
    course: &Course,
) -> Result<Option<RunRef>, ActionError> {
    let mut best: Option<RunRef> = None;
    let mut kinds_seen = Vec::new();
    for (kind, org) in orgs(s) {
        for repo in gh.list_org_repos(org).await? {
            if let Some(term) = s.names.run_matches(&repo.name, course) {
                if !kinds_seen.contains(&kind) {
                    kinds_seen.push(kind);
                }
                if best.as_ref().is_none_or(|b| term > b.term) {
                    best = Some(RunRef {
                        kind,
                        org: org.to_string(),
                        repo: repo.name.clone(),
                        term,
                    });
                }
            }
        }
    }
    if kinds_seen.len() > 1 {
        return Err(ActionError::NotFound(format!(
            "course {course} has runs in both {} and {}; name the old term with `from TERM`",
            s.studio_org, s.xml_org
        )));
    }
    Ok(best)
}
