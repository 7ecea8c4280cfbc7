//! When to try a GitHub call again and how long to wait.
//!
//! One place decides: 5xx, timeouts and dropped connections back off
//! exponentially with jitter up to a cap; the primary rate limit waits for
//! `x-ratelimit-reset`; the secondary limit honours `retry-after`, else waits at
//! least 60 s; every other 4xx is final and goes back to the caller.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest single rate-limit wait we accept inside one call; past it
    /// the call fails as `RateLimited` and the job is rescheduled instead.
    pub max_rate_limit_wait: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What one attempt's outcome means for the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the response to the caller (success or a final error status).
    Done,
    /// Retry after this long; `in_doubt` when the request may have been applied.
    Retry { after: Duration, in_doubt: bool },
    /// Rate limited for longer than we are willing to wait in this call.
    GiveUpRateLimited { after: Duration },
}

impl RetryPolicy {
    /// Exponential backoff with full jitter, capped: attempt 1 → up to base,
    /// attempt 2 → up to 2×base, … never above `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let cap = exp.min(self.max_delay);
        let millis = cap.as_millis().max(1) as u64;
        let jittered = rand::thread_rng().gen_range(millis / 2..=millis);
        Duration::from_millis(jittered)
    }

    /// Classify an HTTP answer. `attempt` is 1-based.
    pub fn classify_status(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Verdict {
        match status {
            500..=599 => Verdict::Retry {
                after: self.backoff(attempt),
                in_doubt: true,
            },
            403 | 429 => match rate_limit_wait(status, headers, body, attempt, now) {
                Some(wait) if wait > self.max_rate_limit_wait => {
                    Verdict::GiveUpRateLimited { after: wait }
                }
                Some(wait) => Verdict::Retry {
                    after: wait,
                    in_doubt: false,
                },
                None => Verdict::Done,
            },
            _ => Verdict::Done,
        }
    }
}

/// How long a 403/429 asks us to wait, or None when it is a plain permission
/// error (which is final).
fn rate_limit_wait(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    attempt: u32,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        if let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok())
        {
            let wait = (reset - now.timestamp()).max(0) as u64;
            // One extra second: the reset instant itself may still be limited.
            return Some(Duration::from_secs(wait + 1));
        }
    }
    let secondary = String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    if secondary || status == 429 {
        // GitHub: without retry-after, wait at least a minute, longer each time.
        let factor = 1u64 << attempt.saturating_sub(1).min(4);
        return Some(Duration::from_secs(60 * factor));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn server_errors_retry_with_capped_jittered_backoff() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let d = p.backoff(attempt);
            assert!(d <= p.max_delay, "attempt {attempt}: {d:?}");
            assert!(d >= Duration::from_millis(1));
        }
        assert!(matches!(
            p.classify_status(502, &HeaderMap::new(), b"", 1, Utc::now()),
            Verdict::Retry { in_doubt: true, .. }
        ));
    }

    #[test]
    fn secondary_limit_honours_retry_after_else_waits_a_minute() {
        let p = RetryPolicy::default();
        let v = p.classify_status(403, &headers(&[("retry-after", "7")]), b"", 1, Utc::now());
        assert_eq!(
            v,
            Verdict::Retry {
                after: Duration::from_secs(7),
                in_doubt: false
            }
        );
        let body = br#"{"message":"You have exceeded a secondary rate limit"}"#;
        let v = p.classify_status(403, &HeaderMap::new(), body, 1, Utc::now());
        assert_eq!(
            v,
            Verdict::Retry {
                after: Duration::from_secs(60),
                in_doubt: false
            }
        );
    }

    #[test]
    fn primary_limit_waits_for_reset() {
        let p = RetryPolicy::default();
        let now = Utc::now();
        let reset = (now.timestamp() + 30).to_string();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]);
        assert_eq!(
            p.classify_status(403, &h, b"", 1, now),
            Verdict::Retry {
                after: Duration::from_secs(31),
                in_doubt: false
            }
        );
    }

    #[test]
    fn plain_forbidden_and_not_found_are_final() {
        let p = RetryPolicy::default();
        let body = br#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(
            p.classify_status(403, &HeaderMap::new(), body, 1, Utc::now()),
            Verdict::Done
        );
        assert_eq!(
            p.classify_status(404, &HeaderMap::new(), b"", 1, Utc::now()),
            Verdict::Done
        );
        assert_eq!(
            p.classify_status(422, &HeaderMap::new(), b"", 1, Utc::now()),
            Verdict::Done
        );
    }

    #[test]
    fn very_long_rate_limit_gives_up_for_the_job_queue() {
        let p = RetryPolicy::default();
        let v = p.classify_status(
            429,
            &headers(&[("retry-after", "7200")]),
            b"",
            1,
            Utc::now(),
        );
        assert_eq!(
            v,
            Verdict::GiveUpRateLimited {
                after: Duration::from_secs(7200)
            }
        );
    }
}
