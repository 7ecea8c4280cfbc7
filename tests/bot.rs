//! End to end: the real server (router, store, workers) in-process, signed
//! webhooks over HTTP, the stateful fake GitHub; assertions on the comments,
//! reactions, repos, teams and hooks the fake ends with.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::db::TestDb;
use common::fake::{FakeGitHub, Fault, BOT_LOGIN};
use common::tester::*;
use orcoursetrion::{sign, JobState};

// Every scenario runs on SQLite and on PostgreSQL.
crate::on_both_backends!(
    multi_thread: [
        help_lists_every_command,
        create_export_repo_from_a_comment,
        create_xml_repo_and_put_team_from_comments,
        rerun_a_studio_course,
        rerun_an_xml_course_copies_without_history_keeps_team_adds_staging_hook,
        release_finds_the_org_and_plan_changes_nothing,
        unauthorised_user_is_refused_with_a_reply_and_no_write,
        unknown_command_gets_did_you_mean_and_help,
        bot_comments_code_blocks_and_quotes_are_ignored,
        edited_comment_runs_only_the_new_command,
        forged_or_missing_signature_is_401_and_nothing_is_stored,
        the_same_delivery_twice_runs_once_and_a_failed_one_runs_again,
        github_5xx_and_secondary_limit_then_success,
        a_permanent_422_ends_confused_with_githubs_message,
        an_existing_repo_is_found_by_the_checks_before_any_write,
        worker_killed_mid_job_resumes_after_restart_without_repeating_a_step,
    ];
    current_thread: [
    ];
);

/// POST /webhook over a raw connection: the head (announcing `length`), as
/// much of `body` as the server takes, then the status line it answered.
async fn raw_post(
    addr: SocketAddr,
    delivery: &str,
    signature: Option<&str>,
    length: usize,
    body: &[u8],
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let sig = signature
        .map(|s| format!("X-Hub-Signature-256: {s}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: localhost\r\nX-GitHub-Event: issue_comment\r\nX-GitHub-Delivery: {delivery}\r\n{sig}Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("write head");
    let _ = conn.write_all(body).await;
    let mut buf = vec![0u8; 256];
    let n = conn.read(&mut buf).await.unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

// ---------------------------------------------------------------- happy paths

async fn help_lists_every_command(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.comment_ok("bob", "/help").await;
    let comments = h.bot_comments();
    assert_eq!(comments.len(), 1, "exactly one reply");
    for spec in orcoursetrion::COMMANDS {
        assert!(comments[0].contains(spec.name), "help misses {}", spec.name);
    }
    // It tells how this installation is set up: its orgs, who may change things.
    assert!(
        comments[0].contains("Studio courses are in `MITx-Studio2LMS`, XML courses in `mitx`"),
        "{}",
        comments[0]
    );
    assert!(comments[0].contains("membership of the team `mitx/course-operators`"));
}

async fn create_export_repo_from_a_comment(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.comment_ok("alice", "Please:\r\n/create-export-repo 6.004r 2018_Spring description=\"Computation Structures\"  \r\n").await;
    let repo = "content-mit-6004r-2018_Spring";
    let r = h.fake.repo(STUDIO, repo).expect("repo created");
    assert_eq!(r.description.as_deref(), Some("Computation Structures"));
    assert!(h.fake.file(STUDIO, repo, "course.xml").is_some());
    let comments = h.bot_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].contains("✅ done"), "{}", comments[0]);
    assert!(
        comments[0].contains(&format!("https://github.example/{STUDIO}/{repo}")),
        "{}",
        comments[0]
    );
    assert!(!comments[0].contains("stagingpw") && !comments[0].contains("prodpw"));
}

async fn create_xml_repo_and_put_team_from_comments(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.comment_ok("alice", "/create-xml-repo 6.004r 2018_Spring members=carol,dave\n/put-team mitx \"TA Team\" read_only=true members=carol").await;
    let repo = "content-mit-6004r-2018_Spring";
    let team = h.fake.team(XML, "content-mit-6004r-2018_spring");
    let team = team.expect("course team");
    let access = team.access(&format!("{XML}/{repo}"));
    assert_eq!(access, (vec!["carol", "dave"], Some("push")));
    assert_eq!(h.fake.hooks(XML, repo).len(), 1);
    assert_eq!(h.fake.hooks(XML, repo)[0].url, STAGING);
    let ta = h.fake.team(XML, "ta-team").expect("ta team");
    assert_eq!(ta.permission, "pull");
    assert_eq!(h.bot_comments().len(), 2, "one status comment per command");
}

async fn rerun_a_studio_course(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.fake.add_repo(STUDIO, "content-mit-6004r-2017_Fall");
    h.fake.add_repo(STUDIO, "content-mit-6004r-2016_Fall");
    h.fake
        .add_hook(STUDIO, "content-mit-6004r-2017_Fall", PRODUCTION);
    h.comment_ok("alice", "/rerun 6.004r 2018_Spring").await;
    assert!(h
        .fake
        .hooks(STUDIO, "content-mit-6004r-2017_Fall")
        .is_empty());
    assert!(h
        .fake
        .repo(STUDIO, "content-mit-6004r-2018_Spring")
        .is_some());
    let runs = h.store().catalog_runs("6.004r").await.expect("catalog");
    let states: Vec<(String, &str)> = runs
        .iter()
        .map(|r| (r.term.clone(), r.state.as_str()))
        .collect();
    assert!(
        states.contains(&("2017_Fall".to_string(), "retired")),
        "{states:?}"
    );
    assert!(
        states.contains(&("2018_Spring".to_string(), "staging")),
        "{states:?}"
    );
    let requests = h
        .store()
        .requests_for_issue("mitx/course-requests", 1)
        .await
        .expect("requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].command, "/rerun 6.004r 2018_Spring");
    assert_eq!(requests[0].state, orcoursetrion::RequestState::Done);
    assert_eq!(requests[0].author, "alice");
    assert!(
        h.bot_comments()[0]
            .contains("removed 1 webhook from MITx-Studio2LMS/content-mit-6004r-2017_Fall"),
        "{:#?}",
        h.bot_comments()
    );
}

async fn rerun_an_xml_course_copies_without_history_keeps_team_adds_staging_hook(db: TestDb) {
    let mut h = Tester::on(db).await;
    let old = "content-mit-6004r-2017_Fall";
    h.fake.add_repo_with_files(
        XML,
        old,
        &[
            ("course.xml", "<course/>\n"),
            ("chapter/1.xml", "<chapter/>\n"),
        ],
    );
    h.fake.add_hook(XML, old, STAGING);
    let team = h.fake.add_team(XML, old, "push");
    h.fake.add_team_repo(XML, &team, XML, old, "push");
    h.fake
        .add_team_repo(XML, "mitx-content-deployment", XML, old, "push");
    h.comment_ok("alice", "/rerun 6.004r 2018_Spring").await;
    let new = "content-mit-6004r-2018_Spring";
    assert!(h.fake.hooks(XML, old).is_empty(), "old hooks removed");
    assert_eq!(h.fake.git_log(XML, new, "main").len(), 1, "history-free");
    assert_eq!(
        h.fake
            .git_file(XML, new, "main", "chapter/1.xml")
            .as_deref(),
        Some("<chapter/>\n")
    );
    let t = h.fake.team(XML, &team).expect("team");
    assert_eq!(
        t.repos.get(&format!("{XML}/{new}")).map(String::as_str),
        Some("push")
    );
    let hooks = h.fake.hooks(XML, new);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, STAGING);
}

async fn release_finds_the_org_and_plan_changes_nothing(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.fake.add_repo(XML, "content-mit-801-2018_Spring");
    h.comment_ok("bob", "/plan /release 8.01 2018_Spring").await;
    h.assert_no_provisioning_writes();
    assert!(
        h.bot_comments()[0].contains("Dry run"),
        "{}",
        h.bot_comments()[0]
    );
    h.comment_ok("alice", "/release 8.01 2018_Spring").await;
    let hooks = h.fake.hooks(XML, "content-mit-801-2018_Spring");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, PRODUCTION);
}

// ---------------------------------------------------------------- who may do what

async fn unauthorised_user_is_refused_with_a_reply_and_no_write(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.comment_confused("bob", "/create-export-repo 6.004r 2018_Spring")
        .await;
    h.assert_no_provisioning_writes();
    let reply = &h.bot_comments()[0];
    assert!(
        reply.contains("@bob") && reply.contains("write access"),
        "{reply}"
    );
    // An operator without write access may.
    h.comment_ok("olivia", "/create-export-repo 6.004r 2018_Spring")
        .await;
}

async fn unknown_command_gets_did_you_mean_and_help(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.comment_confused("alice", "/rerun-stuido 6.004r 2018_Spring 2019_Spring")
        .await;
    let reply = &h.bot_comments()[0];
    assert!(
        reply.contains("rerun-studio") && reply.contains("/help"),
        "{reply}"
    );
}

async fn bot_comments_code_blocks_and_quotes_are_ignored(db: TestDb) {
    let mut h = Tester::on(db).await;
    let id = h
        .fake
        .add_comment(REQ_OWNER, REQ_REPO, 1, BOT_LOGIN, "/help");
    let p = h.payload("created", id, BOT_LOGIN, "Bot", "/help", None);
    assert_eq!(h.deliver("bot-1", &p).await, 202);
    let c2 = h
        .comment(
            "alice",
            "```\n/create-export-repo 6.004r 2018_Spring\n```\n> /help\n",
        )
        .await;
    // No job was stored with either delivery, so nothing will ever answer.
    assert!(h.fake.comment_reactions(REQ_OWNER, REQ_REPO, id).is_empty());
    assert!(h.fake.comment_reactions(REQ_OWNER, REQ_REPO, c2).is_empty());
    assert_eq!(
        h.fake.comments(REQ_OWNER, REQ_REPO, 1).len(),
        2,
        "no reply to either"
    );
    let jobs = h.store().job_counts().await.expect("counts");
    assert_eq!(jobs.values().sum::<i64>(), 0, "{jobs:?}");
}

async fn edited_comment_runs_only_the_new_command(db: TestDb) {
    let mut h = Tester::on(db).await;
    let first = "/create-export-repo 6.004r 2018_Spring";
    let c = h.comment("alice", first).await;
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    let edited = format!("{first}\n/create-export-repo 8.01 2018_Spring");
    let p = h.payload("edited", c, "alice", "User", &edited, Some(first));
    assert_eq!(h.deliver("edit-1", &p).await, 202);
    assert!(
        h.fake
            .wait_until(WAIT, |f| f
                .repo(STUDIO, "content-mit-801-2018_Spring")
                .is_some()
                && f.comments(REQ_OWNER, REQ_REPO, 1).len() >= 3)
            .await,
        "new command ran"
    );
    h.jobs_in("edit-1", JobState::Done).await;
    let creates: Vec<_> = h.fake.calls_where(|c| c.starts_with("POST /orgs/"));
    assert_eq!(
        creates.len(),
        2,
        "the old command did not run again: {creates:?}"
    );
    assert_eq!(h.bot_comments().len(), 2);
}

// ---------------------------------------------------------------- ingress

async fn forged_or_missing_signature_is_401_and_nothing_is_stored(db: TestDb) {
    let h = Tester::on(db).await;
    let body =
        serde_json::to_vec(&h.payload("created", 5, "alice", "User", "/help", None)).expect("json");
    let forged = sign(b"wrong secret", &body);
    assert_eq!(
        h.deliver_raw("f-1", "issue_comment", &body, Some(forged))
            .await
            .status(),
        401
    );
    // Refused before the body is read, so send it raw: a client still
    // streaming the body may see the early close as a broken pipe.
    let line = raw_post(h.server().addr, "f-2", None, body.len(), &body).await;
    assert!(line.contains("401"), "{line}");
    assert_eq!(h.store().delivery_count().await.expect("count"), 0);
    // Malformed JSON with a good signature: stored, no job.
    let junk = b"{not json";
    let resp = h
        .deliver_raw(
            "f-3",
            "issue_comment",
            junk,
            Some(sign(SECRET.as_bytes(), junk)),
        )
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(h.store().delivery_count().await.expect("count"), 1);
    assert_eq!(
        h.store()
            .job_counts()
            .await
            .expect("jobs")
            .values()
            .sum::<i64>(),
        0
    );
    // Over 25 MiB: refused from the announced length before any body is read.
    let line = raw_post(
        h.server().addr,
        "f-4",
        Some("sha256=00"),
        25 * 1024 * 1024 + 10,
        b"",
    )
    .await;
    assert!(line.contains("413"), "{line}");
    assert_eq!(h.store().delivery_count().await.expect("count"), 1);
    let health = h.http.get(h.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = h.http.get(h.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let metrics = h.metrics().await;
    assert!(metrics.contains("orcoursetrion_"), "{metrics}");
}

async fn the_same_delivery_twice_runs_once_and_a_failed_one_runs_again(db: TestDb) {
    let h = Tester::on(db).await;
    let body = "/create-export-repo 6.004r 2018_Spring";
    let c = h.fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", body);
    let p = h.payload("created", c, "alice", "User", body, None);
    assert_eq!(h.deliver("dup-1", &p).await, 202);
    assert_eq!(h.deliver("dup-1", &p).await, 202);
    h.finished(c).await;
    h.jobs_in("dup-1", JobState::Done).await;
    let creates = |f: &FakeGitHub| f.calls_where(|c| c.starts_with("POST /orgs/")).len();
    assert_eq!(creates(&h.fake), 1);

    // A delivery whose job failed (GitHub refused the team grant) runs again
    // when redelivered, and picks up where it stopped.
    let body2 = "/create-export-repo 8.01 2018_Spring";
    let c2 = h.fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", body2);
    h.fake
        .inject("PUT", "/orgs/*/teams/*/repos/**", Fault::Status(422), 1);
    let p2 = h.payload("created", c2, "alice", "User", body2, None);
    assert_eq!(h.deliver("fail-1", &p2).await, 202);
    assert_eq!(h.finished(c2).await, vec!["eyes", "confused"]);
    // GitHub redelivers later; wait until the job is recorded as failed.
    h.jobs_in("fail-1", JobState::Failed).await;
    assert_eq!(h.deliver("fail-1", &p2).await, 202);
    assert!(
        h.fake
            .wait_until(WAIT, |f| f
                .comment_reactions(REQ_OWNER, REQ_REPO, c2)
                .contains(&"rocket".to_string()))
            .await,
        "{:#?}",
        h.bot_comments()
    );
    assert_eq!(
        creates(&h.fake),
        2,
        "the repo was not created a second time"
    );
    let repo = "content-mit-801-2018_Spring";
    assert!(h.fake.file(STUDIO, repo, "course.xml").is_some());
}

// ---------------------------------------------------------------- GitHub trouble

async fn github_5xx_and_secondary_limit_then_success(db: TestDb) {
    let mut h = Tester::on(db).await;
    h.fake
        .inject("PUT", "/orgs/*/teams/*/repos/**", Fault::Status(502), 1);
    h.fake.inject(
        "PUT",
        "/repos/*/*/contents/**",
        Fault::SecondaryLimit {
            retry_after: Some(1),
        },
        1,
    );
    h.comment_ok("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    let repo = "content-mit-6004r-2018_Spring";
    assert!(h.fake.file(STUDIO, repo, ".gitignore").is_some());
}

async fn a_permanent_422_ends_confused_with_githubs_message(db: TestDb) {
    let mut h = Tester::on(db).await;
    // A refusal the checks cannot foresee.
    h.fake.inject(
        "POST",
        "/orgs/*/repos",
        Fault::Message(422, "Repository creation failed.".into()),
        5,
    );
    h.comment_confused("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    let reply = &h.bot_comments()[0];
    assert!(reply.contains("Repository creation failed."), "{reply}");
    assert!(reply.contains("stopped at step 1 of 4"), "{reply}");
    let posts = h.fake.calls_where(|c| c.starts_with("POST /orgs/")).len();
    assert_eq!(posts, 1, "a 422 is not retried");
}

async fn an_existing_repo_is_found_by_the_checks_before_any_write(db: TestDb) {
    let mut h = Tester::on(db).await;
    // In the other org: a run exists there under the same name.
    h.fake.add_repo(XML, "content-mit-6004r-2018_Spring");
    h.comment_confused("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    h.assert_no_provisioning_writes();
    insta::assert_snapshot!("existing_repo_checks_reply", h.replies()[0]);
}

async fn worker_killed_mid_job_resumes_after_restart_without_repeating_a_step(db: TestDb) {
    let mut h = Tester::on(db).await;
    let c = h.kill_while_course_xml_is_written().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.restart().await;
    assert_eq!(
        h.finished(c).await,
        vec!["eyes", "rocket"],
        "{:#?}",
        h.bot_comments()
    );
    // Finished steps are never sent again. The step in flight at the kill is
    // checked on GitHub first (a GET of course.xml) and sent again only if
    // the killed attempt never landed (here the kill cut the connection
    // before the fake handled it).
    let writes = h.provisioning_writes();
    let course_xml = "PUT /repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring/contents/course.xml";
    let mut others: Vec<_> = writes
        .iter()
        .filter(|w| *w != course_xml)
        .cloned()
        .collect();
    let n = others.len();
    others.sort();
    others.dedup();
    assert_eq!(others.len(), n, "a finished step was repeated: {writes:?}");
    assert_eq!(n, 3, "{writes:?}");
    let calls = h.fake.calls();
    let puts: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == course_xml)
        .map(|(i, _)| i)
        .collect();
    if puts.len() == 2 {
        let reconciled = calls[puts[0]..puts[1]].iter().any(|c| {
            c.starts_with(
                "GET /repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring/contents/course.xml",
            )
        });
        assert!(
            reconciled,
            "the in-flight step was redone without checking: {calls:?}"
        );
    }
    assert_eq!(
        h.fake
            .file(STUDIO, "content-mit-6004r-2018_Spring", "course.xml")
            .as_deref(),
        Some("<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>\n")
    );
    assert_eq!(
        h.bot_comments().len(),
        1,
        "the status comment was edited, not posted again"
    );
    assert!(h.bot_comments()[0].contains("✅ done"));
}

/// The bot's own conversation for a one-command comment, on a warm process:
/// 👀 is the first call after the claim, and the whole answer costs at
/// most 4 calls (the installation token and provisioning calls aside).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_command_comment_costs_at_most_four_calls_and_eyes_come_first() {
    let mut h = Tester::start().await;
    // Warm: the installation is known and its token cached.
    h.comment_ok("alice", "/help").await;
    h.fake.clear_log();
    h.comment_ok("alice", "/help").await;
    let calls = h.fake.calls();
    assert!(
        calls
            .first()
            .is_some_and(|c| c.starts_with("POST") && c.contains("/reactions")),
        "{calls:#?}"
    );
    assert!(calls.len() <= 4, "{} calls: {calls:#?}", calls.len());
}
