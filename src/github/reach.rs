//! Whether GitHub can be reached at all, as every handle of one App sees it.
//!
//! A call that ends without any HTTP answer, after the client's own retries,
//! means GitHub (or the way to it) is down. Then every job would fail the
//! same way, and each would use up one of its few attempts: an outage of a
//! few minutes would leave every request of that time failed. So the workers
//! ask this before they claim, and a job that met the outage is queued again
//! without losing its attempt. The wait doubles while the outage lasts (1 s
//! to 60 s); the first answer of any kind ends it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(super) struct Reach {
    state: Mutex<Option<Outage>>,
}

#[derive(Clone, Copy)]
struct Outage {
    /// When the last call found GitHub unreachable.
    last: Instant,
    /// How long after `last` the next job may try.
    wait: Duration,
}

impl Reach {
    /// Any HTTP answer, whatever its status: GitHub is reachable.
    pub(super) fn answered(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = None;
        }
    }

    /// A call got no answer at all after its retries.
    pub(super) fn unreachable(&self, now: Instant) {
        if let Ok(mut s) = self.state.lock() {
            let wait = match *s {
                Some(o) => (o.wait * 2).min(LONGEST_WAIT),
                None => FIRST_WAIT,
            };
            *s = Some(Outage { last: now, wait });
        }
    }

    /// `Some(wait)` while GitHub is thought unreachable: how long from `now`
    /// until a job should try again (zero when it may try now).
    pub(super) fn outage(&self, now: Instant) -> Option<Duration> {
        let s = self.state.lock().ok()?;
        s.map(|o| (o.last + o.wait).saturating_duration_since(now))
    }
}

impl super::GitHub {
    /// `Some(wait)` while GitHub cannot be reached (no call of this App got
    /// any answer since one failed that way): how long until a job should
    /// try again, zero when one may try now. See `reach`.
    pub fn outage(&self) -> Option<Duration> {
        self.shared.reach.outage(Instant::now())
    }
}

/// What a call that got no answer met, for the error and the log.
pub(super) fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        // reqwest's Display includes the URL, which never holds a secret here.
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_while_unreachable_and_an_answer_ends_it() {
        let r = Reach::default();
        let t = Instant::now();
        assert_eq!(r.outage(t), None);
        r.unreachable(t);
        assert_eq!(r.outage(t), Some(Duration::from_secs(1)));
        r.unreachable(t);
        assert_eq!(r.outage(t), Some(Duration::from_secs(2)));
        assert_eq!(
            r.outage(t + Duration::from_secs(5)),
            Some(Duration::ZERO),
            "past the wait: one job may try"
        );
        for _ in 0..10 {
            r.unreachable(t);
        }
        assert_eq!(r.outage(t), Some(LONGEST_WAIT));
        r.answered();
        assert_eq!(r.outage(t), None);
    }
}
