//! `push` and `repository` deliveries of course repos: the catalog follows
//! them (a run's last push; a deleted or archived repo retires its run; a
//! renamed or transferred one moves it). The jobs call no GitHub API.

use serde_json::Value;

use super::{Envelope, EventFilter};
use crate::jobs::JobKind;
use crate::store::{NewJob, RepoEvent};

fn is_course_repo(filter: &EventFilter, full_name: &str) -> bool {
    let name = full_name.split_once('/').map_or("", |(_, n)| n);
    match &filter.course_prefix {
        Some(p) => {
            name.len() > p.len() + 1
                && name
                    .get(..p.len() + 1)
                    .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{p}-")))
        }
        None => !name.is_empty(),
    }
}

/// `pushed_at` of a push payload (epoch seconds) in milliseconds.
fn pushed_at_ms(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().map(|s| s.saturating_mul(1000)),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

pub(super) fn catalog_jobs(filter: &EventFilter, event: &str, env: &Envelope<'_>) -> Vec<NewJob> {
    let Some(repo) = env.repository.as_ref() else {
        return Vec::new();
    };
    let Some(full_name) = repo.full_name.as_deref() else {
        return Vec::new();
    };
    let owner = full_name.split_once('/').map_or("", |(o, _)| o);
    let name = full_name.split_once('/').map_or("", |(_, n)| n);
    let changes = env.changes.as_ref();
    let ev = match (event, env.action.as_deref()) {
        ("push", _) => RepoEvent::Pushed {
            repo: full_name.to_owned(),
            at: pushed_at_ms(repo.pushed_at.as_ref())
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
        },
        ("repository", Some("deleted" | "archived")) => RepoEvent::Retired {
            repo: full_name.to_owned(),
        },
        ("repository", Some("renamed")) => {
            let Some(old) = changes
                .and_then(|c| c.repository.as_ref())
                .and_then(|r| r.name.as_ref())
                .and_then(|n| n.from.as_deref())
            else {
                return Vec::new();
            };
            RepoEvent::Moved {
                from: format!("{owner}/{old}"),
                to: full_name.to_owned(),
            }
        }
        ("repository", Some("transferred")) => {
            let from = changes
                .and_then(|c| c.owner.as_ref())
                .and_then(|o| o.from.as_ref());
            let Some(old_owner) = from
                .and_then(|f| f.organization.as_ref().or(f.user.as_ref()))
                .and_then(|a| a.login.as_deref())
            else {
                return Vec::new();
            };
            RepoEvent::Moved {
                from: format!("{old_owner}/{name}"),
                to: full_name.to_owned(),
            }
        }
        _ => return Vec::new(),
    };
    // A rename may move a repo into or out of the course names: either end counts.
    let concerned = match &ev {
        RepoEvent::Moved { from, to } => is_course_repo(filter, from) || is_course_repo(filter, to),
        RepoEvent::Pushed { repo, .. } | RepoEvent::Retired { repo } => {
            is_course_repo(filter, repo)
        }
    };
    if !concerned {
        return Vec::new();
    }
    NewJob::of(JobKind::Catalog, None, &ev)
        .into_iter()
        .collect()
}
