//! The provisioning core against the stateful fake GitHub: orcoursetrion's own
//! test suite, redone (create repo, pagination, team lookup, put_team, hooks,
//! files, shallow copy), each action's exact calls and bodies, retries,
//! App auth, and resuming after a crash.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake::{FakeGitHub, Fault};
use orcoursetrion::AppCredentials;
use orcoursetrion::Committer;
use orcoursetrion::ManualClock;
use orcoursetrion::Secret;
use orcoursetrion::{
    execute, plan, Action, ActionError, Journal, JournalSink, KindSettings, NoJournal, SaveFuture,
    Settings, StepReport,
};
use orcoursetrion::{ClientConfig, GitHub, GitHubError};
use orcoursetrion::{Course, Login, Names, OrgName, RepoFullName, TeamName, Term};
use serde_json::json;

const STUDIO: &str = "MITx-Studio2LMS";
const XML: &str = "mitx";
const STAGING: &str = "https://gr:stagingpw@staging.example.edu/gitreload";
const PRODUCTION: &str = "https://gr:prodpw@lms.example.edu/gitreload";

fn settings() -> Settings {
    Settings {
        names: Names::new("content-mit", "MITx").expect("names"),
        studio: KindSettings {
            org: STUDIO.into(),
            deploy_team: "mitx-studio-export".into(),
            deploy_permission: None,
        },
        xml: KindSettings {
            org: XML.into(),
            deploy_team: "mitx-content-deployment".into(),
            deploy_permission: None,
        },
        staging_gitreload: Some(Secret::new(STAGING)),
        production_gitreload: Some(Secret::new(PRODUCTION)),
        gitreload_secret: Some(Secret::new("hook-signing-secret")),
        committer: Committer {
            name: "Orcoursetrion".into(),
            email: "orcoursetrion@example.com".into(),
        },
    }
}

struct Env {
    fake: FakeGitHub,
    gh: GitHub,
    clock: ManualClock,
    s: Settings,
}

fn client(fake: &FakeGitHub, clock: &ManualClock) -> ClientConfig {
    ClientConfig {
        api_url: fake.url(),
        clock: Arc::new(clock.clone()),
        ..ClientConfig::default()
    }
}

async fn env_with(fake: FakeGitHub) -> Env {
    fake.add_org(STUDIO);
    fake.add_org(XML);
    fake.add_team(STUDIO, "mitx-studio-export", "push");
    fake.add_team(XML, "mitx-content-deployment", "push");
    for u in ["alice", "bob", "carol", "orc-admin"] {
        fake.add_user(u);
    }
    fake.add_personal_token("ghp_testtoken", "orc-admin");
    let clock = ManualClock::new();
    let gh =
        GitHub::with_token(client(&fake, &clock), Secret::new("ghp_testtoken")).expect("client");
    fake.clear_log();
    Env {
        fake,
        gh,
        clock,
        s: settings(),
    }
}

async fn env() -> Env {
    env_with(FakeGitHub::start().await).await
}

fn c(s: &str) -> Course {
    Course::parse(s).expect("course")
}
fn t(s: &str) -> Term {
    Term::parse(s).expect("term")
}

fn course_run(course: &str, term: &str) -> orcoursetrion::CourseRun {
    orcoursetrion::CourseRun {
        course: c(course),
        term: t(term),
    }
}

fn rerun_studio(course: &str, term: &str, new_term: &str) -> Action {
    Action::RerunStudio(orcoursetrion::RerunStudio {
        run: orcoursetrion::CourseRerun {
            course: c(course),
            term: t(term),
            new_term: t(new_term),
        },
        description: None,
    })
}

fn export_repo(course: &str, term: &str, description: Option<&str>) -> Action {
    Action::CreateExportRepo(orcoursetrion::CreateExportRepo {
        course: c(course),
        term: t(term),
        description: description.map(str::to_owned),
    })
}

async fn run(e: &Env, action: Action) -> Result<orcoursetrion::ActionResult, ActionError> {
    let p = plan(&action, &e.s)?;
    execute(&e.gh, &e.s, &p, &mut Journal::default(), &mut NoJournal).await
}

fn writes(fake: &FakeGitHub) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter(|c| !c.starts_with("GET "))
        .collect()
}

// ---------------------------------------------------------------- client

#[tokio::test]
async fn create_repo_success_exists_and_unknown_error() {
    let e = env().await;
    let r =
        e.gh.create_repo(XML, "new-repo", Some("desc"), true)
            .await
            .expect("created");
    assert_eq!(r.full_name, "mitx/new-repo");
    let repo = e.fake.repo(XML, "new-repo").expect("in fake");
    assert!(repo.private);
    assert_eq!(repo.description.as_deref(), Some("desc"));

    let err =
        e.gh.create_repo(XML, "new-repo", None, true)
            .await
            .expect_err("exists");
    assert_eq!(
        err,
        GitHubError::RepoExists {
            owner: "mitx".into(),
            repo: "new-repo".into()
        }
    );

    e.fake
        .inject("POST", "/orgs/*/repos", Fault::Status(418), 1);
    let err =
        e.gh.create_repo(XML, "other", None, true)
            .await
            .expect_err("teapot");
    match err {
        GitHubError::Status {
            status, request_id, ..
        } => {
            assert_eq!(status, 418);
            assert!(request_id.is_some(), "request id kept");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn every_request_sends_the_standard_headers() {
    let e = env().await;
    e.gh.get_repo(XML, "nope").await.expect("404 is None");
    let reqs = e.fake.requests();
    let r = reqs.last().expect("one request");
    assert!(r
        .user_agent
        .as_deref()
        .unwrap_or("")
        .starts_with("orcoursetrion/"));
    assert_eq!(r.accept.as_deref(), Some("application/vnd.github+json"));
    assert_eq!(r.api_version.as_deref(), Some("2022-11-28"));
}

#[tokio::test]
async fn pagination_follows_link_headers_over_several_pages() {
    let e = env().await;
    for i in 0..250 {
        e.fake.add_team(XML, &format!("team {i:03}"), "pull");
    }
    e.fake.clear_log();
    let teams = e.gh.list_teams(XML).await.expect("teams");
    assert_eq!(teams.len(), 251);
    let calls = e.fake.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls.iter().all(|c| c.contains("per_page=100")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn team_lookup_none_not_found_and_space_case_match() {
    let e = env().await;
    e.fake.add_org("empty-org");
    assert_eq!(
        e.gh.find_team("empty-org", "anything").await.expect("ok"),
        None
    );
    assert_eq!(e.gh.find_team(XML, "no such team").await.expect("ok"), None);
    let slug = e.fake.add_team(XML, "Course Staff 6.004", "push");
    let found =
        e.gh.find_team(XML, "  course staff 6.004 ")
            .await
            .expect("ok")
            .expect("found");
    assert_eq!(found.slug, slug);
}

#[tokio::test]
async fn put_team_existing_team_exclusive_membership() {
    let e = env().await;
    let slug = e.fake.add_team(XML, "course-team", "push");
    e.fake.add_team_member(XML, &slug, "alice");
    e.fake.add_team_member(XML, &slug, "carol");
    e.fake.clear_log();
    let action = Action::PutTeam(orcoursetrion::PutTeam {
        org: OrgName::parse(XML).expect("org"),
        team: TeamName::parse("course-team").expect("team"),
        read_only: true,
        members: Some(vec![
            Login::parse("alice").expect("l"),
            Login::parse("bob").expect("l"),
        ]),
    });
    run(&e, action).await.expect("put_team");
    let team = e.fake.team(XML, &slug).expect("team");
    assert_eq!(team.members, vec!["alice", "bob"]);
    assert_eq!(
        team.permission, "push",
        "read_only is ignored for an existing team"
    );
    assert_eq!(
        writes(&e.fake),
        vec![
            "POST /orgs/mitx/teams",
            "PUT /orgs/mitx/teams/course-team/memberships/bob",
            "DELETE /orgs/mitx/teams/course-team/memberships/carol",
        ]
    );
}

#[tokio::test]
async fn put_team_creates_with_pull_or_push() {
    let e = env().await;
    for (name, read_only, perm) in [("readers", true, "pull"), ("writers", false, "push")] {
        let action = Action::PutTeam(orcoursetrion::PutTeam {
            org: OrgName::parse(XML).expect("org"),
            team: TeamName::parse(name).expect("team"),
            read_only,
            members: None,
        });
        run(&e, action).await.expect("put_team");
        assert_eq!(e.fake.team(XML, name).expect("created").permission, perm);
    }
}

#[tokio::test]
async fn put_team_creation_failure_and_membership_failure() {
    let e = env().await;
    e.fake
        .inject("POST", "/orgs/*/teams", Fault::Status(403), 1);
    let action = Action::PutTeam(orcoursetrion::PutTeam {
        org: OrgName::parse(XML).expect("org"),
        team: TeamName::parse("t1").expect("team"),
        read_only: false,
        members: None,
    });
    let err = run(&e, action).await.expect_err("create fails");
    assert!(
        matches!(
            err,
            ActionError::GitHub(GitHubError::Status { status: 403, .. })
        ),
        "{err:?}"
    );

    let action = Action::PutTeam(orcoursetrion::PutTeam {
        org: OrgName::parse(XML).expect("org"),
        team: TeamName::parse("t2").expect("team"),
        read_only: false,
        members: Some(vec![Login::parse("ghost-user").expect("login")]),
    });
    let err = run(&e, action).await.expect_err("unknown user");
    assert!(
        matches!(
            &err,
            ActionError::GitHub(GitHubError::UserNotFound { login }) if login == "ghost-user"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "user ghost-user does not exist on GitHub; check the spelling"
    );
}

#[tokio::test]
async fn hooks_add_delete_all_and_repo_missing() {
    let e = env().await;
    e.fake.add_repo(XML, "r1");
    let h =
        e.gh.create_hook(XML, "r1", &Secret::new(STAGING), Some(&Secret::new("s")))
            .await
            .expect("hook");
    assert_eq!(h.events, vec!["push"]);
    let stored = e.fake.hooks(XML, "r1");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].content_type, "json");
    assert_eq!(stored[0].secret.as_deref(), Some("s"));
    e.fake.add_hook(XML, "r1", "https://other.example/hook");

    let action = Action::RerunXml(course_run("r1-not-a-run", "2018_Spring"));
    let err = run(&e, action).await.expect_err("missing repo");
    assert!(
        matches!(err, ActionError::GitHub(GitHubError::RepoNotFound { .. })),
        "{err:?}"
    );
    let err = e.gh.list_hooks(XML, "missing").await.expect_err("missing");
    assert!(matches!(err, GitHubError::RepoNotFound { .. }));

    for hook in e.gh.list_hooks(XML, "r1").await.expect("list") {
        e.gh.delete_hook(XML, "r1", hook.id).await.expect("delete");
    }
    assert!(e.fake.hooks(XML, "r1").is_empty());
}

#[tokio::test]
async fn add_file_success_repo_missing_and_bad_status() {
    let e = env().await;
    e.fake.add_repo(XML, "files");
    let who = e.s.committer.clone();
    e.gh.add_file(XML, "files", "docs/.gitignore", "x\n", "Add", &who)
        .await
        .expect("added");
    assert_eq!(
        e.fake.file(XML, "files", "docs/.gitignore").as_deref(),
        Some("x\n")
    );
    let err =
        e.gh.add_file(XML, "nope", "a", "b", "m", &who)
            .await
            .expect_err("missing");
    assert!(matches!(err, GitHubError::RepoNotFound { .. }));
    e.fake.inject("PUT", "/repos/**", Fault::Status(409), 1);
    let err =
        e.gh.add_file(XML, "files", "b", "b", "m", &who)
            .await
            .expect_err("conflict");
    assert!(
        matches!(err, GitHubError::Status { status: 409, .. }),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn a_502_then_success_is_retried() {
    let e = env().await;
    e.fake.add_repo(XML, "r");
    e.fake.inject("GET", "/repos/mitx/r", Fault::Status(502), 1);
    let r = e.gh.get_repo(XML, "r").await.expect("retried");
    assert!(r.is_some());
    assert_eq!(e.fake.calls().len(), 2);
    assert_eq!(e.clock.sleeps().len(), 1, "one backoff");
    assert!(e.clock.sleeps()[0] <= Duration::from_secs(30));
}

#[tokio::test]
async fn secondary_limit_honours_retry_after_on_a_virtual_clock() {
    let e = env().await;
    e.fake.add_repo(XML, "r");
    e.fake.inject(
        "GET",
        "/repos/mitx/r",
        Fault::SecondaryLimit {
            retry_after: Some(7),
        },
        1,
    );
    e.gh.get_repo(XML, "r").await.expect("after the wait");
    assert_eq!(e.clock.sleeps(), vec![Duration::from_secs(7)]);

    e.fake.inject(
        "GET",
        "/repos/mitx/r",
        Fault::SecondaryLimit { retry_after: None },
        1,
    );
    e.gh.get_repo(XML, "r").await.expect("after the wait");
    assert_eq!(
        e.clock.sleeps()[1],
        Duration::from_secs(60),
        "no retry-after: at least a minute"
    );

    let e = env().await;
    e.fake.add_repo(XML, "r");
    e.fake.inject(
        "GET",
        "/repos/mitx/r",
        Fault::PrimaryLimit { reset_in: 30 },
        1,
    );
    e.gh.get_repo(XML, "r").await.expect("after the reset");
    let waited = e.clock.sleeps()[0];
    assert!(
        waited >= Duration::from_secs(29) && waited <= Duration::from_secs(32),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_404_is_final_and_dropped_connections_are_retried() {
    let e = env().await;
    assert_eq!(e.gh.get_repo(XML, "nope").await.expect("final"), None);
    assert_eq!(e.fake.calls().len(), 1);
    assert!(e.clock.sleeps().is_empty());

    e.fake.add_repo(XML, "r");
    e.fake.clear_log();
    e.fake.inject("GET", "/repos/mitx/r", Fault::Drop, 1);
    assert!(e.gh.get_repo(XML, "r").await.expect("retried").is_some());
    assert_eq!(e.fake.calls().len(), 2);
}

#[tokio::test]
async fn persistent_5xx_gives_up_with_githubs_message() {
    let e = env().await;
    e.fake
        .inject("GET", "/repos/mitx/r", Fault::Status(503), 10);
    let err = e.gh.get_repo(XML, "r").await.expect_err("gives up");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(e.fake.calls().len(), 5, "max attempts");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_repeated() {
    let e = env().await;
    e.fake.inject("POST", "/orgs/*/repos", Fault::DropAfter, 1);
    let res = run(&e, export_repo("6.004r", "2018_Spring", None))
        .await
        .expect("reconciled");
    assert!(res.created_repo_url().is_some());
    let posts: Vec<_> = e.fake.calls_where(|c| c.starts_with("POST /orgs"));
    assert_eq!(posts.len(), 1, "one create only");
}

// ---------------------------------------------------------------- app auth

#[tokio::test]
async fn installation_tokens_are_cached_and_renewed_before_expiry() {
    let fake = FakeGitHub::start().await;
    fake.add_org(XML);
    fake.add_installation(7, XML);
    fake.add_repo(XML, "r");
    let clock = ManualClock::new();
    let app = AppCredentials::from_pem(
        common::TEST_APP_ID.to_string(),
        &Secret::new(common::test_app_private_key_pem()),
    )
    .expect("key");
    let gh = GitHub::app(client(&fake, &clock), app)
        .expect("app")
        .installation(7);

    // Tokens that live 5.5 minutes: fresh now, due for renewal a minute later
    // (we renew with less than 5 minutes left).
    fake.set_token_ttl(Duration::from_secs(330));
    gh.get_repo(XML, "r").await.expect("call");
    gh.get_repo(XML, "r").await.expect("call");
    assert_eq!(fake.tokens_issued(), 1, "cached");
    clock.advance(Duration::from_secs(20));
    gh.get_repo(XML, "r").await.expect("call");
    assert_eq!(fake.tokens_issued(), 1, "5 min 10 s left: still fresh");
    clock.advance(Duration::from_secs(40));
    gh.get_repo(XML, "r").await.expect("call");
    assert_eq!(fake.tokens_issued(), 2, "renewed with 4.5 minutes left");

    let claims = fake.jwt_claims();
    assert_eq!(claims.len(), 2);
    for c in claims {
        let iat = c["iat"].as_i64().expect("iat");
        let exp = c["exp"].as_i64().expect("exp");
        assert!(exp - iat <= 660 && exp - iat > 0, "{c}");
        assert_eq!(c["iss"], json!("4242"));
    }
}

#[tokio::test]
async fn a_wrong_app_key_is_refused_by_the_fake() {
    let fake = FakeGitHub::start().await;
    fake.add_org(XML);
    fake.add_installation(7, XML);
    // Another App's key (a fixture, so the tests need no openssl CLI).
    let pem = include_str!("fixtures/other-app-key.pem");
    let app = AppCredentials::from_pem("4242", &Secret::new(pem.to_string())).expect("key");
    let gh = GitHub::app(
        ClientConfig {
            api_url: fake.url(),
            ..ClientConfig::default()
        },
        app,
    )
    .expect("app")
    .installation(7);
    let err = gh.get_repo(XML, "r").await.expect_err("bad signature");
    assert!(matches!(err, GitHubError::Auth(_)), "{err:?}");
    assert_eq!(fake.tokens_issued(), 0);
}

// ---------------------------------------------------------------- actions

#[tokio::test]
async fn create_export_repo_exact_calls_and_bodies() {
    let e = env().await;
    let action = export_repo("6.004r", "2018_Spring", Some("Computation Structures"));
    let res = run(&e, action).await.expect("created");
    assert_eq!(
        res.created_repo_url(),
        Some("https://github.example/MITx-Studio2LMS/content-mit-6004r-2018_Spring")
    );
    assert_eq!(
        e.fake.calls(),
        vec![
            "POST /orgs/MITx-Studio2LMS/repos",
            "PUT /orgs/MITx-Studio2LMS/teams/mitx-studio-export/repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring",
            "PUT /repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring/contents/.gitignore",
            "PUT /repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring/contents/course.xml",
        ]
    );
    let reqs = e.fake.requests();
    assert_eq!(
        reqs[0].body,
        Some(
            json!({"name": "content-mit-6004r-2018_Spring", "private": true, "description": "Computation Structures"})
        )
    );
    // No permission, as orcoursetrion sent: the team's own attribute applies.
    assert_eq!(reqs[1].body, Some(json!({})));
    let repo = "content-mit-6004r-2018_Spring";
    assert_eq!(
        e.fake.file(STUDIO, repo, ".gitignore").as_deref(),
        Some("\ndrafts/\n")
    );
    assert_eq!(
        e.fake.file(STUDIO, repo, "course.xml").as_deref(),
        Some("<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>\n")
    );
    let team = e.fake.team(STUDIO, "mitx-studio-export").expect("team");
    assert_eq!(
        team.repos
            .get(&format!("{STUDIO}/{repo}"))
            .map(String::as_str),
        Some("push")
    );
}

#[tokio::test]
async fn rerun_studio_removes_old_hooks_and_creates_new_run() {
    let e = env().await;
    e.fake.add_repo(STUDIO, "content-mit-6004r-2018_Spring");
    e.fake
        .add_hook(STUDIO, "content-mit-6004r-2018_Spring", PRODUCTION);
    e.fake.clear_log();
    let res = run(&e, rerun_studio("6.004r", "2018_Spring", "2019_Spring"))
        .await
        .expect("rerun");
    assert_eq!(res.hooks_removed(), Some(1));
    assert!(e
        .fake
        .hooks(STUDIO, "content-mit-6004r-2018_Spring")
        .is_empty());
    let new = "content-mit-6004r-2019_Spring";
    assert!(e.fake.repo(STUDIO, new).is_some());
    assert_eq!(
        e.fake.file(STUDIO, new, ".gitignore").as_deref(),
        Some("\ndrafts/\n")
    );
    assert_eq!(e.fake.file(STUDIO, new, "course.xml"), None);
    assert_eq!(e.fake.calls().len(), 5, "{:?}", e.fake.calls());
}

#[tokio::test]
async fn release_is_one_call_and_finds_legacy_double_dash_names() {
    let mut e = env().await;
    e.fake.add_repo(STUDIO, "content-mit-6004r-2018_Spring");
    e.fake.clear_log();
    run(
        &e,
        Action::ReleaseStudio(course_run("6.004r", "2018_Spring")),
    )
    .await
    .expect("release");
    assert_eq!(
        e.fake.calls(),
        vec!["POST /repos/MITx-Studio2LMS/content-mit-6004r-2018_Spring/hooks"]
    );
    let body = e.fake.requests()[0].body.clone().expect("body");
    assert_eq!(body["config"]["url"], json!(PRODUCTION));
    assert_eq!(body["config"]["content_type"], json!("json"));
    assert_eq!(body["config"]["secret"], json!("hook-signing-secret"));
    assert_eq!(body["events"], json!(["push"]));

    // A prefix ending in '-' made old orcoursetrion write a double dash.
    e.s.names = Names::new("content-mit-", "MITx").expect("names");
    e.fake.add_repo(
        XML,
        "content-mit--8.01r-2017_Fall".replace(".", "").as_str(),
    );
    e.fake.clear_log();
    run(&e, Action::ReleaseXml(course_run("8.01r", "2017_Fall")))
        .await
        .expect("legacy found");
    assert_eq!(e.fake.hooks(XML, "content-mit--801r-2017_Fall").len(), 1);
    assert_eq!(
        e.fake.calls().len(),
        2,
        "new name 404, then the legacy name"
    );
}

#[tokio::test]
async fn create_xml_repo_with_new_team_and_members() {
    let e = env().await;
    let res = run(
        &e,
        Action::CreateXmlRepo(orcoursetrion::CreateXmlRepo {
            course: c("6.004r"),
            term: t("2018_Spring"),
            team: None,
            members: Some(vec![
                Login::parse("alice").expect("l"),
                Login::parse("bob").expect("l"),
            ]),
            description: None,
        }),
    )
    .await
    .expect("created");
    let repo = "content-mit-6004r-2018_Spring";
    assert_eq!(
        res.created_repo_url(),
        Some(format!("https://github.example/mitx/{repo}").as_str())
    );
    // With a personal token GitHub may have made its user a maintainer of the
    // new team, so exclusive membership lists the members once.
    assert_eq!(
        e.fake.calls(),
        vec![
            "POST /orgs/mitx/repos".to_string(),
            format!("PUT /orgs/mitx/teams/mitx-content-deployment/repos/mitx/{repo}"),
            "POST /orgs/mitx/teams".to_string(),
            "GET /orgs/mitx/teams/content-mit-6004r-2018_spring/members?per_page=100".to_string(),
            "PUT /orgs/mitx/teams/content-mit-6004r-2018_spring/memberships/alice".to_string(),
            "PUT /orgs/mitx/teams/content-mit-6004r-2018_spring/memberships/bob".to_string(),
            format!("POST /repos/mitx/{repo}/hooks"),
        ]
    );
    let team_body = e.fake.requests()[2].body.clone().expect("body");
    assert_eq!(team_body["permission"], json!("push"));
    assert_eq!(team_body["repo_names"], json!([format!("mitx/{repo}")]));
    let team = e.fake.team(XML, "content-mit-6004r-2018_spring");
    let team = team.expect("team");
    let access = team.access(&format!("mitx/{repo}"));
    assert_eq!(access, (vec!["alice", "bob"], Some("push")));
    let hooks = e.fake.hooks(XML, repo);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, STAGING);
}

#[tokio::test]
async fn rerun_xml_returns_hook_count() {
    let e = env().await;
    let repo = "content-mit-6004r-2018_Spring";
    e.fake.add_repo(XML, repo);
    e.fake.add_hook(XML, repo, STAGING);
    e.fake.add_hook(XML, repo, PRODUCTION);
    e.fake.clear_log();
    let res = run(&e, Action::RerunXml(course_run("6.004r", "2018_Spring")))
        .await
        .expect("rerun");
    assert_eq!(res.hooks_removed(), Some(2));
    assert_eq!(e.fake.calls().len(), 3);
}

#[tokio::test]
async fn shallow_copy_over_file_remotes_including_a_branch() {
    let e = env_with(FakeGitHub::start_with_git().await).await;
    e.fake.add_repo_with_files(
        XML,
        "src",
        &[("course.xml", "<course/>\n"), ("a/b.txt", "main b\n")],
    );
    e.fake
        .seed_git(XML, "src", "live", &[("course.xml", "<course live/>\n")]);
    e.fake.add_repo(XML, "dst");
    e.fake.add_repo(XML, "dst2");
    let copy = |dst: &str, branch: Option<&str>| {
        Action::ShallowCopyRepo(orcoursetrion::ShallowCopyRepo {
            src: RepoFullName::parse("mitx/src").expect("src"),
            dst: RepoFullName::parse(&format!("mitx/{dst}")).expect("dst"),
            branch: branch.map(|b| orcoursetrion::Branch::parse(b).expect("branch")),
        })
    };
    run(&e, copy("dst", None)).await.expect("copy");
    assert_eq!(e.fake.git_log(XML, "dst", "main").len(), 1, "no history");
    assert_eq!(
        e.fake.git_file(XML, "dst", "main", "a/b.txt").as_deref(),
        Some("main b\n")
    );
    run(&e, copy("dst2", Some("live")))
        .await
        .expect("copy branch");
    assert_eq!(
        e.fake
            .git_file(XML, "dst2", "main", "course.xml")
            .as_deref(),
        Some("<course live/>\n")
    );
    assert_eq!(e.fake.git_log(XML, "dst2", "main").len(), 1);
}

#[tokio::test]
async fn dry_run_plan_makes_no_call_and_hides_hook_urls() {
    let e = env().await;
    let p = plan(
        &Action::CreateXmlRepo(orcoursetrion::CreateXmlRepo {
            course: c("6.004r"),
            term: t("2018_Spring"),
            team: None,
            members: None,
            description: None,
        }),
        &e.s,
    )
    .expect("plan");
    let text = p.render();
    assert!(
        text.contains("create private repo mitx/content-mit-6004r-2018_Spring"),
        "{text}"
    );
    assert!(
        !text.contains("stagingpw") && !text.contains("staging.example.edu"),
        "{text}"
    );
    assert!(e.fake.calls().is_empty());
}

#[tokio::test]
async fn missing_hook_setting_is_reported_before_any_call() {
    let mut e = env().await;
    e.s.production_gitreload = None;
    let err = run(&e, Action::ReleaseXml(course_run("6.004r", "2018_Spring")))
        .await
        .expect_err("not configured");
    assert!(
        err.to_string()
            .contains("production gitreload URL is not configured"),
        "{err}"
    );
    assert!(e.fake.calls().is_empty());
}

// ---------------------------------------------------------------- crash and resume

/// Saves the journal like a job store would, and "crashes" (fails) at save n.
struct CrashingSink {
    saves: usize,
    crash_at: usize,
    saved: Journal,
}

impl JournalSink for CrashingSink {
    fn save<'a>(&'a mut self, journal: &'a Journal, _: StepReport<'a>) -> SaveFuture<'a> {
        self.saves += 1;
        let crash = self.saves == self.crash_at;
        if !crash {
            self.saved = journal.clone();
        }
        Box::pin(std::future::ready(if crash {
            Err(orcoursetrion::JournalError("killed".to_string()))
        } else {
            Ok(())
        }))
    }
}

async fn crash_then_resume(crash_at: usize) {
    let e = env().await;
    let action = Action::CreateXmlRepo(orcoursetrion::CreateXmlRepo {
        course: c("6.004r"),
        term: t("2018_Spring"),
        team: None,
        members: Some(vec![Login::parse("alice").expect("l")]),
        description: None,
    });
    let p = plan(&action, &e.s).expect("plan");
    let mut sink = CrashingSink {
        saves: 0,
        crash_at,
        saved: Journal::default(),
    };
    let mut journal = Journal::default();
    let err = execute(&e.gh, &e.s, &p, &mut journal, &mut sink)
        .await
        .expect_err("crash");
    assert!(matches!(err, ActionError::Journal(_)));
    // Restart from what was durably saved, as a new process would.
    let mut resumed = sink.saved.clone();
    execute(&e.gh, &e.s, &p, &mut resumed, &mut NoJournal)
        .await
        .expect("resumed");
    // Creating calls (POST) never repeat; PUT/DELETE are idempotent by
    // GitHub's definition and may be sent again for the step in flight.
    let posts: Vec<String> = writes(&e.fake)
        .into_iter()
        .filter(|c| c.starts_with("POST"))
        .collect();
    let mut unique = posts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        posts.len(),
        unique.len(),
        "a create was repeated after crash at save {crash_at}: {posts:?}"
    );
    assert_eq!(
        e.fake
            .team(XML, "content-mit-6004r-2018_spring")
            .expect("team")
            .members,
        vec!["alice"]
    );
    assert_eq!(e.fake.repos(XML).len(), 1);
    assert_eq!(e.fake.hooks(XML, "content-mit-6004r-2018_Spring").len(), 1);
}

#[tokio::test]
async fn resume_after_crash_between_and_within_steps_creates_nothing_twice() {
    // Saves: 1 start(0) 2 done(0) 3 start(1) 4 done(1) 5 start(2) 6 done(2) 7 start(3) 8 done(3).
    for crash_at in 1..=8 {
        crash_then_resume(crash_at).await;
    }
}

// ---------------------------------------------------------------- names and CLI

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_are_rejected_before_any_call() {
    let e = env().await;
    assert!(Course::parse("6 004").is_err());
    assert!(Term::parse("2018/Spring").is_err());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .args(["create_export_repo", "-c", "6.004 r", "-t", "2018_Spring"])
        .env("ORC_GH_API_URL", e.fake.url())
        .env("ORC_GH_OAUTH2_TOKEN", "ghp_testtoken")
        .output()
        .expect("run cli");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("course") && stderr.contains("invalid"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(e.fake.calls().is_empty());
}

/// [`cli`], which must succeed.
fn cli_ok(e: &Env, args: &[&str]) -> std::process::Output {
    let out = cli(e, args);
    common::expect_success(&out, &format!("{args:?}: "));
    out
}

fn cli(e: &Env, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ORC_GH_API_URL", e.fake.url())
        .env("ORC_GH_OAUTH2_TOKEN", "ghp_testtoken")
        .env("ORC_STAGING_GITRELOAD", STAGING)
        .env("ORC_PRODUCTION_GITRELOAD", PRODUCTION)
        .output()
        .expect("run cli")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prints_html_url_hook_count_and_one_line_errors() {
    let e = env().await;
    let out = cli_ok(
        &e,
        &[
            "create_export_repo",
            "-c",
            "6.004r",
            "-t",
            "2018_Spring",
            "-d",
            "Computation",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "https://github.example/MITx-Studio2LMS/content-mit-6004r-2018_Spring"
    );
    // Dashed spelling, same action again: the repo exists.
    let out = cli(
        &e,
        &[
            "create-export-repo",
            "--course",
            "6.004r",
            "--term",
            "2018_Spring",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Found by the checks before any write: one line that says what is wrong.
    assert!(
        err.trim()
            .starts_with("error: not started, nothing was changed:"),
        "{err}"
    );
    assert!(
        err.contains("MITx-Studio2LMS/content-mit-6004r-2018_Spring already exists"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    e.fake.add_repo(XML, "content-mit-801-2017_Fall");
    e.fake.add_hook(XML, "content-mit-801-2017_Fall", STAGING);
    let out = cli(&e, &["rerun_xml", "-c", "8.01", "-t", "2017_Fall"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");

    cli_ok(
        &e,
        &[
            "create_xml_repo",
            "-c",
            "8.01",
            "-t",
            "2018_Fall",
            "-g",
            "Physics Staff",
            "-m",
            "alice",
            "bob",
        ],
    );
    assert_eq!(
        e.fake.team(XML, "physics-staff").expect("team").members,
        vec!["alice", "bob"]
    );

    e.fake.clear_log();
    let out = cli(
        &e,
        &[
            "--dry-run",
            "put_team",
            "-o",
            "mitx",
            "-g",
            "x",
            "-r",
            "-m",
            "alice",
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("create or update team \"x\" in mitx (pull when created)"));
    // The checks read (the member exists); a dry run never writes.
    let calls = e.fake.calls();
    assert!(
        calls.iter().all(|c| c.starts_with("GET ")),
        "dry run wrote: {calls:?}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("✓ user alice exists on GitHub"));
}

#[tokio::test]
async fn cli_reports_every_config_problem_at_once() {
    let err = common::refused_config(
        env!("CARGO_BIN_EXE_orcoursetrion"),
        &["release_xml", "-c", "8.01", "-t", "2017_Fall"],
        &[
            ("ORC_GH_API_URL", "not a url"),
            ("ORC_STAGING_GITRELOAD", "also bad with secret pw123"),
            ("PORT", "x"),
        ],
    );
    // The missing credentials are reported with the rest.
    common::assert_contains_all(
        &err,
        &[
            "ORC_GH_API_URL",
            "ORC_STAGING_GITRELOAD",
            "PORT",
            "ORC_GH_OAUTH2_TOKEN",
        ],
    );
    assert!(!err.contains("pw123"));
}

#[tokio::test]
async fn cli_dry_run_without_credentials_shows_the_checks_the_configuration_answers() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .args([
            "--dry-run",
            "create_xml_repo",
            "-c",
            "6.004r",
            "-t",
            "2018_Spring",
        ])
        .env_clear()
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    common::expect_success(&out, &format!("{stdout}"));
    assert!(
        stdout.contains("create private repo mitx/content-mit-6004r-2018_Spring"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✗ the staging gitreload URL is configured"),
        "{stdout}"
    );
    assert!(
        stdout.contains("only the checks that need no GitHub call"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_with_app_credentials_needs_no_installation_id() {
    let e = env().await;
    e.fake.add_installation(5, XML);
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-app-key.pem"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .args(["put_team", "-o", "mitx", "-g", "From the CLI"])
        .env_clear()
        .env("ORC_GH_API_URL", e.fake.url())
        .env("ORC_APP_ID", common::TEST_APP_ID.to_string())
        .env("ORC_APP_PRIVATE_KEY_PATH", key)
        .output()
        .expect("run");
    common::expect_success(&out, "");
    assert!(e.fake.team(XML, "from-the-cli").is_some());
}

/// One exit-code rule: 0 success, 2 bad input or configuration, 1 GitHub or
/// I/O failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_exit_codes_follow_one_rule() {
    let e = env().await;
    e.fake.add_repo(XML, "content-mit-801-2017_Fall");
    let bare = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
            .args(args)
            .env_clear()
            .output()
            .expect("run")
            .status
            .code()
    };
    let release = ["release_xml", "-c", "8.01", "-t", "2017_Fall"];
    let table: Vec<(&str, Option<i32>, Option<i32>)> = vec![
        ("no credentials", bare(&release), Some(2)),
        (
            "a bad course name",
            bare(&["release_xml", "-c", "8.01!", "-t", "2017_Fall"]),
            Some(2),
        ),
        ("an unknown subcommand", bare(&["nosuch"]), Some(2)),
        (
            "a dry run with a hook URL missing",
            bare(&["--dry-run", "release_xml", "-c", "8.01", "-t", "2017_Fall"]),
            Some(0),
        ),
        ("completions", bare(&["completions", "zsh"]), Some(0)),
        ("success", cli(&e, &release).status.code(), Some(0)),
        (
            "a run that is not there",
            cli(&e, &["release_xml", "-c", "8.01", "-t", "2016_Fall"])
                .status
                .code(),
            Some(2),
        ),
    ];
    // GitHub refuses the token: a failure of GitHub's side, not of the input.
    e.fake.inject("GET", "/repos/**", Fault::Status(401), 100);
    let refused = cli(&e, &release).status.code();
    for (what, got, want) in table
        .into_iter()
        .chain([("GitHub refuses", refused, Some(1))])
    {
        assert_eq!(got, want, "{what}");
    }
}

// ---------------------------------------------------------------- call counts

/// The table the issue asks for: our calls per action with one page of teams,
/// two members and one hook, against orcoursetrion's.
#[tokio::test]
async fn call_counts_per_action() {
    let mut table = Vec::new();
    let e = env().await;
    // The calls one action makes, from a clean log.
    let calls_of = |action: Action| {
        e.fake.clear_log();
        let e = &e;
        async move {
            run(e, action).await.expect("ok");
            e.fake.calls().len()
        }
    };
    table.push((
        "create_export_repo",
        calls_of(export_repo("6.004r", "2018_Spring", None)).await,
        8usize,
    ));
    e.fake
        .add_hook(STUDIO, "content-mit-6004r-2018_Spring", STAGING);
    let rerun = rerun_studio("6.004r", "2018_Spring", "2019_Spring");
    table.push(("rerun_studio (1 hook)", calls_of(rerun).await, 9));
    let release = Action::ReleaseStudio(course_run("6.004r", "2019_Spring"));
    table.push(("release_studio", calls_of(release).await, 1));

    // App installation: a team created by an installation token starts empty.
    e.fake.add_installation(9, XML);
    let app = AppCredentials::from_pem("4242", &Secret::new(common::test_app_private_key_pem()))
        .expect("key");
    let gh = GitHub::app(client(&e.fake, &e.clock), app)
        .expect("app")
        .installation(9);
    let members = vec![
        Login::parse("alice").expect("l"),
        Login::parse("bob").expect("l"),
    ];
    let action = Action::CreateXmlRepo(orcoursetrion::CreateXmlRepo {
        course: c("8.01"),
        term: t("2018_Spring"),
        team: None,
        members: Some(members),
        description: None,
    });
    let p = plan(&action, &e.s).expect("plan");
    e.fake.clear_log();
    execute(&gh, &e.s, &p, &mut Journal::default(), &mut NoJournal)
        .await
        .expect("ok");
    table.push((
        "create_xml_repo (new team, 2 members)",
        e.fake.calls().len(),
        12,
    ));
    let rerun = Action::RerunXml(course_run("8.01", "2018_Spring"));
    table.push(("rerun_xml (1 hook)", calls_of(rerun).await, 3));
    let release = Action::ReleaseXml(course_run("8.01", "2018_Spring"));
    table.push(("release_xml", calls_of(release).await, 1));

    println!("| action | ours | orcoursetrion | ratio |");
    println!("|---|---|---|---|");
    for (name, ours, theirs) in &table {
        println!(
            "| {name} | {ours} | {theirs} | {:.0}% |",
            *ours as f64 * 100.0 / *theirs as f64
        );
    }
    let ours: Vec<usize> = table.iter().map(|r| r.1).collect();
    assert_eq!(ours, vec![4, 5, 1, 6, 2, 1], "{table:?}");
    for (name, ours, theirs) in table {
        if theirs > 1 && !name.starts_with("rerun_xml") {
            assert!(
                ours as f64 <= 0.6 * theirs as f64,
                "{name}: {ours} > 60% of {theirs}"
            );
        }
    }
}
