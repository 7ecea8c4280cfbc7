use super::*;
use crate::clock::ManualClock;
use serde_json::json;
use sqlx::Connection;

fn delivery(id: &str) -> NewDelivery {
    NewDelivery {
        id: id.to_owned(),
        event: "issue_comment".to_owned(),
        action: Some("created".to_owned()),
        installation_id: Some(7),
        body: bytes::Bytes::from_static(b"{\"action\":\"created\"}"),
        parse_error: None,
    }
}

fn job(installation: i64) -> NewJob {
    NewJob {
        kind: JobKind::Comment,
        installation_id: Some(installation),
        payload: json!({"body": "/help"}),
    }
}

#[path = "../../tests/common/db.rs"]
pub(crate) mod db_for_tests;
mod common {
    pub(crate) use super::db_for_tests as db;
}
use db_for_tests::TestDb;

crate::on_both_backends!(
    multi_thread: [
    ];
    current_thread: [
        duplicate_inside_one_batch_is_stored_once,
        jobless_deliveries_share_one_statement_and_a_redelivery_requeues,
        a_batch_with_jobs_adds_the_jobs_of_new_deliveries_only,
        a_failing_write_does_not_fail_its_batch_neighbours,
        a_job_that_fails_in_a_batch_of_deliveries_stores_nothing_of_its_own,
        job_lifecycle_with_journal_retry_and_audit,
        upsert_run_creates_then_updates,
        closed_store_refuses_writes_and_pings,
        retention_drops_bodies_then_rows_and_dedupe_outlives_the_body,
        instance_names_leases_and_pacing_are_shared_rules,
        migrations_run_once_when_instances_start_together,
        by_default_only_bodies_that_did_not_parse_are_kept,
    ];
);

/// A store on `db` with a manual clock (SQLite: in memory).
async fn manual_store(db: TestDb) -> (Store, ManualClock) {
    let clock = ManualClock::new();
    let url = match db {
        TestDb::Sqlite => "sqlite::memory:".to_string(),
        TestDb::Postgres => db_for_tests::fresh_postgres_url().await,
    };
    let store = Store::open_with(
        &url,
        StoreOptions {
            clock: Arc::new(clock.clone()),
            keep_bodies: true,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open");
    (store, clock)
}

#[test]
fn the_begin_rides_on_the_first_chunk_and_the_commit_on_the_last() {
    let around = Around {
        before: Some("BEGIN IMMEDIATE"),
        after: Some("COMMIT"),
    };
    let sql = |i, n| values_sql(around.chunk(i, n), "INSERT INTO t VALUES ", "(?,?)", 2, "");
    assert_eq!(
        sql(0, 1),
        "BEGIN IMMEDIATE; INSERT INTO t VALUES ($1,$2),($3,$4); COMMIT"
    );
    assert_eq!(
        sql(0, 2),
        "BEGIN IMMEDIATE; INSERT INTO t VALUES ($1,$2),($3,$4)"
    );
    assert_eq!(sql(1, 2), "INSERT INTO t VALUES ($1,$2),($3,$4); COMMIT");
    assert_eq!(sql(1, 3), "INSERT INTO t VALUES ($1,$2),($3,$4)");
}

#[test]
fn chunks_use_few_statement_shapes() {
    let items: Vec<u32> = (0..100).collect();
    let sizes: Vec<usize> = chunked(&items).iter().map(|c| c.len()).collect();
    assert_eq!(sizes, vec![64, 32, 4]);
    let items: Vec<u32> = (0..7).collect();
    let sizes: Vec<usize> = chunked(&items).iter().map(|c| c.len()).collect();
    assert_eq!(sizes, vec![7]);
    let items: Vec<u32> = (0..63).collect();
    let sizes: Vec<usize> = chunked(&items).iter().map(|c| c.len()).collect();
    assert_eq!(sizes, vec![32, 16, 15]);
    assert!(chunked::<u32>(&[]).is_empty());
}

#[test]
fn long_errors_are_truncated_on_a_char_boundary() {
    let s = "é".repeat(MAX_ERROR_BYTES);
    let t = truncate_error(s);
    assert!(t.len() <= MAX_ERROR_BYTES + '…'.len_utf8());
    assert!(t.ends_with('…'));
    assert_eq!(truncate_error("short".into()), "short");
}

#[tokio::test]
async fn rejects_unknown_urls_without_echoing_them() {
    let err = Store::open("mysql://user:sekrit@db/x")
        .await
        .expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains("mysql"), "{msg}");
    assert!(!msg.contains("sekrit"), "{msg}");
    // An unreachable PostgreSQL server: the error names no password either.
    let err = Store::open("postgres://user:sekrit@127.0.0.1:1/x")
        .await
        .expect_err("must fail");
    let msg = err.to_string();
    assert!(!msg.contains("sekrit"), "{msg}");
}

#[tokio::test]
async fn migrations_are_idempotent_and_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let store = Store::open(&url).await.expect("open");
        let n: i64 = q("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(&store.inner.read)
            .await
            .expect("count")
            .try_get(0)
            .expect("n");
        assert_eq!(n, migrations(Backend::Sqlite).len() as i64);
        let mode: String = q("PRAGMA journal_mode")
            .fetch_one(&store.inner.read)
            .await
            .expect("pragma")
            .try_get(0)
            .expect("mode");
        assert_eq!(mode, "wal");
        store.close().await;
    }
}

#[tokio::test]
async fn refuses_a_schema_newer_than_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("n.db").display());
    let store = Store::open(&url).await.expect("open");
    store.close().await;
    let mut conn = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .connect()
        .await
        .expect("connect");
    sqlx::query("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        .execute(&mut conn)
        .await
        .expect("insert");
    conn.close().await.expect("close");
    match Store::open(&url).await {
        Err(StoreError::SchemaTooNew { found: 999, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

async fn duplicate_inside_one_batch_is_stored_once(db: TestDb) {
    let (store, _) = manual_store(db).await;
    // On the current-thread runtime both requests are queued before the writer
    // runs, so they land in the same batch.
    let (a, b) = tokio::join!(
        store.record_delivery(delivery("d1"), vec![job(1)]),
        store.record_delivery(delivery("d1"), vec![job(1)]),
    );
    let mut outcomes = [a.expect("a"), b.expect("b")];
    outcomes.sort_by_key(|o| o.as_str());
    assert_eq!(
        outcomes,
        [
            DeliveryOutcome::Duplicate,
            DeliveryOutcome::Stored { jobs: 1 }
        ]
    );
    assert_eq!(store.write_stats().max_batch, 2);
    assert_eq!(store.jobs_of_delivery("d1").await.expect("jobs").len(), 1);
    assert_eq!(store.delivery_count().await.expect("count"), 1);
}

/// Stores delivery `id` with one job of installation 1, and claims it as
/// `worker` for `lease`.
async fn record_and_claim(store: &Store, id: &str, worker: &str, lease: Duration) -> Job {
    store
        .record_delivery(delivery(id), vec![job(1)])
        .await
        .expect("record");
    claim(store, worker, lease).await.expect("a job")
}

/// Stores delivery `id` with one job, and ends that job `failed`: a
/// redelivery of `id` queues it again.
async fn store_failed(store: &Store, id: &str) {
    let j = record_and_claim(store, id, "w1", Duration::from_secs(30)).await;
    store
        .finish_job(
            j.id,
            "w1",
            JobEnd::Failed {
                error: "GitHub said no".into(),
            },
        )
        .await
        .expect("fail");
}

/// What `worker` claims for `lease`, if anything is due.
async fn claim(store: &Store, worker: &str, lease: Duration) -> Option<Job> {
    store.claim_job(worker, lease).await.expect("claim")
}

/// A batch of deliveries that imply no job is one autocommitted INSERT; what
/// it means must not change: each is stored once, a repeated id is a
/// duplicate, and a redelivery (without jobs of its own) of a delivery whose
/// job failed queues that job again, in both backends.
async fn jobless_deliveries_share_one_statement_and_a_redelivery_requeues(db: TestDb) {
    let (store, _) = manual_store(db).await;
    store_failed(&store, "failed").await;
    let (a, b, c, d) = tokio::join!(
        store.record_delivery(delivery("q1"), vec![]),
        store.record_delivery(delivery("q2"), vec![]),
        store.record_delivery(delivery("q1"), vec![]),
        store.record_delivery(delivery("failed"), vec![]),
    );
    assert_eq!(a.expect("a"), DeliveryOutcome::Stored { jobs: 0 });
    assert_eq!(b.expect("b"), DeliveryOutcome::Stored { jobs: 0 });
    assert_eq!(c.expect("c"), DeliveryOutcome::Duplicate);
    assert_eq!(d.expect("d"), DeliveryOutcome::Requeued { jobs: 1 });
    let (e, f) = tokio::join!(
        store.record_delivery(delivery("q3"), vec![]),
        store.record_delivery(delivery("q2"), vec![]),
    );
    assert_eq!(e.expect("e"), DeliveryOutcome::Stored { jobs: 0 });
    assert_eq!(f.expect("f"), DeliveryOutcome::Duplicate);
    assert_eq!(store.delivery_count().await.expect("count"), 4);
    let jobs = store.jobs_of_delivery("failed").await.expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
}

/// A batch of deliveries with jobs is one transaction whose BEGIN and
/// COMMIT ride with its INSERTs on SQLite. What it means must not change: a new
/// delivery gets its jobs, a redelivery (which carries the same jobs) gets
/// none added, even in the same millisecond as the first delivery (the
/// manual clock does not move), and a repeat inside the batch is a
/// duplicate. A batch larger than one statement is stored whole.
async fn a_batch_with_jobs_adds_the_jobs_of_new_deliveries_only(db: TestDb) {
    let (store, _) = manual_store(db).await;
    store_failed(&store, "failed").await;
    store
        .record_delivery(delivery("done"), vec![job(7)])
        .await
        .expect("done");
    let (a, b, c, d) = tokio::join!(
        store.record_delivery(delivery("n1"), vec![job(1), job(2)]),
        store.record_delivery(delivery("failed"), vec![job(1)]),
        store.record_delivery(delivery("n1"), vec![job(1), job(2)]),
        store.record_delivery(delivery("done"), vec![job(7)]),
    );
    assert_eq!(a.expect("a"), DeliveryOutcome::Stored { jobs: 2 });
    assert_eq!(b.expect("b"), DeliveryOutcome::Requeued { jobs: 1 });
    assert_eq!(c.expect("c"), DeliveryOutcome::Duplicate);
    assert_eq!(d.expect("d"), DeliveryOutcome::Duplicate);
    for (id, jobs) in [("n1", 2), ("failed", 1), ("done", 1)] {
        let stored = store.jobs_of_delivery(id).await.expect("jobs");
        assert_eq!(stored.len(), jobs, "{id}");
    }

    let ids: Vec<String> = (0..70).map(|n| format!("big-{n}")).collect();
    let mut writes = tokio::task::JoinSet::new();
    for id in &ids {
        let (store, d) = (store.clone(), delivery(id));
        writes.spawn(async move { store.record_delivery(d, vec![job(3)]).await });
    }
    while let Some(out) = writes.join_next().await {
        let out = out.expect("task").expect("big");
        assert_eq!(out, DeliveryOutcome::Stored { jobs: 1 });
    }
    assert!(
        store.write_stats().max_batch > 64,
        "{:?}",
        store.write_stats()
    );
    assert_eq!(store.delivery_count().await.expect("count"), 73);
    for id in &ids {
        assert_eq!(store.jobs_of_delivery(id).await.expect("jobs").len(), 1);
    }
}

async fn a_failing_write_does_not_fail_its_batch_neighbours(db: TestDb) {
    let (store, _) = manual_store(db).await;
    let bad = AuditEntry {
        delivery_id: None,
        actor: None,
        job_id: Some(424242), // no such job: foreign key violation
        installation_id: None,
        method: "POST".into(),
        path: "/orgs/x/repos".into(),
        status: Some(201),
        started_at: Utc::now(),
        at: Utc::now(),
    };
    let (a, b, c) = tokio::join!(
        store.record_delivery(delivery("ok-1"), vec![job(1)]),
        store.record_audit(std::slice::from_ref(&bad)),
        store.record_delivery(delivery("ok-2"), vec![]),
    );
    assert_eq!(a.expect("a"), DeliveryOutcome::Stored { jobs: 1 });
    assert!(matches!(b, Err(StoreError::Db(_))), "{b:?}");
    assert_eq!(c.expect("c"), DeliveryOutcome::Stored { jobs: 0 });
    let stats = store.write_stats();
    assert_eq!(stats.failed_batches, 1);
    assert_eq!(store.delivery_count().await.expect("count"), 2);
}

/// A batch of deliveries shares one INSERT of their jobs: when that INSERT
/// fails, the batch rolls back and each write is tried alone, so one
/// delivery's bad job loses neither the other deliveries nor their jobs, and
/// its own delivery is not half stored.
async fn a_job_that_fails_in_a_batch_of_deliveries_stores_nothing_of_its_own(db: TestDb) {
    let (store, _) = manual_store(db).await;
    let poison: &[&str] = match store.backend() {
        Backend::Sqlite => &["CREATE TRIGGER poison BEFORE INSERT ON jobs \
             WHEN NEW.payload LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.payload LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION poison()",
        ],
    };
    for &sql in poison {
        q(sql).execute(&store.inner.read).await.expect("trigger");
    }
    let bad = NewJob {
        payload: json!({"body": "poison"}),
        ..job(2)
    };
    let (a, b, c) = tokio::join!(
        store.record_delivery(delivery("fine-1"), vec![job(1)]),
        store.record_delivery(delivery("poisoned"), vec![bad]),
        store.record_delivery(delivery("fine-2"), vec![job(3)]),
    );
    assert_eq!(a.expect("a"), DeliveryOutcome::Stored { jobs: 1 });
    assert!(matches!(b, Err(StoreError::Db(_))), "{b:?}");
    assert_eq!(c.expect("c"), DeliveryOutcome::Stored { jobs: 1 });
    assert_eq!(
        store.write_stats().failed_batches,
        1,
        "one batch, rolled back"
    );
    assert_eq!(store.delivery_count().await.expect("count"), 2);
    assert!(store.delivery("poisoned").await.expect("read").is_none());
    for id in ["fine-1", "fine-2"] {
        assert_eq!(
            store.jobs_of_delivery(id).await.expect("jobs").len(),
            1,
            "{id}"
        );
    }
}

async fn job_lifecycle_with_journal_retry_and_audit(db: TestDb) {
    let (store, clock) = manual_store(db).await;
    let j = record_and_claim(&store, "d", "w1", Duration::from_secs(30)).await;
    assert_eq!(
        (j.attempts, j.max_attempts, j.journal.clone()),
        (1, 5, None)
    );
    assert_eq!(j.payload, json!({"body": "/help"}));
    store
        .save_journal(j.id, "w1", &json!({"steps": ["a"]}))
        .await
        .expect("journal");
    let entry = AuditEntry {
        delivery_id: None,
        actor: None,
        job_id: Some(j.id),
        installation_id: Some(1),
        method: "POST".into(),
        path: "/orgs/x/repos".into(),
        status: None,
        started_at: ms_to_time(1_699_999_999_900),
        at: ms_to_time(1_700_000_000_000),
    };
    store
        .record_audit(std::slice::from_ref(&entry))
        .await
        .expect("audit");
    assert_eq!(store.audit_for_job(j.id).await.expect("audit"), vec![entry]);

    store
        .finish_job(
            j.id,
            "w1",
            JobEnd::Retry {
                after: Duration::from_secs(60),
                error: "502".into(),
            },
        )
        .await
        .expect("retry");
    assert!(claim(&store, "w2", Duration::from_secs(30)).await.is_none());
    let due = store
        .next_due_in()
        .await
        .expect("due")
        .expect("something queued");
    assert!(
        due > Duration::from_secs(50) && due <= Duration::from_secs(60),
        "{due:?}"
    );
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        store.next_due_in().await.expect("due"),
        Some(Duration::ZERO)
    );
    let j2 = claim(&store, "w2", Duration::from_secs(30))
        .await
        .expect("due now");
    assert_eq!(j2.id, j.id);
    assert_eq!(j2.attempts, 2);
    assert_eq!(j2.journal, Some(json!({"steps": ["a"]})));
    // The first owner cannot finish what it no longer holds.
    assert!(matches!(
        store
            .finish_job(j.id, "w1", JobEnd::Done { result: json!(1) })
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    store
        .finish_job(
            j.id,
            "w2",
            JobEnd::Done {
                result: json!({"ok": true}),
            },
        )
        .await
        .expect("done");
    let row = store.job(j.id).await.expect("row").expect("exists");
    assert_eq!(row.state, JobState::Done);
    assert_eq!(row.result, Some(json!({"ok": true})));
    assert_eq!(row.last_error.as_deref(), Some("502"));
    assert_eq!(store.next_due_in().await.expect("due"), None);
    let counts = store.job_counts().await.expect("counts");
    assert_eq!(counts.get("done"), Some(&1));
    assert_eq!(counts.get("queued"), Some(&0));
}

async fn upsert_run_creates_then_updates(db: TestDb) {
    let (store, _) = manual_store(db).await;
    let mut run = CatalogRun {
        org: "MITx".into(),
        course: "6.004r".into(),
        title: Some("Computation Structures".into()),
        term: "2018_Spring".into(),
        course_key: "course-v1:MITx+6.004r+2018_Spring".into(),
        repo: "mitx-xml/content-mit-6004r-2018_Spring".into(),
        kind: CourseKind::Xml,
        state: RunState::Staging,
        last_push_at: None,
        request: None,
        language: None,
        created_at: None,
    };
    store.upsert_run(&run).await.expect("insert");
    run.state = RunState::Released;
    run.title = None;
    store.upsert_run(&run).await.expect("update");
    let runs = store.catalog_runs("6.004r").await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Released);
    assert_eq!(runs[0].title.as_deref(), Some("Computation Structures"));
}

async fn closed_store_refuses_writes_and_pings(db: TestDb) {
    let (store, _) = manual_store(db).await;
    store.ping().await.expect("ping");
    store.close().await;
    assert!(store.ping().await.is_err());
    assert!(matches!(
        store.record_delivery(delivery("late"), vec![]).await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test]
async fn the_background_checkpointer_moves_commits_into_the_main_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.db");
    let store = Store::open_with(
        &format!("sqlite://{}", path.display()),
        StoreOptions {
            keep_bodies: true,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open");
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for i in 0..20 {
        let mut d = delivery(&format!("c{i}"));
        d.body = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
        store.record_delivery(d, vec![]).await.expect("record");
    }
    // Committed pages sit in the WAL until a checkpoint copies them over.
    assert!(size() < before + 20 * 16 * 1024);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while size() < before + 20 * 16 * 1024 {
        assert!(std::time::Instant::now() < deadline, "no checkpoint ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
}

async fn retention_drops_bodies_then_rows_and_dedupe_outlives_the_body(db: TestDb) {
    let (store, clock) = manual_store(db).await;
    let day = Duration::from_secs(86_400);
    let j = record_and_claim(&store, "old", "w", Duration::from_secs(60)).await;
    store
        .finish_job(j.id, "w", JobEnd::Done { result: json!({}) })
        .await
        .expect("finish");
    // A job still queued keeps its delivery's body whatever its age.
    store
        .record_delivery(delivery("waiting"), vec![job(2)])
        .await
        .expect("record");
    assert!(store.disk_bytes().await.expect("disk") > 0);

    clock.advance(2 * day);
    let p = store.prune(day, 100).await.expect("prune");
    assert_eq!(
        (p.bodies, p.emptied_jobs, p.jobs, p.deliveries),
        (1, 0, 0, 0)
    );
    assert_eq!(
        store.delivery_body("old").await.expect("body"),
        Some(vec![])
    );
    assert_eq!(
        store
            .delivery("old")
            .await
            .expect("row")
            .map(|d| d.body_len),
        Some(0)
    );
    assert!(!store
        .delivery_body("waiting")
        .await
        .expect("body")
        .unwrap_or_default()
        .is_empty());
    // Its body is gone, its id is not: GitHub may still redeliver it.
    assert_eq!(
        store
            .record_delivery(delivery("old"), vec![job(1)])
            .await
            .expect("again"),
        DeliveryOutcome::Duplicate
    );
    assert_eq!(store.prune(day, 100).await.expect("prune").total(), 0);

    // Past the redelivery window the finished job and then the id go.
    clock.advance(3 * day);
    let p = store.prune(day, 100).await.expect("prune");
    assert_eq!((p.emptied_jobs, p.jobs, p.deliveries), (1, 1, 1));
    assert_eq!(store.delivery("old").await.expect("row"), None);
    assert!(store.delivery("waiting").await.expect("row").is_some());
    assert_eq!(
        store.jobs_of_delivery("waiting").await.expect("jobs").len(),
        1
    );
}

async fn instance_names_leases_and_pacing_are_shared_rules(db: TestDb) {
    let (store, clock) = manual_store(db).await;
    let fresh = Duration::from_secs(60);
    assert_eq!(
        store
            .register_instance("a", "h1", 10, fresh, false)
            .await
            .expect("a"),
        0
    );
    // A job held by worker w0 of instance "a".
    let held = record_and_claim(&store, "d", "a/w0", Duration::from_secs(600)).await;
    // A second live process under the same name is refused.
    match store.register_instance("a", "h2", 11, fresh, false).await {
        Err(StoreError::InstanceLive(l)) => assert_eq!((l.host.as_str(), l.pid), ("h1", 10)),
        other => panic!("expected InstanceLive, got {other:?}"),
    }
    assert!(store.heartbeat("a", 10).await.expect("beat"));
    // Taken over (the caller knows pid 10 is gone): a's job is claimable at once.
    assert_eq!(
        store
            .register_instance("a", "h1", 12, fresh, true)
            .await
            .expect("take"),
        1
    );
    assert!(!store.heartbeat("a", 10).await.expect("old beat"));
    let again = claim(&store, "a/w1", Duration::from_secs(600))
        .await
        .expect("resumed");
    assert_eq!(again.id, held.id);
    // A stale name is free for anyone, with the jobs it still held.
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        store
            .register_instance("a", "h3", 13, fresh, false)
            .await
            .expect("stale"),
        1
    );
    assert_eq!(
        store.live_instances(fresh).await.expect("live"),
        vec!["a".to_string()]
    );
    store.unregister_instance("a", 13).await.expect("bye");
    assert!(store.live_instances(fresh).await.expect("live").is_empty());

    // One holder of a named lease at a time; it lapses.
    assert!(store.try_lease("sweep", "a", fresh).await.expect("a"));
    assert!(!store.try_lease("sweep", "b", fresh).await.expect("b"));
    assert!(store.try_lease("sweep", "a", fresh).await.expect("renew"));
    clock.advance(Duration::from_secs(61));
    assert!(store.try_lease("sweep", "b", fresh).await.expect("lapsed"));
    store.release_lease("sweep", "b").await.expect("release");
    assert!(store.try_lease("sweep", "c", fresh).await.expect("free"));

    // Pacing: 3 a minute, shared: the 4th waits for the 1st to leave the window.
    for _ in 0..3 {
        assert_eq!(
            store.reserve_content_write(Some(1), 3).await.expect("slot"),
            Duration::ZERO
        );
    }
    // (The manual clock is real time plus an offset: a few ms pass.)
    let near = |wait: Duration, secs: u64| {
        wait <= Duration::from_secs(secs) && wait > Duration::from_secs(secs - 1)
    };
    let wait = store.reserve_content_write(Some(1), 3).await.expect("slot");
    assert!(near(wait, 60), "{wait:?}");
    // Other installations have their own budget.
    assert_eq!(
        store.reserve_content_write(Some(2), 3).await.expect("slot"),
        Duration::ZERO
    );
    clock.advance(Duration::from_secs(30));
    let wait = store.reserve_content_write(Some(1), 3).await.expect("slot");
    assert!(near(wait, 30), "{wait:?}");

    // Marks outlive everything.
    assert_eq!(store.mark("m").await.expect("mark"), None);
    let at = ms_to_time(1_800_000_000_000);
    store.set_mark("m", at).await.expect("set");
    assert_eq!(store.mark("m").await.expect("mark"), Some(at));
}

async fn migrations_run_once_when_instances_start_together(db: TestDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = db.url(dir.path()).await;
    // Four instances starting together (one task, four connections).
    let (a, b, c, d) = tokio::join!(
        Store::open(&url),
        Store::open(&url),
        Store::open(&url),
        Store::open(&url)
    );
    let stores: Vec<Store> = [a, b, c, d].into_iter().map(|s| s.expect("open")).collect();
    let counts =
        q("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version")
            .fetch_all(&stores[0].inner.read)
            .await
            .expect("versions");
    let versions: Vec<(i64, i64)> = counts
        .iter()
        .map(|r| (r.try_get(0).expect("v"), r.try_get(1).expect("n")))
        .collect();
    let expected: Vec<(i64, i64)> = migrations(stores[0].backend())
        .iter()
        .map(|m| (m.0, 1))
        .collect();
    assert_eq!(versions, expected);
    for s in stores {
        s.close().await;
    }
}

/// On PostgreSQL an idle worker of another instance is woken by NOTIFY when
/// a job is queued or finished, with no poll.
#[tokio::test]
async fn a_queued_job_wakes_the_workers_of_another_instance() {
    if !TestDb::Postgres.available() {
        return;
    }
    let url = db_for_tests::fresh_postgres_url().await;
    let here = Store::open(&url).await.expect("open");
    let there = Store::open(&url).await.expect("open");
    let wake = JobWake::new();
    there.watch_jobs(wake.clone());
    // Let the LISTEN start before the job is queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let woken = wake.notified();
    here.record_delivery(delivery("n1"), vec![job(1)])
        .await
        .expect("record");
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("NOTIFY woke the other instance");
    here.close().await;
    there.close().await;
}

async fn by_default_only_bodies_that_did_not_parse_are_kept(db: TestDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&db.url(dir.path()).await).await.expect("open");
    store
        .record_delivery(delivery("fine"), vec![job(1)])
        .await
        .expect("record");
    let mut broken = delivery("broken");
    broken.body = bytes::Bytes::from_static(b"{not json");
    broken.parse_error = Some("expected value".into());
    store.record_delivery(broken, vec![]).await.expect("record");
    let fine = store.delivery("fine").await.expect("read").expect("row");
    assert_eq!((fine.body_len, fine.size), (0, 20));
    assert_eq!(store.jobs_of_delivery("fine").await.expect("jobs").len(), 1);
    let broken = store.delivery("broken").await.expect("read").expect("row");
    assert_eq!((broken.body_len, broken.size), (9, 9));
    assert_eq!(
        store
            .delivery_body("broken")
            .await
            .expect("body")
            .as_deref(),
        Some(&b"{not json"[..])
    );
    // Without its body, the id still refuses a redelivery.
    assert_eq!(
        store
            .record_delivery(delivery("fine"), vec![job(1)])
            .await
            .expect("again"),
        DeliveryOutcome::Duplicate
    );
    store.close().await;
}

/// `ORC_DURABILITY` reaches the write connection: the store reports what
/// that connection's `PRAGMA synchronous` says, not what it was asked. And a
/// new database file has 1 KiB pages.
#[tokio::test]
async fn the_write_connection_syncs_as_the_durability_asks() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, durability) in [
        ("full.db", Durability::PowerLoss),
        ("normal.db", Durability::Crash),
    ] {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        let options = StoreOptions {
            durability,
            ..StoreOptions::default()
        };
        let store = Store::open_with(&url, options).await.expect("open");
        assert_eq!(store.durability(), durability, "{name}");
        store
            .record_delivery(delivery(name), vec![job(1)])
            .await
            .expect("record");
        store.close().await;
        // A new file gets the small page size (header bytes 16-17).
        let header = std::fs::read(dir.path().join(name)).expect("read db");
        assert_eq!(u16::from_be_bytes([header[16], header[17]]), 1024);
    }
    let default = Store::open("sqlite::memory:").await.expect("open");
    assert_eq!(default.durability(), Durability::PowerLoss);
    default.close().await;
}
