//! The statements that scale with the tables use the index meant for them.
//!
//! SQLite plans without statistics, and two of its habits bit this schema:
//! given `state = …` beside the delivery's key in an UPDATE it scanned by
//! state, and it uses a partial index only for a condition that matches the
//! index's own term by term. Both pass every behaviour test and go slow on
//! a large table, so the plans are checked here.

use super::*;

/// SQLite's plan for `sql`, one line per step.
async fn plan(store: &Store, sql: &str) -> String {
    let rows = q(format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&store.inner.read)
        .await
        .expect("explain");
    rows.iter()
        .map(|r| r.try_get::<String, _>(3).expect("detail"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn retention_the_requeue_and_a_deliverys_jobs_use_their_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = Store::open(&url).await.expect("open");
    let of_delivery = format!("SELECT id FROM jobs WHERE id IN ({JOBS_OF_DELIVERY})");
    let requeue = deliveries::requeue_sql();
    let [empty_jobs, delete_jobs, delete_deliveries] = retention::PRUNE_BY_CUT;
    for (what, sql, index) in [
        ("a delivery's jobs", of_delivery.as_str(), "jobs_delivery"),
        ("the requeue", requeue.as_str(), "jobs_delivery"),
        ("emptying bodies", retention::PRUNE_BODIES, "jobs_delivery"),
        ("emptying finished jobs", empty_jobs, "jobs_finished"),
        ("deleting finished jobs", delete_jobs, "jobs_finished"),
        (
            "deleting old deliveries",
            delete_deliveries,
            "jobs_delivery",
        ),
    ] {
        let plan = plan(&store, sql).await;
        assert!(plan.contains(index), "{what} does not use {index}:\n{plan}");
        assert!(
            !plan.lines().any(|l| l.starts_with("SCAN")),
            "{what} scans a table:\n{plan}"
        );
    }
    store.close().await;
}
