//! `orcoursetrion doctor` against the fake GitHub: every ✓ on the standard
//! shop, and each ✗ with its fix on a broken one.

mod common;

use common::tester::*;
use orcoursetrion::{diagnose, render_findings, ClientConfig};

/// The checklist with the run's addresses made stable for a snapshot.
async fn checklist(h: &Tester) -> (String, bool) {
    let client = ClientConfig {
        api_url: h.fake.url(),
        ..ClientConfig::default()
    };
    let findings = diagnose(&h.config, client).await;
    let ok = findings.iter().all(|f| f.is_ok());
    let text = render_findings(&findings)
        .replace(&h.fake.url(), "http://FAKE")
        .replace(h.config.database_url.expose(), "sqlite://DB");
    (text, ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_all_green_on_a_good_set_up() {
    let h = Tester::start().await;
    let (text, ok) = checklist(&h).await;
    assert!(ok, "{text}");
    assert!(!text.contains("pw"), "no hook credentials: {text}");
    insta::assert_snapshot!(text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_each_problem_and_its_fix() {
    let h = Tester::builder()
        // The App is not installed on the Studio org …
        .seed(|f| f.remove_installation(2))
        // … the operators team does not exist, the requests repo is unknown,
        // and no production hook URL is set.
        .var("ORC_OPERATORS_TEAM", "mitx/no-such-team")
        .var("ORC_REQUESTS_REPOS", "mitx/no-such-repo")
        .var("ORC_PRODUCTION_GITRELOAD", "")
        .start()
        .await;
    let (text, ok) = checklist(&h).await;
    assert!(!ok);
    common::assert_contains_all(
        &text,
        &[
            "✗ installed on MITx-Studio2LMS (the Studio org): an owner of MITx-Studio2LMS installs the App at",
            "✗ the requests repo mitx/no-such-repo is reachable",
            "✗ team mitx/no-such-team exists: create the team in mitx, or set ORC_OPERATORS_TEAM",
            "✗ the production gitreload URL is set: set ORC_PRODUCTION_GITRELOAD",
        ],
    );
    insta::assert_snapshot!(text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_says_what_runs_and_how_the_checks_went() {
    let h = Tester::start().await;
    let page = |h: &Tester| {
        let url = h.url("/");
        let http = h.http.clone();
        async move {
            let r = http.get(url).send().await.expect("GET /");
            assert_eq!(r.status(), 200);
            r.text().await.expect("body")
        }
    };
    let body = page(&h).await;
    assert!(body.contains("It is running"), "{body}");
    assert!(body.contains("have not run"), "{body}");
    let client = ClientConfig {
        api_url: h.fake.url(),
        ..ClientConfig::default()
    };
    h.server().doctor.set(diagnose(&h.config, client).await);
    let body = page(&h).await;
    assert!(body.contains("All 14 set-up checks pass."), "{body}");
    assert!(body.contains("href=\"/metrics\""), "{body}");
}
