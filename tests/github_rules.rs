//! Right on real GitHub: every call goes through the installation of the
//! account it touches, since the fake (like GitHub) scopes installation
//! tokens to their own account.

mod common;

use common::fake::{Auth, Fault};
use common::tester::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_studio_and_an_xml_command_each_use_their_own_orgs_installation() {
    let mut h = Tester::start().await;
    h.comment_ok(
        "alice",
        "/create-export-repo 6.004r 2018_Spring\n/create-xml-repo 8.01 2018_Spring",
    )
    .await;
    assert!(h
        .fake
        .repo(STUDIO, "content-mit-6004r-2018_Spring")
        .is_some());
    assert!(h.fake.repo(XML, "content-mit-801-2018_Spring").is_some());
    // Every write to an org used a token of that org's installation.
    for r in h.fake.requests() {
        if r.method == "GET" || r.path.starts_with("/app/") {
            continue;
        }
        let Auth::Installation(token) = &r.auth else {
            panic!("{} {} without an installation token", r.method, r.path)
        };
        let installation = h.fake.token_installation(token);
        let studio = r.path.contains(STUDIO);
        assert_eq!(
            installation,
            Some(if studio { 2 } else { 1 }),
            "{} {}",
            r.method,
            r.path
        );
    }
    // Each org's installation was looked up once, then cached.
    let lookups: Vec<String> = h.fake.calls_where(|c| c.ends_with("/installation"));
    assert_eq!(lookups.len(), 2, "{lookups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_without_the_app_gets_a_reply_with_the_install_link_and_no_write() {
    let mut h = Tester::builder()
        .var("ORC_STUDIO_ORG", "mitx-studio-elsewhere")
        .seed(|fake| {
            fake.add_org("mitx-studio-elsewhere");
        })
        .start()
        .await;
    h.comment_confused("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    let reply = &h.replies()[0];
    assert!(
        reply.contains("the App is not installed on mitx-studio-elsewhere"),
        "{reply}"
    );
    assert!(reply.contains("/installations/new"), "{reply}");
    h.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_installation_is_forgotten_and_looked_up_again() {
    let mut h = Tester::start().await;
    h.comment_ok("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    let studio_lookups = |h: &Tester| {
        h.fake
            .calls_where(|c| c.contains(&format!("/orgs/{STUDIO}/installation")))
            .len()
    };
    assert_eq!(studio_lookups(&h), 1);
    let event = serde_json::json!({
        "action": "deleted",
        "installation": {"id": 2, "account": {"login": STUDIO, "type": "Organization"}},
        "sender": {"login": "owner", "type": "User"},
    });
    let body = serde_json::to_vec(&event).expect("json");
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &body);
    let resp = h
        .deliver_raw("inst-gone", "installation", &body, Some(sig))
        .await;
    assert_eq!(resp.status(), 202);
    h.jobs_in("inst-gone", orcoursetrion::JobState::Done).await;
    h.comment_ok("alice", "/create-export-repo 8.01 2018_Spring")
        .await;
    assert_eq!(studio_lookups(&h), 2, "looked up again after the event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_into_a_term_that_exists_is_refused_before_any_write() {
    let mut h = Tester::start().await;
    let old = "content-mit-6004r-2019_Spring";
    h.fake.add_repo(STUDIO, old);
    h.fake.add_hook(STUDIO, old, STAGING);
    h.fake.add_hook(STUDIO, old, PRODUCTION);
    h.fake.add_repo(STUDIO, "content-mit-6004r-2020_Spring");
    h.comment_confused("alice", "/rerun 6.004r 2020_Spring from 2019_Spring")
        .await;
    h.assert_no_writes();
    assert_eq!(
        h.hook_urls(STUDIO, old),
        vec![STAGING, PRODUCTION],
        "production stays"
    );
    h.assert_reply_has("already exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_that_fails_on_the_way_leaves_the_old_runs_hooks_in_place() {
    let mut h = Tester::start().await;
    let old = "content-mit-6004r-2019_Spring";
    h.fake.add_repo(STUDIO, old);
    h.fake.add_hook(STUDIO, old, PRODUCTION);
    // GitHub keeps failing on the new run's .gitignore, past every retry.
    h.fake.inject(
        "PUT",
        "/repos/*/content-mit-6004r-2020_Spring/contents/.gitignore",
        Fault::Status(502),
        1000,
    );
    h.comment_confused("alice", "/rerun 6.004r 2020_Spring")
        .await;
    assert_eq!(
        h.hook_urls(STUDIO, old),
        vec![PRODUCTION],
        "the old run is still live"
    );
    let reply = &h.replies()[0];
    assert!(reply.contains("stopped at step 3 of 4"), "{reply}");
    assert!(reply.contains("comment `/retry`"), "{reply}");
    assert!(reply.contains("- [ ] remove every webhook of"), "{reply}");
    // Once GitHub is back, the command it names finishes the rerun: the new
    // run is completed, and only then the old one's hooks go.
    h.fake.clear_faults();
    h.comment_ok("alice", "/retry").await;
    assert!(h.hook_urls(STUDIO, old).is_empty());
    assert_eq!(
        h.fake
            .file(STUDIO, "content-mit-6004r-2020_Spring", ".gitignore")
            .as_deref(),
        Some("\ndrafts/\n")
    );
    assert_eq!(h.fake.repos(STUDIO).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_member_is_refused_before_any_write() {
    let mut h = Tester::start().await;
    h.comment_confused(
        "alice",
        "/create-xml-repo 18.01 2019_Spring members=carol,nosuchuser",
    )
    .await;
    h.assert_no_writes();
    h.assert_reply_has("user nosuchuser does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_twice_is_done_the_second_time_without_a_write() {
    let mut h = Tester::start().await;
    let repo = "content-mit-801-2018_Spring";
    h.fake.add_repo(XML, repo);
    h.comment_ok("alice", "/release 8.01 2018_Spring").await;
    h.fake.clear_log();
    h.comment_ok("alice", "/release 8.01 2018_Spring").await;
    h.assert_no_writes();
    assert_eq!(h.hook_urls(XML, repo), vec![PRODUCTION]);
    assert!(
        h.replies()[1].contains("✅ already done"),
        "{}",
        h.replies()[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_a_cross_for_an_existing_repo_an_unknown_member_and_a_missing_hook_url() {
    let mut h = Tester::builder()
        .var("ORC_STAGING_GITRELOAD", "")
        .seed(|fake| {
            fake.add_repo(XML, "content-mit-6004r-2018_Spring");
        })
        .start()
        .await;
    h.comment_ok(
        "bob",
        "/plan /create-xml-repo 6.004r 2018_Spring members=carol,ghost",
    )
    .await;
    h.assert_no_writes();
    insta::assert_snapshot!(h.replies()[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_without_from_picks_the_latest_run_across_both_orgs() {
    let mut h = Tester::start().await;
    h.fake.add_repo(STUDIO, "content-mit-801-2017_Fall");
    h.fake.add_repo_with_files(
        XML,
        "content-mit-801-2018_Spring",
        &[("course.xml", "<course/>\n")],
    );
    h.comment_ok("alice", "/rerun 8.01 2018_Fall").await;
    assert!(
        h.fake.repo(XML, "content-mit-801-2018_Fall").is_some(),
        "the XML run was the latest"
    );
    assert!(h.fake.repo(STUDIO, "content-mit-801-2018_Fall").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_the_same_database_file_is_refused() {
    let h = Tester::start().await;
    let second = orcoursetrion::start(&h.config, h.options()).await;
    let Err(e) = second else {
        panic!("a second server started on the same file")
    };
    assert!(
        e.to_string()
            .contains("another orcoursetrion serve is using"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_step_resumes_at_restart_without_waiting_out_its_lease() {
    // A lease far longer than the test may take.
    let mut h = Tester::builder()
        .lease(std::time::Duration::from_secs(300))
        .start()
        .await;
    let c = h.kill_while_course_xml_is_written().await;
    h.restart().await;
    // WAIT (20 s) is far below the 300 s lease.
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    let creates = h.fake.calls_where(|c| c.starts_with("POST /orgs/")).len();
    assert_eq!(creates, 1, "no step ran twice");
    assert_eq!(h.bot_comments().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audited_write_names_its_job_delivery_and_asker() {
    let mut h = Tester::start().await;
    h.comment_ok("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    let jobs = h
        .jobs_in(&h.last_delivery(), orcoursetrion::JobState::Done)
        .await;
    // The audit log is written in the background: wait for the repo's POST.
    let mut audit = Vec::new();
    for _ in 0..100 {
        audit = h.store().audit_for_job(jobs[0].id).await.expect("audit");
        if audit
            .iter()
            .any(|a| a.path.ends_with("/repos") && a.method == "POST")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(audit.len() >= 4, "{audit:?}");
    for a in &audit {
        assert_eq!(
            a.delivery_id.as_deref(),
            Some(h.last_delivery().as_str()),
            "{a:?}"
        );
        assert_eq!(a.actor.as_deref(), Some("alice"), "{a:?}");
        assert_ne!(a.method, "GET");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xml_reruns_copy_carries_the_new_term() {
    let mut h = Tester::start().await;
    let old = "content-mit-6004r-2018_Spring";
    h.fake.add_repo_with_files(
        XML,
        old,
        &[
            (
                "course.xml",
                "<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>\n",
            ),
            (
                "course/2018_Spring.xml",
                "<course display_name=\"Computation Structures\"/>\n",
            ),
            (
                "policies/2018_Spring/policy.json",
                "{\"course/2018_Spring\": {\"start\": \"2018-02-06\"}}\n",
            ),
        ],
    );
    h.fake.add_hook(XML, old, STAGING);
    h.comment_ok("alice", "/rerun 6.004r 2018_Fall").await;
    let new = "content-mit-6004r-2018_Fall";
    let file = |p: &str| h.fake.git_file(XML, new, "main", p);
    assert!(file("course.xml").is_some_and(|t| t.contains("url_name=\"2018_Fall\"")));
    assert!(file("course/2018_Fall.xml").is_some());
    assert!(file("course/2018_Spring.xml").is_none());
    assert_eq!(
        file("policies/2018_Fall/policy.json").as_deref(),
        Some("{\"course/2018_Fall\": {\"start\": \"2018-02-06\"}}\n")
    );
    let log = h.fake.git_log(XML, new, "main");
    assert_eq!(log.len(), 1, "one commit");
    assert!(
        log[0].contains("rerun as 2018_Fall (was 2018_Spring)"),
        "{log:?}"
    );
    // The new run is live on staging before the old one is unhooked.
    assert!(h.fake.hooks(XML, old).is_empty());
    assert_eq!(h.fake.hooks(XML, new).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_studio_rerun_keeps_the_old_runs_description() {
    let mut h = Tester::start().await;
    let old = "content-mit-6004r-2019_Spring";
    h.fake.add_repo(STUDIO, old);
    h.fake
        .set_description(STUDIO, old, "Computation Structures");
    h.comment_ok("alice", "/rerun 6.004r 2020_Spring").await;
    let new = h
        .fake
        .repo(STUDIO, "content-mit-6004r-2020_Spring")
        .expect("new run");
    assert_eq!(new.description.as_deref(), Some("Computation Structures"));
}

/// Forwards every connection made to `listener` to `to` (the fake), byte
/// for byte: GitHub coming back after an outage.
fn forward(listener: tokio::net::TcpListener, to: String) {
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let to = to.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

/// While GitHub cannot be reached at all (every connection refused), a job
/// is put back without using its attempts, and no worker claims jobs until
/// the next try is due; once GitHub answers again, the comment is answered
/// on its first counted attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_outage_uses_no_attempts_and_the_comment_is_answered_when_it_ends() {
    let port = common::free_port();
    let mut h = Tester::builder()
        .api_url(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    let c = h.comment("alice", "/help").await;
    let delivery = h.last_delivery();
    // Each try in the outage gives its attempt back, and the waits between
    // tries grow (1 s, then 2 s): after 3.5 s there have been two or three.
    // Then look at the job between two tries.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let job = loop {
        let jobs = h.jobs(&delivery).await;
        assert_eq!(jobs.len(), 1);
        if jobs[0].state == orcoursetrion::JobState::Queued {
            break jobs[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(job.attempts, 0, "an outage used an attempt: {job:?}");
    let error = job.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("could not reach GitHub"), "{error}");
    assert!(h.fake.requests().is_empty(), "nothing reached GitHub");

    // GitHub is back: the job runs at its next try and answers.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the outage's port");
    let fake = h.fake.url();
    forward(listener, fake.trim_start_matches("http://").to_owned());
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    h.settled(&delivery).await;
    let jobs = h.jobs(&delivery).await;
    assert_eq!(
        (jobs[0].state, jobs[0].attempts),
        (orcoursetrion::JobState::Done, 1)
    );
    assert_eq!(h.replies().len(), 1, "{:#?}", h.replies());
}

/// A claim never takes a job of an installation that is running one, so a
/// burst of jobs for that installation wakes no idle worker for a claim that
/// would find nothing (each was a write, and a read of the queue). The job
/// that ends wakes the next, so none of them waits for an idle poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queued_behind_a_running_job_of_their_installation_wake_no_one_and_all_run() {
    const WRITES: &str = "orcoursetrion_store_writes_total";
    let mut h = Tester::builder()
        .lease(Duration::from_secs(60))
        .idle_poll(Duration::from_secs(60))
        .start()
        .await;
    // The first job's first call (its 👀) hangs, so that job keeps running.
    h.fake.inject(
        "POST",
        "/repos/*/*/issues/comments/*/reactions",
        Fault::Latency(Duration::from_millis(1500)),
        1,
    );
    let first = h.comment("alice", "/help").await;
    h.fake
        .wait_for_call(WAIT, "/reactions", "the first job started")
        .await;
    // Let the idle workers, woken by the first delivery, go back to waiting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = h.metric(WRITES).await;
    let mut later = Vec::new();
    for _ in 0..10 {
        later.push(h.comment("alice", "/help").await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let writes = h.metric(WRITES).await - before;
    assert_eq!(writes, 10.0, "one write per delivery and no claim");

    // Every one of them is answered, well before any idle poll.
    for c in std::iter::once(first).chain(later) {
        assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    }
    assert_eq!(h.replies().len(), 11);
}

/// A job whose payload this build cannot read (another version wrote it, or
/// it is damaged) fails on its first attempt, with the reason, and nothing
/// reaches GitHub: retrying cannot make it readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_payload_cannot_be_read_fails_at_once_without_calling_github() {
    let h = Tester::start().await;
    let delivery = orcoursetrion::NewDelivery {
        id: "unreadable".into(),
        event: "issue_comment".into(),
        action: Some("created".into()),
        installation_id: Some(1),
        body: bytes::Bytes::from_static(b"{}"),
        parse_error: None,
    };
    let jobs = vec![orcoursetrion::NewJob {
        kind: orcoursetrion::JobKind::Comment,
        installation_id: Some(1),
        payload: serde_json::json!({ "no such": "field" }),
    }];
    h.store()
        .record_delivery(delivery, jobs)
        .await
        .expect("record");
    h.settled("unreadable").await;
    let job = &h.jobs("unreadable").await[0];
    assert_eq!(job.state, orcoursetrion::JobState::Failed);
    assert_eq!(job.attempts, 1);
    let error = job.last_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("unreadable job payload: "), "{error}");
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());
}
