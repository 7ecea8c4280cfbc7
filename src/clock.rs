//! Time as a dependency, so retries, rate-limit waits and token expiry can be
//! tested on a virtual clock without real sleeps.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, d: Duration) -> Sleep;
}

/// Wall-clock time and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that starts at the real time, never blocks, and advances by exactly
/// what is slept. It records each sleep so tests can assert on waits
/// (e.g. that a `retry-after: 7` was honoured as 7 s).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug, Default)]
struct ManualState {
    offset: Duration,
    slept: Vec<Duration>,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Move time forward without recording a sleep (e.g. "55 minutes later").
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.inner.lock() {
            s.offset += d;
        }
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner
            .lock()
            .map(|s| s.slept.clone())
            .unwrap_or_default()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = self.inner.lock().map(|s| s.offset).unwrap_or_default();
        Utc::now() + chrono::Duration::from_std(offset).unwrap_or_default()
    }
    fn sleep(&self, d: Duration) -> Sleep {
        if let Ok(mut s) = self.inner.lock() {
            s.offset += d;
            s.slept.push(d);
        }
        Box::pin(std::future::ready(()))
    }
}

pub type SharedClock = Arc<dyn Clock>;
