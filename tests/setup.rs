//! Setup mode end to end: the real setup router on 127.0.0.1:0,
//! the fake GitHub answering the manifest conversion.

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::fake::{FakeGitHub, Fault, MANIFEST_CLIENT_SECRET, MANIFEST_WEBHOOK_SECRET};
use common::{TEST_APP_ID, TEST_APP_SLUG, TEST_CLIENT_ID};
use orcoursetrion::AppCredentials;
use orcoursetrion::{sign, Mode, SetupDone, SetupState, KEY_FILE_NAME};
use orcoursetrion::{ClientConfig, GitHub};
use orcoursetrion::{Config, GitHubAuth};
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

const INSTALLATION: u64 = 77;

struct Setup {
    base: String,
    dir: TempDir,
    http: reqwest::Client,
}

impl Setup {
    async fn start(fake: &FakeGitHub, org: Option<&str>) -> Setup {
        Self::start_with_api(&fake.url(), org).await
    }

    /// A fake that will convert manifest `code` once, a setup server for
    /// it, and the `state` of the form that server handed out.
    async fn with_code(code: &str) -> (FakeGitHub, Setup, String) {
        let fake = FakeGitHub::start().await;
        fake.add_manifest_code(code);
        let s = Setup::start(&fake, None).await;
        let state = s.state().await;
        (fake, s, state)
    }

    async fn start_with_api(api_url: &str, org: Option<&str>) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = SetupState {
            api_url: api_url.to_string(),
            public_url: "https://orc.example.edu".to_string(),
            env_path: dir.path().join(".env"),
            key_dir: dir.path().join("keys"),
            org: org.map(str::to_string),
            vars: HashMap::new(),
            done: SetupDone::default(),
        };
        let app = orcoursetrion::router(Mode::Setup(state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Setup { base, dir, http }
    }

    fn env_path(&self) -> PathBuf {
        self.dir.path().join(".env")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("keys").join(KEY_FILE_NAME)
    }

    async fn get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.expect("body"))
    }

    /// `GET /`: the form's action and the manifest it posts.
    async fn form(&self) -> (String, Value) {
        let (status, headers, html) = self.get("/").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Register GitHub App"), "{html}");
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(headers.contains_key("content-security-policy"));
        // The POST to GitHub must carry a real Origin.
        assert_eq!(
            headers.get("referrer-policy").and_then(|v| v.to_str().ok()),
            Some("strict-origin-when-cross-origin")
        );
        let action = unescape(between(&html, "<form method=\"post\" action=\"", "\""));
        let manifest = unescape(between(&html, "name=\"manifest\" value=\"", "\""));
        let manifest: Value = serde_json::from_str(&manifest).expect("manifest is JSON");
        (action, manifest)
    }

    /// The CSRF state of a fresh `GET /`.
    async fn state(&self) -> String {
        let (action, _) = self.form().await;
        action
            .split_once("?state=")
            .map(|(_, s)| s.to_string())
            .expect("state in the action URL")
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in:\n{s}"))
        + start.len();
    let len = s[from..].find(end).expect("end marker");
    &s[from..from + len]
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn env_vars(path: &Path) -> HashMap<String, String> {
    dotenvy::from_path_iter(path)
        .expect("open .env")
        .map(|r| r.expect("dotenvy parses the .env"))
        .collect()
}

fn conversions(fake: &FakeGitHub) -> usize {
    fake.calls_where(|c| c.starts_with("POST /app-manifests/"))
        .len()
}

#[tokio::test]
async fn index_offers_the_manifest_with_this_servers_urls() {
    let fake = FakeGitHub::start().await;
    let s = Setup::start(&fake, None).await;
    let (action, manifest) = s.form().await;
    // The fake is its own web UI (not api.github.com, no /api/v3).
    let prefix = format!("{}/settings/apps/new?state=", fake.url());
    assert!(action.starts_with(&prefix), "{action}");
    let state = &action[prefix.len()..];
    assert_eq!(state.len(), 64);
    assert!(state.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(manifest["url"], "https://orc.example.edu");
    assert_eq!(
        manifest["hook_attributes"]["url"],
        "https://orc.example.edu/webhook"
    );
    assert_eq!(
        manifest["redirect_url"],
        "https://orc.example.edu/setup/callback"
    );
    assert_eq!(
        manifest["default_events"],
        serde_json::json!(["issue_comment", "issues", "push"])
    );
    assert_eq!(manifest["default_permissions"]["administration"], "write");
    // Each visit gets its own state.
    assert_ne!(s.state().await, state);

    let (status, _, body) = s.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Not ready for webhooks until registered; metrics say it is setup mode.
    let (status, _, body) = s.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("setup mode"), "{body}");
    let (status, _, body) = s.get("/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("orcoursetrion_setup_mode 1"), "{body}");
}

#[tokio::test]
async fn org_registration_posts_to_the_org_page() {
    let fake = FakeGitHub::start().await;
    let s = Setup::start(&fake, Some("mitodl")).await;
    let (action, _) = s.form().await;
    assert!(
        action.starts_with(&format!(
            "{}/organizations/mitodl/settings/apps/new?state=",
            fake.url()
        )),
        "{action}"
    );
}

#[tokio::test]
async fn github_dot_com_web_ui_is_used_for_the_public_api() {
    let s = Setup::start_with_api("https://api.github.com", None).await;
    let (action, _) = s.form().await;
    assert!(
        action.starts_with("https://github.com/settings/apps/new?state="),
        "{action}"
    );
}

#[tokio::test]
async fn an_invalid_org_is_an_error_page_not_a_form() {
    let fake = FakeGitHub::start().await;
    let s = Setup::start(&fake, Some("../evil")).await;
    let (status, _, html) = s.get("/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(html.contains("ORC_SETUP_ORG"), "{html}");
    assert!(!html.contains("<form"), "{html}");
}

#[tokio::test]
async fn a_bad_or_missing_state_is_refused_before_github_is_called() {
    let (fake, s, _) = Setup::with_code("goodcode1").await;
    for query in [
        "?code=goodcode1&state=0000000000000000000000000000000000000000000000000000000000000000",
        "?code=goodcode1",
        "?code=goodcode1&state=",
        "",
    ] {
        let (status, _, html) = s.get(&format!("/setup/callback{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {html}");
        assert!(html.contains("setup page"), "{html}");
    }
    assert_eq!(conversions(&fake), 0);
    assert!(!s.env_path().exists());
    assert!(!s.key_path().exists());
}

#[tokio::test]
async fn a_malformed_code_is_refused_before_github_is_called() {
    let fake = FakeGitHub::start().await;
    let s = Setup::start(&fake, None).await;
    let state = s.state().await;
    for code in ["abc%2F..%2Fx", "ab-cd", &"a".repeat(101), ""] {
        let (status, _, html) = s
            .get(&format!("/setup/callback?code={code}&state={state}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}: {html}");
    }
    assert_eq!(conversions(&fake), 0);
    assert!(!s.env_path().exists());
}

#[tokio::test]
async fn a_good_callback_writes_credentials_that_authenticate() {
    let fake = FakeGitHub::start().await;
    fake.add_manifest_code("abc123DEF");
    fake.add_installation(INSTALLATION, "mitx");
    let s = Setup::start(&fake, None).await;
    // An operator's existing .env: unrelated lines stay, stale keys go.
    fs::write(
        s.env_path(),
        "# operator settings\nORC_REQUESTS_REPOS=mitx/course-requests\nORC_APP_ID=old\nORC_LOG_FORMAT=json\n",
    )
    .expect("seed .env");

    let state = s.state().await;
    let (status, headers, html) = s
        .get(&format!("/setup/callback?code=abc123DEF&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        headers.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    assert!(html.contains(TEST_APP_SLUG), "{html}");
    assert!(
        html.contains(&format!(
            "https://github.example/apps/{TEST_APP_SLUG}/installations/new"
        )),
        "{html}"
    );
    assert!(
        html.contains("once they are saved, the server leaves setup mode"),
        "{html}"
    );
    for secret in [
        MANIFEST_CLIENT_SECRET,
        MANIFEST_WEBHOOK_SECRET,
        "PRIVATE KEY",
    ] {
        assert!(!html.contains(secret), "the page shows a secret: {html}");
    }

    // The conversion was called as GitHub documents it.
    let req = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/app-manifests/abc123DEF/conversions")
        .expect("conversion call");
    assert_eq!(req.method, "POST");
    assert_eq!(req.accept.as_deref(), Some("application/vnd.github+json"));
    assert_eq!(req.api_version.as_deref(), Some("2022-11-28"));
    assert!(req
        .user_agent
        .is_some_and(|ua| ua.starts_with("orcoursetrion/")));

    // Both files are owner-only.
    assert_eq!(mode(&s.env_path()), 0o600);
    assert_eq!(mode(&s.key_path()), 0o600);
    assert!(fs::read_to_string(s.key_path())
        .expect("pem")
        .contains("PRIVATE KEY"));

    let text = fs::read_to_string(s.env_path()).expect(".env");
    assert!(
        text.starts_with("# operator settings\nORC_REQUESTS_REPOS=mitx/course-requests\n"),
        "{text}"
    );
    assert!(text.contains("ORC_LOG_FORMAT=json\n"), "{text}");
    assert_eq!(text.matches("ORC_APP_ID=").count(), 1, "{text}");
    let vars = env_vars(&s.env_path());
    assert_eq!(vars["ORC_APP_ID"], TEST_APP_ID.to_string());
    assert_eq!(vars["ORC_APP_CLIENT_ID"], TEST_CLIENT_ID);
    assert_eq!(vars["ORC_APP_CLIENT_SECRET"], MANIFEST_CLIENT_SECRET);
    assert_eq!(vars["ORC_WEBHOOK_SECRET"], MANIFEST_WEBHOOK_SECRET);
    assert_eq!(vars["ORC_APP_SLUG"], TEST_APP_SLUG);
    assert_eq!(vars["ORC_REQUESTS_REPOS"], "mitx/course-requests");
    let key_path = PathBuf::from(&vars["ORC_APP_PRIVATE_KEY_PATH"]);
    assert!(key_path.is_absolute(), "{key_path:?}");
    assert_eq!(
        fs::canonicalize(&key_path).ok(),
        fs::canonicalize(s.key_path()).ok()
    );

    // The configuration the restarted server would read: App auth.
    let config = Config::from_vars(&vars).expect("config from the written .env");
    let Some(GitHubAuth::App {
        app_id,
        private_key,
        ..
    }) = config.auth
    else {
        panic!("expected App auth, got {:?}", config.auth);
    };
    assert_eq!(app_id, TEST_APP_ID.to_string());
    assert_eq!(config.webhook_secrets.len(), 1);
    assert_eq!(config.webhook_secrets[0].expose(), MANIFEST_WEBHOOK_SECRET);

    // The saved key signs a JWT the fake accepts: an installation token.
    let creds = AppCredentials::from_pem(app_id, &private_key).expect("RSA key");
    let gh = GitHub::app(
        ClientConfig {
            api_url: fake.url(),
            ..ClientConfig::default()
        },
        creds,
    )
    .expect("client");
    let token = gh
        .installation(INSTALLATION)
        .token_for_git("mitx")
        .await
        .expect("installation token");
    assert_eq!(fake.token_installation(token.expose()), Some(INSTALLATION));
    assert_eq!(fake.tokens_issued(), 1);

    // Registered: the page says so, offers only the settings form (no second
    // registration), and a second callback changes nothing.
    let (status, _, html) = s.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("registered"), "{html}");
    assert!(!html.contains("Register GitHub App"), "{html}");
    assert!(html.contains("action=\"/setup/settings\""), "{html}");
    let before = fs::read(s.env_path()).expect(".env");
    let (status, _, _) = s
        .get(&format!("/setup/callback?code=abc123DEF&state={state}"))
        .await;
    // The state was spent with the registration.
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fs::read(s.env_path()).expect(".env"), before);
    assert_eq!(conversions(&fake), 1);
}

#[tokio::test]
async fn a_reused_code_is_githubs_error_and_leaves_env_alone() {
    // First server uses the code.
    let (fake, first, state) = Setup::with_code("onceonly").await;
    let (status, _, html) = first
        .get(&format!("/setup/callback?code=onceonly&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // A second server, with its own .env, replays it.
    let s = Setup::start(&fake, None).await;
    let original = "ORC_REQUESTS_REPOS=mitx/course-requests\n";
    fs::write(s.env_path(), original).expect("seed .env");
    let state = s.state().await;
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=onceonly&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    assert!(
        html.contains("Not Found"),
        "GitHub's message is shown: {html}"
    );
    assert_eq!(fs::read_to_string(s.env_path()).expect(".env"), original);
    assert!(!s.key_path().exists());

    // The state survives a failed exchange (a retry after a network error
    // can still succeed), and GitHub's error page offers the way back.
    fake.add_manifest_code("secondtry");
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=secondtry&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        env_vars(&s.env_path())["ORC_REQUESTS_REPOS"],
        "mitx/course-requests"
    );
}

#[tokio::test]
async fn unreachable_github_is_a_bad_gateway_page() {
    // Bind then drop a listener: its port refuses connections.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let s = Setup::start_with_api(&format!("http://127.0.0.1:{port}"), None).await;
    let state = s.state().await;
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=abc&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    assert!(html.contains("cannot reach GitHub"), "{html}");
    assert!(!s.env_path().exists());
}

#[tokio::test]
async fn webhooks_in_setup_mode_are_unavailable() {
    let fake = FakeGitHub::start().await;
    let s = Setup::start(&fake, None).await;
    let resp = s
        .http
        .post(format!("{}/webhook", s.base))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn github_failures_are_bad_gateway_pages_and_the_code_can_be_retried() {
    let (fake, s, state) = Setup::with_code("flaky1").await;

    fake.inject(
        "POST",
        "/app-manifests/*/conversions",
        Fault::Status(502),
        1,
    );
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=flaky1&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    assert!(html.contains("502"), "{html}");
    assert!(!s.env_path().exists());

    fake.inject("POST", "/app-manifests/*/conversions", Fault::Drop, 1);
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=flaky1&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    assert!(!s.env_path().exists());

    // Neither failure spent the code (the fake answered before consuming it).
    let (status, _, html) = s
        .get(&format!("/setup/callback?code=flaky1&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        env_vars(&s.env_path())["ORC_APP_ID"],
        TEST_APP_ID.to_string()
    );
}

/// The whole first hour in one go: `serve` without credentials, the manifest
/// flow, the settings form, and then webhooks taken with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_saves_the_settings_and_leaves_setup_mode_without_a_restart() {
    let fake = FakeGitHub::start().await;
    fake.add_manifest_code("firsthour1");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let env_file = dir.path().join(".env");
    let vars: HashMap<String, String> = [
        ("PORT", port.to_string()),
        ("ORC_GH_API_URL", fake.url()),
        ("ORC_PUBLIC_URL", "https://orc.example.edu".to_string()),
        ("ORC_ENV_FILE", env_file.display().to_string()),
        (
            "ORC_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("orc.db").display()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Config::from_vars(&vars).expect("config");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move {
            for _ in 0..100 {
                if let Ok(r) = http.get(&url).send().await {
                    return (r.status(), r.text().await.unwrap_or_default());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("{url} never answered")
        }
    };
    let flow = async {
        let (_, index) = get("/").await;
        let action = unescape(between(&index, "<form method=\"post\" action=\"", "\""));
        let state = action.split_once("?state=").expect("state").1.to_string();
        let (status, page) = get(&format!("/setup/callback?code=firsthour1&state={state}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("action=\"/setup/settings\""), "{page}");
        let token = between(&page, "name=\"token\" value=\"", "\"").to_string();
        let post = |fields: Vec<(&'static str, String)>| {
            let (http, url) = (http.clone(), format!("{base}/setup/settings"));
            async move {
                let r = http.post(url).form(&fields).send().await.expect("post");
                (r.status(), r.text().await.unwrap_or_default())
            }
        };
        // A bad value is reported by name, and nothing is saved.
        let (status, page) = post(vec![
            ("token", token.clone()),
            ("ORC_REQUESTS_REPOS", "not a repo".into()),
        ])
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("ORC_REQUESTS_REPOS"), "{page}");
        // A forged form is refused.
        let (status, _) = post(vec![("token", "forged".into())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, page) = post(vec![
            ("token", token),
            ("ORC_REQUESTS_REPOS", "mitx/course-requests".into()),
            ("ORC_XML_ORG", "mitx".into()),
            (
                "ORC_STAGING_GITRELOAD",
                "https://gr:pw@staging.example.edu/gitreload".into(),
            ),
        ])
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let saved = env_vars(&env_file);
        assert_eq!(mode(&env_file), 0o600);
        assert_eq!(saved["ORC_REQUESTS_REPOS"], "mitx/course-requests");
        assert_eq!(
            saved["ORC_STAGING_GITRELOAD"],
            "https://gr:pw@staging.example.edu/gitreload"
        );
        // The same process now serves normally: ready, and webhooks are taken.
        let mut ready = false;
        for _ in 0..100 {
            if get("/readyz").await.0 == StatusCode::OK {
                ready = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(ready, "the server never left setup mode");
        let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
        let r = http
            .post(format!("{base}/webhook"))
            .header("X-GitHub-Event", "ping")
            .header("X-GitHub-Delivery", "first-hour-1")
            .header(
                "X-Hub-Signature-256",
                sign(MANIFEST_WEBHOOK_SECRET.as_bytes(), body),
            )
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("webhook");
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    };
    // The server runs in this task beside the flow (its future is not Send).
    tokio::select! {
        r = orcoursetrion::serve_with_vars(config, vars) => panic!("serve ended: {r:?}"),
        () = flow => {}
    }
}
