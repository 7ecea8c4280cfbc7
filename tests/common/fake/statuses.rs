//! Commit statuses (https://docs.github.com/rest/commits/statuses).
//!
//! GitHub's rules kept here:
//! - an App's installation token needs the "Commit statuses" repository
//!   permission at write, or the call is 403 "Resource not accessible by
//!   integration";
//! - `state` is one of error, failure, pending, success (else 422);
//! - the sha must name a commit (else 422 "No commit found for SHA: …");
//! - at most 1000 statuses per sha and context (else 422).

#![allow(unused_imports)]

use super::*;

/// One status as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitStatusRec {
    pub sha: String,
    pub state: String,
    pub description: String,
    pub context: String,
    pub creator: String,
}

const STATES: [&str; 4] = ["error", "failure", "pending", "success"];
const PER_SHA_AND_CONTEXT: usize = 1000;

pub(crate) async fn create_status(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, sha)): P3,
    JsonObject(b): JsonObject,
) -> R {
    s.with(|w| {
        if let Some(inst) = who.installation {
            let level = w
                .installation_permissions
                .get(&inst)
                .and_then(|p| p.get("statuses"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    default_permissions()["statuses"]
                        .as_str()
                        .unwrap_or("none")
                        .to_string()
                });
            if level != "write" {
                return Err(ApiError::new(403, "Resource not accessible by integration"));
            }
        }
        w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let state = str_field(&b, "state").unwrap_or_default().to_string();
        if !STATES.contains(&state.as_str()) {
            return Err(invalid(
                "Status",
                "state",
                "custom",
                Some("state is not included in the list"),
            ));
        }
        if !(sha.len() == 40 && sha.bytes().all(|c| c.is_ascii_hexdigit())) {
            return Err(ApiError::new(
                422,
                format!("No commit found for SHA: {sha}"),
            ));
        }
        let context = str_field(&b, "context").unwrap_or("default").to_string();
        let r = w.repo_mut(&owner, &repo).expect("repo");
        let same = r
            .statuses
            .iter()
            .filter(|x| x.sha == sha && x.context.eq_ignore_ascii_case(&context))
            .count();
        if same >= PER_SHA_AND_CONTEXT {
            return Err(invalid(
                "Status",
                "context",
                "custom",
                Some("This SHA and context has reached the maximum number of statuses."),
            ));
        }
        let rec = CommitStatusRec {
            sha: sha.clone(),
            state: state.clone(),
            description: str_field(&b, "description").unwrap_or_default().to_string(),
            context: context.clone(),
            creator: who.login.clone(),
        };
        r.statuses.push(rec.clone());
        let id = r.statuses.len();
        reply(
            201,
            json!({
                "id": id, "state": rec.state, "description": rec.description,
                "context": rec.context, "target_url": null,
                "url": format!("{}/repos/{owner}/{repo}/statuses/{sha}", s.base),
                "creator": {"login": rec.creator},
            }),
        )
    })
}
