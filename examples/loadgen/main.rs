//! Ingress load generator: the release server as a child process, signed
//! `issue_comment` deliveries over keep-alive loopback connections.
//!
//! ```text
//! cargo build --release                      # the server binary it spawns
//! cargo run --release --example loadgen -- --deliveries 20000 --concurrency 16 [--kill9]
//! ```
//!
//! `ORC_REQUESTS_REPOS=nobody/none`, so every delivery is verified, parsed and
//! stored durably but implies no job and no GitHub call: this measures ingress.
//! With `--with-job` the delivery's repo is the requests repo, so each one
//! also queues a job (whose GitHub, 127.0.0.1:9, cannot be reached).
//! Everything runs on 127.0.0.1 and stops by itself.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use orcoursetrion::sign;
use orcoursetrion::Store;
use serde_json::Value;

mod measure;
mod server;

use measure::*;
use server::*;

const SECRET: &str = "loadgen-webhook-secret";
const FIXTURE: &str = include_str!("../../tests/fixtures/webhooks/issue_comment_created.json");
const COMMENT_BODY: &str = "/rerun 6.004r 2018_Spring";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(about = "Webhook ingress load generator against the release server binary")]
struct Args {
    /// Sustained mode: send for this many seconds (instead of --deliveries),
    /// and print deliveries/s, RSS and bytes written for every second.
    #[arg(long)]
    duration: Option<u64>,
    /// Keep every delivery's body in the database (`ORC_KEEP_BODIES=true`),
    /// as every build before bodies left the commit path did.
    #[arg(long)]
    keep_bodies: bool,
    /// Where the temporary directory (database, server log) is made; a tmpfs
    /// here (`/dev/shm`) takes the disk's fsync out of the measurement.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Signed deliveries to send.
    #[arg(long, default_value_t = 20_000)]
    deliveries: usize,
    /// Keep-alive connections sending in parallel (one request in flight each).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// SIGKILL the server right after the last 202 instead of stopping it
    /// gracefully, then count what is on disk.
    #[arg(long)]
    kill9: bool,
    /// Start-to-ready measurements per case (fresh DB, existing DB).
    #[arg(long, default_value_t = 5)]
    ready_runs: usize,
    /// The server binary (default: `orcoursetrion` beside this example's
    /// `examples/` directory, i.e. target/release/orcoursetrion).
    #[arg(long)]
    server: Option<PathBuf>,
    /// `RUST_LOG` for the server (its logs go to a file in the temp dir).
    #[arg(long, default_value = "info")]
    rust_log: String,
    /// Send a ~300-byte issue_comment instead of the 13 KB fixture (to see
    /// what the body size costs: HMAC, parse and bytes written).
    #[arg(long)]
    small_payload: bool,
    /// Make the fixture's repo the requests repo: each delivery queues a job.
    #[arg(long)]
    with_job: bool,
    /// Delivery ids that sort in no useful order (`loadgen-9` after
    /// `loadgen-10`), as `bench/wrk-delivery.lua` sends by default, instead
    /// of ids that sort in the order they are sent, like GitHub's
    /// version-1 UUIDs. Each id still lands next to the one before it in an
    /// index (`loadgen-12346` follows `loadgen-12345`): for ids that land
    /// anywhere, use --random-ids.
    #[arg(long)]
    unordered_ids: bool,
    /// Random delivery ids (shaped like version-4 UUIDs): every new id lands
    /// on a page of its own in each index that starts with it, the worst
    /// case for the bytes a commit writes.
    #[arg(long, conflicts_with = "unordered_ids")]
    random_ids: bool,
    /// Profile by the server's tracing spans (`ORC_LOG_SPANS=true`): each
    /// span's busy and idle time, summed by span name from the server log.
    /// One more log line per span, so the rate itself drops.
    #[arg(long)]
    spans: bool,
    /// `ORC_DURABILITY` for the server: `power-loss` (an fdatasync per
    /// commit, the default) or `crash` (durable against `kill -9`, not a
    /// power cut).
    #[arg(long, default_value = "power-loss")]
    durability: String,
    /// Keep the temp dir (database and server log) and print its path.
    #[arg(long)]
    keep: bool,
}

struct Outcome {
    latencies: Vec<Duration>,
    accepted: usize,
    other: usize,
    errors: usize,
}

/// 202s counted per second of the run (sustained mode).
type PerSecond = Arc<Vec<std::sync::atomic::AtomicU64>>;

async fn load(
    server: &Server,
    body: Bytes,
    args: &Args,
    per_second: PerSecond,
) -> (Outcome, Duration) {
    let signature = sign(SECRET.as_bytes(), &body);
    let next = Arc::new(AtomicUsize::new(0));
    let url = server.url("/webhook");
    let total = args.deliveries;
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs(d));
    let tasks: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            // One client per task, one idle connection each: `concurrency`
            // keep-alive connections, one request in flight on each.
            let http = reqwest::Client::builder()
                .http1_only()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(15))
                .build()
                .expect("http client");
            let ids = (args.unordered_ids, args.random_ids);
            let (next, url, body, signature, per_second) = (
                next.clone(),
                url.clone(),
                body.clone(),
                signature.clone(),
                per_second.clone(),
            );
            tokio::spawn(async move {
                let mut out = Outcome {
                    latencies: Vec::with_capacity(total / 8 + 1),
                    accepted: 0,
                    other: 0,
                    errors: 0,
                };
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    match deadline {
                        Some(d) if Instant::now() >= d => return out,
                        None if n >= total => return out,
                        _ => {}
                    }
                    let t = Instant::now();
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-github-event", "issue_comment")
                        .header(
                            "x-github-delivery",
                            match ids {
                                (_, true) => random_id(),
                                (true, _) => format!("loadgen-{n}"),
                                _ => format!("loadgen-{n:08}"),
                            },
                        )
                        .header("x-hub-signature-256", &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            // Read the (small) answer so the connection is reused.
                            let _ = r.bytes().await;
                            out.latencies.push(t.elapsed());
                            if status == 202 {
                                out.accepted += 1;
                                let sec = started.elapsed().as_secs() as usize;
                                if let Some(b) = per_second.get(sec) {
                                    b.fetch_add(1, Ordering::Relaxed);
                                }
                            } else {
                                out.other += 1;
                            }
                        }
                        Err(_) => out.errors += 1,
                    }
                }
            })
        })
        .collect();
    let mut all = Outcome {
        latencies: Vec::with_capacity(total),
        accepted: 0,
        other: 0,
        errors: 0,
    };
    for t in tasks {
        let o = t.await.expect("load task");
        all.latencies.extend(o.latencies);
        all.accepted += o.accepted;
        all.other += o.other;
        all.errors += o.errors;
    }
    (all, started.elapsed())
}

fn delivery_body(small: bool) -> Bytes {
    let mut v: Value = if small {
        serde_json::json!({
            "action": "created",
            "issue": {"number": 1},
            "comment": {"id": 1, "user": {"login": "alice", "type": "User"}},
            "repository": {"full_name": "mitx-staff/course-requests"},
            "installation": {"id": 1},
        })
    } else {
        serde_json::from_str(FIXTURE).expect("fixture is JSON")
    };
    v["comment"]["body"] = Value::from(COMMENT_BODY);
    Bytes::from(serde_json::to_vec(&v).expect("serialize payload"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    kill_server_on_panic();
    let bin = server_binary(&args);
    assert!(
        bin.is_file(),
        "{} not found: run `cargo build --release` first (or pass --server PATH)",
        bin.display()
    );
    let tmp = match &args.dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let dir = tmp.path().to_path_buf();
    println!("server binary: {}", bin.display());
    let what = match args.duration {
        Some(secs) => format!("for {secs} s"),
        None => format!("deliveries {}", args.deliveries),
    };
    println!(
        "{what}  concurrency {}  mode {}",
        args.concurrency,
        if args.kill9 {
            "SIGKILL after the last 202"
        } else {
            "graceful stop"
        }
    );

    // ---- start to ready: fresh DB, then the same DB after a clean stop.
    let mut fresh = Vec::new();
    let mut existing = Vec::new();
    let runs = args.ready_runs.max(1);
    for i in 0..runs {
        let db = dir.join(format!("ready-{i}.db"));
        let (s, t) = start_ready(&bin, &dir, &db, &args).await;
        fresh.push(t);
        s.stop();
        let (s, t) = start_ready(&bin, &dir, &db, &args).await;
        existing.push(t);
        s.stop();
    }
    stats("start->ready fresh DB", &mut fresh);
    stats("start->ready existing DB", &mut existing);

    // ---- the load run: fresh DB, restarted once so it is an existing DB.
    let db = dir.join("load.db");
    let (s, _) = start_ready(&bin, &dir, &db, &args).await;
    s.stop();
    let (server, ready) = start_ready(&bin, &dir, &db, &args).await;
    let pid = server.pid();
    let http = reqwest::Client::new();
    // Let start-up allocations settle before the idle reading.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_idle = proc_status_kib(pid, "VmRSS");
    let cpu_before = proc_cpu(pid);
    let before = write_counters(&http, &server).await;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let disk = disk_probe(&dir);
    println!(
        "disk calibration             fdatasync of a 4 KiB append, {} times in 3 s: \
         p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        disk.len(),
        ms(percentile(&disk, 0.50)),
        ms(percentile(&disk, 0.99)),
        ms(percentile(&disk, 0.999)),
        ms(percentile(&disk, 1.0)),
    );
    let body = delivery_body(args.small_payload);
    let (hmac, json) = calibrate(&body);
    println!(
        "host calibration             HMAC-SHA256 of the body {:.0} µs, serde_json::Value parse {:.0} µs",
        hmac.as_secs_f64() * 1e6,
        json.as_secs_f64() * 1e6
    );
    println!(
        "payload {} bytes, comment body {COMMENT_BODY:?}; load server ready in {:.1} ms",
        body.len(),
        ready.as_secs_f64() * 1e3
    );
    let client_cpu_before = proc_cpu(std::process::id());
    let written_before = proc_write_bytes(pid);
    let seconds = args.duration.unwrap_or(0) as usize + 2;
    let per_second: PerSecond = Arc::new((0..seconds).map(|_| Default::default()).collect());
    // RSS and bytes written, sampled every second while the load runs.
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = (proc_status_kib(pid, "VmRSS"), proc_write_bytes(pid));
                if let Ok(mut v) = samples.lock() {
                    v.push(s);
                }
            }
        })
    };
    let (mut out, wall) = load(&server, body, &args, per_second.clone()).await;
    sampler.abort();
    // Group commit fsyncs before each 202; checkpoints trail a little.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let written = proc_write_bytes(pid).saturating_sub(written_before);
    let client_cpu = proc_cpu(std::process::id()).saturating_sub(client_cpu_before);

    let hwm = proc_status_kib(pid, "VmHWM");
    let (after, cpu_after) = if args.kill9 {
        server.kill9();
        (None, None)
    } else {
        let c = write_counters(&http, &server).await;
        let cpu = proc_cpu(pid);
        let rss_after = proc_status_kib(pid, "VmRSS");
        println!(
            "RSS right after the load     {:>7.1} MB",
            rss_after as f64 / 1024.0
        );
        server.stop();
        (Some(c), Some(cpu))
    };

    out.latencies.sort();
    let done = out.latencies.len();
    println!();
    println!(
        "sent {}: 202 {}  other status {}  transport errors {}",
        out.accepted + out.other + out.errors,
        out.accepted,
        out.other,
        out.errors
    );
    println!(
        "throughput                   {:>9.0} deliveries/s  ({:.2} s wall)",
        out.accepted as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "written to disk              {:>9.0} bytes/delivery  ({:.1} MB in all, /proc/PID/io write_bytes)",
        written as f64 / out.accepted.max(1) as f64,
        written as f64 / 1e6
    );
    if done > 0 {
        println!(
            "latency                      p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
            ms(percentile(&out.latencies, 0.50)),
            ms(percentile(&out.latencies, 0.90)),
            ms(percentile(&out.latencies, 0.99)),
            ms(percentile(&out.latencies, 0.999)),
            ms(out.latencies[done - 1]),
        );
    }
    if args.duration.is_some() {
        let counts: Vec<u64> = per_second
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let peak = counts.iter().copied().max().unwrap_or(1).max(1);
        let samples = samples.lock().map(|v| v.clone()).unwrap_or_default();
        println!("second  deliveries/s     RSS   MB written");
        let mut last_written = written_before;
        for (i, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            let (rss, written) = samples.get(i).copied().unwrap_or((0, last_written));
            let mb = written.saturating_sub(last_written) as f64 / 1e6;
            last_written = written.max(last_written);
            let bar = "#".repeat((*n * 40 / peak) as usize);
            println!(
                "{:>5}s  {:>12}  {:>5.1} MB  {:>8.1}  {bar}",
                i + 1,
                n,
                rss as f64 / 1024.0,
                mb
            );
        }
    }
    println!(
        "RSS idle (VmRSS)             {:>7.1} MB",
        rss_idle as f64 / 1024.0
    );
    println!(
        "RSS peak (VmHWM)             {:>7.1} MB",
        hwm as f64 / 1024.0
    );
    if let (Some(a), Some(cpu)) = (after, cpu_after) {
        let batches = a.batches - before.batches;
        let writes = a.writes - before.writes;
        let server_cpu = cpu.saturating_sub(cpu_before);
        println!(
            "group commit                 {batches:.0} transactions for {writes:.0} writes: \
             {:.1} writes/transaction, max {:.0}; {:.0} commits/s",
            writes / batches.max(1.0),
            a.max_batch,
            batches / wall.as_secs_f64()
        );
        let slow = a.slow_commits - before.slow_commits;
        let in_checkpoint = a.slow_in_checkpoint - before.slow_in_checkpoint;
        let checkpoints = a.checkpoints - before.checkpoints;
        println!(
            "commit time                  {:.2} ms/transaction on average; {slow:.0} stalls (> 10 ms), \
             {in_checkpoint:.0} of them during a WAL checkpoint",
            (a.commit_micros - before.commit_micros) / 1e3 / batches.max(1.0),
        );
        println!(
            "WAL checkpoints              {checkpoints:.0}, {:.1} ms each on average",
            (a.checkpoint_micros - before.checkpoint_micros) / 1e3 / checkpoints.max(1.0),
        );
        println!(
            "server CPU                   {:.2} s ({:.0} µs/delivery, {:.0}% of one core)",
            server_cpu.as_secs_f64(),
            server_cpu.as_secs_f64() * 1e6 / out.accepted.max(1) as f64,
            server_cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
        );
    }
    println!(
        "load generator CPU           {:.2} s ({:.0}% of one core, same machine)",
        client_cpu.as_secs_f64(),
        client_cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
    );

    // ---- durability: what is on disk equals what was acknowledged.
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the load DB");
    let stored = store.delivery_count().await.expect("delivery_count");
    store.close().await;
    let ok = stored as usize == out.accepted;
    println!(
        "durability                   {stored} deliveries on disk, {} acknowledged: {}",
        out.accepted,
        if ok { "OK" } else { "MISMATCH" }
    );
    if args.spans {
        measure::span_profile(&tmp.path().join("server.log"));
    }
    if args.keep {
        println!("kept {}", tmp.keep().display());
    }
    if !ok {
        std::process::exit(1);
    }
}

/// A random id shaped like a version-4 UUID.
fn random_id() -> String {
    let r: u128 = rand::random();
    let hex = format!("{r:032x}");
    format!(
        "{}-{}-4{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..]
    )
}
