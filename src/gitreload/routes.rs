//! gitreload's endpoints, with its checks in its order, its status codes and
//! its `{"msg": …}` bodies (as `application/json`), after a signature check
//! that gitreload did not have.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::checkout::{self, CheckoutError};
use super::payload::parse_push;
use super::worker::{report_queued, Shared};
use crate::http::{parse_signature, read_within, BodyBudget, BodyRefusal, MAX_BODY_BYTES};
use crate::secret::strip_url_credentials;
use crate::store::{Enqueued, ImportAction, ImportState, NewImport};

/// How many tasks `GET /imports` lists.
const RECENT_TASKS: i64 = 50;

pub fn router(shared: Arc<Shared>, budget: BodyBudget) -> Router {
    let state = Ctx { shared, budget };
    Router::new()
        .route("/", post(import))
        .route("/gitreload", post(import))
        .route("/update", post(update))
        .route("/queue", get(queue))
        .route("/imports", get(imports))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(|| async {
            let msg = "The method is not allowed for the requested URL.";
            answer(StatusCode::METHOD_NOT_ALLOWED, "method", msg)
        })
        .fallback(|| async {
            let msg = "The requested URL was not found on the server.";
            answer(StatusCode::NOT_FOUND, "not_found", msg)
        })
        .with_state(state)
}

#[derive(Clone)]
struct Ctx {
    shared: Arc<Shared>,
    budget: BodyBudget,
}

/// One answer: what gitreload would say, and a label for `/metrics`.
struct Answer {
    status: StatusCode,
    msg: String,
    label: &'static str,
}

fn answer(status: StatusCode, label: &'static str, msg: impl Into<String>) -> Answer {
    Answer {
        status,
        msg: msg.into(),
        label,
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "msg": self.msg }))).into_response()
    }
}

async fn import(State(c): State<Ctx>, headers: HeaderMap, body: Body) -> Response {
    hook(&c, &headers, body, ImportAction::CourseImport).await
}

async fn update(State(c): State<Ctx>, headers: HeaderMap, body: Body) -> Response {
    hook(&c, &headers, body, ImportAction::GetLatest).await
}

async fn hook(c: &Ctx, headers: &HeaderMap, body: Body, action: ImportAction) -> Response {
    let a = match read(c, headers, body).await {
        Ok(bytes) => decide(&c.shared, headers, &bytes, action).await,
        Err(refused) => refused,
    };
    c.shared.count(a.label);
    a.into_response()
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The body, within the shared budget, and verified when secrets are set:
/// nothing is parsed before the signature matches.
async fn read(c: &Ctx, headers: &HeaderMap, body: Body) -> Result<bytes::Bytes, Answer> {
    let announced = header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(refused(BodyRefusal::TooLarge));
    }
    let secrets = &c.shared.settings.secrets;
    let signature = if secrets.is_empty() {
        None
    } else {
        match header_str(headers, "x-hub-signature-256").and_then(parse_signature) {
            Some(s) => Some(s),
            None => return Err(refused(BodyRefusal::Forged)),
        }
    };
    let check = signature.as_ref().map(|s| (secrets.as_slice(), s));
    read_within(&c.budget, check, announced, MAX_BODY_BYTES, body)
        .await
        .map_err(refused)
}

/// A push refused unread or unverified, in gitreload's words (capitalised).
fn refused(refusal: BodyRefusal) -> Answer {
    let (status, label, reason) = refusal.answer();
    tracing::warn!(label, "push refused: {reason}");
    let mut msg = reason.to_owned();
    if let Some(first) = msg.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    answer(status, label, msg)
}

/// gitreload's checks, in its order.
async fn decide(s: &Shared, headers: &HeaderMap, body: &[u8], action: ImportAction) -> Answer {
    let event = header_str(headers, "x-github-event").unwrap_or_default();
    if event == "ping" {
        return answer(StatusCode::OK, "ping", "pong");
    }
    if event != "push" {
        tracing::info!(event, "ignored event");
        return answer(StatusCode::OK, "other_event", "We do not handle that event");
    }
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str());
    let push = match parse_push(content_type, body) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "push refused: not a push payload");
            return answer(
                StatusCode::BAD_REQUEST,
                "bad_payload",
                format!("Not a push payload: {e}"),
            );
        }
    };
    let owner = push.owner.clone().unwrap_or_default();
    tracing::info!(repo = %push.repo_name, owner = %owner, git_ref = %push.git_ref, "push received");
    let owners = &s.settings.owners;
    if !owners.is_empty() && !owners.contains(&owner.to_ascii_lowercase()) {
        tracing::warn!(repo = %push.repo_name, owner = %owner, "push refused: owner not accepted");
        let msg = format!("Pushes from repositories of {owner:?} are not accepted here");
        return answer(StatusCode::FORBIDDEN, "wrong_owner", msg);
    }
    if !s.settings.repodir.is_dir() {
        tracing::error!(repodir = %s.settings.repodir.display(), "REPODIR does not exist");
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_repodir",
            "Server configuration issue",
        );
    }
    let dir = s.settings.repodir.join(&push.repo_name);
    let checkout = match checkout::inspect(&dir).await {
        Ok(c) => c,
        Err(CheckoutError::NotARepo) => {
            tracing::warn!(repo = %push.repo_name, "no checkout of this repository");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_checkout",
                "Repository not valid",
            );
        }
        Err(CheckoutError::Detached) => {
            let msg = "Unable to get current branch of checked out repo";
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "detached", msg);
        }
        Err(CheckoutError::NoOrigin) => {
            let msg = "Checked out repo has no origin remote";
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "no_origin", msg);
        }
    };
    if checkout.branch_ref != push.git_ref {
        let msg = "Branch pushed doesn't match local branch, ignoring";
        return answer(StatusCode::OK, "other_branch", msg);
    }
    if push.deleted {
        return answer(StatusCode::OK, "deleted", "Branch was deleted, ignoring");
    }
    let new = NewImport {
        repo_name: push.repo_name.clone(),
        owner: push.owner.clone(),
        repo_url: strip_url_credentials(&checkout.origin_url),
        action,
        git_ref: push.git_ref.clone(),
        sha: push.after.clone(),
    };
    let queued = match s.store.enqueue(&new).await {
        Ok(q) => q,
        Err(e) => {
            tracing::error!(error = %e, "cannot store the task");
            let msg = "Could not store the task; redeliver later";
            return answer(StatusCode::SERVICE_UNAVAILABLE, "store_failed", msg);
        }
    };
    s.wake.notify_waiters();
    tracing::info!(task = queued.id(), repo = %push.repo_name, action = %action,
        queue = queued.queue_size(), "task queued");
    if let (Some(owner), Some(sha)) = (&push.owner, &push.after) {
        report_queued(s, owner, &push.repo_name, sha, action).await;
    }
    let what = match action {
        ImportAction::CourseImport => "course import",
        ImportAction::GetLatest => "git update",
    };
    let label = match queued {
        Enqueued::Added { .. } => "queued",
        Enqueued::Coalesced { .. } => "coalesced",
    };
    let msg = format!(
        "Added {what} task to queue. Queue size was {}",
        queued.queue_size()
    );
    answer(StatusCode::OK, label, msg)
}

fn store_down(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "cannot read the task queue");
    let body = Json(json!({"msg": "Cannot read the task queue"}));
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

/// gitreload's `/queue`: the tasks queued or running.
async fn queue(State(c): State<Ctx>) -> Response {
    match c.shared.store.open_tasks().await {
        Ok(tasks) => {
            let items: Vec<Value> = tasks
                .iter()
                .map(|t| json!({"repo_name": t.push.repo_name, "repo_url": t.push.repo_url, "action": t.push.action}))
                .collect();
            Json(json!({"queue_length": items.len(), "queue": items})).into_response()
        }
        Err(e) => store_down(e),
    }
}

fn time(ms: Option<i64>) -> Value {
    ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
        .map(|t| Value::String(t.to_rfc3339()))
        .unwrap_or(Value::Null)
}

/// The recent tasks and how they ended.
async fn imports(State(c): State<Ctx>) -> Response {
    match c.shared.store.recent(RECENT_TASKS).await {
        Ok(tasks) => {
            let items: Vec<Value> = tasks
                .iter()
                .map(|t| {
                    let repo = match &t.push.owner {
                        Some(o) => format!("{o}/{}", t.push.repo_name),
                        None => t.push.repo_name.clone(),
                    };
                    let duration_ms = match (t.started_at, t.finished_at) {
                        (Some(a), Some(b)) => Value::from(b - a),
                        _ => Value::Null,
                    };
                    json!({
                        "id": t.id, "repo": repo, "repo_url": t.push.repo_url, "ref": t.push.git_ref,
                        "sha": t.push.sha, "action": t.push.action, "state": t.state,
                        "exit_code": t.exit_code, "duration_ms": duration_ms,
                        "pushes": t.pushes, "attempts": t.attempts,
                        "queued_at": time(Some(t.queued_at)), "started_at": time(t.started_at),
                        "finished_at": time(t.finished_at), "output": t.output,
                    })
                })
                .collect();
            Json(Value::Array(items)).into_response()
        }
        Err(e) => store_down(e),
    }
}

async fn healthz(State(c): State<Ctx>) -> Response {
    match c.shared.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => store_down(e),
    }
}

async fn metrics(State(c): State<Ctx>) -> Response {
    let counts = match c.shared.store.counts().await {
        Ok(c) => c,
        Err(e) => return store_down(e),
    };
    let mut out = String::new();
    out.push_str(
        "# HELP gitreload_tasks Tasks in the store, by state.\n# TYPE gitreload_tasks gauge\n",
    );
    for state in ImportState::ALL {
        let n = counts.get(state).copied().unwrap_or(0);
        out.push_str(&format!("gitreload_tasks{{state=\"{state}\"}} {n}\n"));
    }
    out.push_str("# HELP gitreload_pushes_total Hook calls answered, by answer.\n# TYPE gitreload_pushes_total counter\n");
    if let Ok(m) = c.shared.answers.lock() {
        for (label, n) in m.iter() {
            out.push_str(&format!(
                "gitreload_pushes_total{{answer=\"{label}\"}} {n}\n"
            ));
        }
    }
    let ran = c
        .shared
        .imports_run
        .load(std::sync::atomic::Ordering::Relaxed);
    out.push_str("# HELP gitreload_tasks_run_total Tasks this process ran to an end.\n# TYPE gitreload_tasks_run_total counter\n");
    out.push_str(&format!("gitreload_tasks_run_total {ran}\n"));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
