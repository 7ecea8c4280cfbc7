//! Reading a webhook body before anyone is authenticated, without letting a
//! stranger make the server hold memory or a connection for free.
//!
//! - Every byte held belongs to a shared budget (`ORC_UNAUTH_BODY_BYTES`,
//!   64 MiB by default), taken for the announced length before the first byte
//!   is read. A request that finds no room within a second gets 503; memory
//!   never grows past the budget.
//! - The body must keep coming: after a grace period (10 s) it must average at
//!   least 16 KiB/s, or the request ends (408) and the connection closes.
//! - The HMAC is computed as the frames arrive; a forged body is refused the
//!   moment its last byte is in, and its budget is released.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::signature::Verifier;
use crate::secret::Secret;

/// The budget of unauthenticated body bytes, and how bodies must arrive.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
    /// How long a request waits for room in the budget.
    pub wait: Duration,
    /// How long a body may take before the rate applies.
    pub grace: Duration,
    /// Bytes per second a body must average after the grace period.
    pub min_rate: u64,
}

impl BodyBudget {
    pub fn new(total_bytes: usize) -> BodyBudget {
        let total = total_bytes.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            wait: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            min_rate: 16 * 1024,
        }
    }

    /// The same budget with another grace period (tests use a short one).
    pub fn with_grace(mut self, grace: Duration) -> BodyBudget {
        self.grace = grace;
        self
    }

    /// Bytes of the budget not held by a request now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

impl Default for BodyBudget {
    fn default() -> Self {
        BodyBudget::new(64 * 1024 * 1024)
    }
}

/// Why a body was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefusal {
    /// Larger than the budget could ever hold.
    TooLarge,
    /// No room in the budget within the wait.
    Busy,
    /// The body came too slowly.
    TooSlow,
    /// The body ended early, ran past its announced length, or broke.
    Unreadable,
    /// The signature does not match.
    Forged,
}

impl BodyRefusal {
    /// How every route that reads a signed body answers this refusal: the
    /// status, the outcome label its metrics count, and the reason.
    pub fn answer(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            BodyRefusal::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "payload too large",
            ),
            BodyRefusal::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "busy, redeliver later",
            ),
            BodyRefusal::TooSlow => (StatusCode::REQUEST_TIMEOUT, "too_slow", "body too slow"),
            BodyRefusal::Unreadable => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "body could not be read",
            ),
            BodyRefusal::Forged => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "signature missing or invalid",
            ),
        }
    }
}

/// Takes `n` bytes of the budget, waiting at most `wait` for room.
async fn take(
    budget: &BodyBudget,
    n: usize,
) -> Result<tokio::sync::OwnedSemaphorePermit, BodyRefusal> {
    let n = u32::try_from(n).map_err(|_| BodyRefusal::TooLarge)?;
    match tokio::time::timeout(budget.wait, budget.bytes.clone().acquire_many_owned(n)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(BodyRefusal::Busy),
    }
}

/// Reads a body of at most `max` bytes (exactly `announced`, when the
/// length was announced), verifying it as it streams in. An announced body
/// takes its budget up front; one sent in chunks takes it chunk by chunk.
pub async fn read_verified(
    budget: &BodyBudget,
    secrets: &[Secret],
    signature: &[u8; 32],
    announced: Option<usize>,
    max: usize,
    body: Body,
) -> Result<Bytes, BodyRefusal> {
    read_within(budget, Some((secrets, signature)), announced, max, body).await
}

/// [`read_verified`], or with `check` absent the same bounded read with no
/// signature (gitreload's `--allow-unsigned`).
pub async fn read_within(
    budget: &BodyBudget,
    check: Option<(&[Secret], &[u8; 32])>,
    announced: Option<usize>,
    max: usize,
    body: Body,
) -> Result<Bytes, BodyRefusal> {
    let limit = announced.unwrap_or(max).min(max);
    if announced.is_some_and(|n| n > max || n > budget.total) {
        return Err(BodyRefusal::TooLarge);
    }
    let mut held = match announced {
        Some(n) => Some(take(budget, n).await?),
        None => None,
    };
    let started = Instant::now();
    let mut buf = BytesMut::with_capacity(announced.unwrap_or(0));
    let mut verifier = check.map(|(secrets, _)| Verifier::new(secrets));
    let mut body = body;
    loop {
        // The latest moment the next bytes may arrive and the average still hold.
        let owed = Duration::from_secs_f64(buf.len() as f64 / budget.min_rate.max(1) as f64);
        let deadline = started + budget.grace.max(owed);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyRefusal::TooSlow),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyRefusal::Unreadable),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > limit {
            return Err(if announced.is_some() {
                BodyRefusal::Unreadable
            } else {
                BodyRefusal::TooLarge
            });
        }
        if announced.is_none() {
            let more = take(budget, data.len()).await?;
            match held.as_mut() {
                Some(h) => h.merge(more),
                None => held = Some(more),
            }
        }
        if let Some(v) = verifier.as_mut() {
            v.update(&data);
        }
        buf.extend_from_slice(&data);
    }
    if announced.is_some_and(|n| buf.len() != n) {
        return Err(BodyRefusal::Unreadable);
    }
    if let (Some(v), Some((_, signature))) = (verifier, check) {
        if !v.matches(signature) {
            return Err(BodyRefusal::Forged);
        }
    }
    Ok(buf.freeze())
}
