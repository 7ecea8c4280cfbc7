//! Every input answered, within bounds, end to end: permanent GitHub errors
//! end at once while 5xx are retried, deliveries that could not run are
//! refused at the door, names GitHub would refuse never reach it, look-alike
//! commands get a suggestion, secrets in GitHub's text are redacted, and
//! nobody can make the bot post without limit.

mod common;

use common::fake::{Fault, BOT_LOGIN};
use common::tester::*;
use orcoursetrion::{sign, JobState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_4xx_on_a_reply_ends_the_job_at_once_and_a_502_is_retried() {
    let mut h = Tester::start().await;
    // GitHub refuses every status comment for good: nothing can be answered.
    h.fake.inject(
        "POST",
        "/repos/*/*/issues/1/comments",
        Fault::Status(404),
        100,
    );
    let c = h.comment("alice", "/help").await;
    let jobs = h.jobs_in(&h.last_delivery(), JobState::Failed).await;
    assert_eq!(jobs[0].attempts, 1, "a 404 is final: {:?}", jobs[0]);
    let posts = h
        .fake
        .calls_where(|c| c.starts_with("POST /repos/mitx/course-requests/issues/1/comments"))
        .len();
    assert_eq!(posts, 1, "no retry of a 404");
    assert!(!h
        .fake
        .comment_reactions(REQ_OWNER, REQ_REPO, c)
        .contains(&"rocket".to_string()));
    // A 502 on the same call is retried, and the answer gets through.
    h.fake.clear_faults();
    h.fake.inject(
        "POST",
        "/repos/*/*/issues/1/comments",
        Fault::Status(502),
        1,
    );
    h.comment_ok("alice", "/help").await;
    assert_eq!(h.bot_comments().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_without_an_installation_is_refused_at_ingress_and_counted() {
    let h = Tester::start().await;
    for (n, installation) in [serde_json::Value::Null, serde_json::json!({"id": -1})]
        .into_iter()
        .enumerate()
    {
        let mut p = h.payload("created", 50 + n as u64, "alice", "User", "/help", None);
        p["installation"] = installation;
        assert_eq!(h.deliver(&format!("no-inst-{n}"), &p).await, 202);
        assert!(h.jobs(&format!("no-inst-{n}")).await.is_empty());
    }
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("orcoursetrion_webhook_refused_jobs_total{reason=\"no_installation\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repo_name_over_100_characters_is_refused_before_any_call() {
    let mut h = Tester::start().await;
    let course = "c".repeat(64);
    let term = "t".repeat(32);
    let c = h
        .comment("alice", &format!("/create-xml-repo {course} {term}"))
        .await;
    assert_eq!(h.finished(c).await, vec!["eyes", "confused"]);
    h.assert_no_provisioning_writes();
    let reply = &h.bot_comments()[0];
    assert!(reply.contains("repository name"), "{reply}");
    assert!(reply.contains("1-100 characters"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_alike_command_gets_its_suggestion_and_runs_nothing() {
    let mut h = Tester::start().await;
    // A Cyrillic `с` in place of the Latin `c`.
    h.comment_confused("alice", "/сreate-xml-repo 6.009 2018_Spring")
        .await;
    let reply = &h.bot_comments()[0];
    assert!(
        reply.contains("did you mean `/create-xml-repo`")
            || reply.contains("Did you mean `/create-xml-repo`"),
        "{reply}"
    );
    assert!(h.provisioning_writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_password_in_githubs_error_text_is_redacted_in_the_reply_and_the_database() {
    let mut h = Tester::start().await;
    h.fake.inject(
        "POST",
        "/repos/*/*/hooks",
        Fault::Message(
            422,
            format!("Validation Failed: hook {STAGING} is not allowed here"),
        ),
        10,
    );
    h.comment_confused("alice", "/create-xml-repo 6.004r 2018_Spring")
        .await;
    let reply = &h.bot_comments()[0];
    assert!(reply.contains("is not allowed here"), "{reply}");
    assert!(!reply.contains("stagingpw"), "{reply}");
    assert!(reply.contains("***"), "{reply}");
    let jobs = h.jobs(&h.last_delivery()).await;
    let stored = format!("{:?}", jobs);
    assert!(stored.contains("is not allowed here"), "{stored}");
    assert!(!stored.contains("stagingpw"), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_access_gets_one_answer_per_issue_per_hour() {
    let mut h = Tester::start().await;
    let body = vec!["/help"; 100].join("\n");
    let c = h.comment("bob", &body).await;
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    assert_eq!(h.bot_comments().len(), 1, "one answer for 100 commands");
    for n in 0..3 {
        let c = h.comment("bob", "/help").await;
        h.jobs_in(&h.last_delivery(), JobState::Done).await;
        assert_eq!(
            h.fake.comment_reactions(REQ_OWNER, REQ_REPO, c),
            vec!["eyes"],
            "comment {n}: seen, not answered"
        );
    }
    assert_eq!(h.bot_comments().len(), 1);
    // Someone who may write is answered as usual.
    h.comment_ok("alice", "/help").await;
    assert_eq!(h.bot_comments().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_commands_get_ten_answers_and_one_refusal() {
    let mut h = Tester::start().await;
    let body = vec!["/help release"; 50].join("\n");
    let c = h.comment("alice", &body).await;
    assert_eq!(h.finished(c).await, vec!["eyes", "confused"]);
    let replies = h.bot_comments();
    assert_eq!(replies.len(), 11, "{replies:#?}");
    assert!(
        replies[10].contains("holds 50 commands; at most 10 run"),
        "{}",
        replies[10]
    );
    let jobs = h.jobs_in(&h.last_delivery(), JobState::Done).await;
    assert_eq!(jobs.len(), 1, "a user's mistake is not a failed job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_kb_command_is_answered_within_githubs_comment_limit() {
    let mut h = Tester::start().await;
    let description = "d".repeat(64 * 1024);
    let c = h
        .comment(
            "alice",
            &format!("/create-export-repo 6.004r 2018_Spring description=\"{description}\""),
        )
        .await;
    let reactions = h.finished(c).await;
    for b in h.bot_comments() {
        assert!(
            b.chars().count() <= 65_536,
            "{} characters",
            b.chars().count()
        );
    }
    assert_eq!(reactions, vec!["eyes", "rocket"], "{:?}", h.replies());
    assert!(h.replies()[0].contains("shortened to fit in a GitHub comment"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_never_count_as_users() {
    let h = Tester::start().await;
    let id = h
        .fake
        .add_comment(REQ_OWNER, REQ_REPO, 1, BOT_LOGIN, "/help");
    let p = h.payload("created", id, BOT_LOGIN, "Bot", "/help", None);
    let body = serde_json::to_vec(&p).expect("json");
    let resp = h
        .deliver_raw(
            "bot-x",
            "issue_comment",
            &body,
            Some(sign(SECRET.as_bytes(), &body)),
        )
        .await;
    assert_eq!(resp.status(), 202);
    assert!(h.jobs("bot-x").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_is_answered_while_another_users_rerun_runs() {
    let mut h = Tester::start().await;
    let old = "content-mit-6004r-2019_Spring";
    h.fake.add_repo(STUDIO, old);
    // The rerun's .gitignore takes a long while.
    h.fake.inject(
        "PUT",
        "/repos/*/*/contents/.gitignore",
        Fault::Latency(std::time::Duration::from_secs(4)),
        1,
    );
    let rerun = h.comment("alice", "/rerun 6.004r 2020_Spring").await;
    h.fake
        .wait_for_call(WAIT, "/contents/.gitignore", "the rerun is under way")
        .await;
    h.comment_ok("bob", "/help").await;
    // The rerun is still running when /help is answered.
    let rerun_reactions = h.fake.comment_reactions(REQ_OWNER, REQ_REPO, rerun);
    assert_eq!(rerun_reactions, vec!["eyes"], "/help waited for the rerun");
    assert_eq!(h.finished(rerun).await, vec!["eyes", "rocket"]);
}
