//! `orcoursetrion catalog import`: the catalog of an existing shop, read from
//! GitHub. Both orgs are scanned for repos named with the course prefix; the
//! course and term come from the name, the course's dots from its
//! `course.xml` (the name drops them), and the state from the repo (archived:
//! retired; with the production hook: released). Read calls only.

use super::Settings;
use crate::catalog::{CatalogRun, CourseKind, RunState};
use crate::github::{GitHub, GitHubError};
use crate::naming::{Course, Term};

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub runs: Vec<CatalogRun>,
    /// Repos named like a course run that could not be placed, and why.
    pub unplaced: Vec<(String, String)>,
}

/// The `course="…"` attribute of a `course.xml`.
fn course_attr(xml: &str) -> Option<&str> {
    let tag = xml.find("<course")?;
    let rest = &xml[tag..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    for quote in ['"', '\''] {
        let key = format!(" course={quote}");
        if let Some(i) = tag.find(&key) {
            let v = &tag[i + key.len()..];
            return v.find(quote).map(|j| &v[..j]);
        }
    }
    None
}

/// The course of a run's repo: `course.xml`'s when it agrees with the name,
/// else the name's own (which has no dots).
async fn course_of(
    gh: &GitHub,
    org: &str,
    repo: &str,
    dotless: &str,
) -> Result<Result<Course, String>, GitHubError> {
    if let Some((_, xml)) = gh.get_file(org, repo, "course.xml").await? {
        if let Some(c) = course_attr(&xml).and_then(|c| Course::parse(c).ok()) {
            if c.without_dots().eq_ignore_ascii_case(dotless) {
                return Ok(Ok(c));
            }
            return Ok(Err(format!(
                "its course.xml names course {:?}, which is not the course of its name ({dotless:?})",
                c.as_str()
            )));
        }
    }
    Ok(Course::parse(dotless).map_err(|e| format!("its name gives no valid course: {e}")))
}

/// Scans both orgs.
pub async fn scan(gh: &GitHub, s: &Settings) -> Result<Scan, GitHubError> {
    let mut out = Scan::default();
    let production = s
        .production_gitreload
        .as_ref()
        .map(|u| u.expose().to_string());
    for &kind in CourseKind::ALL {
        let org = s.org_of(kind);
        for repo in gh.list_org_repos(org).await? {
            let Some((dotless, term)) = s.names.parse_repo_name(&repo.name) else {
                continue;
            };
            let course = match course_of(gh, org, &repo.name, &dotless).await? {
                Ok(c) => c,
                Err(why) => {
                    out.unplaced.push((repo.full_name.clone(), why));
                    continue;
                }
            };
            let state = if repo.archived {
                RunState::Retired
            } else if let Some(url) = &production {
                let hooks = gh.list_hooks(org, &repo.name).await?;
                if hooks
                    .iter()
                    .any(|h| h.config.url.as_deref() == Some(url.as_str()))
                {
                    RunState::Released
                } else {
                    RunState::Staging
                }
            } else {
                RunState::Staging
            };
            out.runs
                .push(run(s, org, kind, &course, &term, &repo.full_name, state));
        }
    }
    Ok(out)
}

fn run(
    s: &Settings,
    org: &str,
    kind: CourseKind,
    course: &Course,
    term: &Term,
    repo: &str,
    state: RunState,
) -> CatalogRun {
    CatalogRun {
        org: org.to_string(),
        course: course.to_string(),
        title: None,
        term: term.to_string(),
        course_key: s.names.course_key(course, term),
        repo: repo.to_string(),
        kind,
        state,
        last_push_at: None,
        request: None,
        language: None,
        created_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_attribute_is_read_with_either_quote() {
        assert_eq!(
            course_attr("<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>"),
            Some("6.004r")
        );
        assert_eq!(
            course_attr("<course course='8.01' org='MITx'>"),
            Some("8.01")
        );
        assert_eq!(course_attr("<course url_name=\"x\"/>"), None);
        assert_eq!(course_attr("not xml"), None);
    }
}
