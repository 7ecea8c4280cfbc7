//! Pacing of content-creating calls: GitHub asks integrations to stay under
//! 80 a minute (per installation), or it answers with secondary rate limits.
//!
//! The budget is kept in memory by default. Instances that share a database
//! share it through a [`PaceLedger`] (the server plugs in the store), so two
//! instances together stay under it, and a restart does not forget it.

use super::*;
use std::future::Future;
use std::pin::Pin;

/// Reserves slots for content-creating calls somewhere several processes see.
pub trait PaceLedger: Send + Sync {
    /// One slot for a call of `installation` (None: the App itself), keeping
    /// every 60 s window at most `limit`; how long to wait for it. `Err`
    /// (the ledger is unreachable) falls back to this process's own count.
    fn reserve(
        &self,
        installation: Option<u64>,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Duration, String>> + Send + '_>>;
}

impl GitHub {
    /// Wait so that content-creating calls stay under GitHub's per-minute budget.
    pub(super) async fn pace(&self, method: &Method, installation: Option<u64>) {
        if !matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        ) {
            return;
        }
        let key = installation;
        let limit = self.shared.content_writes_per_minute;
        if let Some(ledger) = &self.shared.pace_ledger {
            match ledger.reserve(installation, limit).await {
                Ok(wait) => {
                    if !wait.is_zero() {
                        self.shared.clock.sleep(wait).await;
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "shared pacing unavailable; pacing in this process only");
                }
            }
        }
        let wait = {
            let now = self.shared.clock.now();
            let Ok(mut all) = self.shared.pacer.lock() else {
                return;
            };
            let window = all.entry(key).or_default();
            while window
                .front()
                .is_some_and(|t| now - *t >= chrono::Duration::seconds(60))
            {
                window.pop_front();
            }
            let wait = if window.len() >= limit {
                window.front().map(|oldest| {
                    (*oldest + chrono::Duration::seconds(60) - now)
                        .to_std()
                        .unwrap_or_default()
                })
            } else {
                None
            };
            window.push_back(
                now + chrono::Duration::from_std(wait.unwrap_or_default()).unwrap_or_default(),
            );
            wait
        };
        if let Some(w) = wait {
            self.shared.clock.sleep(w).await;
        }
    }
}
