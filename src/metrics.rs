//! Process metrics in Prometheus' text format, without a metrics crate: a few
//! counters and fixed-bucket histograms are all `/metrics` needs, and atomics
//! keep the ingest hot path free of locks (label maps take a short mutex).
//!
//! Label values come only from bounded sets (verified event names, outcome
//! words, job states, HTTP status codes), never from request data an
//! unauthenticated caller controls, so an attacker cannot blow up cardinality.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::github::{CallObserver, CallRecord};

/// Seconds; the ingest path should live in the first few buckets.
const INGEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Seconds; a job is a handful of GitHub calls, or minutes behind a rate limit.
const JOB_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Seconds per GitHub HTTP exchange.
const GITHUB_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// One series owned elsewhere, shown as it is.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: SeriesKind,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    Counter,
    Gauge,
}

impl SeriesKind {
    fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Counter => "counter",
            SeriesKind::Gauge => "gauge",
        }
    }
}

/// A histogram with fixed upper bounds (Prometheus `le`), lock-free.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Non-cumulative count per bucket; the last slot is `+Inf`.
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            match self.bounds.get(i) {
                Some(b) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// A counter family: a count per label value (or pair of values), behind
/// one short lock. Every labelled counter of [`Metrics`] is one of these, so
/// counting, reading and rendering are written once.
#[derive(Debug)]
struct Family<K>(Mutex<BTreeMap<K, u64>>);

impl<K> Default for Family<K> {
    fn default() -> Self {
        Family(Mutex::default())
    }
}

impl<K: Ord> Family<K> {
    /// A family whose `keys` are shown from the start, at 0.
    fn zeroed(keys: impl IntoIterator<Item = K>) -> Self {
        Family(Mutex::new(keys.into_iter().map(|k| (k, 0)).collect()))
    }

    fn add(&self, key: K, n: u64) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key).or_default() += n;
        }
    }

    /// The sum over the keys that `pick` accepts.
    fn sum(&self, pick: impl Fn(&K) -> bool) -> u64 {
        self.0
            .lock()
            .map(|m| m.iter().filter(|(k, _)| pick(k)).map(|(_, n)| *n).sum())
            .unwrap_or(0)
    }

    /// `# HELP`, `# TYPE` and one line per key; `labels` writes a key's
    /// labels (escaped where the value is not a fixed word).
    fn render(&self, out: &mut String, name: &str, help: &str, labels: impl Fn(&K) -> String) {
        let Ok(m) = self.0.lock() else { return };
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
        for (key, n) in m.iter() {
            let _ = writeln!(out, "{name}{{{}}} {n}", labels(key));
        }
    }
}

/// Everything `/metrics` shows besides the job counts, which come from the store.
#[derive(Debug)]
pub struct Metrics {
    deliveries: Family<(String, &'static str)>,
    jobs_finished: Family<String>,
    github_calls: Family<(&'static str, String)>,
    refused_jobs: Family<&'static str>,
    commands: Family<&'static str>,
    redeliveries: Family<&'static str>,
    instance: Mutex<String>,
    ingest_latency: Histogram,
    job_duration: Histogram,
    github_latency: Histogram,
}

/// The redelivery sweep's outcomes.
const REDELIVERY_OUTCOMES: [&str; 5] = [
    "found_missing",
    "asked",
    "refused",
    "sweeps",
    "failed_sweeps",
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            deliveries: Family::default(),
            jobs_finished: Family::default(),
            github_calls: Family::default(),
            refused_jobs: Family::default(),
            commands: Family::default(),
            // Every outcome is shown, 0 until counted, so a dashboard can
            // tell "none found" from "never swept".
            redeliveries: Family::zeroed(REDELIVERY_OUTCOMES),
            instance: Mutex::default(),
            ingest_latency: Histogram::new(INGEST_BUCKETS),
            job_duration: Histogram::new(JOB_BUCKETS),
            github_latency: Histogram::new(GITHUB_BUCKETS),
        }
    }

    /// One webhook request: `event` is the verified event name (or `unknown`
    /// before verification), `outcome` a fixed word (`stored`, `duplicate`,
    /// `requeued`, `unauthorized`, `bad_request`, `too_large`, `unavailable`,
    /// `error`).
    pub fn observe_delivery(&self, event: &str, outcome: &'static str, elapsed: Duration) {
        self.deliveries.add((event.to_owned(), outcome), 1);
        self.ingest_latency.observe(elapsed);
    }

    /// A job left a worker's hands: `state` is `done`, `failed` or `retry`.
    pub fn observe_job(&self, state: &str, elapsed: Duration) {
        self.jobs_finished.add(state.to_owned(), 1);
        self.job_duration.observe(elapsed);
    }

    /// One command answered: `done`, `failed`, or a user mistake (`invalid`,
    /// `refused`), kept apart so mistakes do not look like failures.
    pub fn observe_command(&self, state: &'static str) {
        self.commands.add(state, 1);
    }

    /// The name of this instance, shown as `orcoursetrion_instance_info`.
    pub fn set_instance(&self, name: &str) {
        if let Ok(mut m) = self.instance.lock() {
            *m = name.to_owned();
        }
    }

    /// The redelivery sweep: `found_missing` (deliveries GitHub could not
    /// hand to any instance), `asked` (redeliveries requested), `refused`
    /// (GitHub's 422 anti-spam answer), `sweeps`, `failed_sweeps`.
    pub fn observe_redelivery(&self, outcome: &'static str, n: u64) {
        self.redeliveries.add(outcome, n);
    }

    /// The redelivery counter for `outcome`.
    pub fn redeliveries(&self, outcome: &str) -> u64 {
        self.redeliveries.sum(|k| *k == outcome)
    }

    /// A delivery asked for work that could not run (e.g. no installation).
    pub fn observe_refused_job(&self, reason: &'static str) {
        self.refused_jobs.add(reason, 1);
    }

    /// Deliveries asking for work that could not run, for `reason`.
    pub fn refused_jobs(&self, reason: &str) -> u64 {
        self.refused_jobs.sum(|k| *k == reason)
    }

    /// Deliveries counted so far for `(event, outcome)`.
    pub fn deliveries(&self, event: &str, outcome: &str) -> u64 {
        self.deliveries.sum(|(e, o)| e == event && *o == outcome)
    }

    /// The exposition text. `job_counts` is the store's jobs by state.
    pub fn render(&self, job_counts: &BTreeMap<String, i64>) -> String {
        self.render_with(job_counts, &[])
    }

    /// [`Metrics::render`] plus series that other parts own (the store's
    /// group-commit counters), so this module depends on none of them.
    pub fn render_with(&self, job_counts: &BTreeMap<String, i64>, extra: &[Series]) -> String {
        let mut out = String::with_capacity(4096);
        self.deliveries.render(
            &mut out,
            "orcoursetrion_webhook_deliveries_total",
            "Webhook requests by event and outcome.",
            |(event, outcome)| format!("event=\"{}\",outcome=\"{outcome}\"", escape(event)),
        );
        out.push_str(
            "# HELP orcoursetrion_jobs Jobs in the queue by state.\n\
             # TYPE orcoursetrion_jobs gauge\n",
        );
        for (state, n) in job_counts {
            let _ = writeln!(out, "orcoursetrion_jobs{{state=\"{}\"}} {n}", escape(state));
        }
        self.jobs_finished.render(
            &mut out,
            "orcoursetrion_jobs_finished_total",
            "Job attempts ended by this process, by how they ended.",
            |state| format!("state=\"{}\"", escape(state)),
        );
        self.github_calls.render(
            &mut out,
            "orcoursetrion_github_calls_total",
            "GitHub HTTP exchanges by status (class none: no answer).",
            |(class, code)| format!("class=\"{class}\",code=\"{code}\""),
        );
        self.ingest_latency.render(
            &mut out,
            "orcoursetrion_webhook_duration_seconds",
            "Time to verify, store and answer a webhook request.",
        );
        self.job_duration.render(
            &mut out,
            "orcoursetrion_job_duration_seconds",
            "Time a worker held a job, per attempt.",
        );
        self.github_latency.render(
            &mut out,
            "orcoursetrion_github_call_duration_seconds",
            "Time per GitHub HTTP exchange.",
        );
        for series in extra {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n",
                name = series.name,
                help = series.help,
                kind = series.kind.as_str(),
                value = series.value
            );
        }
        self.commands.render(
            &mut out,
            "orcoursetrion_commands_total",
            "Commands answered, by outcome (invalid and refused are user mistakes).",
            |state| format!("state=\"{state}\""),
        );
        if let Ok(name) = self.instance.lock() {
            if !name.is_empty() {
                out.push_str(
                    "# HELP orcoursetrion_instance_info The instance serving this endpoint.\n\
                     # TYPE orcoursetrion_instance_info gauge\n",
                );
                let _ = writeln!(
                    out,
                    "orcoursetrion_instance_info{{instance=\"{}\"}} 1",
                    escape(&name)
                );
            }
        }
        self.redeliveries.render(
            &mut out,
            "orcoursetrion_redeliveries_total",
            "The redelivery sweep: deliveries found missing, redeliveries asked and refused, sweeps.",
            |outcome| format!("outcome=\"{outcome}\""),
        );
        self.refused_jobs.render(
            &mut out,
            "orcoursetrion_webhook_refused_jobs_total",
            "Deliveries that asked for work that could not run, by reason.",
            |reason| format!("reason=\"{reason}\""),
        );
        out
    }
}

impl CallObserver for Metrics {
    fn on_call(&self, call: &CallRecord<'_>) {
        let (class, code) = match call.status {
            Some(s) => (
                match s {
                    100..=199 => "1xx",
                    200..=299 => "2xx",
                    300..=399 => "3xx",
                    400..=499 => "4xx",
                    500..=599 => "5xx",
                    _ => "other",
                },
                s.to_string(),
            ),
            None => ("none", "none".to_owned()),
        };
        self.github_calls.add((class, code), 1);
        self.github_latency.observe(call.elapsed);
    }
}

/// Prometheus label-value escaping.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(1));
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.01\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count 3\n"), "{out}");
        assert!(out.contains("x_sum 1.0055\n"), "{out}");
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn render_shows_every_family() {
        let m = Metrics::new();
        m.observe_delivery("issue_comment", "stored", Duration::from_millis(2));
        m.observe_job("done", Duration::from_secs(3));
        m.on_call(&CallRecord {
            method: "POST",
            path: "/orgs/x/repos",
            status: Some(201),
            elapsed: Duration::from_millis(80),
            installation: Some(1),
        });
        m.on_call(&CallRecord {
            method: "GET",
            path: "/x",
            status: None,
            elapsed: Duration::from_secs(10),
            installation: None,
        });
        let counts = BTreeMap::from([("queued".to_owned(), 4), ("done".to_owned(), 1)]);
        let extra = [Series {
            name: "orcoursetrion_store_batches_total",
            help: "Group-commit transactions.",
            kind: SeriesKind::Counter,
            value: 0,
        }];
        m.observe_refused_job("no_installation");
        let text = m.render_with(&counts, &extra);
        for needle in [
            "orcoursetrion_webhook_deliveries_total{event=\"issue_comment\",outcome=\"stored\"} 1",
            "orcoursetrion_jobs{state=\"queued\"} 4",
            "orcoursetrion_jobs_finished_total{state=\"done\"} 1",
            "orcoursetrion_github_calls_total{class=\"2xx\",code=\"201\"} 1",
            "orcoursetrion_github_calls_total{class=\"none\",code=\"none\"} 1",
            "orcoursetrion_webhook_duration_seconds_count 1",
            "orcoursetrion_github_call_duration_seconds_count 2",
            "# TYPE orcoursetrion_store_batches_total counter",
            "orcoursetrion_webhook_refused_jobs_total{reason=\"no_installation\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert_eq!(m.deliveries("issue_comment", "stored"), 1);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
