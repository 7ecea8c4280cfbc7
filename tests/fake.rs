//! Self-tests of the fake GitHub in `tests/common/fake/`.

mod common;

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use common::fake::{Auth, FakeGitHub, Fault, BOT_LOGIN};
use common::{test_app_private_key_pem, TEST_APP_ID, TEST_CLIENT_ID};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};

const PAT: &str = "ghp_testpersonaltoken";
const INSTALLATION: u64 = 77;

fn client() -> Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("accept", "application/vnd.github+json".parse().unwrap());
    h.insert("x-github-api-version", "2022-11-28".parse().unwrap());
    Client::builder()
        .user_agent("orcoursetrion-fake-selftest")
        .default_headers(h)
        .build()
        .unwrap()
}

/// A fake with org `mitx`, user `alice` owning personal token [`PAT`] and
/// installation [`INSTALLATION`] on `mitx`.
async fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start().await;
    fake.add_org("mitx");
    fake.add_personal_token(PAT, "alice");
    fake.add_installation(INSTALLATION, "mitx");
    fake
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(claims: &Value) -> String {
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(test_app_private_key_pem().as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        claims,
        &key,
    )
    .unwrap()
}

/// A JWT as the spec wants it: iat 60 s in the past, exp 9 min ahead.
fn good_jwt() -> String {
    sign(&json!({"iat": now() - 60, "exp": now() + 540, "iss": TEST_APP_ID.to_string()}))
}

/// Calls on the fake as one token: `api(&fake, PAT).get(path)`.
fn api<'a>(fake: &'a FakeGitHub, token: &'a str) -> Api<'a> {
    Api { fake, token }
}

struct Api<'a> {
    fake: &'a FakeGitHub,
    token: &'a str,
}

impl Api<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = client()
            .request(method, format!("{}{path}", self.fake.url()))
            .bearer_auth(self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn post_empty(&self, path: &str) -> Response {
        self.send(Method::POST, path, None).await
    }

    async fn put(&self, path: &str, body: Value) -> Response {
        self.send(Method::PUT, path, Some(body)).await
    }

    async fn put_empty(&self, path: &str) -> Response {
        self.send(Method::PUT, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, Some(body)).await
    }
}

async fn json_of(resp: Response) -> Value {
    resp.json().await.unwrap()
}

async fn installation_token(fake: &FakeGitHub) -> String {
    let path = format!("/app/installations/{INSTALLATION}/access_tokens");
    let resp = api(fake, &good_jwt()).post_empty(&path).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    json_of(resp).await["token"].as_str().unwrap().to_string()
}

fn links(resp: &Response) -> Vec<(String, String)> {
    let Some(h) = resp.headers().get("link") else {
        return Vec::new();
    };
    h.to_str()
        .unwrap()
        .split(", ")
        .map(|part| {
            let (url, rel) = part.split_once("; ").unwrap();
            let url = url
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            let rel = rel
                .trim_start_matches("rel=\"")
                .trim_end_matches('"')
                .to_string();
            (rel, url)
        })
        .collect()
}

#[tokio::test]
async fn every_response_has_github_headers_and_error_shape() {
    let fake = fake().await;
    let resp = api(&fake, PAT).get("/repos/mitx/nope").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let id1 = resp.headers()["x-github-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(resp.headers().contains_key(h), "{h}");
    }
    let body = json_of(resp).await;
    assert_eq!(body["message"], "Not Found");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
    let resp = api(&fake, PAT).get("/no/such/route").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_ne!(resp.headers()["x-github-request-id"].to_str().unwrap(), id1);
    // Unknown method on a known route is a GitHub-style 404 too.
    let resp = api(&fake, PAT)
        .send(Method::PATCH, "/orgs/mitx/repos", None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(resp).await["message"], "Not Found");
}

#[tokio::test]
async fn auth_is_required_and_checked() {
    let fake = fake().await;
    let url = format!("{}/orgs/mitx", fake.url());
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = client()
        .get(&url)
        .bearer_auth("ghp_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(resp).await["message"], "Bad credentials");
    // `token` scheme works as well as `Bearer`.
    let resp = client()
        .get(&url)
        .header("authorization", format!("token {PAT}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(resp).await["login"], "mitx");
    // An app JWT is not an installation token.
    let resp = client()
        .get(&url)
        .bearer_auth(good_jwt())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // And a token is not a JWT.
    let resp = api(&fake, PAT).get("/app").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // GitHub refuses requests without a User-Agent.
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(PAT)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let log = fake.requests();
    assert_eq!(log[0].auth, Auth::None);
    assert_eq!(log[1].auth, Auth::None);
    assert_eq!(log[2].auth, Auth::Personal("alice".into()));
    assert_eq!(
        log[2].user_agent.as_deref(),
        Some("orcoursetrion-fake-selftest")
    );
    assert_eq!(
        log[2].accept.as_deref(),
        Some("application/vnd.github+json")
    );
    assert_eq!(log[2].api_version.as_deref(), Some("2022-11-28"));
    assert_eq!(log[3].auth, Auth::Jwt);
    assert_eq!(log[5].status, 403);
}

#[tokio::test]
async fn jwt_checks() {
    let fake = fake().await;
    let path = format!("/app/installations/{INSTALLATION}/access_tokens");
    let t = now();
    let ok = [
        json!({"iat": t - 60, "exp": t + 540, "iss": TEST_APP_ID.to_string()}),
        json!({"iat": t - 60, "exp": t + 540, "iss": TEST_APP_ID}),
        json!({"iat": t - 60, "exp": t + 540, "iss": TEST_CLIENT_ID}),
        json!({"iat": t + 30, "exp": t + 600, "iss": TEST_APP_ID}),
    ];
    for claims in &ok {
        let resp = api(&fake, &sign(claims)).post_empty(&path).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{claims}");
        let body = json_of(resp).await;
        assert!(body["token"].as_str().unwrap().starts_with("ghs_"));
        assert_eq!(body["repository_selection"], "all");
        assert!(chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).is_ok());
        assert!(body["permissions"].is_object());
    }
    assert_eq!(fake.tokens_issued(), ok.len());

    // Bad signature: a payload the key never signed.
    let good = good_jwt();
    let parts: Vec<&str> = good.split('.').collect();
    let forged_claims = json!({"iat": t - 60, "exp": t + 540, "iss": 1});
    let forged_payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let rejected = [
        (forged, "signature"),
        (
            sign(&json!({"iat": t - 700, "exp": t - 100, "iss": TEST_APP_ID})),
            "expired",
        ),
        (
            sign(&json!({"iat": t - 60, "exp": t + 900, "iss": TEST_APP_ID})),
            "too far",
        ),
        (
            sign(&json!({"iat": t + 300, "exp": t + 600, "iss": TEST_APP_ID})),
            "in the future",
        ),
        (
            sign(&json!({"iat": t - 60, "exp": t + 540, "iss": "9999"})),
            "Issuer",
        ),
        (
            sign(&json!({"iat": t - 60, "iss": TEST_APP_ID})),
            "Expiration",
        ),
        ("not-a-jwt".to_string(), "could not be decoded"),
    ];
    for (jwt, why) in &rejected {
        let resp = api(&fake, jwt).post_empty(&path).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
        let msg = json_of(resp).await["message"].as_str().unwrap().to_string();
        assert!(msg.contains(why), "{why}: {msg}");
    }
    assert_eq!(fake.tokens_issued(), ok.len());
    // Claims of presented JWTs are recorded (not of the non-JWT).
    let claims = fake.jwt_claims();
    assert_eq!(claims.len(), ok.len() + rejected.len() - 1);
    assert_eq!(claims[1]["iss"], json!(TEST_APP_ID));

    // Unknown installation: 404.
    let resp = api(&fake, &good_jwt())
        .post_empty("/app/installations/1/access_tokens")
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // GET /app and the installations.
    let app = json_of(api(&fake, &good_jwt()).get("/app").await).await;
    assert_eq!(app["id"], json!(4242));
    assert_eq!(app["slug"], "orcoursetrion-test");
    let resp = api(&fake, &good_jwt()).get("/app/installations").await;
    let list = json_of(resp).await;
    assert_eq!(list[0]["id"], json!(INSTALLATION));
    assert_eq!(list[0]["account"]["login"], "mitx");
    let resp = api(&fake, &good_jwt()).get("/orgs/MITx/installation").await;
    assert_eq!(json_of(resp).await["id"], json!(INSTALLATION));
    // The token endpoint is not among the calls.
    assert!(fake.calls().iter().all(|c| !c.contains("access_tokens")));
    assert!(fake.calls().contains(&"GET /app".to_string()));
}

#[tokio::test]
async fn installation_tokens_expire() {
    let fake = fake().await;
    fake.set_token_ttl(Duration::from_millis(1200));
    let token = installation_token(&fake).await;
    assert_eq!(fake.token_installation(&token), Some(INSTALLATION));
    let resp = api(&fake, &token).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let resp = api(&fake, &token).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(resp).await["message"], "Bad credentials");
    let log = fake.requests();
    assert_eq!(log.last().unwrap().auth, Auth::Installation(token.clone()));
    // Default TTL again, then a forced expiry.
    fake.set_token_ttl(Duration::from_secs(3600));
    let token = installation_token(&fake).await;
    assert_eq!(
        api(&fake, &token).get("/orgs/mitx").await.status(),
        StatusCode::OK
    );
    fake.expire_all_tokens();
    assert_eq!(
        api(&fake, &token).get("/orgs/mitx").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// As on GitHub, users and orgs share one namespace of logins, compared
/// without case: a login a user holds is no org, and adding it as one makes
/// no second account.
#[tokio::test]
async fn users_and_orgs_share_one_namespace_of_logins() {
    let fake = fake().await;
    let id = fake.add_user("carol");
    assert_eq!(fake.add_org("CAROL"), id);
    let a = api(&fake, PAT);
    let user = json_of(a.get("/users/Carol").await).await;
    assert_eq!(
        (user["login"].as_str(), user["type"].as_str()),
        (Some("carol"), Some("User"))
    );
    assert_eq!(a.get("/orgs/carol").await.status(), StatusCode::NOT_FOUND);
    let org = json_of(a.get("/users/MITX").await).await;
    assert_eq!(
        (org["login"].as_str(), org["type"].as_str()),
        (Some("mitx"), Some("Organization"))
    );
}

/// As on GitHub, an installation token reaches only its own account: the
/// repos, teams and hooks of any other are a 404 (scoping is on unless a
/// test turns it off).
#[tokio::test]
async fn installation_tokens_reach_only_their_own_account() {
    let fake = fake().await;
    fake.add_repo("other", "r");
    fake.add_repo("mitx", "r");
    let token = fake.issue_token(INSTALLATION);
    for path in ["/orgs/other/teams", "/repos/other/r/hooks"] {
        assert_eq!(
            api(&fake, &token).get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        api(&fake, &token).get("/repos/other/r").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api(&fake, &token).get("/repos/MITx/r").await.status(),
        StatusCode::OK
    );
    fake.set_installation_scope(false);
    assert_eq!(
        api(&fake, &token).get("/repos/other/r").await.status(),
        StatusCode::OK
    );
    assert_eq!(fake.tokens_issued(), 0);
}

#[tokio::test]
async fn pagination_over_250_teams() {
    let fake = fake().await;
    for i in 0..250 {
        fake.add_team("mitx", &format!("Team {i:03}"), "pull");
    }
    let first = format!("{}/orgs/mitx/teams?per_page=100", fake.url());
    let mut url = first.clone();
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let resp = client().get(&url).bearer_auth(PAT).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let l = links(&resp);
        let rels: Vec<&str> = l.iter().map(|(r, _)| r.as_str()).collect();
        pages += 1;
        match pages {
            1 => assert_eq!(rels, ["next", "last"]),
            2 => assert_eq!(rels, ["prev", "next", "last", "first"]),
            _ => assert_eq!(rels, ["prev", "first"]),
        }
        let get = |rel: &str| l.iter().find(|(r, _)| r == rel).map(|(_, u)| u.clone());
        if let Some(last) = get("last") {
            assert_eq!(
                last,
                format!("{}/orgs/mitx/teams?per_page=100&page=3", fake.url())
            );
        }
        if let Some(f) = get("first") {
            assert_eq!(f, format!("{first}&page=1"));
        }
        let page: Vec<Value> = resp.json().await.unwrap();
        assert_eq!(page.len(), if pages < 3 { 100 } else { 50 });
        names.extend(page.iter().map(|t| t["name"].as_str().unwrap().to_string()));
        match get("next") {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 250);
    assert_eq!(names[0], "Team 000");
    assert_eq!(names[249], "Team 249");
    // Default per_page is 30, max 100.
    let resp = api(&fake, PAT).get("/orgs/mitx/teams").await;
    assert!(links(&resp)
        .iter()
        .any(|(r, u)| r == "last" && u.ends_with("/orgs/mitx/teams?page=9")));
    assert_eq!(json_of(resp).await.as_array().unwrap().len(), 30);
    let resp = api(&fake, PAT).get("/orgs/mitx/teams?per_page=500").await;
    assert_eq!(json_of(resp).await.as_array().unwrap().len(), 100);
    assert_eq!(
        fake.calls()[..2],
        [
            "GET /orgs/mitx/teams?per_page=100",
            "GET /orgs/mitx/teams?per_page=100&page=2"
        ]
    );
}

#[tokio::test]
async fn repos_create_get_list_delete() {
    let fake = fake().await;
    let body =
        json!({"name": "content-mit-6004r-2018_Spring", "description": "6.004r", "private": true});
    let resp = api(&fake, PAT).post("/orgs/MITx/repos", body.clone()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let repo = json_of(resp).await;
    assert_eq!(repo["full_name"], "mitx/content-mit-6004r-2018_Spring");
    assert_eq!(repo["owner"]["login"], "mitx");
    assert_eq!(repo["owner"]["type"], "Organization");
    assert_eq!(repo["private"], true);
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(
        repo["html_url"],
        "https://github.example/mitx/content-mit-6004r-2018_Spring"
    );
    assert!(
        repo["node_id"].is_string()
            && repo["created_at"].is_string()
            && repo["pushed_at"].is_string()
    );
    assert_eq!(
        repo["hooks_url"],
        format!(
            "{}/repos/mitx/content-mit-6004r-2018_Spring/hooks",
            fake.url()
        )
    );

    // It exists (case-insensitively): 422 with GitHub's body.
    let mut again = body.clone();
    again["name"] = json!("CONTENT-mit-6004r-2018_spring");
    let resp = api(&fake, PAT).post("/orgs/mitx/repos", again).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = json_of(resp).await;
    assert_eq!(err["message"], "Repository creation failed.");
    assert_eq!(
        err["errors"][0]["message"],
        "name already exists on this account"
    );
    assert_eq!(err["errors"][0]["field"], "name");

    let resp = api(&fake, PAT).post("/orgs/nobody/repos", body).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = api(&fake, PAT)
        .get("/repos/MITX/Content-Mit-6004r-2018_Spring")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(resp).await["id"], repo["id"]);

    fake.add_repo("mitx", "second");
    let list = json_of(api(&fake, PAT).get("/orgs/mitx/repos?sort=full_name").await).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["content-mit-6004r-2018_Spring", "second"]);

    let resp = api(&fake, PAT).delete("/repos/mitx/second").await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(fake.repo("mitx", "second").is_none());
    assert_eq!(fake.repos("mitx").len(), 1);
    assert_eq!(
        fake.repo("MITx", "content-mit-6004r-2018_spring")
            .unwrap()
            .description
            .as_deref(),
        Some("6.004r")
    );

    let log = fake.requests();
    assert_eq!(
        log[0].body.as_ref().unwrap()["name"],
        "content-mit-6004r-2018_Spring"
    );
    assert_eq!(log[0].status, 201);
    assert_eq!(log[1].status, 422);
}

#[tokio::test]
async fn hooks_add_list_delete() {
    let fake = fake().await;
    fake.add_repo("mitx", "course");
    let seeded = fake.add_hook("mitx", "course", "https://staging.example/gitreload");
    let body = json!({
        "name": "web",
        "config": {"url": "https://user:pw@prod.example/gitreload", "content_type": "json", "secret": "s3cret", "insecure_ssl": "0"},
        "events": ["push"],
        "active": true
    });
    let resp = api(&fake, PAT)
        .post("/repos/mitx/course/hooks", body.clone())
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let hook = json_of(resp).await;
    assert_eq!(hook["config"]["secret"], "********");
    assert_eq!(hook["config"]["content_type"], "json");
    assert_eq!(hook["events"], json!(["push"]));
    assert_eq!(hook["type"], "Repository");
    // The same URL again: 422.
    let resp = api(&fake, PAT)
        .post("/repos/mitx/course/hooks", body.clone())
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = api(&fake, PAT)
        .post("/repos/mitx/missing/hooks", body)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let list = json_of(api(&fake, PAT).get("/repos/mitx/course/hooks").await).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], json!(seeded));
    let hooks = fake.hooks("mitx", "course");
    assert_eq!(hooks[1].secret.as_deref(), Some("s3cret"));
    assert_eq!(hooks[1].url, "https://user:pw@prod.example/gitreload");

    let path = format!("/repos/mitx/course/hooks/{seeded}");
    assert_eq!(
        api(&fake, PAT).delete(&path).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api(&fake, PAT).delete(&path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(fake.hooks("mitx", "course").len(), 1);
}

#[tokio::test]
async fn contents_create_update_and_sha_rules() {
    let fake = fake().await;
    fake.add_repo("mitx", "course");
    let put = |content: &str, sha: Option<&str>| {
        let mut b = json!({"message": "Add course.xml", "content": B64.encode(content)});
        if let Some(sha) = sha {
            b["sha"] = json!(sha);
        }
        b
    };
    let path = "/repos/mitx/course/contents/course/course.xml";
    let resp = api(&fake, PAT).put(path, put("<course/>\n", None)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created = json_of(resp).await;
    assert_eq!(created["content"]["path"], "course/course.xml");
    assert_eq!(created["content"]["name"], "course.xml");
    let sha = created["content"]["sha"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 40);
    assert!(created["commit"]["sha"].is_string());

    let resp = api(&fake, PAT).put(path, put("<course x/>\n", None)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json_of(resp).await["message"]
        .as_str()
        .unwrap()
        .contains("\"sha\" wasn't supplied"));
    let resp = api(&fake, PAT)
        .put(path, put("<course x/>\n", Some("0000")))
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = api(&fake, PAT)
        .put(path, put("<course x/>\n", Some(&sha)))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        fake.file("mitx", "course", "course/course.xml").as_deref(),
        Some("<course x/>\n")
    );

    let got = json_of(api(&fake, PAT).get(path).await).await;
    assert_eq!(got["encoding"], "base64");
    let raw: String = got["content"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(B64.decode(raw).unwrap(), b"<course x/>\n");
    let dir = json_of(api(&fake, PAT).get("/repos/mitx/course/contents").await).await;
    assert_eq!(dir[0]["type"], "dir");
    assert_eq!(dir[0]["name"], "course");

    let missing = "/repos/mitx/nope/contents/x";
    assert_eq!(
        api(&fake, PAT).put(missing, put("x", None)).await.status(),
        StatusCode::NOT_FOUND
    );
    let nofile = "/repos/mitx/course/contents/nofile";
    assert_eq!(
        api(&fake, PAT).get(nofile).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn teams_create_membership_and_repos() {
    let fake = fake().await;
    fake.add_repo("mitx", "course");
    fake.add_repo("mitx", "other");
    fake.add_repo("elsewhere", "foreign");
    fake.add_user("bob");
    fake.add_user("carol");
    let body = json!({
        "name": "Content MIT 6.004r Staff!",
        "description": "course team",
        "permission": "push",
        "privacy": "closed",
        "repo_names": ["mitx/course", "other"],
        "maintainers": ["bob"]
    });
    let resp = api(&fake, PAT).post("/orgs/mitx/teams", body.clone()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let team = json_of(resp).await;
    assert_eq!(team["slug"], "content-mit-6-004r-staff");
    assert_eq!(team["permission"], "push");
    assert_eq!(team["organization"]["login"], "mitx");
    let slug = "content-mit-6-004r-staff";
    let resp = api(&fake, PAT).post("/orgs/mitx/teams", body).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let t = fake.team("mitx", slug).unwrap();
    assert_eq!(t.members, ["bob"]);
    assert_eq!(t.maintainers, ["bob"]);
    assert_eq!(t.repos.get("mitx/course").map(String::as_str), Some("push"));
    assert_eq!(t.repos.len(), 2);

    // Deploy-team style access grant.
    fake.add_team("mitx", "deploy", "pull");
    let p = "/orgs/mitx/teams/deploy/repos/mitx/course";
    let resp = api(&fake, PAT).put(p, json!({"permission": "pull"})).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        fake.team("mitx", "deploy").unwrap().repos["mitx/course"],
        "pull"
    );
    let p404 = "/orgs/mitx/teams/nope/repos/mitx/course";
    assert_eq!(
        api(&fake, PAT).put_empty(p404).await.status(),
        StatusCode::NOT_FOUND
    );
    let p404 = "/orgs/mitx/teams/deploy/repos/mitx/nope";
    assert_eq!(
        api(&fake, PAT).put_empty(p404).await.status(),
        StatusCode::NOT_FOUND
    );
    let p422 = "/orgs/mitx/teams/deploy/repos/elsewhere/foreign";
    assert_eq!(
        api(&fake, PAT).put_empty(p422).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let repos = json_of(api(&fake, PAT).get("/orgs/mitx/teams/deploy/repos").await).await;
    assert_eq!(repos[0]["full_name"], "mitx/course");
    assert_eq!(repos[0]["role_name"], "read");

    // Memberships.
    let m = format!("/orgs/mitx/teams/{slug}/memberships/carol");
    assert_eq!(
        api(&fake, PAT).get(&m).await.status(),
        StatusCode::NOT_FOUND
    );
    let resp = api(&fake, PAT).put(&m, json!({"role": "member"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ms = json_of(resp).await;
    assert_eq!(ms["role"], "member");
    assert_eq!(ms["state"], "active");
    assert!(ms["url"].as_str().unwrap().ends_with("/memberships/carol"));
    assert_eq!(api(&fake, PAT).get(&m).await.status(), StatusCode::OK);
    let ghost = format!("/orgs/mitx/teams/{slug}/memberships/ghost");
    assert_eq!(
        api(&fake, PAT).put_empty(&ghost).await.status(),
        StatusCode::NOT_FOUND
    );
    let members_path = format!("/orgs/mitx/teams/{slug}/members");
    let members = json_of(api(&fake, PAT).get(&members_path).await).await;
    let logins: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["bob", "carol"]);
    assert_eq!(members[0]["type"], "User");
    assert_eq!(
        api(&fake, PAT).delete(&m).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(fake.team("mitx", slug).unwrap().members, ["bob"]);

    // Team lookups.
    let resp = api(&fake, PAT)
        .get(&format!("/orgs/MITx/teams/{slug}"))
        .await;
    assert_eq!(json_of(resp).await["name"], "Content MIT 6.004r Staff!");
    assert_eq!(
        api(&fake, PAT).get("/orgs/mitx/teams/ghost").await.status(),
        StatusCode::NOT_FOUND
    );

    // GitHub adds the creator of a team (personal token) as a maintainer.
    fake.set_creator_joins_team(true);
    let resp = api(&fake, PAT)
        .post("/orgs/mitx/teams", json!({"name": "Mine"}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(fake.team("mitx", "mine").unwrap().maintainers, ["alice"]);
}

#[tokio::test]
async fn comments_reactions_and_edits() {
    let fake = fake().await;
    fake.add_repo("mitx", "requests");
    fake.add_issue("mitx", "requests", 7, "New course", "please", "alice");
    let user_comment = fake.add_comment(
        "mitx",
        "requests",
        7,
        "alice",
        "/create-xml-repo 6.004r 2018_Spring",
    );
    let token = installation_token(&fake).await;

    let issue = json_of(
        api(&fake, &token)
            .get("/repos/mitx/requests/issues/7")
            .await,
    )
    .await;
    assert_eq!(issue["number"], 7);
    assert_eq!(issue["user"]["login"], "alice");
    assert_eq!(issue["comments"], 1);

    let r = format!("/repos/mitx/requests/issues/comments/{user_comment}/reactions");
    let resp = api(&fake, &token)
        .post(&r, json!({"content": "eyes"}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reaction = json_of(resp).await;
    assert_eq!(reaction["user"]["login"], BOT_LOGIN);
    let resp = api(&fake, &token)
        .post(&r, json!({"content": "eyes"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json_of(resp).await["id"], reaction["id"]);
    let resp = api(&fake, &token)
        .post(&r, json!({"content": "thumbsup"}))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = api(&fake, PAT).post(&r, json!({"content": "eyes"})).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "another user's reaction is new"
    );

    let c = "/repos/mitx/requests/issues/7/comments";
    let resp = api(&fake, &token)
        .post(c, json!({"body": "Working on it…"}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let status = json_of(resp).await;
    assert_eq!(status["user"]["login"], "orcoursetrion-test[bot]");
    assert_eq!(status["user"]["type"], "Bot");
    assert_eq!(
        status["performed_via_github_app"]["slug"],
        "orcoursetrion-test"
    );
    let id = status["id"].as_u64().unwrap();
    assert!(status["html_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/mitx/requests/issues/7#issuecomment-{id}")));
    let e = format!("/repos/mitx/requests/issues/comments/{id}");
    for body in ["step 1 done", "all done"] {
        let resp = api(&fake, &token).patch(&e, json!({"body": body})).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    assert_eq!(
        json_of(api(&fake, &token).get(&e).await).await["body"],
        "all done"
    );
    let resp = api(&fake, &token)
        .post(&format!("{e}/reactions"), json!({"content": "rocket"}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = api(&fake, &token)
        .post(
            "/repos/mitx/requests/issues/7/reactions",
            json!({"content": "+1"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // An issue's reaction is removed by its own user only
    // (https://docs.github.com/en/rest/reactions/reactions#delete-an-issue-reaction).
    let issue_reactions = "/repos/mitx/requests/issues/7/reactions";
    let heart = api(&fake, PAT)
        .post(issue_reactions, json!({"content": "heart"}))
        .await;
    let heart = format!("{issue_reactions}/{}", json_of(heart).await["id"]);
    let by_bot = api(&fake, &token).delete(&heart).await;
    assert_eq!(by_bot.status(), StatusCode::FORBIDDEN);
    let by_alice = api(&fake, PAT).delete(&heart).await;
    assert_eq!(by_alice.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api(&fake, PAT).delete(&heart).await.status(),
        StatusCode::NOT_FOUND
    );

    let comments = fake.comments("mitx", "requests", 7);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].author, "alice");
    assert_eq!(comments[1].author, BOT_LOGIN);
    assert_eq!(comments[1].body, "all done");
    assert_eq!(comments[1].edits, 2);
    assert_eq!(
        fake.comment_reactions("mitx", "requests", user_comment),
        ["eyes", "eyes"]
    );
    assert_eq!(fake.comment_reactions("mitx", "requests", id), ["rocket"]);
    assert_eq!(fake.issue_reactions("mitx", "requests", 7), ["+1"]);

    let list = json_of(api(&fake, PAT).get(c).await).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["reactions"]["eyes"], 2);
    assert_eq!(list[0]["reactions"]["total_count"], 2);
    // Personal-token comments are the user's.
    let resp = api(&fake, PAT).post(c, json!({"body": "thanks"})).await;
    assert_eq!(json_of(resp).await["user"]["login"], "alice");
    let missing = "/repos/mitx/requests/issues/8/comments";
    assert_eq!(
        api(&fake, PAT)
            .post(missing, json!({"body": "x"}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn permissions() {
    let fake = fake().await;
    fake.add_repo("mitx", "requests");
    fake.set_permission("mitx", "requests", "dana", "write");
    fake.add_user("eve");
    let p = json_of(
        api(&fake, PAT)
            .get("/repos/mitx/requests/collaborators/dana/permission")
            .await,
    )
    .await;
    assert_eq!(p["permission"], "write");
    assert_eq!(p["role_name"], "write");
    assert_eq!(p["user"]["login"], "dana");
    let p = json_of(
        api(&fake, PAT)
            .get("/repos/mitx/requests/collaborators/eve/permission")
            .await,
    )
    .await;
    assert_eq!(p["permission"], "read");
    let resp = api(&fake, PAT)
        .get("/repos/mitx/requests/collaborators/ghost/permission")
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn injected_status_then_success() {
    let fake = fake().await;
    fake.inject("POST", "/orgs/*/repos", Fault::Status(502), 2);
    fake.inject("*", "/orgs/**", Fault::Status(500), 1);
    let body = json!({"name": "r"});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            api(&fake, PAT)
                .post("/orgs/mitx/repos", body.clone())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [502, 502, 500, 201]);
    let log: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(log, [502, 502, 500, 201]);
    assert_eq!(fake.calls(), vec!["POST /orgs/mitx/repos"; 4]);
    assert!(fake.repo("mitx", "r").is_some());
    // Faults that do not match are left alone.
    fake.inject("DELETE", "/repos/*/*", Fault::Status(503), 1);
    assert_eq!(
        api(&fake, PAT).get("/repos/mitx/r").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        api(&fake, PAT)
            .delete("/repos/mitx/r")
            .await
            .status()
            .as_u16(),
        503
    );
    let resp = api(&fake, PAT).delete("/repos/mitx/r").await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    fake.clear_log();
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn rate_limit_faults() {
    let fake = fake().await;
    fake.inject(
        "GET",
        "/orgs/mitx",
        Fault::SecondaryLimit {
            retry_after: Some(3),
        },
        1,
    );
    fake.inject(
        "GET",
        "/orgs/mitx",
        Fault::SecondaryLimit { retry_after: None },
        1,
    );
    fake.inject("GET", "/orgs/mitx", Fault::PrimaryLimit { reset_in: 30 }, 1);
    fake.inject(
        "GET",
        "/orgs/mitx",
        Fault::TooMany {
            retry_after: Some(1),
        },
        1,
    );

    let resp = api(&fake, PAT).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_ne!(resp.headers()["x-ratelimit-remaining"], "0");
    assert!(json_of(resp).await["message"]
        .as_str()
        .unwrap()
        .starts_with("You have exceeded a secondary rate limit"));

    let resp = api(&fake, PAT).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!resp.headers().contains_key("retry-after"));

    let resp = api(&fake, PAT).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    let reset: i64 = resp.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((reset - now() - 30).abs() <= 2, "reset {reset}");
    assert!(json_of(resp).await["message"]
        .as_str()
        .unwrap()
        .starts_with("API rate limit exceeded"));

    let resp = api(&fake, PAT).get("/orgs/mitx").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");

    assert_eq!(
        api(&fake, PAT).get("/orgs/mitx").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn latency() {
    let fake = fake().await;
    fake.inject(
        "GET",
        "/orgs/*",
        Fault::Latency(Duration::from_millis(300)),
        1,
    );
    let t = Instant::now();
    assert_eq!(
        api(&fake, PAT).get("/orgs/mitx").await.status(),
        StatusCode::OK
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    fake.set_latency(Duration::from_millis(100));
    let t = Instant::now();
    api(&fake, PAT).get("/orgs/mitx").await;
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let fake = fake().await;
    fake.inject("POST", "/orgs/mitx/repos", Fault::Drop, 1);
    let c = client();
    let url = format!("{}/orgs/mitx/repos", fake.url());
    // A first request so the connection is pooled, then the dropped one.
    assert_eq!(
        c.get(&url).bearer_auth(PAT).send().await.unwrap().status(),
        StatusCode::OK
    );
    let err = c
        .post(&url)
        .bearer_auth(PAT)
        .json(&json!({"name": "r"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    // The fake did not create it, and later requests work.
    assert!(fake.repo("mitx", "r").is_none());
    let resp = c
        .post(&url)
        .bearer_auth(PAT)
        .json(&json!({"name": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 0, 201]);
}

#[tokio::test]
async fn drop_after_handling_keeps_the_side_effect() {
    let fake = fake().await;
    fake.inject("POST", "/orgs/*/repos", Fault::DropAfter, 1);
    let body = json!({"name": "r"});
    let url = format!("{}/orgs/mitx/repos", fake.url());
    let err = client()
        .post(&url)
        .bearer_auth(PAT)
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(fake.repo("mitx", "r").is_some());
    // The retry learns that it exists.
    let resp = client()
        .post(&url)
        .bearer_auth(PAT)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [0, 422]);
}

#[tokio::test]
async fn wait_until_polls() {
    let fake = fake().await;
    fake.add_repo("mitx", "requests");
    fake.add_issue("mitx", "requests", 1, "t", "b", "alice");
    let f2 = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let path = "/repos/mitx/requests/issues/1/comments";
        api(&f2, PAT).post(path, json!({"body": "hi"})).await;
    });
    let seen = fake
        .wait_until(Duration::from_secs(5), |f| {
            !f.comments("mitx", "requests", 1).is_empty()
        })
        .await;
    assert!(seen);
    assert!(
        !fake
            .wait_until(Duration::from_millis(30), |f| f.tokens_issued() > 0)
            .await
    );
}

#[tokio::test]
async fn manifest_conversion_is_single_use() {
    let fake = FakeGitHub::start().await;
    fake.add_manifest_code("abc123");
    let c = client();
    let url = format!("{}/app-manifests/abc123/conversions", fake.url());
    let resp = c.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let app = json_of(resp).await;
    assert_eq!(app["id"], json!(4242));
    assert_eq!(app["slug"], "orcoursetrion-test");
    assert_eq!(app["client_id"], TEST_CLIENT_ID);
    assert_eq!(app["pem"], test_app_private_key_pem());
    for k in [
        "node_id",
        "owner",
        "name",
        "client_secret",
        "webhook_secret",
        "html_url",
    ] {
        assert!(!app[k].is_null(), "{k}");
    }
    assert_eq!(
        c.post(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let other = format!("{}/app-manifests/zzz/conversions", fake.url());
    assert_eq!(
        c.post(&other).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

fn run_git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    common::expect_success(&out, &format!("git {args:?}: "));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn git_seed_clone_push_and_contents() {
    let fake = FakeGitHub::start_with_git().await;
    fake.add_org("mitx");
    fake.add_personal_token(PAT, "alice");
    fake.add_repo_with_files(
        "mitx",
        "template",
        &[
            ("course.xml", "<course/>\n"),
            ("chapter/a.xml", "<chapter/>\n"),
        ],
    );
    assert_eq!(
        fake.git_log("mitx", "template", "main"),
        ["Add chapter/a.xml", "Add course.xml"]
    );
    assert_eq!(
        fake.git_file("mitx", "template", "main", "chapter/a.xml")
            .as_deref(),
        Some("<chapter/>\n")
    );
    assert_eq!(
        fake.file("mitx", "template", "course.xml").as_deref(),
        Some("<course/>\n")
    );

    let repo = fake.repo("mitx", "template").unwrap();
    assert!(repo.clone_url.starts_with("file://"));
    assert_eq!(
        repo.clone_url,
        format!("file://{}", fake.git_path("mitx", "template").display())
    );
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("clone");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", &repo.clone_url])
        .arg(&dest)
        .output()
        .unwrap();
    common::expect_success(&out, "");
    assert_eq!(
        std::fs::read_to_string(dest.join("course.xml")).unwrap(),
        "<course/>\n"
    );

    // Created by the API: an empty bare repo to push into.
    let resp = api(&fake, PAT)
        .post("/orgs/mitx/repos", json!({"name": "copy"}))
        .await;
    let copy = json_of(resp).await;
    let copy_url = copy["clone_url"].as_str().unwrap().to_string();
    assert!(copy_url.ends_with("/mitx/copy.git"));
    assert!(fake.git_log("mitx", "copy", "main").is_empty());
    std::fs::write(dest.join("new.txt"), "pushed\n").unwrap();
    run_git(&dest, &["add", "new.txt"]);
    run_git(
        &dest,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example",
            "commit",
            "-qm",
            "Push it",
        ],
    );
    run_git(&dest, &["push", "-q", &copy_url, "HEAD:refs/heads/main"]);
    assert_eq!(fake.git_log("mitx", "copy", "main").len(), 3);
    assert_eq!(
        fake.file("mitx", "copy", "new.txt").as_deref(),
        Some("pushed\n")
    );

    // The contents API reads and commits into the bare repo.
    let got = json_of(
        api(&fake, PAT)
            .get("/repos/mitx/copy/contents/new.txt")
            .await,
    )
    .await;
    let sha = got["sha"].as_str().unwrap().to_string();
    assert_eq!(
        sha,
        run_git(
            &fake.git_path("mitx", "copy"),
            &["rev-parse", "main:new.txt"]
        )
        .trim()
    );
    let body = json!({"message": "Update new.txt", "content": B64.encode("api\n"), "sha": sha});
    let resp = api(&fake, PAT)
        .put("/repos/mitx/copy/contents/new.txt", body)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(fake.git_log("mitx", "copy", "main")[0], "Update new.txt");
    assert_eq!(
        fake.git_file("mitx", "copy", "main", "new.txt").as_deref(),
        Some("api\n")
    );
    let body = json!({"message": "again", "content": B64.encode("x")});
    let resp = api(&fake, PAT)
        .put("/repos/mitx/copy/contents/new.txt", body)
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // auto_init commits a README.
    let body = json!({"name": "inited", "auto_init": true});
    assert_eq!(
        api(&fake, PAT)
            .post("/orgs/mitx/repos", body)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(fake.git_log("mitx", "inited", "main"), ["Initial commit"]);
    assert_eq!(
        fake.file("mitx", "inited", "README.md").as_deref(),
        Some("# inited\n")
    );
}
