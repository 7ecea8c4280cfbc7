//! The redelivery sweep against the fake's delivery log: a delivery that
//! reached no instance is asked for once, GitHub resends it, and the bot
//! answers it; what we stored, what GitHub delivered, what we refused on
//! purpose and what is too old are left alone; a 422 is asked again at the
//! next sweep, and a failed sweep keeps its mark.

mod common;

use std::time::Duration;

use common::db::TestDb;
use common::fake::Fault;
use common::tester::*;
use orcoursetrion::JobState;

crate::on_both_backends!(
    multi_thread: [
        a_missed_delivery_is_asked_for_once_and_answered,
        a_refused_redelivery_is_asked_again_at_the_next_sweep,
        a_failed_sweep_keeps_its_mark,
    ];
    current_thread: [];
);

/// Restarts the server (as after a crash) with the sweep on: it sweeps at
/// start-up.
async fn restart_sweeping(t: &mut Tester) {
    t.kill();
    t.config.instances.redeliver_every = Some(Duration::from_secs(3600));
    t.restart().await;
}

/// A comment GitHub tried to deliver while no instance answered (502).
fn missed_comment(t: &Tester, guid: &str, author: &str, body: &str) -> u64 {
    let id = t.fake.add_comment(REQ_OWNER, REQ_REPO, 1, author, body);
    let payload = t.payload("created", id, author, "User", body, None);
    t.fake.log_delivery(
        guid,
        &payload,
        "issue_comment",
        502,
        Duration::from_secs(60),
    );
    id
}

async fn sweeps(t: &Tester, n: u64) {
    let ok = t
        .fake
        .wait_until(WAIT, |_| {
            t.server().metrics.redeliveries("sweeps")
                + t.server().metrics.redeliveries("failed_sweeps")
                >= n
        })
        .await;
    assert!(ok, "no sweep ran");
}

async fn a_missed_delivery_is_asked_for_once_and_answered(db: TestDb) {
    let mut t = Tester::on(db).await;
    t.fake.set_app_webhook(&t.url("/webhook"), SECRET);

    // Delivered and stored: GitHub logged OK.
    let seen = t.comment("alice", "/help").await;
    t.finished(seen).await;
    let seen_payload = t.payload("created", seen, "alice", "User", "/help", None);
    t.fake.log_delivery(
        &t.last_delivery(),
        &seen_payload,
        "issue_comment",
        202,
        Duration::from_secs(30),
    );
    // Stored, but GitHub timed out waiting for our answer.
    let slow = t.fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", "/help");
    let slow_payload = t.payload("created", slow, "alice", "User", "/help", None);
    assert_eq!(t.deliver("slow-guid", &slow_payload).await, 202);
    t.finished(slow).await;
    t.fake.log_delivery(
        "slow-guid",
        &slow_payload,
        "issue_comment",
        0,
        Duration::from_secs(20),
    );
    // Failed once, then a redelivery got through (and was stored).
    let again = t.fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", "/help");
    let again_payload = t.payload("created", again, "alice", "User", "/help", None);
    t.fake.log_delivery(
        "again-guid",
        &again_payload,
        "issue_comment",
        503,
        Duration::from_secs(50),
    );
    assert_eq!(t.deliver("again-guid", &again_payload).await, 202);
    t.finished(again).await;
    t.fake.log_delivery(
        "again-guid",
        &again_payload,
        "issue_comment",
        202,
        Duration::from_secs(40),
    );
    // Refused on purpose (a body we will refuse again), and one too old.
    t.fake.log_delivery(
        "bad-guid",
        &seen_payload,
        "issue_comment",
        400,
        Duration::from_secs(10),
    );
    t.fake.log_delivery(
        "old-guid",
        &seen_payload,
        "issue_comment",
        502,
        Duration::from_secs(80 * 3600),
    );
    // Missed: no instance answered.
    let missed = missed_comment(&t, "missed-guid", "alice", "/help");
    let missed_attempt = t
        .fake
        .hook_deliveries()
        .iter()
        .find(|d| d.guid == "missed-guid")
        .map(|d| d.id)
        .expect("logged");

    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.fake.redelivery_requests(), vec![missed_attempt]);
    // GitHub resent it under the same guid; the bot answered it.
    assert_eq!(t.finished(missed).await, vec!["eyes", "rocket"]);
    assert_eq!(t.jobs_in("missed-guid", JobState::Done).await.len(), 1);
    let m = &t.server().metrics;
    assert_eq!(
        (m.redeliveries("found_missing"), m.redeliveries("asked")),
        (1, 1)
    );

    // The next sweep starts from the mark and finds nothing to ask for.
    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.fake.redelivery_requests(), vec![missed_attempt]);
    assert_eq!(t.server().metrics.redeliveries("found_missing"), 0);
    let resent = t
        .fake
        .hook_deliveries()
        .iter()
        .filter(|d| d.guid == "missed-guid" && d.redelivery)
        .count();
    assert_eq!(resent, 1, "asked once, resent once");
}

async fn a_refused_redelivery_is_asked_again_at_the_next_sweep(db: TestDb) {
    let mut t = Tester::on(db).await;
    t.fake.set_app_webhook(&t.url("/webhook"), SECRET);
    let missed = missed_comment(&t, "spam-guid", "alice", "/help");
    t.fake.refuse_redeliveries(1);

    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.server().metrics.redeliveries("refused"), 1);
    assert_eq!(t.fake.redelivery_requests().len(), 1);
    // The 422 left the mark alone: the next sweep sees the delivery again.
    assert_eq!(
        t.store().mark("redelivery_sweep").await.expect("mark"),
        None
    );

    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.fake.redelivery_requests().len(), 2);
    assert_eq!(t.finished(missed).await, vec!["eyes", "rocket"]);
    let mark = t.store().mark("redelivery_sweep").await;
    assert!(mark.expect("mark").is_some());
}

async fn a_failed_sweep_keeps_its_mark(db: TestDb) {
    let mut t = Tester::on(db).await;
    t.fake.set_app_webhook(&t.url("/webhook"), SECRET);
    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    let mark = t
        .store()
        .mark("redelivery_sweep")
        .await
        .expect("mark")
        .expect("set");

    let missed = missed_comment(&t, "late-guid", "alice", "/help");
    // The log cannot be read (GitHub keeps failing): the sweep fails.
    t.fake
        .inject("GET", "/app/hook/deliveries", Fault::Status(500), 100);
    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.server().metrics.redeliveries("failed_sweeps"), 1);
    assert_eq!(
        t.store().mark("redelivery_sweep").await.expect("mark"),
        Some(mark)
    );
    assert!(t.fake.redelivery_requests().is_empty());

    t.fake.clear_faults();
    restart_sweeping(&mut t).await;
    sweeps(&t, 1).await;
    assert_eq!(t.finished(missed).await, vec!["eyes", "rocket"]);
}
