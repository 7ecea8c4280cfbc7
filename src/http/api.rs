//! The JSON API, for dashboards and scripts: course requests made with the
//! issue form, and the course catalog. Behind `Authorization: Bearer
//! $ORC_API_TOKEN`; without a token configured the API does not exist (404),
//! and a wrong or missing token gets 401. Read-only.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::webhook::IngressState;
use crate::catalog::CatalogRun;
use crate::naming::RepoFullName;
use crate::store::StoreError;

/// How many runs `GET /api/courses` lists at most.
const MAX_RUNS: i64 = 10_000;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// The API's routes, every one behind [`guard`].
pub(super) fn routes(state: Arc<IngressState>) -> Router<Arc<IngressState>> {
    Router::new()
        .route("/api/requests", get(requests))
        .route("/api/courses", get(courses))
        .route("/api/courses/{course_key}", get(course))
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// Checks the token before a route's own extractors run, so a stranger's
/// malformed query is a 401 too, and a new route cannot forget the check.
async fn guard(State(st): State<Arc<IngressState>>, req: Request, next: Next) -> Response {
    match refused(&st, req.headers()) {
        Some(answer) => answer,
        None => next.run(req).await,
    }
}

/// The store failed a read: logged, and answered without its detail.
fn unavailable(what: &str, e: &StoreError) -> Response {
    tracing::error!(error = %e, "cannot read the {what}");
    error(StatusCode::SERVICE_UNAVAILABLE, "the store does not answer")
}

/// `None` when the caller may read; else the answer to give.
fn refused(st: &IngressState, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = st.api_token.as_ref() else {
        return Some(error(StatusCode::NOT_FOUND, "Not Found"));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Equal-length digests, compared in constant time: neither the token
    // nor its length leaks through timing.
    let digest = |s: &str| ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    let ok = bool::from(
        digest(given)
            .as_ref()
            .ct_eq(digest(token.expose()).as_ref()),
    );
    (!ok).then(|| error(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

#[derive(Debug, Deserialize)]
struct RequestsQuery {
    repo: Option<String>,
    issue: Option<String>,
}

/// `GET /api/requests?repo=OWNER/NAME[&issue=N]`.
async fn requests(State(st): State<Arc<IngressState>>, Query(q): Query<RequestsQuery>) -> Response {
    let Some(repo) = q.repo.as_deref() else {
        return error(StatusCode::BAD_REQUEST, "repo=OWNER/NAME is required");
    };
    let repo = match RepoFullName::parse(repo) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let issue = match q.issue.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => return error(StatusCode::BAD_REQUEST, "issue must be a positive number"),
    };
    match st.store.form_requests(&repo.to_string(), issue).await {
        Ok(rows) => {
            let items: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "repo": r.repo, "issue": r.issue, "author": r.author,
                        "state": r.state, "fields": r.fields, "command": r.command,
                        "approved_by": r.approved_by,
                        "created_at": r.created_at.to_rfc3339(),
                        "updated_at": r.updated_at.to_rfc3339(),
                    })
                })
                .collect();
            Json(Value::Array(items)).into_response()
        }
        Err(e) => unavailable("requests", &e),
    }
}

fn run_json(r: &CatalogRun) -> Value {
    json!({
        "org": r.org, "course": r.course, "title": r.title, "term": r.term,
        "course_key": r.course_key, "repo": r.repo, "kind": r.kind, "state": r.state,
        "last_push_at": r.last_push_at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339()),
        "language": r.language, "request": r.request,
        "created_at": r.created_at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339()),
    })
}

/// `GET /api/courses`: every catalog run, the latest first.
async fn courses(State(st): State<Arc<IngressState>>) -> Response {
    match st.store.latest_runs(MAX_RUNS).await {
        Ok(runs) => Json(Value::Array(runs.iter().map(run_json).collect())).into_response(),
        Err(e) => unavailable("catalog", &e),
    }
}

/// `GET /api/courses/{course_key}`: one run.
async fn course(State(st): State<Arc<IngressState>>, Path(key): Path<String>) -> Response {
    match st.store.catalog_run(&key).await {
        Ok(Some(run)) => Json(run_json(&run)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no run has that course key"),
        Err(e) => unavailable("catalog", &e),
    }
}
