//! Labels of a repo and of its issues
//! (https://docs.github.com/rest/issues/labels).
//!
//! GitHub's rules kept here:
//! - a label name is unique per repo without regard to case; creating one
//!   that exists is 422 with `code: already_exists`;
//! - `color` is six hex digits without `#` (else 422);
//! - adding a label that the repo does not have to an issue creates it (with
//!   the default color `ededed`);
//! - removing a label that the issue does not have is 404 "Label does not exist".

#![allow(unused_imports)]

use super::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRec {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

pub(crate) fn label_json(s: &Shared, full_name: &str, l: &LabelRec) -> Value {
    json!({
        "id": l.id, "node_id": node_id("LA", l.id),
        "url": format!("{}/repos/{full_name}/labels/{}", s.base, l.name),
        "name": l.name, "color": l.color, "description": l.description, "default": false,
    })
}

/// An issue's labels as GitHub answers an add or a removal: every label
/// still on it, in full.
fn labels_json(s: &Shared, r: &RepoRec, on: &[String]) -> Value {
    on.iter()
        .filter_map(|n| r.labels.iter().find(|l| &l.name == n))
        .map(|l| label_json(s, &r.repo.full_name, l))
        .collect()
}

pub(crate) async fn list_labels(State(s): State<S>, P(at): P2, uri: Uri) -> R {
    repo_page(&s, &at, &uri, |r| {
        let json = |l: &LabelRec| label_json(&s, &r.repo.full_name, l);
        r.labels.iter().map(json).collect()
    })
}

pub(crate) async fn create_label(
    State(s): State<S>,
    P((owner, repo)): P2,
    JsonObject(b): JsonObject,
) -> R {
    let name = str_field(&b, "name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("Label", "name", "missing_field", None))?
        .to_string();
    let color = str_field(&b, "color").unwrap_or("ededed").to_string();
    if !(color.len() == 6 && color.bytes().all(|c| c.is_ascii_hexdigit())) {
        return Err(invalid("Label", "color", "invalid", None));
    }
    let description = str_field(&b, "description").map(str::to_string);
    s.with(|w| {
        w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let id = w.id();
        let r = w.repo_mut(&owner, &repo).expect("repo");
        if r.labels.iter().any(|l| l.name.eq_ignore_ascii_case(&name)) {
            return Err(invalid("Label", "name", "already_exists", None));
        }
        let l = LabelRec {
            id,
            name,
            color,
            description,
        };
        r.labels.push(l.clone());
        reply(201, label_json(&s, &r.repo.full_name, &l))
    })
}

pub(crate) async fn add_issue_labels(
    State(s): State<S>,
    P((owner, repo, number)): P<(String, String, u64)>,
    JsonObject(b): JsonObject,
) -> R {
    let names: Vec<String> = match b.get("labels") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Err(invalid("Issue", "labels", "missing_field", None)),
    };
    s.with(|w| {
        w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let mut ids = Vec::new();
        for _ in &names {
            ids.push(w.id());
        }
        let r = w.repo_mut(&owner, &repo).expect("repo");
        if !r.issues.contains_key(&number) {
            return Err(not_found());
        }
        for (name, id) in names.iter().zip(ids) {
            if !r.labels.iter().any(|l| l.name.eq_ignore_ascii_case(name)) {
                r.labels.push(LabelRec {
                    id,
                    name: name.clone(),
                    color: "ededed".into(),
                    description: None,
                });
            }
        }
        let canonical: Vec<String> = names
            .iter()
            .filter_map(|n| {
                r.labels
                    .iter()
                    .find(|l| l.name.eq_ignore_ascii_case(n))
                    .map(|l| l.name.clone())
            })
            .collect();
        let issue = r.issues.get_mut(&number).expect("issue");
        for n in canonical {
            if !issue.labels.iter().any(|x| x.eq_ignore_ascii_case(&n)) {
                issue.labels.push(n);
            }
        }
        let on = issue.labels.clone();
        reply(200, labels_json(&s, r, &on))
    })
}

pub(crate) async fn remove_issue_label(
    State(s): State<S>,
    P((owner, repo, number, name)): P<(String, String, u64, String)>,
) -> R {
    s.with(|w| {
        let r = w.repo_mut(&owner, &repo).ok_or_else(not_found)?;
        let issue = r.issues.get_mut(&number).ok_or_else(not_found)?;
        let before = issue.labels.len();
        issue.labels.retain(|l| !l.eq_ignore_ascii_case(&name));
        if issue.labels.len() == before {
            return Err(ApiError::new(404, "Label does not exist"));
        }
        let on = issue.labels.clone();
        reply(200, labels_json(&s, r, &on))
    })
}
