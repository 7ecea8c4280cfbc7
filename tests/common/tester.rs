//! One harness for every end-to-end scenario, in the manner of bors' tester:
//! a builder seeds the fake GitHub and configures the App, `start` runs the
//! real server in-process, and the running [`Tester`] sends signed
//! deliveries and reads what GitHub and the store end with.
//!
//! ```ignore
//! let mut t = Tester::builder().seed(|fake| { fake.add_repo(XML, "r"); }).start().await;
//! let c = t.comment("alice", "/help").await;
//! assert_eq!(t.finished(c).await, vec!["eyes", "rocket"]);
//! ```
//!
//! Waits are on conditions (a reaction, a job state), never on fixed sleeps.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use orcoursetrion::{
    sign, ClientConfig, Config, JobRow, JobState, RetryPolicy, RunningServer, ServerOptions, Store,
    WorkerOptions,
};
use serde_json::{json, Value};

use super::db::TestDb;
use super::fake::{FakeGitHub, BOT_LOGIN};

pub const SECRET: &str = "webhook-s3cret";
pub const REQ_OWNER: &str = "mitx";
pub const REQ_REPO: &str = "course-requests";
pub const STUDIO: &str = "MITx-Studio2LMS";
pub const XML: &str = "mitx";
pub const STAGING: &str = "https://gr:stagingpw@staging.example.edu/gitreload";
pub const PRODUCTION: &str = "https://gr:prodpw@lms.example.edu/gitreload";
/// The longest any condition is waited for before a test fails.
pub const WAIT: Duration = Duration::from_secs(20);

type Seed = Box<dyn FnOnce(&FakeGitHub) + Send>;

/// Builds a scenario: the standard shop (Studio and XML orgs, deploy teams,
/// an operators team, the requests repo with issue 1, users with and without
/// write access), plus whatever [`TesterBuilder::seed`] adds.
pub struct TesterBuilder {
    vars: Vec<(String, String)>,
    seeds: Vec<Seed>,
    fake_latency: Option<Duration>,
    lease: Duration,
    idle_poll: Duration,
    progress_interval: Duration,
    body_grace: Duration,
    db: TestDb,
    api_url: Option<String>,
}

/// The builder's duration settings: a setter each, named as its field.
macro_rules! duration_setters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        impl TesterBuilder {
            $(
                $(#[$doc])*
                pub fn $name(mut self, d: Duration) -> Self {
                    self.$name = d;
                    self
                }
            )*
        }
    };
}

duration_setters! {
    /// How long a webhook body may take before its rate is checked.
    body_grace;
    /// How often a running job may edit its status comment (tests: after
    /// every step; `serve`: at most every 2 s).
    progress_interval;
    /// Lease of a claimed job (short, so a killed worker's job comes back soon).
    lease;
    /// How long an idle worker sleeps before it looks at the queue unasked
    /// (500 ms by default); a long one shows that nothing waits for it.
    idle_poll;
}

impl TesterBuilder {
    /// The bot reaches GitHub at `url` instead of the fake's own address
    /// (a test puts something between them: nothing, or a forwarder).
    pub fn api_url(mut self, url: &str) -> Self {
        self.api_url = Some(url.to_owned());
        self
    }

    /// The database the server runs on (default: a SQLite file).
    pub fn database(mut self, db: TestDb) -> Self {
        self.db = db;
        self
    }

    /// Sets (or overrides) one configuration variable.
    pub fn var(mut self, key: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds to the fake's world before the server starts.
    pub fn seed(mut self, f: impl FnOnce(&FakeGitHub) + Send + 'static) -> Self {
        self.seeds.push(Box::new(f));
        self
    }

    /// Latency the fake adds to every request.
    pub fn latency(mut self, d: Duration) -> Self {
        self.fake_latency = Some(d);
        self
    }

    pub async fn start(self) -> Tester {
        let fake = FakeGitHub::start_with_git().await;
        seed_shop(&fake);
        for s in self.seeds {
            s(&fake);
        }
        if let Some(d) = self.fake_latency {
            fake.set_latency(d);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = self.db.url(dir.path()).await;
        let mut vars: HashMap<String, String> = [
            (
                "ORC_GH_API_URL",
                self.api_url.clone().unwrap_or_else(|| fake.url()),
            ),
            ("ORC_APP_ID", super::TEST_APP_ID.to_string()),
            (
                "ORC_APP_PRIVATE_KEY",
                super::test_app_private_key_pem().to_string(),
            ),
            ("ORC_WEBHOOK_SECRET", format!("old-secret,{SECRET}")),
            ("ORC_DATABASE_URL", database_url),
            ("ORC_REQUESTS_REPOS", format!("{REQ_OWNER}/{REQ_REPO}")),
            ("ORC_STAGING_GITRELOAD", STAGING.to_string()),
            ("ORC_PRODUCTION_GITRELOAD", PRODUCTION.to_string()),
            ("ORC_OPERATORS_TEAM", "mitx/course-operators".to_string()),
            ("ORC_WORKERS", "2".to_string()),
            // Scenarios that sweep turn it on (tests/redeliver.rs).
            ("ORC_REDELIVER_EVERY", "off".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        vars.extend(self.vars);
        let config = Config::from_vars(&vars).expect("config");
        let env = vars.clone();
        let mut t = Tester {
            fake,
            server: None,
            config,
            lease: self.lease,
            idle_poll: self.idle_poll,
            progress_interval: self.progress_interval,
            body_grace: self.body_grace,
            _dir: dir,
            http: reqwest::Client::new(),
            deliveries: 0,
            port: None,
            env,
            api_url: self.api_url,
        };
        t.restart().await;
        t
    }
}

/// The standard shop every scenario starts from.
fn seed_shop(fake: &FakeGitHub) {
    fake.add_org(STUDIO);
    // The App is installed on both orgs; each installation's token reaches
    // only its own org, as on GitHub.
    fake.add_installation(1, XML);
    fake.add_installation(2, STUDIO);
    fake.add_team(STUDIO, "mitx-studio-export", "push");
    // As at MIT: the XML deploy team only clones, Studio's export team pushes.
    fake.add_team(XML, "mitx-content-deployment", "pull");
    let ops = fake.add_team(XML, "course-operators", "pull");
    fake.add_repo(REQ_OWNER, REQ_REPO);
    fake.add_issue(
        REQ_OWNER,
        REQ_REPO,
        1,
        "New course 6.004r",
        "Please create it",
        "alice",
    );
    fake.set_permission(REQ_OWNER, REQ_REPO, "alice", "write");
    fake.set_permission(REQ_OWNER, REQ_REPO, "bob", "read");
    fake.set_permission(REQ_OWNER, REQ_REPO, "olivia", "read");
    fake.add_team_member(XML, &ops, "olivia");
    for u in ["carol", "dave"] {
        fake.add_user(u);
    }
}

/// A running scenario.
pub struct Tester {
    pub fake: FakeGitHub,
    pub server: Option<RunningServer>,
    pub config: Config,
    lease: Duration,
    idle_poll: Duration,
    progress_interval: Duration,
    body_grace: Duration,
    _dir: tempfile::TempDir,
    pub http: reqwest::Client,
    deliveries: u32,
    port: Option<u16>,
    env: HashMap<String, String>,
    /// Where the bot reaches GitHub, when not at the fake itself.
    api_url: Option<String>,
}

impl Tester {
    pub fn builder() -> TesterBuilder {
        TesterBuilder {
            vars: Vec::new(),
            seeds: Vec::new(),
            fake_latency: None,
            lease: Duration::from_secs(2),
            idle_poll: Duration::from_millis(500),
            progress_interval: Duration::ZERO,
            body_grace: Duration::from_secs(10),
            db: TestDb::Sqlite,
            api_url: None,
        }
    }

    /// The standard shop on `db`, nothing added.
    pub async fn on(db: TestDb) -> Tester {
        Tester::builder().database(db).start().await
    }

    /// The standard shop, nothing added.
    pub async fn start() -> Tester {
        Tester::builder().start().await
    }

    /// The configuration as environment variables, for a `serve` process
    /// started beside the in-process server (same fake, same database).
    pub fn env(&self) -> HashMap<String, String> {
        self.env.clone()
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    pub fn store(&self) -> &Store {
        &self.server().store
    }

    /// The jobs that delivery `delivery` made, oldest first.
    pub async fn jobs(&self, delivery: &str) -> Vec<JobRow> {
        self.store().jobs_of_delivery(delivery).await.expect("jobs")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server().addr)
    }

    /// The text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// One unlabelled sample of `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sample of {name} in /metrics:\n{text}"))
    }

    pub fn options(&self) -> ServerOptions {
        ServerOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            client: ClientConfig {
                api_url: self.api_url.clone().unwrap_or_else(|| self.fake.url()),
                // GitHub's retry shape, on a test's time scale.
                retry: RetryPolicy {
                    base_delay: Duration::from_millis(20),
                    max_delay: Duration::from_millis(200),
                    ..RetryPolicy::default()
                },
                ..ClientConfig::default()
            },
            worker: WorkerOptions {
                lease: self.lease,
                retry_base: Duration::from_millis(200),
                idle_poll: self.idle_poll,
            },
            progress_interval: self.progress_interval,
            idle_timeout: Duration::from_secs(60),
            body_grace: self.body_grace,
        }
    }

    /// Starts the server (again) on the same database.
    /// The server keeps its first port, so that what GitHub was told (the
    /// App's webhook URL) stays right; a crashed server's socket may take a
    /// moment to close.
    pub async fn restart(&mut self) {
        let mut tries = 0;
        let server = loop {
            let mut options = self.options();
            if let Some(port) = self.port {
                options.bind.set_port(port);
            }
            match orcoursetrion::start(&self.config, options).await {
                Ok(s) => break s,
                Err(e) if tries < 100 && e.to_string().contains("cannot listen") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("server starts: {e}"),
            }
        };
        self.port = Some(server.addr.port());
        self.server = Some(server);
    }

    /// Stops the server as a crash would: no task finishes its step.
    pub fn kill(&mut self) {
        self.server.take().expect("server").abort();
    }

    /// Asks for an export repo and kills the server while its fourth step
    /// (`course.xml`, slowed to 700 ms) is in flight at GitHub; returns the
    /// comment, for the test to restart and check how the job resumes.
    pub async fn kill_while_course_xml_is_written(&mut self) -> u64 {
        self.fake.inject(
            "PUT",
            "/repos/*/*/contents/course.xml",
            super::fake::Fault::Latency(Duration::from_millis(700)),
            1,
        );
        let c = self
            .comment("alice", "/create-export-repo 6.004r 2018_Spring")
            .await;
        self.fake
            .wait_for_call(WAIT, "/contents/course.xml", "step 4 started")
            .await;
        self.kill();
        c
    }

    /// An `issue_comment` payload in GitHub's shape, on issue 1.
    pub fn payload(
        &self,
        action: &str,
        comment_id: u64,
        author: &str,
        kind: &str,
        body: &str,
        from: Option<&str>,
    ) -> Value {
        let user = json!({"login": author, "id": 1000, "type": kind, "site_admin": false});
        let mut p = json!({
            "action": action,
            "issue": {"number": 1, "title": "New course 6.004r", "state": "open", "user": {"login": "alice", "type": "User"}},
            "comment": {
                "id": comment_id,
                "html_url": format!("https://github.example/{REQ_OWNER}/{REQ_REPO}/issues/1#issuecomment-{comment_id}"),
                "body": body,
                "user": user,
                "author_association": "MEMBER",
                "created_at": "2026-12-01T09:30:00Z",
                "updated_at": "2026-12-01T09:30:00Z",
            },
            "repository": {"id": 7, "name": REQ_REPO, "full_name": format!("{REQ_OWNER}/{REQ_REPO}"), "private": true, "owner": {"login": REQ_OWNER, "type": "Organization"}},
            "organization": {"login": REQ_OWNER},
            "sender": user,
            "installation": {"id": 1, "node_id": "MDIz"},
        });
        if let Some(prev) = from {
            p["changes"] = json!({"body": {"from": prev}});
        }
        p
    }

    /// One POST to `/webhook`, signed when `signature` is given.
    pub async fn deliver_raw(
        &self,
        id: &str,
        event: &str,
        body: &[u8],
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url("/webhook"))
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", id)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = signature {
            req = req.header("X-Hub-Signature-256", sig);
        }
        req.send().await.expect("delivery sent")
    }

    /// A signed `issue_comment` delivery; returns the HTTP status.
    pub async fn deliver(&self, id: &str, payload: &Value) -> u16 {
        let body = serde_json::to_vec(payload).expect("json");
        let sig = sign(SECRET.as_bytes(), &body);
        self.deliver_raw(id, "issue_comment", &body, Some(sig))
            .await
            .status()
            .as_u16()
    }

    /// A user comments on the request issue; GitHub delivers the webhook.
    pub async fn comment(&mut self, author: &str, body: &str) -> u64 {
        let id = self.fake.add_comment(REQ_OWNER, REQ_REPO, 1, author, body);
        self.deliveries += 1;
        let delivery = format!("delivery-{}", self.deliveries);
        let payload = self.payload("created", id, author, "User", body, None);
        assert_eq!(self.deliver(&delivery, &payload).await, 202);
        id
    }

    /// A user edits a comment; GitHub delivers the webhook. Waits until the
    /// edit's job has ended.
    pub async fn edit(&mut self, comment_id: u64, author: &str, body: &str) {
        let old = self.fake.edit_comment(comment_id, body);
        self.deliveries += 1;
        let delivery = format!("delivery-{}", self.deliveries);
        let payload = self.payload("edited", comment_id, author, "User", body, Some(&old));
        assert_eq!(self.deliver(&delivery, &payload).await, 202);
        self.settled(&delivery).await;
    }

    /// Waits until every job of a delivery has ended (done or failed).
    pub async fn settled(&self, delivery: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let jobs = self.jobs(delivery).await;
            if !jobs.is_empty()
                && jobs
                    .iter()
                    .all(|j| matches!(j.state, JobState::Done | JobState::Failed))
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs of {delivery} never ended: {jobs:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The id of the last delivery [`Tester::comment`] sent.
    pub fn last_delivery(&self) -> String {
        format!("delivery-{}", self.deliveries)
    }

    /// The comment's reactions once it has its final one (🚀 or 😕).
    pub async fn finished(&self, comment_id: u64) -> Vec<String> {
        let ok = self
            .fake
            .wait_until(WAIT, |f| {
                let r = f.comment_reactions(REQ_OWNER, REQ_REPO, comment_id);
                r.iter().any(|c| c == "rocket" || c == "confused")
            })
            .await;
        assert!(
            ok,
            "no final reaction; comments: {:#?}",
            self.bot_comments()
        );
        self.fake.comment_reactions(REQ_OWNER, REQ_REPO, comment_id)
    }

    /// A user comments, and the comment ends with 🚀 (every command succeeded).
    pub async fn comment_ok(&mut self, author: &str, body: &str) -> u64 {
        self.comment_ending(author, body, "rocket").await
    }

    /// A user comments, and the comment ends with 😕 (a command did not succeed).
    pub async fn comment_confused(&mut self, author: &str, body: &str) -> u64 {
        self.comment_ending(author, body, "confused").await
    }

    async fn comment_ending(&mut self, author: &str, body: &str, last: &str) -> u64 {
        let c = self.comment(author, body).await;
        let reactions = self.finished(c).await;
        assert_eq!(
            reactions,
            vec!["eyes", last],
            "{body}\n{:#?}",
            self.replies()
        );
        c
    }

    /// The jobs of a delivery once every one is in `state`.
    pub async fn jobs_in(&self, delivery: &str, state: JobState) -> Vec<JobRow> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let jobs = self.jobs(delivery).await;
            if !jobs.is_empty() && jobs.iter().all(|j| j.state == state) {
                return jobs;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "jobs of {delivery} never all {state}: {jobs:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The bot's comments on issue 1, oldest first.
    pub fn bot_comments(&self) -> Vec<String> {
        self.fake
            .comments(REQ_OWNER, REQ_REPO, 1)
            .into_iter()
            .filter(|c| c.author == BOT_LOGIN)
            .map(|c| c.body)
            .collect()
    }

    /// The bot's comments without their hidden markers: what a reader sees,
    /// stable across runs (for snapshots).
    pub fn replies(&self) -> Vec<String> {
        self.bot_comments()
            .into_iter()
            .map(|b| {
                b.lines()
                    .filter(|l| !l.starts_with("<!-- orcoursetrion:"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }

    /// The bot's newest reply, as [`Tester::replies`] shows it.
    pub fn last_reply(&self) -> String {
        self.replies().pop().unwrap_or_default()
    }

    /// The newest reply says `text`.
    #[track_caller]
    pub fn assert_reply_has(&self, text: &str) {
        let reply = self.last_reply();
        assert!(reply.contains(text), "{reply}");
    }

    /// Nothing but the bot's talking was written to GitHub.
    #[track_caller]
    pub fn assert_no_writes(&self) {
        let writes = self.provisioning_writes();
        assert!(writes.is_empty(), "{writes:?}");
    }

    /// The URLs of a repo's webhooks, oldest first.
    pub fn hook_urls(&self, org: &str, repo: &str) -> Vec<String> {
        self.fake
            .hooks(org, repo)
            .into_iter()
            .map(|x| x.url)
            .collect()
    }

    /// Writes other than the bot's own talking (comments and reactions).
    /// Nothing was provisioned: no write outside the requests repo's issues.
    pub fn assert_no_provisioning_writes(&self) {
        let writes = self.provisioning_writes();
        assert!(writes.is_empty(), "{writes:?}");
    }

    pub fn provisioning_writes(&self) -> Vec<String> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| !c.starts_with("GET ") && !c.contains("/issues/") && !c.contains("/app/"))
            .collect()
    }

    /// An `issues` payload in GitHub's shape, for issue `number` of the
    /// requests repo as the fake holds it (body and labels).
    pub fn issue_payload(
        &self,
        action: &str,
        number: u64,
        author: &str,
        from: Option<&str>,
    ) -> Value {
        let issue = self
            .fake
            .issue(REQ_OWNER, REQ_REPO, number)
            .unwrap_or_else(|| panic!("no issue {number}"));
        let labels: Vec<Value> = self
            .fake
            .issue_labels(REQ_OWNER, REQ_REPO, number)
            .into_iter()
            .map(|name| json!({"name": name}))
            .collect();
        let user = json!({"login": author, "id": 1000, "type": "User", "site_admin": false});
        let mut p = json!({
            "action": action,
            "issue": {
                "number": number, "title": issue.title, "state": "open", "user": user,
                "body": issue.body, "labels": labels,
                "html_url": format!("https://github.example/{REQ_OWNER}/{REQ_REPO}/issues/{number}"),
            },
            "repository": {"id": 7, "name": REQ_REPO, "full_name": format!("{REQ_OWNER}/{REQ_REPO}"), "private": true, "owner": {"login": REQ_OWNER, "type": "Organization"}},
            "sender": user,
            "installation": {"id": 1, "node_id": "MDIz"},
        });
        if let Some(prev) = from {
            p["changes"] = json!({"body": {"from": prev}});
        }
        p
    }

    /// A signed delivery of any event; returns the HTTP status.
    pub async fn deliver_event(&self, id: &str, event: &str, payload: &Value) -> u16 {
        let body = serde_json::to_vec(payload).expect("json");
        let sig = sign(SECRET.as_bytes(), &body);
        self.deliver_raw(id, event, &body, Some(sig))
            .await
            .status()
            .as_u16()
    }

    /// `author` opens issue `number` with `body` (a course-request form);
    /// returns the delivery id once its jobs have ended.
    pub async fn open_request(&mut self, number: u64, author: &str, body: &str) -> String {
        self.fake
            .add_issue(REQ_OWNER, REQ_REPO, number, "Course request", body, author);
        self.deliveries += 1;
        let delivery = format!("delivery-{}", self.deliveries);
        let payload = self.issue_payload("opened", number, author, None);
        assert_eq!(self.deliver_event(&delivery, "issues", &payload).await, 202);
        self.settled(&delivery).await;
        delivery
    }

    /// `author` edits issue `number`'s body; returns the delivery id once its
    /// jobs have ended.
    pub async fn edit_request(&mut self, number: u64, author: &str, body: &str) -> String {
        let old = self.fake.edit_issue(REQ_OWNER, REQ_REPO, number, body);
        self.deliveries += 1;
        let delivery = format!("delivery-{}", self.deliveries);
        let payload = self.issue_payload("edited", number, author, Some(&old));
        assert_eq!(self.deliver_event(&delivery, "issues", &payload).await, 202);
        self.settled(&delivery).await;
        delivery
    }

    /// Opens request `number` and waits for `label`; the bot's replies then.
    pub async fn open_request_until(
        &mut self,
        number: u64,
        author: &str,
        body: &str,
        label: &str,
    ) -> Vec<String> {
        self.open_request(number, author, body).await;
        self.wait_label(number, label).await;
        self.issue_replies(number)
    }

    /// Waits until the request on issue `number` carries `label`.
    pub async fn wait_label(&self, number: u64, label: &str) {
        let ok = self
            .fake
            .wait_until(WAIT, |f| {
                f.issue_labels(REQ_OWNER, REQ_REPO, number)
                    .iter()
                    .any(|l| l == label)
            })
            .await;
        assert!(
            ok,
            "issue {number} never got {label:?}: {:?}\n{:#?}",
            self.fake.issue_labels(REQ_OWNER, REQ_REPO, number),
            self.issue_replies(number)
        );
    }

    /// The bot's comments on issue `number` without hidden markers.
    pub fn issue_replies(&self, number: u64) -> Vec<String> {
        self.fake
            .comments(REQ_OWNER, REQ_REPO, number)
            .into_iter()
            .filter(|c| c.author == BOT_LOGIN)
            .map(|c| {
                c.body
                    .lines()
                    .filter(|l| !l.starts_with("<!-- orcoursetrion:"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }

    /// A user comments on issue `issue`; returns the comment id once the
    /// comment's job has ended.
    pub async fn comment_on(&mut self, issue: u64, author: &str, body: &str) -> u64 {
        let id = self
            .fake
            .add_comment(REQ_OWNER, REQ_REPO, issue, author, body);
        self.deliveries += 1;
        let delivery = format!("delivery-{}", self.deliveries);
        let mut payload = self.payload("created", id, author, "User", body, None);
        payload["issue"]["number"] = json!(issue);
        assert_eq!(self.deliver(&delivery, &payload).await, 202);
        self.settled(&delivery).await;
        id
    }

    /// The bot's newest reply on issue `issue`.
    pub fn last_reply_on(&self, issue: u64) -> String {
        self.issue_replies(issue).pop().unwrap_or_default()
    }
}
