//! Every 2xx is durable on the write path that keeps no body: a real `serve`
//! process takes deliveries on 16 connections and is killed with SIGKILL
//! right after an answer; every delivery it answered 202 is in the database
//! afterwards, with its job, and a redelivery of any of them makes no second
//! job. And a SIGTERM sent the moment `/readyz` answers stops it gracefully.
//! On SQLite and on PostgreSQL.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::db::TestDb;
use common::tester::*;
use orcoursetrion::{DeliveryOutcome, NewDelivery, Store};

crate::on_both_backends!(
    multi_thread: [
        every_202_survives_a_sigkill_right_after_it,
        with_durability_crash_every_202_still_survives_a_sigkill,
        a_sigterm_as_soon_as_it_is_ready_stops_it_gracefully
    ];
    current_thread: [];
);

fn spawn(env: &HashMap<String, String>, dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve")
}

/// Polls `/readyz` until it answers 200; `child` must not exit meanwhile.
async fn wait_ready(child: &mut Child, base: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "serve did not start");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "serve exited before it was ready"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The stop handlers are in place before the listener is: a process that
/// answers `/readyz` and is then sent SIGTERM exits 0 (not killed by the
/// signal's default action, and not left running with a handler nobody
/// awaits). Ten times, to hit the moment right after start-up.
async fn a_sigterm_as_soon_as_it_is_ready_stops_it_gracefully(db: TestDb) {
    let mut t = Tester::on(db).await;
    t.kill();
    let dir = tempfile::tempdir().expect("dir");
    for _ in 0..10 {
        let port = common::free_port();
        let mut child = spawn(&t.env(), dir.path(), port);
        wait_ready(&mut child, &format!("http://127.0.0.1:{port}")).await;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let exit = loop {
            if let Some(exit) = child.try_wait().expect("wait") {
                break exit;
            }
            assert!(Instant::now() < deadline, "serve ignored SIGTERM");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert!(exit.success(), "serve exited with {exit} after SIGTERM");
    }
}

async fn every_202_survives_a_sigkill_right_after_it(db: TestDb) {
    sigkill_right_after_a_202(db, None).await;
}

/// `ORC_DURABILITY=crash` gives up the fsync per commit (a power cut may
/// lose the last commits) but not the promise to a killed process: a commit
/// is in the kernel's page cache once it returns.
async fn with_durability_crash_every_202_still_survives_a_sigkill(db: TestDb) {
    sigkill_right_after_a_202(db, Some("crash")).await;
}

async fn sigkill_right_after_a_202(db: TestDb, durability: Option<&str>) {
    let mut t = Tester::on(db).await;
    // Only the process below serves this database.
    t.kill();
    let dir = tempfile::tempdir().expect("dir");
    let port = common::free_port();
    let mut env = t.env();
    if let Some(d) = durability {
        env.insert("ORC_DURABILITY".into(), d.into());
    }
    let mut child = spawn(&env, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&mut child, &base).await;

    let body = serde_json::to_vec(&t.payload("created", 77, "alice", "User", "/help", None))
        .expect("json");
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &body);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, base, body, sig, acked, next) = (
            reqwest::Client::new(),
            base.clone(),
            body.clone(),
            sig.clone(),
            acked.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= 5000 {
                    return;
                }
                let id = format!("durable-{n}");
                let sent = http
                    .post(format!("{base}/webhook"))
                    .header("X-GitHub-Event", "issue_comment")
                    .header("X-GitHub-Delivery", &id)
                    .header("X-Hub-Signature-256", &sig)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 202 => {
                        if let Ok(mut a) = acked.lock() {
                            a.push(id);
                        }
                    }
                    Ok(r) => panic!("{id}: {}", r.status()),
                    // The server is gone: stop.
                    Err(_) => return,
                }
            }
        }));
    }
    // SIGKILL right after an answer, while 16 connections are mid-request.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().map(|a| a.len()).unwrap_or(0) < 300 {
        assert!(Instant::now() < deadline, "too few answers");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    for task in tasks {
        let _ = task.await;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(acked.len() >= 300 && acked.len() < 5000, "{}", acked.len());

    let store = Store::open(t.config.database_url.expose())
        .await
        .expect("reopen");
    let mut lost = Vec::new();
    for id in &acked {
        let row = store.delivery(id).await.expect("read");
        let jobs = store.jobs_of_delivery(id).await.expect("jobs");
        if row.is_none() || jobs.len() != 1 {
            lost.push(id.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} answered 202 are not stored: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    // Without its body, each id still refuses a redelivery.
    let again = NewDelivery {
        id: acked[0].clone(),
        event: "issue_comment".into(),
        action: Some("created".into()),
        installation_id: Some(1),
        body: body.into(),
        parse_error: None,
    };
    // (A job that already failed is queued again, with its journal: that is
    // what a redelivery of a failed delivery is for. No second job appears.)
    let outcome = store.record_delivery(again, vec![]).await.expect("again");
    assert!(
        matches!(
            outcome,
            DeliveryOutcome::Duplicate | DeliveryOutcome::Requeued { jobs: 1 }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        store.jobs_of_delivery(&acked[0]).await.expect("jobs").len(),
        1
    );
    store.close().await;
}
