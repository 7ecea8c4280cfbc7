//! What loadgen measures besides the load itself: the server's counters in
//! `/metrics`, the host's HMAC and JSON costs, the disk's fsync floor, and
//! the summaries of latency samples.

use std::time::{Duration, Instant};

use orcoursetrion::{parse_signature, sign, verify_signature, Secret};
use serde_json::Value;

use super::server::Server;
use super::SECRET;

pub(crate) fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[derive(Default, Clone, Copy)]
pub(crate) struct WriteCounters {
    pub(crate) batches: f64,
    pub(crate) writes: f64,
    pub(crate) max_batch: f64,
    pub(crate) commit_micros: f64,
    pub(crate) slow_commits: f64,
    pub(crate) slow_in_checkpoint: f64,
    pub(crate) checkpoints: f64,
    pub(crate) checkpoint_micros: f64,
}

pub(crate) async fn write_counters(http: &reqwest::Client, server: &Server) -> WriteCounters {
    let text = http
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    WriteCounters {
        batches: metric(&text, "orcoursetrion_store_batches_total"),
        writes: metric(&text, "orcoursetrion_store_writes_total"),
        max_batch: metric(&text, "orcoursetrion_store_max_batch"),
        commit_micros: metric(&text, "orcoursetrion_store_commit_microseconds_total"),
        slow_commits: metric(&text, "orcoursetrion_store_slow_commits_total"),
        slow_in_checkpoint: metric(
            &text,
            "orcoursetrion_store_slow_commits_in_checkpoint_total",
        ),
        checkpoints: metric(&text, "orcoursetrion_store_checkpoints_total"),
        checkpoint_micros: metric(&text, "orcoursetrion_store_checkpoint_microseconds_total"),
    }
}

pub(crate) fn stats(label: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label:<28} min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms  (n={})",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// This host's speed right now, in-process: the two CPU-heavy steps of a
/// delivery on the load body (the host is shared; compare runs with these).
pub(crate) fn calibrate(body: &[u8]) -> (Duration, Duration) {
    let secrets = [Secret::new(SECRET)];
    let sig = parse_signature(&sign(SECRET.as_bytes(), body)).expect("own signature parses");
    let n = 300;
    let t = Instant::now();
    for _ in 0..n {
        assert!(verify_signature(&secrets, &sig, std::hint::black_box(body)));
    }
    let hmac = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        let v: Value = serde_json::from_slice(std::hint::black_box(body)).expect("JSON");
        std::hint::black_box(v);
    }
    (hmac, t.elapsed() / n)
}

/// What one durable commit costs on this disk at the least: a 4 KiB append
/// and `fdatasync`, repeated for 3 s in the database's directory (sorted).
/// No durable acknowledgement can be faster than this floor.
pub(crate) fn disk_probe(dir: &std::path::Path) -> Vec<Duration> {
    use std::io::Write as _;
    let path = dir.join("disk-probe");
    let mut f = std::fs::File::create(&path).expect("disk probe file");
    let page = [0u8; 4096];
    let mut out = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let t = Instant::now();
        f.write_all(&page).expect("disk probe write");
        f.sync_data().expect("disk probe fdatasync");
        out.push(t.elapsed());
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    out.sort();
    out
}

/// The server's tracing spans (`ORC_LOG_SPANS`), by name: how many closed,
/// and their busy time (polled: on a CPU) and idle time (waiting: for a
/// body, a CPU, the writer or the disk), mean and p99.
pub(crate) fn span_profile(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut by_name: std::collections::BTreeMap<String, (Vec<Duration>, Vec<Duration>)> =
        Default::default();
    for line in text.lines().filter(|l| l.contains(r#""message":"close""#)) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(name), Some(busy), Some(idle)) = (
            v.pointer("/span/name").and_then(Value::as_str),
            v.get("time.busy")
                .and_then(Value::as_str)
                .and_then(span_time),
            v.get("time.idle")
                .and_then(Value::as_str)
                .and_then(span_time),
        ) else {
            continue;
        };
        let e = by_name.entry(name.to_owned()).or_default();
        e.0.push(busy);
        e.1.push(idle);
    }
    println!("spans (closed)               busy mean / p99        idle mean / p99");
    for (name, (mut busy, mut idle)) in by_name {
        busy.sort();
        idle.sort();
        let mean = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() * 1e6 / v.len() as f64;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  {name:<14} {:>9}  {:>8.1} / {:>8.1} µs  {:>8.1} / {:>8.1} µs",
            busy.len(),
            mean(&busy),
            us(percentile(&busy, 0.99)),
            mean(&idle),
            us(percentile(&idle, 0.99)),
        );
    }
}

/// `12.3µs`, `1.30ms`, `2.01s`, `950ns`: how tracing-subscriber prints a span's time.
fn span_time(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let secs = match unit {
        "ns" => n / 1e9,
        "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}
