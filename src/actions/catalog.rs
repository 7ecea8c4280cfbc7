//! What a finished action changed in the course catalog: a created run is
//! staging, a released one released, a rerun's old run retired. Derived from
//! the action's [`super::RunEffect`] and its outcomes, so only what really
//! happened on GitHub reaches the catalog.

use super::{Action, HookTarget, Outcome, Settings};
use crate::catalog::{CatalogRun, RunState};
use crate::naming::{Course, Term};

/// The catalog rows implied by `action` having ended with `outcomes`.
pub fn catalog_changes(s: &Settings, action: &Action, outcomes: &[Outcome]) -> Vec<CatalogRun> {
    let Some(effect) = action.effect() else {
        return Vec::new();
    };
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
    let row = |course: &Course, term: &Term, repo: Option<String>, state| {
        let org = s.org_of(effect.kind);
        repo.map(|repo| CatalogRun {
            org: org.to_string(),
            course: course.to_string(),
            title: None,
            term: term.to_string(),
            course_key: s.names.course_key(course, term),
            repo,
            kind: effect.kind,
            state,
            last_push_at: None,
            request: None,
            language: None,
            created_at: None,
        })
    };
    let mut rows = Vec::new();
    if let Some(from) = effect.from {
        rows.push(match effect.hook {
            Some(HookTarget::Production) => row(effect.course, from, hooked, RunState::Released),
            // A staging hook does not change where the run is in its life.
            Some(HookTarget::Staging) => None,
            None => row(effect.course, from, unhooked, RunState::Retired),
        });
    }
    if let Some(to) = effect.to {
        rows.push(row(effect.course, to, created, RunState::Staging));
    }
    rows.into_iter().flatten().collect()
}
