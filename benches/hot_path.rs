//! Criterion benchmarks of the webhook hot path, piece by piece:
//! signature check, JSON parse + job extraction, command parsing, one
//! durable (fsynced) `record_delivery`, and the whole `POST /webhook`
//! handler in-process (no socket).
//!
//! `cargo bench --bench hot_path`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use orcoursetrion::JobWake;
use orcoursetrion::Metrics;
use orcoursetrion::RepoFullName;
use orcoursetrion::Secret;
use orcoursetrion::{EventFilter, IngressState, Mode};
use orcoursetrion::{NewDelivery, Store};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

const SECRET: &str = "webhook-s3cret";
const FIXTURE: &str = include_str!("../tests/fixtures/webhooks/issue_comment_created.json");
const COMMENT: &str = "Thanks! Please set it up:\r\n\r\n\
    /create-xml-repo 6.004r 2018_Spring members=alice-mit,bob-ops description=\"Computation Structures\"\r\n\
    /put-team mitx \"TA Team\" read_only=true members=carol\r\n";

fn filter() -> EventFilter {
    EventFilter {
        requests_repos: vec![RepoFullName::parse("mitx-staff/course-requests").expect("valid repo")],
        ..Default::default()
    }
}

fn signature(c: &mut Criterion) {
    let body = FIXTURE.as_bytes();
    let header = orcoursetrion::sign(SECRET.as_bytes(), body);
    let sig = orcoursetrion::parse_signature(&header).expect("sign() output parses");
    // Two secrets, the matching one last: the rotation worst case.
    let secrets = [Secret::new("old-secret"), Secret::new(SECRET)];
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("verify_13kb_one_secret", |b| {
        b.iter(|| {
            assert!(orcoursetrion::verify_signature(
                black_box(&secrets[1..]),
                black_box(&sig),
                black_box(body)
            ))
        })
    });
    g.bench_function("verify_13kb_rotation_two_secrets", |b| {
        b.iter(|| {
            assert!(orcoursetrion::verify_signature(
                black_box(&secrets),
                black_box(&sig),
                black_box(body)
            ))
        })
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let body = FIXTURE.as_bytes();
    let filter = filter();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("json_value_13kb", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(body)).expect("fixture is JSON"))
    });
    g.bench_function("inspect_body", |b| {
        b.iter(|| {
            let seen = orcoursetrion::inspect_body(&filter, "issue_comment", black_box(body));
            assert_eq!(seen.jobs.len(), 1);
            seen
        })
    });
    g.finish();
}

/// What the ingress actually reads from a delivery, borrowed, the rest
/// skipped: a yardstick for "parse less than a full `Value`" (not used by src/).
#[derive(Deserialize)]
#[allow(dead_code)]
struct Envelope<'a> {
    #[serde(borrow)]
    action: Option<&'a str>,
    installation: Option<Installation>,
    #[serde(borrow)]
    repository: Option<Repository<'a>>,
    comment: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Installation {
    id: i64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Repository<'a> {
    #[serde(borrow)]
    full_name: &'a str,
}

fn parse_typed(c: &mut Criterion) {
    let body = FIXTURE.as_bytes();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("typed_envelope_13kb_yardstick", |b| {
        b.iter(|| {
            let e: Envelope<'_> = serde_json::from_slice(black_box(body)).expect("fixture");
            assert_eq!(e.action, Some("created"));
            e.installation.map(|i| i.id)
        })
    });
    g.finish();
}

fn commands(c: &mut Criterion) {
    c.bench_function("command/parse_comment_two_commands", |b| {
        b.iter(|| {
            let inv = orcoursetrion::parse_comment(black_box(COMMENT));
            assert_eq!(inv.len(), 2);
            inv
        })
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn store(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = rt.block_on(Store::open(&url)).expect("store opens");
    let memory = rt
        .block_on(Store::open("sqlite::memory:"))
        .expect("memory store opens");
    let body = Bytes::from_static(FIXTURE.as_bytes());
    let jobs = orcoursetrion::inspect_body(&filter(), "issue_comment", &body).jobs;
    let seq = AtomicU64::new(0);
    let mut g = c.benchmark_group("store");
    g.sample_size(30);
    // One delivery at a time: every call is its own fsynced transaction, so
    // this is the latency floor of one 202, not the batched throughput.
    // The in-memory store is the same writer and SQL without the fsync: the
    // CPU part of a write.
    for (name, with_job, store) in [
        ("record_delivery_no_job", false, &store),
        ("record_delivery_one_job", true, &store),
        ("record_delivery_no_job_in_memory", false, &memory),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let delivery = NewDelivery {
                    id: format!("bench-{n}"),
                    event: "issue_comment".to_owned(),
                    action: Some("created".to_owned()),
                    installation_id: Some(1),
                    body: body.clone(),
                    parse_error: None,
                };
                let jobs = if with_job { jobs.clone() } else { Vec::new() };
                let store = store.clone();
                async move { store.record_delivery(delivery, jobs).await.expect("stored") }
            })
        });
    }
    g.finish();
    rt.block_on(store.close());
    rt.block_on(memory.close());
}

/// The whole `POST /webhook` handler (headers, body, HMAC, parse, store,
/// metrics, log) through the axum router, one request at a time, with the
/// filter of the load generator (stored, no job).
fn ingress(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("ingress.db").display());
    let body = Bytes::from_static(FIXTURE.as_bytes());
    let signature = orcoursetrion::sign(SECRET.as_bytes(), &body);
    let seq = AtomicU64::new(0);
    let mut g = c.benchmark_group("ingress");
    g.sample_size(30);
    g.throughput(Throughput::Elements(1));
    for (name, db) in [
        ("post_webhook_13kb_durable", url.as_str()),
        ("post_webhook_13kb_in_memory_store", "sqlite::memory:"),
    ] {
        let store = rt.block_on(Store::open(db)).expect("store opens");
        let router = orcoursetrion::router(Mode::Serve(IngressState {
            store: store.clone(),
            secrets: vec![Secret::new(SECRET)],
            filter: EventFilter {
                requests_repos: vec![RepoFullName::parse("nobody/none").expect("valid repo")],
                ..Default::default()
            },
            metrics: Arc::new(Metrics::new()),
            wake: JobWake::new(),
            bodies: orcoursetrion::BodyBudget::default(),
            doctor: orcoursetrion::DoctorReport::default(),
            api_token: None,
        }));
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let req = Request::builder()
                    .method("POST")
                    .uri("/webhook")
                    .header("content-type", "application/json")
                    .header("x-github-event", "issue_comment")
                    .header("x-github-delivery", format!("ingress-{n}"))
                    .header("x-hub-signature-256", &signature)
                    .body(Body::from(body.clone()))
                    .expect("request");
                let router = router.clone();
                async move {
                    let resp = router.oneshot(req).await.expect("infallible");
                    assert_eq!(resp.status(), StatusCode::ACCEPTED);
                }
            })
        });
        rt.block_on(store.close());
    }
    g.finish();
}

criterion_group!(
    benches,
    signature,
    parse,
    parse_typed,
    commands,
    store,
    ingress
);
criterion_main!(benches);
