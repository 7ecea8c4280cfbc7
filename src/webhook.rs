//! Webhook ingress (SPEC §7): verify, store, answer 202 — nothing else.
//!
//! The handler never calls GitHub and never runs a command: it checks the
//! HMAC signature over the raw body *before* looking at the body at all, stores
//! the delivery and the jobs it implies in one durable transaction, wakes the
//! workers and answers. GitHub gives a webhook 10 seconds and does not retry on
//! its own, so the answer must be fast and must only be 2xx once the request is
//! safe on disk; any store failure is a 503, which shows up as a failed
//! delivery that can be redelivered.
//!
//! Which comments become jobs is decided here, once, in [`jobs_for_event`]:
//! bots (including this app) are filtered centrally, and edited comments only
//! count for commands they did not already hold.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use ring::hmac;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::command;
use crate::metrics::Metrics;
use crate::naming::RepoFullName;
use crate::secret::Secret;
use crate::store::{NewDelivery, NewJob, Store};

/// GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// Bodies above this are hashed and parsed on the blocking pool, so a few
/// large pushes cannot stall the runtime threads that answer everyone else;
/// smaller ones are cheaper to handle inline than to hand over.
const INLINE_CPU_BYTES: usize = 256 * 1024;
const MAX_DELIVERY_ID_LEN: usize = 100;
const MAX_EVENT_LEN: usize = 64;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const DELIVERY_HEADER: &str = "x-github-delivery";
pub const EVENT_HEADER: &str = "x-github-event";

/// The job kind for a comment that holds commands.
pub const COMMENT_JOB: &str = "comment";

/// Which deliveries turn into work.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// `ORC_REQUESTS_REPOS`: the only repos whose comments are read as commands.
    pub requests_repos: Vec<RepoFullName>,
}

/// What the ingress routes share.
#[derive(Clone)]
pub struct IngressState {
    pub store: Store,
    /// `ORC_WEBHOOK_SECRET`, a list so a secret can be rotated without downtime
    /// (configure new and old, switch GitHub, drop the old).
    pub secrets: Vec<Secret>,
    pub filter: EventFilter,
    pub metrics: Arc<Metrics>,
    /// Notified when a delivery made jobs runnable, so idle workers need not poll.
    pub wake: Arc<Notify>,
}

/// `POST /webhook`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
pub fn router(mut state: IngressState) -> Router {
    state.secrets.retain(|s| !s.is_empty());
    if state.secrets.is_empty() {
        // Once here, at start-up; every request will then be refused.
        tracing::error!(
            "ORC_WEBHOOK_SECRET is not set: every webhook delivery will be refused with 401"
        );
    }
    Router::new()
        .route(
            "/webhook",
            post(webhook).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(state))
}

/// `sha256=<hex>` of `body` under `secret`, as GitHub sends it in
/// `X-Hub-Signature-256` (for tests, benchmarks and `curl` examples).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    format!("sha256={}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// The 32 signature bytes of a `sha256=<64 hex>` header value.
pub fn parse_signature(value: &str) -> Option<[u8; 32]> {
    let hex_part = value.trim().strip_prefix("sha256=")?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Whether `signature` is the HMAC-SHA256 of `body` under any of `secrets`,
/// compared in constant time (`ring::hmac::verify`). Empty secrets never match.
/// ring's SHA-256 is assembly: on the benchmark machine it halves the cost
/// of the signature check of a 13 KB delivery compared with the `sha2` crate.
pub fn verify_signature(secrets: &[Secret], signature: &[u8; 32], body: &[u8]) -> bool {
    secrets.iter().filter(|s| !s.is_empty()).any(|s| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, s.expose().as_bytes());
        hmac::verify(&key, body, signature).is_ok()
    })
}

/// `X-GitHub-Delivery` is a GUID; accept printable ASCII up to 100 characters
/// so the key column and log lines stay sane.
fn valid_delivery_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_DELIVERY_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Event names are GitHub's identifiers (`issue_comment`); they become a
/// metrics label, so the charset and length are bounded.
fn valid_event(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_EVENT_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------
// What a body says.
//
// Only the handful of fields ingress needs are deserialised, borrowing from the
// body where possible; serde skips the rest without building anything (but
// still checks it is valid JSON). A `serde_json::Value` of a 13 KB
// issue_comment costs about ten times as much, and this runs for every delivery.

#[derive(Debug, Default, Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(default)]
    installation: Option<IdRef>,
    #[serde(default, borrow)]
    repository: Option<RepoRef<'a>>,
    #[serde(default)]
    issue: Option<IssueRef>,
    #[serde(default, borrow)]
    comment: Option<CommentRef<'a>>,
    #[serde(default, borrow)]
    changes: Option<Changes<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct IdRef {
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct RepoRef<'a> {
    #[serde(default, borrow)]
    full_name: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct IssueRef {
    #[serde(default)]
    number: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct CommentRef<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    html_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user: Option<UserRef<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct UserRef<'a> {
    #[serde(default, borrow)]
    login: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct Changes<'a> {
    #[serde(default, borrow)]
    body: Option<ChangedText<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct ChangedText<'a> {
    #[serde(default, borrow)]
    from: Option<Cow<'a, str>>,
}

/// What ingress learnt from a verified body.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    /// Set when the body is not JSON at all.
    pub parse_error: Option<String>,
    pub jobs: Vec<NewJob>,
}

/// Reads a verified body: its action, installation and the jobs it implies.
/// Not JSON → `parse_error` (serde_json's message names a line and column,
/// never content) and no job. JSON of an unexpected shape → no job.
pub fn inspect_body(filter: &EventFilter, event: &str, body: &[u8]) -> Inspection {
    match serde_json::from_slice::<Envelope<'_>>(body) {
        Ok(env) => Inspection {
            action: env.action.as_deref().map(str::to_owned),
            installation_id: env.installation.as_ref().and_then(|i| i.id),
            parse_error: None,
            jobs: envelope_jobs(filter, event, &env),
        },
        // Rare: tell "not JSON" from "JSON, but a field we read has another type".
        Err(typed) => match serde_json::from_slice::<Value>(body) {
            Ok(v) => Inspection {
                action: v.get("action").and_then(Value::as_str).map(str::to_owned),
                installation_id: v.pointer("/installation/id").and_then(Value::as_i64),
                parse_error: None,
                jobs: {
                    tracing::warn!(%event, error = %typed, "webhook body has an unexpected shape; no job");
                    Vec::new()
                },
            },
            Err(e) => Inspection {
                action: None,
                installation_id: None,
                parse_error: Some(e.to_string()),
                jobs: Vec::new(),
            },
        },
    }
}

/// Whether a comment author is a bot: this app's own comments and other apps'
/// are never read as commands (a loop of bots answering bots is impossible).
fn is_bot(user: &UserRef<'_>) -> bool {
    user.kind.as_deref() == Some("Bot")
        || user.login.as_deref().is_some_and(|l| {
            l.len() >= 5
                && l.is_char_boundary(l.len() - 5)
                && l[l.len() - 5..].eq_ignore_ascii_case("[bot]")
        })
}

fn is_requests_repo(filter: &EventFilter, full_name: &str) -> bool {
    let Some((owner, name)) = full_name.split_once('/') else {
        return false;
    };
    filter.requests_repos.iter().any(|r| {
        r.owner().as_str().eq_ignore_ascii_case(owner) && r.name().eq_ignore_ascii_case(name)
    })
}

/// The jobs a verified delivery implies (pure; no I/O).
///
/// Today: one `comment` job for an `issue_comment` `created`/`edited` in a
/// requests repo, by a human, that holds at least one command (for `edited`:
/// a command the previous body did not hold). Everything else implies nothing
/// (`push` → gitreload is designed to be added here). The webhook handler
/// reaches the same rules through [`inspect_body`] without building a `Value`.
pub fn jobs_for_event(filter: &EventFilter, event: &str, payload: &Value) -> Vec<NewJob> {
    match Envelope::deserialize(payload) {
        Ok(env) => envelope_jobs(filter, event, &env),
        Err(_) => Vec::new(),
    }
}

fn envelope_jobs(filter: &EventFilter, event: &str, env: &Envelope<'_>) -> Vec<NewJob> {
    if event != "issue_comment" {
        return Vec::new();
    }
    let previous = match env.action.as_deref() {
        Some("created") => None,
        // An edit that did not touch the body (no `changes.body`) adds no command.
        Some("edited") => match env
            .changes
            .as_ref()
            .and_then(|c| c.body.as_ref())
            .and_then(|b| b.from.as_deref())
        {
            Some(from) => Some(from),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let Some(full_name) = env.repository.as_ref().and_then(|r| r.full_name.as_deref()) else {
        return Vec::new();
    };
    if !is_requests_repo(filter, full_name) {
        return Vec::new();
    }
    let Some(comment) = env.comment.as_ref() else {
        return Vec::new();
    };
    let user = comment.user.as_ref();
    if user.is_some_and(is_bot) {
        return Vec::new();
    }
    let body = comment.body.as_deref().unwrap_or("");
    let has_command = match previous {
        None => !command::parse_comment(body).is_empty(),
        Some(prev) => !command::new_invocations(prev, body).is_empty(),
    };
    if !has_command {
        return Vec::new();
    }
    // The worker needs these to answer at all; without them there is no job.
    let (Some(issue), Some(comment_id), Some(author)) = (
        env.issue.as_ref().and_then(|i| i.number),
        comment.id,
        user.and_then(|u| u.login.as_deref()),
    ) else {
        return Vec::new();
    };
    let installation_id = env.installation.as_ref().and_then(|i| i.id);
    vec![NewJob {
        kind: COMMENT_JOB.to_owned(),
        installation_id,
        payload: json!({
            "repo": full_name,
            "issue": issue,
            "comment_id": comment_id,
            "comment_url": comment.html_url.as_deref(),
            "author": author,
            "body": body,
            "previous_body": previous,
            "installation_id": installation_id,
        }),
    }]
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    (status, msg).into_response()
}

async fn webhook(State(st): State<Arc<IngressState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    // The id is recorded on the span as soon as it looks valid (even before the
    // signature is checked) so a refused delivery can be found in GitHub's list.
    let span = tracing::info_span!("webhook", delivery = tracing::field::Empty);
    if let Some(id) = header(&headers, DELIVERY_HEADER).filter(|id| valid_delivery_id(id)) {
        span.record("delivery", id);
    }
    let (event, outcome, response) = handle(&st, &headers, body).instrument(span).await;
    st.metrics
        .observe_delivery(&event, outcome, started.elapsed());
    response
}

/// Returns the metrics labels (event, outcome) and the response.
async fn handle(
    st: &IngressState,
    headers: &HeaderMap,
    body: Body,
) -> (String, &'static str, Response) {
    let unknown = || "unknown".to_owned();
    let too_large = || {
        tracing::warn!("webhook refused: body over {MAX_BODY_BYTES} bytes");
        (
            unknown(),
            "too_large",
            text(StatusCode::PAYLOAD_TOO_LARGE, "payload too large\n"),
        )
    };
    let unauthorized = || {
        tracing::warn!("webhook refused: signature missing or invalid");
        (
            unknown(),
            "unauthorized",
            text(StatusCode::UNAUTHORIZED, "signature missing or invalid\n"),
        )
    };

    // Refuse an announced oversize body before reading any of it.
    let announced = header(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    // No secret configured: refuse everything, quietly (router() said so once).
    if st.secrets.is_empty() {
        return (
            unknown(),
            "unauthorized",
            text(StatusCode::UNAUTHORIZED, "signature missing or invalid\n"),
        );
    }
    // No usable signature header: refuse before reading the body.
    let Some(signature) = header(headers, SIGNATURE_HEADER).and_then(parse_signature) else {
        return unauthorized();
    };
    let body: Bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(e) => {
            tracing::warn!(error = %e, "webhook body could not be read");
            return (
                unknown(),
                "bad_request",
                text(StatusCode::BAD_REQUEST, "body could not be read\n"),
            );
        }
    };
    let big = body.len() > INLINE_CPU_BYTES;

    let verified = if big {
        let (secrets, body) = (st.secrets.clone(), body.clone());
        tokio::task::spawn_blocking(move || verify_signature(&secrets, &signature, &body)).await
    } else {
        Ok(verify_signature(&st.secrets, &signature, &body))
    };
    if !matches!(verified, Ok(true)) {
        return unauthorized();
    }

    // Verified: from here on the request is GitHub's.
    let Some(id) = header(headers, DELIVERY_HEADER).filter(|id| valid_delivery_id(id)) else {
        tracing::warn!("webhook refused: missing or invalid X-GitHub-Delivery");
        return (
            unknown(),
            "bad_request",
            text(
                StatusCode::BAD_REQUEST,
                "missing or invalid X-GitHub-Delivery header\n",
            ),
        );
    };
    let Some(event) = header(headers, EVENT_HEADER).filter(|e| valid_event(e)) else {
        tracing::warn!("webhook refused: missing or invalid X-GitHub-Event");
        return (
            unknown(),
            "bad_request",
            text(
                StatusCode::BAD_REQUEST,
                "missing or invalid X-GitHub-Event header\n",
            ),
        );
    };
    let event = event.to_owned();

    let inspected = if big {
        let (filter, event, body) = (st.filter.clone(), event.clone(), body.clone());
        tokio::task::spawn_blocking(move || inspect_body(&filter, &event, &body)).await
    } else {
        Ok(inspect_body(&st.filter, &event, &body))
    };
    let Ok(Inspection {
        action,
        installation_id,
        parse_error,
        jobs,
    }) = inspected
    else {
        return (
            event,
            "error",
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
        );
    };
    if let Some(err) = &parse_error {
        tracing::warn!(%event, error = %err, "webhook body is not JSON; stored without a job");
    }

    let delivery = NewDelivery {
        id: id.to_owned(),
        event: event.clone(),
        action: action.clone(),
        installation_id,
        body,
        parse_error,
    };
    let outcome = match st.store.record_delivery(delivery, jobs).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(%event, error = %e, "webhook not stored; answering 503 so it can be redelivered");
            return (
                event,
                "unavailable",
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store unavailable, redeliver later\n",
                ),
            );
        }
    };
    let jobs = outcome.jobs();
    if jobs > 0 {
        // Wake every idle worker, and leave a permit for one that is between
        // "nothing to claim" and waiting, so the wake-up cannot be missed.
        st.wake.notify_waiters();
        st.wake.notify_one();
    }
    tracing::info!(
        %event,
        action = action.as_deref().unwrap_or(""),
        outcome = outcome.as_str(),
        jobs,
        "webhook accepted"
    );
    let body = json!({"delivery": id, "outcome": outcome.as_str(), "jobs": jobs});
    (
        event,
        outcome.as_str(),
        (StatusCode::ACCEPTED, axum::Json(body)).into_response(),
    )
}

/// Liveness: the process answers. No I/O, so a slow disk never gets the
/// process restarted.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and the writer runs.
async fn readyz(State(st): State<Arc<IngressState>>) -> Response {
    match st.store.ping().await {
        Ok(()) => text(StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: store unavailable");
            text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

async fn metrics(State(st): State<Arc<IngressState>>) -> Response {
    let counts = match st.store.job_counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: job counts unavailable");
            Default::default()
        }
    };
    let stats = st.store.write_stats();
    let mut resp = st
        .metrics
        .render_with(&counts, Some(&stats))
        .into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> EventFilter {
        EventFilter {
            requests_repos: vec![RepoFullName::parse("MITx/course-requests").expect("repo")],
        }
    }

    fn comment(action: &str, body: &str) -> Value {
        json!({
            "action": action,
            "issue": {"number": 12},
            "comment": {
                "id": 99,
                "html_url": "https://github.com/mitx/course-requests/issues/12#issuecomment-99",
                "body": body,
                "user": {"login": "alice", "type": "User"}
            },
            "repository": {"full_name": "mitx/Course-Requests"},
            "installation": {"id": 4242}
        })
    }

    #[test]
    fn github_documented_signature_vector() {
        // GitHub's "Validating webhook deliveries" test values.
        let sig = sign(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let parsed = parse_signature(&sig).expect("parse");
        let secrets = [
            Secret::new("old"),
            Secret::new("It's a Secret to Everybody"),
        ];
        assert!(verify_signature(&secrets, &parsed, b"Hello, World!"));
        assert!(!verify_signature(&secrets, &parsed, b"Hello, World?"));
        assert!(!verify_signature(&secrets[..1], &parsed, b"Hello, World!"));
        assert!(!verify_signature(
            &[Secret::new("")],
            &parsed,
            b"Hello, World!"
        ));
    }

    #[test]
    fn malformed_signature_headers_are_refused() {
        for bad in [
            "",
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            assert!(parse_signature(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn header_validation() {
        assert!(valid_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!valid_delivery_id(""));
        assert!(!valid_delivery_id("has space"));
        assert!(!valid_delivery_id(&"a".repeat(101)));
        assert!(valid_event("issue_comment"));
        assert!(!valid_event("issue comment"));
        assert!(!valid_event(""));
    }

    #[test]
    fn created_comment_with_a_command_makes_one_job() {
        let jobs = jobs_for_event(
            &filter(),
            "issue_comment",
            &comment("created", "Please\n/help\n"),
        );
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, "comment");
        assert_eq!(jobs[0].installation_id, Some(4242));
        assert_eq!(
            jobs[0].payload,
            json!({
                "repo": "mitx/Course-Requests",
                "issue": 12,
                "comment_id": 99,
                "comment_url": "https://github.com/mitx/course-requests/issues/12#issuecomment-99",
                "author": "alice",
                "body": "Please\n/help\n",
                "previous_body": null,
                "installation_id": 4242
            })
        );
    }

    #[test]
    fn unknown_commands_still_make_a_job_so_the_bot_can_answer() {
        let jobs = jobs_for_event(&filter(), "issue_comment", &comment("created", "/halp"));
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn comments_that_are_not_commands_make_no_job() {
        let f = filter();
        let none = |p: &Value| assert!(jobs_for_event(&f, "issue_comment", p).is_empty(), "{p}");
        none(&comment("created", "just words, no command"));
        none(&comment("created", "```\n/help\n```"));
        none(&comment("created", "> /help"));
        none(&comment("deleted", "/help"));
        let mut bot = comment("created", "/help");
        bot["comment"]["user"] = json!({"login": "orcoursetrion[bot]", "type": "Bot"});
        none(&bot);
        let mut bot_by_login = comment("created", "/help");
        bot_by_login["comment"]["user"] = json!({"login": "helper[bot]", "type": "User"});
        none(&bot_by_login);
        let mut elsewhere = comment("created", "/help");
        elsewhere["repository"]["full_name"] = json!("mitx/other");
        none(&elsewhere);
        let mut no_issue = comment("created", "/help");
        no_issue["issue"] = Value::Null;
        none(&no_issue);
        assert!(jobs_for_event(&f, "issues", &comment("created", "/help")).is_empty());
        assert!(jobs_for_event(
            &EventFilter::default(),
            "issue_comment",
            &comment("created", "/help")
        )
        .is_empty());
    }

    #[test]
    fn inspect_body_agrees_with_jobs_for_event() {
        let f = filter();
        for payload in [
            comment("created", "Please \"quote\"\r\n/help\r\n"),
            comment("created", "nothing"),
            json!({"action": "opened", "installation": {"id": 5}}),
        ] {
            let body = serde_json::to_vec(&payload).expect("json");
            let seen = inspect_body(&f, "issue_comment", &body);
            assert_eq!(seen.jobs, jobs_for_event(&f, "issue_comment", &payload));
            assert_eq!(seen.action.as_deref(), payload["action"].as_str());
            assert_eq!(seen.installation_id, payload["installation"]["id"].as_i64());
            assert_eq!(seen.parse_error, None);
        }
    }

    #[test]
    fn inspect_body_tells_bad_json_from_an_unexpected_shape() {
        let f = filter();
        let bad = inspect_body(&f, "issue_comment", b"{\"action\": ");
        assert!(bad.parse_error.is_some());
        assert!(bad.jobs.is_empty());
        let trailing = inspect_body(&f, "issue_comment", b"{} x");
        assert!(trailing.parse_error.is_some());
        // Valid JSON, but a field ingress reads has another type.
        let mut odd = comment("created", "/help");
        odd["comment"]["id"] = json!("99");
        let seen = inspect_body(
            &f,
            "issue_comment",
            &serde_json::to_vec(&odd).expect("json"),
        );
        assert_eq!(seen.parse_error, None);
        assert_eq!(seen.action.as_deref(), Some("created"));
        assert_eq!(seen.installation_id, Some(4242));
        assert!(seen.jobs.is_empty());
        // Not an object at all.
        let array = inspect_body(&f, "ping", b"[1, 2]");
        assert_eq!((array.parse_error, array.action), (None, None));
    }

    #[test]
    fn edited_comments_count_only_new_commands() {
        let f = filter();
        let mut p = comment("edited", "/help\nthanks");
        p["changes"] = json!({"body": {"from": "/help"}});
        assert!(jobs_for_event(&f, "issue_comment", &p).is_empty());

        p["comment"]["body"] = json!("/help\n/plan /help");
        let jobs = jobs_for_event(&f, "issue_comment", &p);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].payload["previous_body"], json!("/help"));

        // Edited without a body change (e.g. only the title of something else).
        let mut no_change = comment("edited", "/help");
        no_change["changes"] = json!({});
        assert!(jobs_for_event(&f, "issue_comment", &no_change).is_empty());
    }
}
