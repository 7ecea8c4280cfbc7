//! Course requests through the issue form, end to end: signed `issues`
//! deliveries to the real server, the fake GitHub behind it, and what the
//! issue ends with (one validation comment, a label, the repo, the command's
//! status comment and reactions).

mod common;

use common::tester::{Tester, REQ_OWNER, REQ_REPO, XML};

/// What GitHub writes for a field left empty.
const NO_RESPONSE: &str = "_No response_";

/// The answers of the shipped form. `Form::of` is a request for an XML run
/// of 6.004r with every other field left empty.
#[derive(Clone, Copy)]
struct Form<'a> {
    request: &'a str,
    kind: &'a str,
    course: &'a str,
    term: &'a str,
    new_term: &'a str,
    members: &'a str,
}

impl<'a> Form<'a> {
    fn of(request: &'a str) -> Self {
        Form {
            request,
            kind: "xml",
            course: "6.004r",
            term: NO_RESPONSE,
            new_term: NO_RESPONSE,
            members: NO_RESPONSE,
        }
    }

    /// The issue body, as GitHub renders the form.
    fn body(self) -> String {
        [
            ("Request", self.request),
            ("Kind of course", self.kind),
            ("Course", self.course),
            ("Term", self.term),
            ("New term", self.new_term),
            ("Title", "Computation Structures"),
            ("Team members", self.members),
            ("Anything else", NO_RESPONSE),
            (
                "Confirmation",
                "- [x] The course team has agreed to this request",
            ),
        ]
        .iter()
        .map(|(l, v)| format!("### {l}\n\n{v}"))
        .collect::<Vec<_>>()
        .join("\n\n")
    }
}

const REPO: &str = "content-mit-6004r-2018_Spring";

/// A shop where approval is required, and aaron approves.
async fn with_approval() -> Tester {
    Tester::builder()
        .var("ORC_REQUIRE_APPROVAL", "true")
        .var("ORC_APPROVERS_TEAM", "mitx/course-approvers")
        .seed(|f| {
            let team = f.add_team(XML, "course-approvers", "pull");
            f.add_team_member(XML, &team, "aaron");
        })
        .start()
        .await
}

/// The form of a new XML run of 6.004r.
fn new_xml(term: &str, members: &str) -> String {
    Form {
        term,
        members,
        ..Form::of("New course")
    }
    .body()
}

fn repo_creates(t: &Tester) -> usize {
    t.fake
        .calls_where(|c| c.starts_with("POST /orgs/mitx/repos"))
        .len()
}

#[tokio::test]
async fn a_valid_new_course_form_is_checked_labelled_and_run() {
    let mut t = Tester::start().await;
    let body = new_xml("2018_Spring", "@carol\ndave");
    let replies = t
        .open_request_until(10, "alice", &body, "request: done")
        .await;
    // The validation, the command's status, and the checklist of what is left.
    assert_eq!(replies.len(), 3, "{replies:#?}");
    assert!(replies[2].starts_with("**What is left for a person**"));
    insta::assert_snapshot!("valid_new_course_validation", replies[0]);
    assert!(replies[1].contains("/create-xml-repo"), "{}", replies[1]);
    assert!(t.fake.repo(XML, REPO).is_some(), "the repo was created");
    assert_eq!(repo_creates(&t), 1);
    assert_eq!(
        t.fake.issue_reactions(REQ_OWNER, REQ_REPO, 10),
        ["eyes", "rocket"]
    );
    assert_eq!(
        t.fake.issue_labels(REQ_OWNER, REQ_REPO, 10),
        ["request: done"]
    );
    // The label was made with the bot's colour and description.
    let done = t
        .fake
        .labels(REQ_OWNER, REQ_REPO)
        .into_iter()
        .find(|l| l.name == "request: done")
        .expect("label");
    assert_eq!(done.color, "1d76db");
}

#[tokio::test]
async fn an_invalid_form_gets_every_reason_and_writes_nothing() {
    let mut t = Tester::start().await;
    let body = new_xml("Spring 2018", "carol, zed");
    let replies = t
        .open_request_until(11, "alice", &body, "request: invalid")
        .await;
    assert_eq!(replies.len(), 1, "{replies:#?}");
    insta::assert_snapshot!("invalid_term_validation", replies[0]);
    assert_eq!(repo_creates(&t), 0);

    // A good term but an unknown member: the checks on GitHub say which.
    let body = new_xml("2018_Spring", "carol, zed");
    t.open_request_until(12, "alice", &body, "request: invalid")
        .await;
    insta::assert_snapshot!("unknown_member_validation", t.issue_replies(12)[0]);
    assert_eq!(repo_creates(&t), 0);
}

#[tokio::test]
async fn a_run_that_exists_already_is_refused() {
    let mut t = Tester::builder()
        .seed(|f| {
            f.add_repo(XML, REPO);
        })
        .start()
        .await;
    let body = new_xml("2018_Spring", "carol");
    t.open_request_until(13, "alice", &body, "request: invalid")
        .await;
    let reply = &t.issue_replies(13)[0];
    assert!(reply.contains("✗"), "{reply}");
    assert!(reply.contains(REPO), "{reply}");
    assert_eq!(repo_creates(&t), 0);
}

#[tokio::test]
async fn an_edit_that_fixes_the_form_edits_the_same_comment_and_runs() {
    let mut t = Tester::start().await;
    let bad = new_xml("Spring 2018", "carol");
    t.open_request_until(14, "alice", &bad, "request: invalid")
        .await;
    let good = new_xml("2018_Spring", "carol");
    t.edit_request(14, "alice", &good).await;
    t.wait_label(14, "request: done").await;
    let replies = t.issue_replies(14);
    assert_eq!(
        replies.len(),
        3,
        "one validation comment, edited; one status; one checklist: {replies:#?}"
    );
    assert!(replies[0].contains("✓ valid"), "{}", replies[0]);
    assert_eq!(
        t.fake.issue_labels(REQ_OWNER, REQ_REPO, 14),
        ["request: done"]
    );
    assert_eq!(repo_creates(&t), 1);

    // An edit after it ran (here: only the notes) runs nothing again.
    let notes = good.replace(
        "### Anything else\n\n_No response_",
        "### Anything else\n\nThanks!",
    );
    t.edit_request(14, "alice", &notes).await;
    let replies = t.issue_replies(14);
    assert_eq!(replies.len(), 3, "{replies:#?}");
    insta::assert_snapshot!("edited_after_it_ran", replies[0]);
    assert_eq!(repo_creates(&t), 1);
}

#[tokio::test]
async fn a_redelivered_issues_delivery_runs_nothing_twice() {
    let mut t = Tester::start().await;
    let body = new_xml("2018_Spring", "carol");
    let delivery = t.open_request(15, "alice", &body).await;
    t.wait_label(15, "request: done").await;
    let payload = t.issue_payload("opened", 15, "alice", None);
    // The same delivery id again (a redelivery), and the same event under a
    // new id (GitHub sent it twice): neither runs the command again.
    assert_eq!(t.deliver_event(&delivery, "issues", &payload).await, 202);
    assert_eq!(t.deliver_event("another-id", "issues", &payload).await, 202);
    t.settled("another-id").await;
    assert_eq!(repo_creates(&t), 1);
    assert_eq!(t.issue_replies(15).len(), 3);
}

#[tokio::test]
async fn a_rerun_and_a_release_form_become_their_commands() {
    let mut t = Tester::start().await;
    let body = new_xml("2018_Spring", "carol");
    t.open_request_until(16, "alice", &body, "request: done")
        .await;
    let rerun = Form {
        term: "2018_Spring",
        new_term: "2019_Spring",
        ..Form::of("Rerun")
    }
    .body();
    t.open_request_until(17, "alice", &rerun, "request: done")
        .await;
    assert!(t.issue_replies(17)[0].contains("\n/rerun 6.004r 2019_Spring from 2018_Spring\n"));
    assert!(t.fake.repo(XML, "content-mit-6004r-2019_Spring").is_some());
    let release = Form {
        kind: "None",
        term: "2019_Spring",
        ..Form::of("Release to production")
    }
    .body();
    t.open_request_until(18, "alice", &release, "request: done")
        .await;
    assert!(t.issue_replies(18)[0].contains("\n/release 6.004r 2019_Spring\n"));
}

#[tokio::test]
async fn without_approval_a_request_its_author_may_not_run_waits_for_an_operator() {
    let mut t = Tester::start().await;
    let body = new_xml("2018_Spring", "carol");
    // bob may only read the requests repo.
    t.open_request_until(19, "bob", &body, "request: pending approval")
        .await;
    insta::assert_snapshot!("waits_for_an_operator", t.issue_replies(19)[0]);
    assert_eq!(repo_creates(&t), 0);
    // bob may not approve his own request; carol is no operator.
    t.comment_on(19, "bob", "/approve").await;
    insta::assert_snapshot!("own_approval_refused", t.last_reply_on(19));
    t.comment_on(19, "carol", "/approve").await;
    insta::assert_snapshot!("outsider_approval_refused", t.last_reply_on(19));
    assert_eq!(repo_creates(&t), 0);
    // olivia is an operator.
    t.comment_on(19, "olivia", "/approve").await;
    t.wait_label(19, "request: done").await;
    assert_eq!(repo_creates(&t), 1);
    let replies = t.issue_replies(19);
    let approved = replies
        .iter()
        .find(|r| r.starts_with("👍"))
        .expect("approval reply");
    insta::assert_snapshot!("approved_reply", approved);
    t.comment_on(19, "olivia", "/status").await;
    insta::assert_snapshot!("status_with_a_form", comment_ids_out(&t.last_reply_on(19)));
    let status = replies
        .iter()
        .find(|r| r.contains("✅ done"))
        .expect("status comment");
    assert!(
        status.contains("asked by @bob, approved by @olivia"),
        "{status}"
    );
    assert_eq!(
        t.fake.issue_labels(REQ_OWNER, REQ_REPO, 19),
        ["request: done"]
    );
}

#[tokio::test]
async fn with_approval_required_an_approver_lets_it_run_and_cancel_withdraws() {
    let mut t = with_approval().await;
    // alice may write, yet her request waits: approval is required.
    let body = new_xml("2018_Spring", "carol");
    t.open_request_until(40, "alice", &body, "request: pending approval")
        .await;
    t.comment_on(40, "alice", "/approve").await;
    assert!(t.last_reply_on(40).contains("someone else must approve"));
    t.comment_on(40, "olivia", "/approve").await;
    assert!(t
        .last_reply_on(40)
        .contains("only members of @mitx/course-approvers"));
    assert_eq!(repo_creates(&t), 0);
    t.comment_on(40, "aaron", "/approve").await;
    t.wait_label(40, "request: done").await;
    assert_eq!(repo_creates(&t), 1);

    // A second request, cancelled by its author.
    let other = Form {
        kind: "studio",
        course: "8.01",
        term: "2018_Fall",
        ..Form::of("New course")
    }
    .body();
    t.open_request_until(41, "alice", &other, "request: pending approval")
        .await;
    t.comment_on(41, "bob", "/cancel").await;
    assert!(t
        .last_reply_on(41)
        .contains("only the request's author or an operator"));
    t.comment_on(41, "alice", "/cancel").await;
    insta::assert_snapshot!("cancelled_reply", t.last_reply_on(41));
    assert!(t.fake.issue_labels(REQ_OWNER, REQ_REPO, 41).is_empty());
    t.comment_on(41, "aaron", "/approve").await;
    assert!(t.last_reply_on(41).contains("Nothing on this issue waits"));
    assert!(t
        .fake
        .repo("MITx-Studio2LMS", "content-mit-801-2018_Fall")
        .is_none());

    // A mutating comment from outside the operators team waits too.
    let c = t
        .comment_on(1, "alice", "/create-export-repo 8.02 2018_Fall")
        .await;
    insta::assert_snapshot!("command_waits", t.last_reply());
    assert_eq!(t.fake.comment_reactions(REQ_OWNER, REQ_REPO, c), ["eyes"]);
    t.comment_on(1, "aaron", "/approve").await;
    t.fake
        .wait_until(common::tester::WAIT, |f| {
            f.repo("MITx-Studio2LMS", "content-mit-802-2018_Fall")
                .is_some()
        })
        .await;
    t.finished(c).await;
    assert!(t.replies().iter().any(|r| r.contains("approved by @aaron")));
}

#[tokio::test]
async fn an_edit_after_approval_but_before_the_run_drops_the_approval() {
    let mut t = with_approval().await;
    let body = new_xml("2018_Spring", "carol");
    t.open_request_until(42, "alice", &body, "request: pending approval")
        .await;
    // An operator's long command holds the installation, so the approved
    // run waits in the queue behind it.
    t.fake.inject(
        "POST",
        "/orgs/mitx/repos",
        common::fake::Fault::Latency(std::time::Duration::from_millis(1500)),
        1,
    );
    let slow = t.fake.add_comment(
        REQ_OWNER,
        REQ_REPO,
        1,
        "olivia",
        "/create-xml-repo 9.01 2018_Fall",
    );
    let payload = t.payload(
        "created",
        slow,
        "olivia",
        "User",
        "/create-xml-repo 9.01 2018_Fall",
        None,
    );
    assert_eq!(t.deliver("slow", &payload).await, 202);
    t.fake
        .wait_until(common::tester::WAIT, |f| {
            f.calls()
                .iter()
                .any(|c| c.starts_with("POST /orgs/mitx/repos"))
        })
        .await;
    t.comment_on(42, "aaron", "/approve").await;
    let edited = body.replace("carol", "carol\ndave");
    t.edit_request(42, "alice", &edited).await;
    t.settled("slow").await;
    // The approved run found the form changed and did nothing.
    let settled = t.fake.wait_until(common::tester::WAIT, |f| {
        f.issue_labels(REQ_OWNER, REQ_REPO, 42) == ["request: pending approval"]
    });
    assert!(
        settled.await,
        "{:?}",
        t.fake.issue_labels(REQ_OWNER, REQ_REPO, 42)
    );
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(
        t.fake.repo(XML, REPO).is_none(),
        "the approved run did not run"
    );
    let check = &t.issue_replies(42)[0];
    assert!(
        check.contains("The edit dropped the approval by @aaron"),
        "{check}"
    );
    // Approved again, it runs.
    t.comment_on(42, "aaron", "/approve").await;
    t.wait_label(42, "request: done").await;
    assert!(t.fake.repo(XML, REPO).is_some());
}

#[tokio::test]
async fn bodies_that_are_no_form_and_pull_requests_are_left_alone() {
    let mut t = Tester::start().await;
    t.open_request(20, "alice", "### Notes\n\nNot our form.")
        .await;
    assert!(t.issue_replies(20).is_empty());
    assert!(t.fake.issue_labels(REQ_OWNER, REQ_REPO, 20).is_empty());
    t.fake.add_issue(
        REQ_OWNER,
        REQ_REPO,
        21,
        "A plain issue",
        "Please help",
        "alice",
    );
    let payload = t.issue_payload("opened", 21, "alice", None);
    assert_eq!(t.deliver_event("plain", "issues", &payload).await, 202);
    let jobs = t.jobs("plain").await;
    assert!(jobs.is_empty(), "a body that is not a form implies no job");
}

#[tokio::test]
async fn the_repos_own_template_labels_are_read() {
    let mut t = Tester::builder()
        .seed(|f| {
            let yaml =
                orcoursetrion_template().replace("label: Course\n", "label: Course number\n");
            f.put_file(
                REQ_OWNER,
                REQ_REPO,
                ".github/ISSUE_TEMPLATE/course-request.yml",
                &yaml,
            );
        })
        .start()
        .await;
    let body = new_xml("2018_Spring", "carol").replace("### Course\n", "### Course number\n");
    t.open_request_until(22, "alice", &body, "request: done")
        .await;
    assert!(t.issue_replies(22)[0].contains("| Course number | `6.004r` |"));
}

fn orcoursetrion_template() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/issue-forms/course-request.yml"
    ))
    .expect("the shipped form")
}

#[tokio::test]
async fn status_and_courses_answer_from_the_store_and_the_catalog() {
    let mut t = Tester::start().await;
    // Issue 1 holds a command run from a comment, and one that failed to
    // parse. Anyone may ask (bob may only read; he gets one answer an hour).
    t.comment_ok("alice", "/create-xml-repo 6.004r 2018_Spring members=carol")
        .await;
    t.comment_confused("alice", "/release-xml 6.004r Spring!")
        .await;
    t.comment_ok("bob", "/status").await;
    insta::assert_snapshot!("status_reply", comment_ids_out(&t.last_reply()));
    t.comment_ok("alice", "/courses 6.004r").await;
    insta::assert_snapshot!("courses_reply", t.last_reply());
    t.comment_ok("alice", "/courses 8.01").await;
    t.assert_reply_has("none in the catalog");
    t.comment_ok("alice", "/courses").await;
    t.assert_reply_has("**Latest course runs**");
    t.comment_ok("alice", "/help status").await;
    t.assert_reply_has("/status");
}

async fn deliver_repo_event(t: &mut Tester, event: &str, payload: serde_json::Value) {
    let id = format!("{event}-{}", payload["action"].as_str().unwrap_or("push"));
    assert_eq!(t.deliver_event(&id, event, &payload).await, 202);
    t.settled(&id).await;
}

#[tokio::test]
async fn repo_events_update_the_catalog() {
    let mut t = Tester::start().await;
    t.comment_ok("alice", "/create-xml-repo 6.004r 2018_Spring members=carol")
        .await;
    let run = |t: &Tester| {
        let store = t.store().clone();
        async move { store.catalog_runs("6.004r").await.expect("runs").remove(0) }
    };
    assert_eq!(run(&t).await.repo, format!("{XML}/{REPO}"));
    let install = serde_json::json!({"id": 1});
    deliver_repo_event(
        &mut t,
        "push",
        serde_json::json!({
            "ref": "refs/heads/main",
            "repository": {"full_name": format!("{XML}/{REPO}"), "pushed_at": 1_764_590_400},
            "installation": install,
        }),
    )
    .await;
    assert_eq!(run(&t).await.last_push_at, Some(1_764_590_400_000));
    // A push to a repo that is not a course repo makes no job at all.
    let other =
        serde_json::json!({"ref": "refs/heads/main", "repository": {"full_name": "mitx/website"}});
    assert_eq!(t.deliver_event("push-other", "push", &other).await, 202);
    assert!(t.jobs("push-other").await.is_empty());

    deliver_repo_event(
        &mut t,
        "repository",
        serde_json::json!({
            "action": "renamed",
            "changes": {"repository": {"name": {"from": REPO}}},
            "repository": {"full_name": format!("{XML}/{REPO}-old")},
            "installation": install,
        }),
    )
    .await;
    assert_eq!(run(&t).await.repo, format!("{XML}/{REPO}-old"));
    deliver_repo_event(
        &mut t,
        "repository",
        serde_json::json!({
            "action": "transferred",
            "changes": {"owner": {"from": {"organization": {"login": XML}}}},
            "repository": {"full_name": format!("mitx-archive/{REPO}-old")},
            "installation": install,
        }),
    )
    .await;
    assert_eq!(run(&t).await.repo, format!("mitx-archive/{REPO}-old"));
    // A deleted repo retires its run too (shown on a second run).
    t.comment_ok("alice", "/create-xml-repo 6.004r 2019_Spring members=carol")
        .await;
    deliver_repo_event(
        &mut t,
        "repository",
        serde_json::json!({
            "action": "deleted",
            "repository": {"full_name": format!("{XML}/content-mit-6004r-2019_Spring")},
            "installation": install,
        }),
    )
    .await;
    let spring19 = t
        .store()
        .catalog_run("course-v1:MITx+6.004r+2019_Spring")
        .await
        .expect("run")
        .expect("catalogued");
    assert_eq!(spring19.state.as_str(), "retired");
    deliver_repo_event(
        &mut t,
        "repository",
        serde_json::json!({
            "action": "archived",
            "repository": {"full_name": format!("mitx-archive/{REPO}-old")},
            "installation": install,
        }),
    )
    .await;
    assert_eq!(run(&t).await.state.as_str(), "retired");
}

const API_TOKEN: &str = "api-token-0123456789abcdef";

async fn api(t: &Tester, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = t.http.get(t.url(path));
    if let Some(tok) = token {
        req = req.header("Authorization", format!("Bearer {tok}"));
    }
    let resp = req.send().await.expect("api");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_api_is_off_without_a_token() {
    let t = Tester::start().await;
    for path in ["/api/requests?repo=mitx/course-requests", "/api/courses"] {
        assert_eq!(api(&t, path, Some(API_TOKEN)).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn the_api_gives_requests_and_the_catalog_to_the_token_only() {
    let mut t = Tester::builder()
        .var("ORC_API_TOKEN", API_TOKEN)
        .start()
        .await;
    let body = new_xml("2018_Spring", "carol, dave");
    t.open_request_until(30, "alice", &body, "request: done")
        .await;
    let bad = Form {
        term: "2018_Spring",
        ..Form::of("Rerun")
    }
    .body();
    t.open_request_until(31, "alice", &bad, "request: invalid")
        .await;

    let path = "/api/requests?repo=mitx/course-requests";
    assert_eq!(api(&t, path, None).await.0, 401);
    assert_eq!(api(&t, path, Some("wrong-token-0123456789")).await.0, 401);
    // The token is checked before the query is read, on every route.
    let twice = "/api/requests?repo=a/b&repo=c/d";
    assert_eq!(api(&t, twice, None).await.0, 401);
    assert_eq!(api(&t, twice, Some(API_TOKEN)).await.0, 400);
    for other in ["/api/courses", "/api/courses/course-v1:MITx+6.004r+x"] {
        assert_eq!(api(&t, other, None).await.0, 401, "{other}");
    }
    assert_eq!(api(&t, "/api/requests", Some(API_TOKEN)).await.0, 400);
    assert_eq!(
        api(&t, "/api/requests?repo=../x", Some(API_TOKEN)).await.0,
        400
    );
    let (status, list) = api(&t, path, Some(API_TOKEN)).await;
    assert_eq!(status, 200);
    let list = list.as_array().expect("a list").clone();
    assert_eq!(list.len(), 2, "{list:#?}");
    let done = &list[0];
    assert_eq!(done["issue"], 30);
    assert_eq!(done["author"], "alice");
    assert_eq!(done["state"], "done");
    assert_eq!(
        done["command"],
        "/create-xml-repo 6.004r 2018_Spring members=carol,dave description=\"Computation Structures\""
    );
    assert_eq!(
        done["fields"],
        serde_json::json!({
            "request": "New course", "kind": "xml", "course": "6.004r", "term": "2018_Spring",
            "title": "Computation Structures", "members": "carol, dave",
            "confirm": ["The course team has agreed to this request"],
        })
    );
    assert!(done["approved_by"].is_null());
    assert!(done["created_at"]
        .as_str()
        .is_some_and(|s| s.ends_with("+00:00")));
    assert_eq!(list[1]["state"], "invalid");
    assert!(list[1]["command"].is_null());
    let (_, one) = api(&t, &format!("{path}&issue=31"), Some(API_TOKEN)).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));

    let (status, mut runs) = api(&t, "/api/courses", Some(API_TOKEN)).await;
    assert_eq!(status, 200);
    let created = runs[0]["created_at"].take();
    assert!(
        created.as_str().is_some_and(|c| c.ends_with("+00:00")),
        "{created}"
    );
    assert_eq!(
        runs,
        serde_json::json!([{
            "org": "mitx", "course": "6.004r", "title": null, "term": "2018_Spring",
            "course_key": "course-v1:MITx+6.004r+2018_Spring",
            "repo": format!("{XML}/{REPO}"), "kind": "xml", "state": "staging",
            "last_push_at": null, "language": null, "created_at": null,
            "request": "mitx/course-requests#30",
        }])
    );
    let (status, run) = api(
        &t,
        "/api/courses/course-v1:MITx+6.004r+2018_Spring",
        Some(API_TOKEN),
    )
    .await;
    assert_eq!(
        (status, run["repo"].as_str()),
        (200, Some(format!("{XML}/{REPO}").as_str()))
    );
    assert_eq!(
        api(&t, "/api/courses/course-v1:MITx+nope+x", Some(API_TOKEN))
            .await
            .0,
        404
    );
}

/// A person ticks boxes in the bot's checklist comment of issue `issue`;
/// GitHub sends the edit with the bot as the comment's author and the person
/// as its sender.
async fn tick(t: &mut Tester, issue: u64, person: &str, how_many: usize, delivery: &str) {
    let comment = t
        .fake
        .comments(REQ_OWNER, REQ_REPO, issue)
        .into_iter()
        .find(|c| c.body.starts_with("<!-- orcoursetrion:checklist key="))
        .expect("the checklist comment");
    let mut body = comment.body.clone();
    for _ in 0..how_many {
        body = body.replacen("- [ ] ", "- [x] ", 1);
    }
    let old = t.fake.edit_comment(comment.id, &body);
    let mut payload = t.payload(
        "edited",
        comment.id,
        common::fake::BOT_LOGIN,
        "Bot",
        &body,
        Some(&old),
    );
    payload["issue"]["number"] = serde_json::json!(issue);
    payload["sender"] = serde_json::json!({"login": person, "type": "User"});
    assert_eq!(t.deliver(delivery, &payload).await, 202);
    t.settled(delivery).await;
}

#[tokio::test]
async fn the_lms_checklist_is_posted_and_ticking_it_all_closes_the_issue() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("checklists.yml");
    std::fs::write(
        &file,
        "new_course:\n  steps:\n    - \"Import `{course_key}` into the LMS\"\n    - \"Check {repo} on staging\"\n  when_done: released\n",
    )
    .expect("write");
    let mut t = Tester::builder()
        .var("ORC_CHECKLISTS", &file.display().to_string())
        .start()
        .await;
    let body = new_xml("2018_Spring", "carol");
    t.open_request_until(50, "alice", &body, "request: done")
        .await;
    let posted = t.fake.wait_until(common::tester::WAIT, |f| {
        f.comments(REQ_OWNER, REQ_REPO, 50)
            .iter()
            .any(|c| c.body.starts_with("<!-- orcoursetrion:checklist key="))
    });
    assert!(posted.await, "no checklist: {:#?}", t.issue_replies(50));
    let replies = t.issue_replies(50);
    let list = replies
        .iter()
        .find(|r| r.starts_with("**What is left"))
        .expect("a checklist");
    insta::assert_snapshot!("lms_checklist", list);
    // One box of two: nothing yet.
    tick(&mut t, 50, "alice", 1, "tick-1").await;
    assert_eq!(
        t.fake.issue_state(REQ_OWNER, REQ_REPO, 50).as_deref(),
        Some("open")
    );
    // The bot's own edits never count: only a person's.
    tick(&mut t, 50, "alice", 1, "tick-2").await;
    assert_eq!(
        t.fake.issue_state(REQ_OWNER, REQ_REPO, 50).as_deref(),
        Some("closed")
    );
    insta::assert_snapshot!("checklist_done", t.last_reply_on(50));
    let run = t
        .store()
        .catalog_runs("6.004r")
        .await
        .expect("runs")
        .remove(0);
    assert_eq!(run.state.as_str(), "released");
    // Ticked again (a redelivery under a new id): said once.
    let before = t.issue_replies(50).len();
    tick(&mut t, 50, "carol", 0, "tick-3").await;
    assert_eq!(t.issue_replies(50).len(), before);
}

#[tokio::test]
async fn catalog_import_places_an_existing_shops_runs_and_says_what_it_could_not() {
    let t = Tester::builder()
        .seed(|f| {
            // A released XML run, with its course.xml (which keeps the dots).
            f.add_repo(XML, REPO);
            f.put_file(
                XML,
                REPO,
                "course.xml",
                "<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>\n",
            );
            f.add_hook(XML, REPO, common::tester::PRODUCTION);
            // An archived Studio run without course.xml: its name gives the course.
            f.add_repo("MITx-Studio2LMS", "content-mit-801-2017_Fall");
            f.set_archived("MITx-Studio2LMS", "content-mit-801-2017_Fall");
            // A course.xml that contradicts the name: not placed.
            f.add_repo(XML, "content-mit-6002x-2019_Spring");
            f.put_file(
                XML,
                "content-mit-6002x-2019_Spring",
                "course.xml",
                "<course course=\"8.01\"/>",
            );
            // Not a course repo at all: ignored.
            f.add_repo(XML, "website");
        })
        .start()
        .await;
    let client = || orcoursetrion::ClientConfig {
        api_url: t.fake.url(),
        ..orcoursetrion::ClientConfig::default()
    };
    let dry = orcoursetrion::cli::catalog_import(&t.config, true, client())
        .await
        .expect("dry run");
    assert!(dry.starts_with("Found 2 course run(s):"), "{dry}");
    let runs = t.store().catalog_runs("6.004r").await;
    assert!(runs.expect("runs").is_empty());
    let out = orcoursetrion::cli::catalog_import(&t.config, false, client())
        .await
        .expect("import");
    insta::assert_snapshot!("catalog_import", out);
    let runs = t.store().catalog_runs("6.004r").await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state.as_str(), "released");
    let old = t.store().catalog_runs("801").await.expect("runs");
    assert_eq!(old[0].state.as_str(), "retired");
}

/// A reply with its comment ids replaced: they depend on what the fake
/// numbered before, which the snapshots do not pin.
fn comment_ids_out(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("issuecomment-") {
        let (head, tail) = rest.split_at(i + "issuecomment-".len());
        out.push_str(head);
        out.push('N');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn release_finds_a_catalogued_run_without_searching_both_orgs() {
    let mut t = Tester::start().await;
    t.comment_ok("alice", "/create-xml-repo 6.004r 2018_Spring members=carol")
        .await;
    let before = t.fake.calls().len();
    t.comment_ok("alice", "/release 6.004r 2018_Spring").await;
    let calls: Vec<String> = t.fake.calls()[before..].to_vec();
    // The catalog says where the run is: the Studio org is not asked.
    assert!(
        !calls.iter().any(|c| c.contains("/repos/MITx-Studio2LMS/")),
        "{calls:#?}"
    );
    assert!(t
        .hook_urls(XML, REPO)
        .iter()
        .any(|u| u == common::tester::PRODUCTION));
}

#[tokio::test]
async fn a_form_under_another_name_in_the_issue_template_folder_is_found() {
    let mut t = Tester::builder()
        .seed(|f| {
            let yaml = orcoursetrion_template().replace("label: Term\n", "label: Run\n");
            f.put_file(
                REQ_OWNER,
                REQ_REPO,
                ".github/ISSUE_TEMPLATE/bug.yml",
                "name: Bug\nbody: []\n",
            );
            f.put_file(
                REQ_OWNER,
                REQ_REPO,
                ".github/ISSUE_TEMPLATE/courses.yaml",
                &yaml,
            );
        })
        .start()
        .await;
    let body = new_xml("2018_Spring", "carol").replace("### Term\n", "### Run\n");
    t.open_request_until(23, "alice", &body, "request: done")
        .await;
    assert!(t.issue_replies(23)[0].contains("| Run | `2018_Spring` |"));
}

#[tokio::test]
async fn a_run_the_catalog_holds_is_refused_before_github_is_asked() {
    let mut t = Tester::start().await;
    t.comment_ok("alice", "/create-xml-repo 6.004r 2018_Spring members=carol")
        .await;
    let before = t.fake.calls().len();
    t.open_request(24, "alice", &new_xml("2018_Spring", "carol"))
        .await;
    t.wait_label(24, "request: invalid").await;
    let reply = &t.issue_replies(24)[0];
    assert!(
        reply.contains("✗ the catalog has no run course-v1:MITx+6.004r+2018_Spring yet"),
        "{reply}"
    );
    let asked: Vec<String> = t.fake.calls()[before..]
        .iter()
        .filter(|c| c.starts_with("GET /repos/MITx-Studio2LMS/") || c.starts_with("GET /users/"))
        .cloned()
        .collect();
    assert!(asked.is_empty(), "{asked:?}");
}

#[tokio::test]
async fn a_pasted_marker_never_makes_the_bot_edit_a_persons_comment() {
    let t = Tester::start().await;
    t.fake
        .add_issue(REQ_OWNER, REQ_REPO, 25, "Course request", "", "alice");
    let pasted = t.fake.add_comment(
        REQ_OWNER,
        REQ_REPO,
        25,
        "bob",
        "<!-- orcoursetrion:request -->\nnot the bot's",
    );
    t.fake
        .edit_issue(REQ_OWNER, REQ_REPO, 25, &new_xml("Spring 2018", "carol"));
    let payload = t.issue_payload("opened", 25, "alice", None);
    assert_eq!(t.deliver_event("pasted", "issues", &payload).await, 202);
    t.settled("pasted").await;
    let bobs = t
        .fake
        .comments(REQ_OWNER, REQ_REPO, 25)
        .into_iter()
        .find(|c| c.id == pasted)
        .expect("bob's comment");
    assert_eq!(
        (bobs.edits, bobs.body.as_str()),
        (0, "<!-- orcoursetrion:request -->\nnot the bot's")
    );
    assert!(t.issue_replies(25)[0].contains("✗ not valid"));
}
