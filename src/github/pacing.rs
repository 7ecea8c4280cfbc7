//! Pacing of content-creating calls: GitHub asks integrations to stay under
//! 80 a minute (per installation), or it answers with secondary rate limits.

use super::*;

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
