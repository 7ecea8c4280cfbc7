//! Webhook ingress and the durable queue, driven through the real router
//! in-process, asserting on what the database holds afterwards.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use orcoursetrion::ManualClock;
use orcoursetrion::Metrics;
use orcoursetrion::RepoFullName;
use orcoursetrion::Secret;
use orcoursetrion::{
    DeliveryOutcome, JobEnd, JobState, JobWake, NewDelivery, NewJob, Store, StoreError,
    StoreOptions,
};
use orcoursetrion::{EventFilter, IngressState, Mode, MAX_BODY_BYTES};
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;
use common::db::TestDb;

// Every scenario runs on SQLite and on PostgreSQL.
crate::on_both_backends!(
    multi_thread: [
        large_bodies_are_verified_and_parsed_off_the_runtime_threads,
        concurrent_ingest_stores_every_delivery_exactly_once,
    ];
    current_thread: [
        signed_comment_is_stored_with_one_job_and_wakes_a_worker,
        forged_missing_and_malformed_signatures_are_refused_and_nothing_is_stored,
        a_rotated_out_secret_still_verifies,
        without_a_configured_secret_everything_is_refused,
        malformed_json_with_a_good_signature_is_stored_with_its_parse_error,
        bodies_over_25_mib_are_refused_with_413,
        missing_delivery_or_event_header_is_a_400_after_verification,
        the_same_delivery_twice_makes_one_job,
        a_redelivered_failed_delivery_is_requeued_with_its_journal,
        deliveries_that_are_not_commands_are_stored_without_a_job,
        edited_comments_run_only_commands_they_did_not_hold_before,
        claims_serialise_one_installation_and_parallelise_others,
        an_expired_lease_is_reclaimed_by_another_owner_with_the_journal,
        save_journal_renews_the_lease,
        a_retry_is_not_claimable_before_it_is_due,
        a_reopened_store_still_holds_everything,
        direct_record_delivery_reports_outcomes,
        health_readiness_and_metrics,
    ];
);

const SECRET: &str = "current-webhook-secret";
const OLD_SECRET: &str = "previous-webhook-secret";
const REQUESTS_REPO: &str = "mitx-staff/course-requests";
const LEASE: Duration = Duration::from_secs(60);

struct Harness {
    store: Store,
    router: Router,
    wake: Arc<JobWake>,
    _dir: Option<tempfile::TempDir>,
}

fn state(store: &Store, secrets: &[&str], wake: Arc<JobWake>) -> IngressState {
    IngressState {
        store: store.clone(),
        secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
        filter: EventFilter {
            requests_repos: vec![RepoFullName::parse(REQUESTS_REPO).expect("repo")],
            ..Default::default()
        },
        metrics: Arc::new(Metrics::new()),
        wake,
        bodies: orcoursetrion::BodyBudget::default(),
        doctor: orcoursetrion::DoctorReport::default(),
        api_token: None,
    }
}

fn harness_for(store: Store, secrets: &[&str], dir: Option<tempfile::TempDir>) -> Harness {
    let wake = JobWake::new();
    let router = orcoursetrion::router(Mode::Serve(state(&store, secrets, wake.clone())));
    Harness {
        store,
        router,
        wake,
        _dir: dir,
    }
}

/// A fresh database on `db`: its URL, and the directory that holds it.
async fn fresh(db: TestDb) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    (db.url(dir.path()).await, dir)
}

async fn harness(db: TestDb) -> Harness {
    let (url, dir) = fresh(db).await;
    let store = Store::open(&url).await.expect("open store");
    harness_for(store, &[SECRET, OLD_SECRET], Some(dir))
}

async fn file_harness(db: TestDb) -> (Harness, String) {
    let (url, dir) = fresh(db).await;
    let store = Store::open(&url).await.expect("open store");
    (harness_for(store, &[SECRET], Some(dir)), url)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("fixture is JSON")
}

/// A comment payload in the real shape with another body.
fn comment_with_body(body: &str) -> Vec<u8> {
    let mut v = fixture_json("issue_comment_created.json");
    v["comment"]["body"] = json!(body);
    serde_json::to_vec(&v).expect("json")
}

/// A POST /webhook as GitHub sends it; `signature: None` leaves the header out.
fn webhook_request(
    delivery: Option<&str>,
    event: Option<&str>,
    body: Vec<u8>,
    signature: Option<String>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/webhook")
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/abc1234")
        .header("content-length", body.len());
    if let Some(d) = delivery {
        b = b.header("x-github-delivery", d);
    }
    if let Some(e) = event {
        b = b.header("x-github-event", e);
    }
    if let Some(s) = signature {
        b = b.header("x-hub-signature-256", s);
    }
    b.body(Body::from(body)).expect("request")
}

impl Harness {
    /// The stored row of delivery `id`, which must exist.
    async fn stored(&self, id: &str) -> orcoursetrion::DeliveryRow {
        self.store
            .delivery(id)
            .await
            .expect("read")
            .expect("stored")
    }

    /// Sends the signed `issue_comment` fixture as delivery `id`.
    async fn send_comment(&self, id: &str) -> (StatusCode, Value) {
        let body = fixture("issue_comment_created.json");
        self.send_signed(id, "issue_comment", body).await
    }

    /// Sends a delivery signed with the right secret; the status and JSON answer.
    async fn send_signed(&self, id: &str, event: &str, body: Vec<u8>) -> (StatusCode, Value) {
        send(&self.router, signed(id, event, body)).await
    }
}

fn signed(delivery: &str, event: &str, body: Vec<u8>) -> Request<Body> {
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &body);
    webhook_request(Some(delivery), Some(event), body, Some(sig))
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn total_jobs(store: &Store) -> i64 {
    store.job_counts().await.expect("counts").values().sum()
}

// ---------------------------------------------------------------------------
// Signature, headers, limits.

async fn signed_comment_is_stored_with_one_job_and_wakes_a_worker(db: TestDb) {
    let h = harness(db).await;
    let (status, body) = h.send_comment("d-1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({"delivery": "d-1", "outcome": "stored", "jobs": 1})
    );
    // The permit left by the handler: a worker that starts waiting now is not stuck.
    tokio::time::timeout(Duration::from_secs(1), h.wake.notified())
        .await
        .expect("workers were woken");

    let d = h.stored("d-1").await;
    assert_eq!(d.event, "issue_comment");
    assert_eq!(d.action.as_deref(), Some("created"));
    assert_eq!(d.installation_id, Some(45001234));
    assert_eq!(d.parse_error, None);
    // The job holds what it needs: the body is not kept, its size is.
    assert!(!d.has_body());
    assert_eq!(d.size, fixture("issue_comment_created.json").len() as i64);

    let jobs = h.store.jobs_of_delivery("d-1").await.expect("jobs");
    assert_eq!(jobs.len(), 1);
    let j = &jobs[0];
    assert_eq!((j.kind.as_str(), j.state), ("comment", JobState::Queued));
    assert_eq!(j.installation_id, Some(45001234));
    assert_eq!(j.payload["repo"], json!(REQUESTS_REPO));
    assert_eq!(j.payload["issue"], json!(42));
    assert_eq!(j.payload["comment_id"], json!(358200117));
    assert_eq!(j.payload["author"], json!("alice-mit"));
    assert_eq!(j.payload["previous_body"], Value::Null);
    assert_eq!(j.payload["installation_id"], json!(45001234));
    assert!(j.payload["body"]
        .as_str()
        .is_some_and(|b| b.contains("/create-xml-repo 6.004r 2018_Spring")));
}

async fn forged_missing_and_malformed_signatures_are_refused_and_nothing_is_stored(db: TestDb) {
    let h = harness(db).await;
    let body = fixture("issue_comment_created.json");
    let forged = orcoursetrion::sign(b"not-the-secret", &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let good_for_original = orcoursetrion::sign(SECRET.as_bytes(), &body);
    let cases = vec![
        ("forged", body.clone(), Some(forged)),
        ("missing", body.clone(), None),
        ("malformed", body.clone(), Some("sha256=nothex".to_owned())),
        ("sha1", body.clone(), Some("sha1=0123".to_owned())),
        ("tampered", tampered, Some(good_for_original)),
    ];
    for (name, body, sig) in cases {
        let req = webhook_request(Some(name), Some("issue_comment"), body, sig);
        let (status, _) = send(&h.router, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(h.store.delivery_count().await.expect("count"), 0);
    assert_eq!(total_jobs(&h.store).await, 0);
}

async fn a_rotated_out_secret_still_verifies(db: TestDb) {
    let h = harness(db).await;
    let body = fixture("issue_comment_created.json");
    let sig = orcoursetrion::sign(OLD_SECRET.as_bytes(), &body);
    let req = webhook_request(Some("old-secret"), Some("issue_comment"), body, Some(sig));
    let (status, body) = send(&h.router, req).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["outcome"], json!("stored"));
}

async fn without_a_configured_secret_everything_is_refused(db: TestDb) {
    let (url, _dir) = fresh(db).await;
    let store = Store::open(&url).await.expect("open");
    let h = harness_for(store, &[""], None);
    let body = fixture("issue_comment_created.json");
    let sig = orcoursetrion::sign(b"", &body);
    let (status, _) = send(
        &h.router,
        webhook_request(Some("x"), Some("issue_comment"), body, Some(sig)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.store.delivery_count().await.expect("count"), 0);
}

async fn malformed_json_with_a_good_signature_is_stored_with_its_parse_error(db: TestDb) {
    let h = harness(db).await;
    let (status, body) = h
        .send_signed(
            "bad-json",
            "issue_comment",
            b"{\"action\": \"created\", ".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["jobs"], json!(0));
    let d = h.stored("bad-json").await;
    assert!(d.parse_error.is_some());
    assert_eq!(d.action, None);
    assert!(d.has_body());
    assert_eq!(total_jobs(&h.store).await, 0);
    // Still serving.
    assert_eq!(get(&h.router, "/healthz").await.0, StatusCode::OK);
}

async fn bodies_over_25_mib_are_refused_with_413(db: TestDb) {
    let h = harness(db).await;
    let mut big = vec![b' '; MAX_BODY_BYTES + 1];
    big[0] = b'{';
    big[MAX_BODY_BYTES] = b'}';
    // Announced by Content-Length: refused before reading.
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &big);
    let (status, _) = send(
        &h.router,
        webhook_request(Some("big-1"), Some("push"), big.clone(), Some(sig.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Not announced (chunked): cut off while reading.
    let req = Request::builder()
        .method("POST")
        .uri("/webhook")
        .header("x-github-delivery", "big-2")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", sig)
        .body(Body::from(big))
        .expect("request");
    let (status, _) = send(&h.router, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.store.delivery_count().await.expect("count"), 0);
}

async fn large_bodies_are_verified_and_parsed_off_the_runtime_threads(db: TestDb) {
    let h = harness(db).await;
    // A push of many commits: well over the inline threshold, under the limit.
    let commits: Vec<Value> = (0..5000)
        .map(|i| json!({"id": format!("{i:040x}"), "message": "Update course.xml"}))
        .collect();
    let body = serde_json::to_vec(&json!({"ref": "refs/heads/main", "commits": commits,
        "installation": {"id": 77}}))
    .expect("json");
    assert!(body.len() > 256 * 1024);
    let (status, answer) = h.send_signed("big-push", "push", body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["jobs"], json!(0));
    let d = h.stored("big-push").await;
    assert_eq!((d.installation_id, d.size), (Some(77), body.len() as i64));
    // And a forged one of the same size is still refused.
    let req = webhook_request(
        Some("big-forged"),
        Some("push"),
        body.clone(),
        Some(orcoursetrion::sign(b"wrong", &body)),
    );
    assert_eq!(send(&h.router, req).await.0, StatusCode::UNAUTHORIZED);
}

async fn missing_delivery_or_event_header_is_a_400_after_verification(db: TestDb) {
    let h = harness(db).await;
    let body = fixture("issue_comment_created.json");
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &body);
    let cases = [
        (None, Some("issue_comment")),
        (Some("has spaces in it"), Some("issue_comment")),
        (Some("no-event"), None),
    ];
    for (delivery, event) in cases {
        let req = webhook_request(delivery, event, body.clone(), Some(sig.clone()));
        let (status, _) = send(&h.router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{delivery:?} {event:?}");
    }
    // Unsigned and without headers: the signature is checked first.
    let req = webhook_request(None, None, body, None);
    assert_eq!(send(&h.router, req).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(h.store.delivery_count().await.expect("count"), 0);
}

// ---------------------------------------------------------------------------
// Exactly once.

async fn the_same_delivery_twice_makes_one_job(db: TestDb) {
    let h = harness(db).await;
    let body = fixture("issue_comment_created.json");
    let (_, first) = h.send_signed("dup", "issue_comment", body.clone()).await;
    let (status, second) = h.send_signed("dup", "issue_comment", body).await;
    assert_eq!(first["outcome"], json!("stored"));
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        second,
        json!({"delivery": "dup", "outcome": "duplicate", "jobs": 0})
    );
    assert_eq!(h.store.delivery_count().await.expect("count"), 1);
    assert_eq!(total_jobs(&h.store).await, 1);
}

async fn a_redelivered_failed_delivery_is_requeued_with_its_journal(db: TestDb) {
    let h = harness(db).await;
    let body = fixture("issue_comment_created.json");
    h.send_signed("fails", "issue_comment", body.clone()).await;
    let job = claim(&h.store, "w1").await.expect("job");
    let journal = json!({"done": ["create_repo"]});
    h.store
        .save_journal(job.id, "w1", &journal)
        .await
        .expect("journal");
    h.store
        .finish_job(
            job.id,
            "w1",
            JobEnd::Failed {
                error: "GitHub 502 five times".into(),
            },
        )
        .await
        .expect("fail");
    // A job that failed is not claimable any more...
    assert!(claim(&h.store, "w1").await.is_none());

    // ...until the operator presses "Redeliver" in GitHub.
    let (status, answer) = h.send_signed("fails", "issue_comment", body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        answer,
        json!({"delivery": "fails", "outcome": "requeued", "jobs": 1})
    );
    let row = h.store.job(job.id).await.expect("read").expect("job");
    assert_eq!((row.state, row.attempts), (JobState::Queued, 0));
    let again = claim(&h.store, "w2")
        .await
        .expect("requeued job is claimable");
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempts, 1);
    assert_eq!(again.journal, Some(journal));
    assert_eq!(total_jobs(&h.store).await, 1);

    // A delivery whose job is done (or still running) is only a duplicate.
    let (_, answer) = h.send_comment("fails").await;
    assert_eq!(answer["outcome"], json!("duplicate"));
}

// ---------------------------------------------------------------------------
// Which deliveries make jobs.

async fn deliveries_that_are_not_commands_are_stored_without_a_job(db: TestDb) {
    let h = harness(db).await;
    let mut other_repo = fixture_json("issue_comment_created.json");
    other_repo["repository"]["full_name"] = json!("mitx-staff/unrelated");
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("bot", "issue_comment", fixture("issue_comment_bot.json")),
        (
            "other-repo",
            "issue_comment",
            serde_json::to_vec(&other_repo).expect("json"),
        ),
        (
            "no-command",
            "issue_comment",
            comment_with_body("Thanks, looks good!"),
        ),
        (
            "code-block",
            "issue_comment",
            comment_with_body("Try this:\n\n```\n/create-xml-repo 6.004r 2018_Spring\n```\n"),
        ),
        (
            "ping",
            "ping",
            br#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_vec(),
        ),
        (
            "issues",
            "issues",
            br#"{"action":"opened","installation":{"id":9}}"#.to_vec(),
        ),
    ];
    for (id, event, body) in cases {
        let (status, answer) = h.send_signed(id, event, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{id}");
        assert_eq!(
            answer,
            json!({"delivery": id, "outcome": "stored", "jobs": 0}),
            "{id}"
        );
        assert!(h.store.delivery(id).await.expect("read").is_some(), "{id}");
    }
    let issues = h.stored("issues").await;
    assert_eq!(
        (issues.action.as_deref(), issues.installation_id),
        (Some("opened"), Some(9))
    );
    assert_eq!(total_jobs(&h.store).await, 0);
}

async fn edited_comments_run_only_commands_they_did_not_hold_before(db: TestDb) {
    let h = harness(db).await;
    // Only an old command (and some text) in the edited body: nothing new.
    let mut old_only = fixture_json("issue_comment_edited.json");
    let previous = old_only["changes"]["body"]["from"].clone();
    old_only["comment"]["body"] = json!(format!(
        "{}\r\n(edited: fixed a typo)",
        previous.as_str().expect("from")
    ));
    let (_, answer) = send(
        &h.router,
        signed(
            "edit-old",
            "issue_comment",
            serde_json::to_vec(&old_only).expect("json"),
        ),
    )
    .await;
    assert_eq!(answer["jobs"], json!(0));

    // The fixture adds a /put-team line: one job, with the previous body.
    let (_, answer) = h
        .send_signed(
            "edit-new",
            "issue_comment",
            fixture("issue_comment_edited.json"),
        )
        .await;
    assert_eq!(answer["jobs"], json!(1));
    let jobs = h.store.jobs_of_delivery("edit-new").await.expect("jobs");
    assert_eq!(jobs[0].payload["previous_body"], previous);
}

// ---------------------------------------------------------------------------
// The queue.

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        id: id.to_owned(),
        event: "issue_comment".to_owned(),
        action: Some("created".to_owned()),
        installation_id: None,
        body: bytes::Bytes::from_static(b"{}"),
        parse_error: None,
    }
}

/// Stores a delivery with one job of `installation`.
async fn queue_one(store: &Store, id: &str, installation: i64) {
    store
        .record_delivery(delivery(id), vec![job_for(installation)])
        .await
        .expect("record");
}

/// What `owner` claims now, if anything.
async fn claim(store: &Store, owner: &str) -> Option<orcoursetrion::Job> {
    store.claim_job(owner, LEASE).await.expect("claim")
}

fn job_for(installation: i64) -> NewJob {
    NewJob {
        kind: orcoursetrion::JobKind::Comment,
        installation_id: Some(installation),
        payload: json!({"installation_id": installation}),
    }
}

async fn manual_store(db: TestDb) -> (Store, ManualClock, tempfile::TempDir) {
    let clock = ManualClock::new();
    let (url, dir) = fresh(db).await;
    let store = Store::open_with(
        &url,
        StoreOptions {
            clock: Arc::new(clock.clone()),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open");
    (store, clock, dir)
}

async fn claims_serialise_one_installation_and_parallelise_others(db: TestDb) {
    let (store, _, _dir) = manual_store(db).await;
    for (id, inst) in [("a1", 1), ("a2", 1), ("b1", 2)] {
        store
            .record_delivery(delivery(id), vec![job_for(inst)])
            .await
            .expect("record");
    }
    let first = claim(&store, "w1").await.expect("a1");
    assert_eq!(
        (first.delivery_id.as_str(), first.installation_id),
        ("a1", Some(1))
    );
    let second = claim(&store, "w2").await.expect("b1");
    assert_eq!(second.delivery_id, "b1", "installation 1 is busy; 2 is not");
    assert!(claim(&store, "w3").await.is_none());

    store
        .finish_job(first.id, "w1", JobEnd::Done { result: json!({}) })
        .await
        .expect("done");
    let third = claim(&store, "w3").await.expect("a2");
    assert_eq!(third.delivery_id, "a2");
}

async fn an_expired_lease_is_reclaimed_by_another_owner_with_the_journal(db: TestDb) {
    let (store, clock, _dir) = manual_store(db).await;
    queue_one(&store, "crash", 1).await;
    let job = claim(&store, "dead-worker").await.expect("job");
    let journal = json!({"done": ["create_repo", "deploy_team"]});
    store
        .save_journal(job.id, "dead-worker", &journal)
        .await
        .expect("journal");
    // Still leased: nobody else may take it.
    assert!(claim(&store, "w2").await.is_none());
    let due = store.next_due_in().await.expect("due");
    let due = due.expect("lease expiry");
    assert!(
        due <= LEASE && due > LEASE - Duration::from_secs(5),
        "{due:?}"
    );

    clock.advance(LEASE + Duration::from_secs(1));
    let resumed = claim(&store, "w2").await.expect("reclaimed");
    assert_eq!(resumed.id, job.id);
    assert_eq!(resumed.journal, Some(journal));
    assert_eq!(resumed.attempts, 2, "the crashed attempt counts");

    // The presumed-dead worker wakes up: it must stop, not write.
    let stale = store
        .save_journal(job.id, "dead-worker", &json!({"done": []}))
        .await;
    assert!(
        matches!(stale, Err(StoreError::LeaseLost(id)) if id == job.id),
        "{stale:?}"
    );
    let row = store.job(job.id).await.expect("read").expect("row");
    assert_eq!(row.lease_owner.as_deref(), Some("w2"));
    assert_eq!(row.journal, resumed.journal);
}

async fn save_journal_renews_the_lease(db: TestDb) {
    let (store, clock, _dir) = manual_store(db).await;
    queue_one(&store, "long", 1).await;
    let job = claim(&store, "w1").await.expect("job");
    for step in 0..3 {
        clock.advance(LEASE - Duration::from_secs(10));
        store
            .save_journal(job.id, "w1", &json!({"step": step}))
            .await
            .expect("still ours");
        assert!(claim(&store, "w2").await.is_none());
    }
    clock.advance(LEASE - Duration::from_secs(10));
    store.renew_lease(job.id, "w1").await.expect("renew");
    assert!(claim(&store, "w2").await.is_none());
}

async fn a_retry_is_not_claimable_before_it_is_due(db: TestDb) {
    let (store, clock, _dir) = manual_store(db).await;
    queue_one(&store, "retry", 1).await;
    let job = claim(&store, "w1").await.expect("job");
    store
        .finish_job(
            job.id,
            "w1",
            JobEnd::Retry {
                after: Duration::from_secs(120),
                error: "secondary rate limit".into(),
            },
        )
        .await
        .expect("retry");
    let row = store.job(job.id).await.expect("read").expect("row");
    assert_eq!(row.state, JobState::Queued);
    assert_eq!(row.last_error.as_deref(), Some("secondary rate limit"));
    assert!(claim(&store, "w1").await.is_none());
    let due = store.next_due_in().await.expect("due").expect("queued");
    assert!(
        due > Duration::from_secs(110) && due <= Duration::from_secs(120),
        "{due:?}"
    );
    clock.advance(Duration::from_secs(119));
    assert!(claim(&store, "w1").await.is_none());
    clock.advance(Duration::from_secs(2));
    let again = claim(&store, "w1").await.expect("due");
    assert_eq!((again.id, again.attempts), (job.id, 2));
}

// ---------------------------------------------------------------------------
// Load and durability.

async fn concurrent_ingest_stores_every_delivery_exactly_once(db: TestDb) {
    const DELIVERIES: usize = 500;
    const TASKS: usize = 16;
    let (h, _url) = file_harness(db).await;
    let template = fixture("issue_comment_created.json");
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let router = h.router.clone();
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut stored = 0usize;
            let mut accepted = 0usize;
            // Each task sends its own ids, then the previous task's ids again,
            // so redeliveries race with first deliveries in other batches.
            for owner in [t, (t + TASKS - 1) % TASKS] {
                for i in (owner..DELIVERIES).step_by(TASKS) {
                    let id = format!("load-{i:04}");
                    let (status, answer) =
                        send(&router, signed(&id, "issue_comment", template.clone())).await;
                    assert_eq!(status, StatusCode::ACCEPTED, "{id}: {answer}");
                    accepted += 1;
                    if answer["outcome"] == json!("stored") {
                        stored += 1;
                    }
                }
            }
            (accepted, stored)
        }));
    }
    let (mut accepted, mut stored) = (0, 0);
    for t in tasks {
        let (a, s) = t.await.expect("task");
        accepted += a;
        stored += s;
    }
    assert_eq!(accepted, 2 * DELIVERIES);
    assert_eq!(stored, DELIVERIES, "each id stored exactly once");
    assert_eq!(
        h.store.delivery_count().await.expect("count"),
        DELIVERIES as i64
    );
    let counts = h.store.job_counts().await.expect("counts");
    assert_eq!(counts.get("queued"), Some(&(DELIVERIES as i64)));
    let stats = h.store.write_stats();
    eprintln!(
        "group commit: {} writes in {} batches (avg {:.1}, max {})",
        stats.ops,
        stats.batches,
        stats.ops as f64 / stats.batches.max(1) as f64,
        stats.max_batch
    );
    assert_eq!(stats.ops, 2 * DELIVERIES as u64);
    assert_eq!(stats.failed_batches, 0);
}

async fn a_reopened_store_still_holds_everything(db: TestDb) {
    let (h, url) = file_harness(db).await;
    let (_, answer) = h.send_comment("kept").await;
    assert_eq!(answer["outcome"], json!("stored"));
    let job = claim(&h.store, "w1").await.expect("job");
    h.store
        .save_journal(job.id, "w1", &json!({"done": ["create_repo"]}))
        .await
        .expect("journal");
    h.store.close().await;

    let reopened = Store::open(&url).await.expect("reopen");
    let d = reopened
        .delivery("kept")
        .await
        .expect("read")
        .expect("delivery");
    assert_eq!(d.size, fixture("issue_comment_created.json").len() as i64);
    let row = reopened.job(job.id).await.expect("read").expect("job");
    assert_eq!(row.state, JobState::Running);
    assert_eq!(row.journal, Some(json!({"done": ["create_repo"]})));
    // A redelivery after the restart is still recognised.
    let h2 = harness_for(reopened, &[SECRET], None);
    let (_, answer) = h2.send_comment("kept").await;
    assert_eq!(answer["outcome"], json!("duplicate"));
    drop(h);
}

async fn direct_record_delivery_reports_outcomes(db: TestDb) {
    let (store, _, _dir) = manual_store(db).await;
    let out = store
        .record_delivery(delivery("x"), vec![job_for(1), job_for(1)])
        .await
        .expect("record");
    assert_eq!(out, DeliveryOutcome::Stored { jobs: 2 });
    let out = store
        .record_delivery(delivery("x"), vec![job_for(1)])
        .await
        .expect("again");
    assert_eq!(out, DeliveryOutcome::Duplicate);
}

// ---------------------------------------------------------------------------
// Health and metrics.

async fn health_readiness_and_metrics(db: TestDb) {
    let h = harness(db).await;
    assert_eq!(
        get(&h.router, "/healthz").await,
        (StatusCode::OK, "ok\n".to_owned())
    );
    assert_eq!(get(&h.router, "/readyz").await.0, StatusCode::OK);

    // The same delivery twice: stored, then a duplicate.
    for _ in 0..2 {
        let body = fixture("issue_comment_created.json");
        h.send_signed("m-1", "issue_comment", body).await;
    }
    send(
        &h.router,
        webhook_request(Some("m-2"), Some("issue_comment"), b"{}".to_vec(), None),
    )
    .await;
    let (status, text) = get(&h.router, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "# TYPE orcoursetrion_webhook_deliveries_total counter",
        "orcoursetrion_webhook_deliveries_total{event=\"issue_comment\",outcome=\"stored\"} 1",
        "orcoursetrion_webhook_deliveries_total{event=\"issue_comment\",outcome=\"duplicate\"} 1",
        "orcoursetrion_webhook_deliveries_total{event=\"unknown\",outcome=\"unauthorized\"} 1",
        "orcoursetrion_jobs{state=\"queued\"} 1",
        "orcoursetrion_jobs{state=\"failed\"} 0",
        "orcoursetrion_webhook_duration_seconds_count 3",
        "# TYPE orcoursetrion_github_calls_total counter",
        "orcoursetrion_store_writes_total 2",
        "# TYPE orcoursetrion_store_disk_bytes gauge",
        "orcoursetrion_redeliveries_total{outcome=\"found_missing\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let disk: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("orcoursetrion_store_disk_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("disk bytes");
    assert!(disk > 0, "{text}");

    h.store.close().await;
    assert_eq!(
        get(&h.router, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&h.router, "/healthz").await.0, StatusCode::OK);
    // A closed store answers 503 so GitHub's delivery shows as failed.
    let (status, _) = h.send_comment("after-close").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
