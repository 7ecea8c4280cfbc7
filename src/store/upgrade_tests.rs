//! Upgrading a database that holds data, one migration at a time: what a
//! shop's existing database goes through when a new build starts on it.

use super::*;
use sqlx::Connection;

mod common {
    pub(crate) use super::super::tests::db_for_tests as db;
}
use common::db::TestDb;

crate::on_both_backends!(
    multi_thread: [];
    current_thread: [the_ordered_delivery_link_keeps_every_job_and_its_ids];
);

/// A database at `version`, and its URL (SQLite: a file, so it can be
/// opened again).
async fn database_at(db: TestDb, version: i64, dir: &tempfile::TempDir) -> (Conn, String) {
    let (mut conn, url) = match db {
        TestDb::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("old.db").display());
            let options = SqliteConnectOptions::from_str(&url)
                .expect("url")
                .create_if_missing(true)
                .foreign_keys(true);
            (Conn::Lite(options.connect().await.expect("connect")), url)
        }
        TestDb::Postgres => {
            let url = common::db::fresh_postgres_url().await;
            let conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            (Conn::Pg(conn), url)
        }
    };
    let all = migrate::migrations(conn.backend());
    let upto = all.iter().take_while(|m| m.0 <= version).count();
    migrate::migrate(&mut conn, &all[..upto], 0)
        .await
        .expect("old migrations");
    (conn, url)
}

async fn the_ordered_delivery_link_keeps_every_job_and_its_ids(db: TestDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut conn, url) = database_at(db, 9, &dir).await;
    conn.raw(
        "INSERT INTO deliveries (id, event, received_at, body) VALUES
             ('d1', 'issue_comment', 1000, ''), ('d2', 'issue_comment', 2000, '');
         INSERT INTO jobs (id, delivery_id, kind, payload, state, max_attempts, next_run_at,
                           created_at, updated_at) VALUES
             (1, 'd1', 'comment', '{}', 'done', 5, 0, 1000, 1000),
             (2, 'd2', 'comment', '{}', 'failed', 5, 0, 2000, 2000),
             (3, 'd2', 'comment', '{}', 'queued', 5, 0, 2000, 2000);
         INSERT INTO requests (repo, issue, comment_id, author, command, state, job_id,
                               created_at, updated_at)
             VALUES ('o/r', 1, 1, 'amy', '/help', 'done', 1, 1000, 1000);",
    )
    .await
    .expect("seed");
    // The newest job is gone; its id must not come back.
    conn.raw("DELETE FROM jobs WHERE id = 3")
        .await
        .expect("delete");
    if db == TestDb::Postgres {
        conn.raw("SELECT setval(pg_get_serial_sequence('jobs', 'id'), 3)")
            .await
            .expect("sequence");
    }
    conn.close().await.expect("close");

    let store = Store::open(&url).await.expect("upgrade");
    let (at, newest) = store.schema_version().await.expect("version");
    assert_eq!(at, newest);
    let ids = |jobs: Vec<JobRow>| -> Vec<(i64, String)> {
        jobs.into_iter().map(|j| (j.id, j.delivery_id)).collect()
    };
    assert_eq!(
        ids(store.jobs_of_delivery("d1").await.expect("d1")),
        vec![(1, "d1".to_owned())]
    );
    assert_eq!(
        ids(store.jobs_of_delivery("d2").await.expect("d2")),
        vec![(2, "d2".to_owned())]
    );
    // A redelivery still finds its failed job through the new index.
    let again = NewDelivery {
        id: "d2".to_owned(),
        event: "issue_comment".to_owned(),
        action: None,
        installation_id: None,
        body: bytes::Bytes::from_static(b"{}"),
        parse_error: None,
    };
    assert_eq!(
        store
            .record_delivery(again.clone(), vec![])
            .await
            .expect("redeliver"),
        DeliveryOutcome::Requeued { jobs: 1 }
    );
    let fresh = NewDelivery {
        id: "d3".to_owned(),
        ..again
    };
    let job = NewJob {
        kind: JobKind::Comment,
        installation_id: None,
        payload: serde_json::json!({}),
    };
    store
        .record_delivery(fresh, vec![job])
        .await
        .expect("new delivery");
    let new_ids: Vec<i64> = ids(store.jobs_of_delivery("d3").await.expect("d3"))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(new_ids.len(), 1);
    assert!(
        new_ids[0] > 3,
        "job id {} was handed out before",
        new_ids[0]
    );
    // The request still points at its job.
    let requests = store.requests_for_issue("o/r", 1).await.expect("requests");
    assert_eq!(
        requests.iter().map(|r| r.job_id).collect::<Vec<_>>(),
        vec![1]
    );
    store.close().await;
}
