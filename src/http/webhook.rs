//! Webhook ingress: verify, store, answer 202 — nothing else.
//!
//! The handler never calls GitHub and never runs a command: it checks the
//! HMAC signature over the raw body *before* looking at the body at all, stores
//! the delivery and the jobs it implies in one durable transaction, wakes the
//! workers and answers. GitHub gives a webhook 10 seconds and does not retry on
//! its own, so the answer must be fast and must only be 2xx once the request is
//! safe on disk; any store failure is a 503, which shows up as a failed
//! delivery that can be redelivered.
//!
//! Which deliveries become jobs is decided once, in [`super::envelope`]:
//! bots (including this app) are filtered centrally, and edited comments only
//! count for commands they did not already hold.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::Instrument;

use super::body::{read_verified, BodyBudget, BodyRefusal};
use super::envelope::{inspect_body, EventFilter, Inspection};
use super::signature::parse_signature;
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::{JobWake, NewDelivery, Store};

/// GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// Bodies above this are parsed on the blocking pool, so a few large pushes
/// cannot stall the runtime threads that answer everyone else; smaller ones
/// are cheaper to handle inline than to hand over. (The signature is checked
/// frame by frame as the body arrives.)
const INLINE_CPU_BYTES: usize = 256 * 1024;
const MAX_DELIVERY_ID_LEN: usize = 100;
const MAX_EVENT_LEN: usize = 64;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const DELIVERY_HEADER: &str = "x-github-delivery";
pub const EVENT_HEADER: &str = "x-github-event";

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
    pub wake: Arc<JobWake>,
    /// The memory that unauthenticated bodies may hold, shared by all requests.
    pub bodies: BodyBudget,
    /// The start-up doctor's findings, summed up on the status page.
    pub doctor: crate::doctor::Report,
    /// `ORC_API_TOKEN`: the bearer token of the JSON API; `None` turns it off.
    pub api_token: Option<Secret>,
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

pub(super) fn text(status: StatusCode, msg: &'static str) -> Response {
    (status, msg).into_response()
}

/// The metrics labels (event, outcome) and the response of a request.
type Handled = (String, &'static str, Response);

/// The event label of a request refused before its event is known.
fn unknown() -> String {
    "unknown".to_owned()
}

/// A body refused unread or unverified, logged once, answered as
/// [`BodyRefusal::answer`] says.
fn refuse(refusal: BodyRefusal) -> Handled {
    let (_, outcome, reason) = refusal.answer();
    tracing::warn!(outcome, "webhook refused: {reason}");
    refused_quietly(refusal)
}

/// [`refuse`] without the log line.
fn refused_quietly(refusal: BodyRefusal) -> Handled {
    let (status, outcome, reason) = refusal.answer();
    let body = format!("{reason}\n");
    (unknown(), outcome, (status, body).into_response())
}

/// A verified delivery without a usable `name` header.
fn bad_header(name: &'static str) -> Handled {
    tracing::warn!("webhook refused: missing or invalid {name}");
    let body = format!("missing or invalid {name} header\n");
    (
        unknown(),
        "bad_request",
        (StatusCode::BAD_REQUEST, body).into_response(),
    )
}

pub(super) async fn webhook(
    State(st): State<Arc<IngressState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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
async fn handle(st: &IngressState, headers: &HeaderMap, body: Body) -> Handled {
    // Refuse an announced oversize body before reading any of it.
    let announced = header(headers, CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        return refuse(BodyRefusal::TooLarge);
    }
    // No secret configured: refuse everything, quietly (router() said so once).
    if st.secrets.is_empty() {
        return refused_quietly(BodyRefusal::Forged);
    }
    // No usable signature header: refuse before reading the body.
    let Some(signature) = header(headers, SIGNATURE_HEADER).and_then(parse_signature) else {
        return refuse(BodyRefusal::Forged);
    };
    let read = read_verified(
        &st.bodies,
        &st.secrets,
        &signature,
        announced,
        MAX_BODY_BYTES,
        body,
    );
    let body = match read
        .instrument(tracing::info_span!(target: "orc_profile", "read_verified"))
        .await
    {
        Ok(body) => body,
        Err(refusal) => return refuse(refusal),
    };
    let big = body.len() > INLINE_CPU_BYTES;

    // Verified: from here on the request is GitHub's.
    let Some(id) = header(headers, DELIVERY_HEADER).filter(|id| valid_delivery_id(id)) else {
        return bad_header("X-GitHub-Delivery");
    };
    let Some(event) = header(headers, EVENT_HEADER).filter(|e| valid_event(e)) else {
        return bad_header("X-GitHub-Event");
    };
    let event = event.to_owned();

    let inspected = {
        // Closed at the end of this block, so that its idle time is only
        // the wait for a blocking thread.
        let inspect = tracing::info_span!(target: "orc_profile", "inspect");
        if big {
            let (filter, event, body) = (st.filter.clone(), event.clone(), body.clone());
            tokio::task::spawn_blocking(move || {
                inspect.in_scope(|| inspect_body(&filter, &event, &body))
            })
            .await
        } else {
            Ok(inspect.in_scope(|| inspect_body(&st.filter, &event, &body)))
        }
    };
    let Ok(Inspection {
        action,
        installation_id,
        parse_error,
        jobs,
        refused,
    }) = inspected
    else {
        return (
            event,
            "error",
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
        );
    };
    if let Some(r) = refused {
        tracing::warn!(%event, reason = r.as_str(), "delivery asked for work that cannot run; stored without a job");
        st.metrics.observe_refused_job(r.as_str());
    }
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
    // A redelivery requeues the jobs this delivery implied before, which
    // are these again (the same body under the same rules).
    let queues: Vec<Option<i64>> = jobs.iter().map(|j| j.installation_id).collect();
    let stored = st.store.record_delivery(delivery, jobs);
    let outcome = match stored
        .instrument(tracing::info_span!(target: "orc_profile", "store"))
        .await
    {
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
        st.wake.new_jobs(&queues);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
