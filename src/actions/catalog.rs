//! What a finished action changed in the course catalog: a created run is
//! staging, a released one released, a rerun's old run retired. Derived from
//! the outcomes, so only what really happened on GitHub reaches the catalog.

use super::{
    Action, CourseRun, CreateExportRepo, CreateXmlRepo, Outcome, RerunStudio, RerunXmlCourse,
    Settings,
};
use crate::catalog::{CatalogRun, CourseKind, RunState};
use crate::naming::{Course, Term};

/// The catalog rows implied by `action` having ended with `outcomes`.
pub fn catalog_changes(s: &Settings, action: &Action, outcomes: &[Outcome]) -> Vec<CatalogRun> {
    let created = outcomes.iter().find_map(|o| match o {
        Outcome::RepoCreated { full_name, .. } => Some(full_name.clone()),
        _ => None,
    });
    let hooked = outcomes.iter().find_map(|o| match o {
        Outcome::HookAdded { repo, .. } => Some(repo.clone()),
        _ => None,
    });
    let unhooked = outcomes.iter().find_map(|o| match o {
        Outcome::HooksRemoved { repo, .. } => Some(repo.clone()),
        _ => None,
    });
    let row = |kind: CourseKind, course: &Course, term: &Term, repo: Option<String>, state| {
        let org = match kind {
            CourseKind::Studio => &s.studio_org,
            CourseKind::Xml => &s.xml_org,
        };
        repo.map(|repo| CatalogRun {
            org: org.clone(),
            course: course.to_string(),
            title: None,
            term: term.to_string(),
            course_key: s.names.course_key(course, term),
            repo,
            kind,
            state,
        })
    };
    use CourseKind::{Studio, Xml};
    use RunState::{Released, Retired, Staging};
    let rows = match action {
        Action::CreateExportRepo(CreateExportRepo { course, term, .. }) => {
            vec![row(Studio, course, term, created, Staging)]
        }
        Action::RerunStudio(RerunStudio {
            course,
            term,
            new_term,
            ..
        }) => vec![
            row(Studio, course, term, unhooked, Retired),
            row(Studio, course, new_term, created, Staging),
        ],
        Action::ReleaseStudio(CourseRun { course, term }) => {
            vec![row(Studio, course, term, hooked, Released)]
        }
        Action::CreateXmlRepo(CreateXmlRepo { course, term, .. }) => {
            vec![row(Xml, course, term, created, Staging)]
        }
        Action::RerunXml(CourseRun { course, term }) => {
            vec![row(Xml, course, term, unhooked, Retired)]
        }
        Action::ReleaseXml(CourseRun { course, term }) => {
            vec![row(Xml, course, term, hooked, Released)]
        }
        Action::RerunXmlCourse(RerunXmlCourse {
            course,
            term,
            new_term,
        }) => vec![
            row(Xml, course, term, unhooked, Retired),
            row(Xml, course, new_term, created, Staging),
        ],
        Action::PutTeam(_) | Action::ShallowCopyRepo(_) => Vec::new(),
    };
    rows.into_iter().flatten().collect()
}
