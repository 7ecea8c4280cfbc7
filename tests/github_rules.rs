//! Right on real GitHub: every call goes through the installation of the
//! account it touches, since the fake (like GitHub) scopes installation
//! tokens to their own account.

mod common;

use common::fake::Auth;
use common::tester::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_studio_and_an_xml_command_each_use_their_own_orgs_installation() {
    let mut h = Tester::start().await;
    let c = h
        .comment(
            "alice",
            "/create-export-repo 6.004r 2018_Spring\n/create-xml-repo 8.01 2018_Spring",
        )
        .await;
    assert_eq!(
        h.finished(c).await,
        vec!["eyes", "rocket"],
        "{:#?}",
        h.replies()
    );
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
    let lookups: Vec<String> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.ends_with("/installation"))
        .collect();
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
    let c = h
        .comment("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    assert_eq!(h.finished(c).await, vec!["eyes", "confused"]);
    let reply = &h.replies()[0];
    assert!(
        reply.contains("the App is not installed on mitx-studio-elsewhere"),
        "{reply}"
    );
    assert!(reply.contains("/installations/new"), "{reply}");
    assert!(
        h.provisioning_writes().is_empty(),
        "{:?}",
        h.provisioning_writes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_installation_is_forgotten_and_looked_up_again() {
    let mut h = Tester::start().await;
    let c = h
        .comment("alice", "/create-export-repo 6.004r 2018_Spring")
        .await;
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    let studio_lookups = |h: &Tester| {
        h.fake
            .calls()
            .iter()
            .filter(|c| c.contains(&format!("/orgs/{STUDIO}/installation")))
            .count()
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
    let c = h
        .comment("alice", "/create-export-repo 8.01 2018_Spring")
        .await;
    assert_eq!(h.finished(c).await, vec!["eyes", "rocket"]);
    assert_eq!(studio_lookups(&h), 2, "looked up again after the event");
}
