//! The redelivery sweep. GitHub never redelivers a webhook by itself, so a
//! delivery that reached no instance (all down, a deploy, a network cut) is
//! lost unless the App asks for it again. Every `ORC_REDELIVER_EVERY`, one
//! instance (a named lease in the store) reads the App's delivery log back to
//! where the last good sweep began, less a margin, and at most three days
//! (what GitHub keeps). It groups attempts by `guid` (the
//! `X-GitHub-Delivery` we key on, the same across redeliveries) and asks once
//! for each guid with no `OK` attempt that our deliveries table does not
//! hold. The mark moves only when a sweep asked for everything it found.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::github::{GitHub, GitHubError, HookDelivery, Redelivery};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

const LEASE: &str = "redelivery_sweep";
const MARK: &str = "redelivery_sweep";
/// GitHub takes up to 10 s to call a delivery failed; a sweep also looks this
/// far behind the previous one's start, so nothing falls between two.
const MARGIN: chrono::Duration = chrono::Duration::minutes(5);
/// GitHub keeps three days of deliveries.
const HORIZON: chrono::Duration = chrono::Duration::hours(72);
/// How long one sweep may hold the lease.
const HOLD: Duration = Duration::from_secs(600);

/// Status codes we answered on purpose to a body we will refuse again: a
/// redelivery would only repeat them.
const DELIBERATE: [u16; 4] = [400, 413, 415, 422];

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("reading the delivery log: {0}")]
    GitHub(#[from] GitHubError),
    #[error("the store: {0}")]
    Store(#[from] StoreError),
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Attempts read from the log.
    pub attempts: usize,
    /// Deliveries (guids) that no instance stored.
    pub missing: usize,
    pub asked: usize,
    /// GitHub's 422: asked again at the next sweep.
    pub refused: usize,
    /// Asked for everything found: the mark moved to this sweep's start.
    pub complete: bool,
}

struct Guid {
    ok: bool,
    latest: HookDelivery,
}

/// One sweep, unless another instance holds the sweep's lease (`None`).
pub async fn sweep_once(
    app: &GitHub,
    store: &Store,
    metrics: &Metrics,
    owner: &str,
) -> Result<Option<SweepReport>, SweepError> {
    if !store.try_lease(LEASE, owner, HOLD).await? {
        return Ok(None);
    }
    let outcome = sweep(app, store, Utc::now()).await;
    if let Err(e) = store.release_lease(LEASE, owner).await {
        tracing::debug!(error = %e, "could not release the sweep lease");
    }
    match &outcome {
        Ok(r) => {
            metrics.observe_redelivery("sweeps", 1);
            metrics.observe_redelivery("found_missing", r.missing as u64);
            metrics.observe_redelivery("asked", r.asked as u64);
            metrics.observe_redelivery("refused", r.refused as u64);
        }
        Err(_) => metrics.observe_redelivery("failed_sweeps", 1),
    }
    outcome.map(Some)
}

async fn sweep(
    app: &GitHub,
    store: &Store,
    started: DateTime<Utc>,
) -> Result<SweepReport, SweepError> {
    let horizon = started - HORIZON;
    let stop_at = match store.mark(MARK).await? {
        Some(mark) => (mark - MARGIN).max(horizon),
        None => horizon,
    };
    let mut report = SweepReport::default();
    let mut guids: BTreeMap<String, Guid> = BTreeMap::new();
    let mut next: Option<String> = None;
    'pages: loop {
        let (page, more) = app.hook_deliveries_page(next.as_deref()).await?;
        for d in page {
            if d.delivered_at < stop_at {
                break 'pages;
            }
            report.attempts += 1;
            match guids.get_mut(&d.guid) {
                Some(g) => {
                    g.ok |= d.ok();
                    if d.id > g.latest.id {
                        g.latest = d;
                    }
                }
                None => {
                    guids.insert(
                        d.guid.clone(),
                        Guid {
                            ok: d.ok(),
                            latest: d,
                        },
                    );
                }
            }
        }
        match more {
            Some(url) => next = Some(url),
            None => break,
        }
    }
    let mut complete = true;
    for (guid, g) in guids {
        if g.ok || DELIBERATE.contains(&g.latest.status_code) {
            continue;
        }
        if store.delivery(&guid).await?.is_some() {
            continue;
        }
        report.missing += 1;
        match app.redeliver(g.latest.id).await {
            Ok(Redelivery::Asked) => {
                report.asked += 1;
                tracing::info!(delivery = %guid, event = %g.latest.event, "asked GitHub to redeliver a missed delivery");
            }
            Ok(Redelivery::Refused) => {
                report.refused += 1;
                complete = false;
                tracing::warn!(delivery = %guid, "GitHub refused the redelivery (422); asking again at the next sweep");
            }
            Err(e) => {
                complete = false;
                tracing::warn!(delivery = %guid, error = %e, "redelivery request failed; asking again at the next sweep");
            }
        }
    }
    if complete {
        store.set_mark(MARK, started).await?;
    }
    report.complete = complete;
    Ok(report)
}

/// Sweeps once now, then every `every`, until shutdown.
pub fn spawn(
    app: GitHub,
    store: Store,
    metrics: std::sync::Arc<Metrics>,
    owner: String,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep_once(&app, &store, &metrics, &owner).await {
                Ok(Some(r)) => tracing::info!(
                    attempts = r.attempts,
                    missing = r.missing,
                    asked = r.asked,
                    refused = r.refused,
                    complete = r.complete,
                    "redelivery sweep finished"
                ),
                Ok(None) => tracing::debug!("another instance is sweeping"),
                Err(e) => {
                    tracing::warn!(error = %e, "redelivery sweep failed; the next one starts from the same mark")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}
