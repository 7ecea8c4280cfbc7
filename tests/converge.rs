//! Commands converge: a command that stopped halfway is finished by sending
//! it again (a new comment, an edit or `/retry`). The repo it made is
//! adopted, the steps in place are skipped, the missing ones run, and a repo
//! made by hand is never adopted. Also: edits keep the replies and the
//! reactions true, and `/add-hook` adds what a half-done create left out.

mod common;

use common::fake::Fault;
use common::tester::*;

const NEW: &str = "content-mit-1801-2019_Spring";
const CREATE: &str = "/create-xml-repo 18.01 2019_Spring members=carol,dave";

/// A reply with its "took N s" made stable for a snapshot.
fn without_duration(reply: &str) -> String {
    match reply.find(" · took ") {
        Some(i) => {
            let end = reply[i..].find("</sub>").map_or(reply.len(), |j| i + j);
            format!("{} · took …{}", &reply[..i], &reply[end..])
        }
        None => reply.to_string(),
    }
}

/// A create whose staging hook keeps failing (a persistent 502): the repo,
/// the deploy team and the course team are made, the hook is not.
async fn half_done_create(h: &mut Tester) -> u64 {
    h.fake.inject(
        "POST",
        &format!("/repos/*/{NEW}/hooks"),
        Fault::Status(502),
        1000,
    );
    let c = h.comment_confused("alice", CREATE).await;
    h.fake.clear_faults();
    assert!(h.fake.repo(XML, NEW).is_some());
    assert!(h.hook_urls(XML, NEW).is_empty());
    h.assert_reply_has("❌ stopped at step 4 of 4");
    h.assert_reply_has("3 steps done");
    h.assert_reply_has("comment `/retry`");
    c
}

/// What a finished create leaves: one repo, one staging hook, the members.
fn assert_converged(h: &Tester) {
    let repos = h.fake.repo_names(XML, |n| n.contains("1801"));
    assert_eq!(repos, vec![NEW.to_string()]);
    assert_eq!(h.hook_urls(XML, NEW), vec![STAGING.to_string()]);
    let team = h.fake.team(XML, "content-mit-1801-2019_spring");
    let team = team.expect("course team");
    let access = team.access(&format!("{XML}/{NEW}"));
    assert_eq!(access, (vec!["carol", "dave"], Some("push")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_done_create_is_finished_by_retry() {
    let mut h = Tester::start().await;
    half_done_create(&mut h).await;
    h.fake.clear_log();
    h.comment_ok("alice", "/retry").await;
    assert_converged(&h);
    // Only the missing write was made again: no repo or team was created.
    let writes = h.provisioning_writes();
    assert!(
        !writes.iter().any(|w| w.starts_with("POST /orgs/")),
        "{writes:?}"
    );
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.starts_with("POST /repos/"))
            .count(),
        1,
        "{writes:?}"
    );
    let reply = h.last_reply();
    insta::assert_snapshot!(without_duration(&reply));
    // The request is recorded as the command it ran, now done.
    let requests = h
        .store()
        .requests_for_issue("mitx/course-requests", 1)
        .await
        .expect("requests");
    let last = requests.last().expect("a request");
    assert_eq!(last.command, CREATE);
    assert_eq!(last.state, orcoursetrion::RequestState::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_done_create_is_finished_by_the_same_command_in_a_new_comment() {
    let mut h = Tester::start().await;
    half_done_create(&mut h).await;
    h.comment_ok("alice", CREATE).await;
    assert_converged(&h);
    h.assert_reply_has("in place, made earlier by this bot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repo_made_by_hand_is_never_adopted() {
    let mut h = Tester::start().await;
    h.fake.add_repo(XML, NEW);
    h.comment_confused("alice", CREATE).await;
    h.assert_no_writes();
    h.assert_reply_has(&format!("{XML}/{NEW} already exists"));
    // Nothing failed, so there is nothing to retry.
    h.comment_confused("alice", "/retry").await;
    h.assert_reply_has("found nothing to retry");
    h.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_hook_adds_the_missing_staging_hook_once() {
    let mut h = Tester::start().await;
    h.fake.add_repo(XML, NEW);
    h.comment_ok("alice", "/add-hook 18.01 2019_Spring staging")
        .await;
    assert_eq!(h.hook_urls(XML, NEW), vec![STAGING.to_string()]);
    // Again: already so, and no write.
    h.fake.clear_log();
    h.comment_ok("alice", "/add-hook 18.01 2019_Spring staging")
        .await;
    h.assert_no_writes();
    h.assert_reply_has("✅ already done");
    // A term that is not there lists the runs that are.
    h.comment_confused("alice", "/add-hook 18.01 2018_Fall staging")
        .await;
    h.assert_reply_has("the runs of 18.01 are `2019_Spring` (xml)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_replies_and_reactions_true() {
    let mut h = Tester::start().await;
    h.fake.add_repo(XML, NEW);
    let first = "/add-hook 18.01 2019_Spring production\n/add-hook 18.01 2017_Fall staging";
    let c = h.comment_confused("alice", first).await;
    assert_eq!(h.bot_comments().len(), 2);
    // The edit fixes the mistaken term: the new command runs, the reply to
    // the old one says it was replaced, and 😕 gives way to 🚀.
    let fixed = "/add-hook 18.01 2019_Spring production\n/add-hook 18.01 2019_Spring staging";
    h.edit(c, "alice", fixed).await;
    assert_eq!(
        h.fake.comment_reactions(REQ_OWNER, REQ_REPO, c),
        vec!["eyes", "rocket"]
    );
    assert_eq!(
        h.hook_urls(XML, NEW),
        vec![PRODUCTION.to_string(), STAGING.to_string()]
    );
    let replies = h.replies();
    assert_eq!(replies.len(), 3, "{replies:#?}");
    assert!(
        replies[1]
            .contains("An edit replaced this command with `/add-hook 18.01 2019_Spring staging`"),
        "{}",
        replies[1]
    );
    assert!(
        replies[1].contains("no repo for 18.01 2017_Fall"),
        "the old answer stays"
    );
    assert!(!replies[0].contains("An edit"), "{}", replies[0]);
    // Removing a command only tells its reply; nothing runs.
    h.fake.clear_log();
    h.edit(c, "alice", "/add-hook 18.01 2019_Spring production")
        .await;
    h.assert_no_writes();
    let replies = h.replies();
    assert!(
        replies[2].contains("An edit removed this command from the comment"),
        "{}",
        replies[2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_team_on_an_existing_team_makes_four_calls_at_most() {
    let mut h = Tester::start().await;
    let slug = h.fake.add_team(XML, "6.004 staff", "push");
    h.fake.add_team_member(XML, &slug, "carol");
    h.fake.clear_log();
    h.comment_ok("alice", "/put-team mitx \"6.004 staff\" members=dave")
        .await;
    let team = h.fake.team(XML, &slug).expect("team");
    assert_eq!(team.members, vec!["dave"]);
    let calls: Vec<String> = h
        .fake
        .calls_where(|c| c.contains("/teams") && !c.contains("course-operators"));
    assert!(calls.len() <= 4, "{calls:#?}");
    h.assert_reply_has("updated team \"6.004 staff\" in mitx");
}
