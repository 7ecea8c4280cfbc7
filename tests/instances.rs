//! Two real `serve` processes on one PostgreSQL database and one fake
//! GitHub: 50 commands sent across both, one instance killed with SIGKILL
//! in mid-job three times and restarted under its name. At the end every
//! command is answered exactly once (no repo, hook, team or status comment
//! twice, none missing), and one installation's jobs never overlapped,
//! checked from the audit log's call times.
//!
//! Needs a PostgreSQL server (`ORC_TEST_DATABASE_URL`); SQLite is one
//! process per file by design.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::db::TestDb;
use common::fake::BOT_LOGIN;
use common::tester::*;
use orcoursetrion::{JobState, Store};

const COMMANDS: usize = 50;

struct Instance {
    name: &'static str,
    port: u16,
    child: Option<Child>,
    env: HashMap<String, String>,
    log: std::path::PathBuf,
}

impl Instance {
    fn new(name: &'static str, env: &HashMap<String, String>, dir: &std::path::Path) -> Instance {
        Instance {
            name,
            port: common::free_port(),
            child: None,
            env: env.clone(),
            log: dir.join(format!("{name}.log")),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let log2 = log.try_clone().expect("log");
        let dir = self.log.parent().expect("dir").to_path_buf();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orcoursetrion"));
        cmd.arg("serve")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", self.port.to_string())
            .env("ORC_INSTANCE", self.name)
            .env("ORC_LEASE_SECS", "3")
            // The fake has no secondary limits; 400 writes must not take 5 minutes.
            .env("ORC_WRITES_PER_MINUTE", "100000")
            .env("ORC_LOG_FORMAT", "json")
            .stdout(log)
            .stderr(log2);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn serve"));
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start: {}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL, and reap it (a zombie would still look alive).
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn post(base: &str, id: &str, payload: &serde_json::Value) -> u16 {
    let body = serde_json::to_vec(payload).expect("json");
    let sig = orcoursetrion::sign(SECRET.as_bytes(), &body);
    reqwest::Client::new()
        .post(format!("{base}/webhook"))
        .header("X-GitHub-Event", "issue_comment")
        .header("X-GitHub-Delivery", id)
        .header("X-Hub-Signature-256", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// A job of instance `a` is running now (its worker names start `a/`).
async fn a_is_mid_job(store: &Store, deliveries: &[String]) -> bool {
    for d in deliveries {
        if let Ok(jobs) = store.jobs_of_delivery(d).await {
            if jobs.iter().any(|j| {
                j.state == JobState::Running
                    && j.lease_owner
                        .as_deref()
                        .is_some_and(|o| o.starts_with("a/"))
            }) {
                return true;
            }
        }
    }
    false
}

async fn done_jobs(store: &Store, deliveries: &[String]) -> usize {
    let mut n = 0;
    for d in deliveries {
        if let Ok(jobs) = store.jobs_of_delivery(d).await {
            n += jobs.iter().filter(|j| j.state == JobState::Done).count();
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_one_database_fifty_commands_three_kills_each_answered_once() {
    if !TestDb::Postgres.available() {
        return;
    }
    let mut t = Tester::builder()
        .database(TestDb::Postgres)
        .var("ORC_WORKERS", "2")
        .start()
        .await;
    // Only the two processes below work on this database.
    t.kill();
    t.fake.set_latency(Duration::from_millis(5));
    let dir = tempfile::tempdir().expect("dir");
    let env = t.env();
    let mut a = Instance::new("a", &env, dir.path());
    let mut b = Instance::new("b", &env, dir.path());
    a.start().await;
    b.start().await;
    let store = Store::open(t.config.database_url.expose())
        .await
        .expect("store");

    let mut comments = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..COMMANDS {
        let body = format!("/create-xml-repo 6.{} 2020_Fall", 100 + i);
        let id = t.fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", &body);
        let payload = t.payload("created", id, "alice", "User", &body, None);
        let delivery = format!("multi-{i}");
        let to = if i % 2 == 0 { a.base() } else { b.base() };
        assert_eq!(post(&to, &delivery, &payload).await, 202, "{delivery}");
        comments.push(id);
        deliveries.push(delivery);
    }

    for round in 0..3 {
        // Spread the kills over the run: each after some more work is done.
        let deadline = Instant::now() + Duration::from_secs(60);
        while done_jobs(&store, &deliveries).await < (round + 1) * COMMANDS / 5 {
            assert!(Instant::now() < deadline, "round {round}: no progress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        while !a_is_mid_job(&store, &deliveries).await {
            assert!(
                Instant::now() < deadline,
                "round {round}: a never ran a job"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        a.kill9();
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.start().await;
    }

    // Every command ends: its comment gets 🚀 (or 😕).
    let all_done = t
        .fake
        .wait_until(Duration::from_secs(90), |f| {
            comments.iter().all(|c| {
                f.comment_reactions(REQ_OWNER, REQ_REPO, *c)
                    .iter()
                    .any(|r| r == "rocket" || r == "confused")
            })
        })
        .await;
    if !all_done {
        let mut states = BTreeMap::new();
        for d in &deliveries {
            for j in store.jobs_of_delivery(d).await.expect("jobs") {
                let key = format!("{:?} {:?} {:?}", j.state, j.lease_owner, j.last_error);
                *states.entry(key).or_insert(0) += 1;
            }
        }
        let tail = |i: &Instance| {
            let log = std::fs::read_to_string(&i.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(8)..].join("\n")
        };
        panic!(
            "not every command ended: {states:#?}\na: {}\nb: {}",
            tail(&a),
            tail(&b)
        );
    }
    for c in &comments {
        let r = t.fake.comment_reactions(REQ_OWNER, REQ_REPO, *c);
        assert_eq!(
            r.iter().filter(|x| *x == "rocket").count(),
            1,
            "comment {c}: {r:?}"
        );
        assert!(!r.iter().any(|x| x == "confused"), "comment {c}: {r:?}");
    }

    // One status comment per command, none twice.
    let status: Vec<String> = t
        .fake
        .comments(REQ_OWNER, REQ_REPO, 1)
        .into_iter()
        .filter(|c| c.author == BOT_LOGIN)
        .map(|c| c.body)
        .collect();
    let markers: BTreeSet<String> = status
        .iter()
        .filter_map(|b| b.lines().next().map(str::to_string))
        .collect();
    assert_eq!(status.len(), COMMANDS, "status comments");
    assert_eq!(markers.len(), COMMANDS, "distinct status comments");

    // One repo, one hook and one team per command; none missing.
    let repos = t.fake.repo_names(XML, |n| n.starts_with("content-mit-6"));
    assert_eq!(repos.len(), COMMANDS, "{repos:?}");
    for r in &repos {
        assert_eq!(t.fake.hooks(XML, r).len(), 1, "hooks of {r}");
    }
    let teams: Vec<String> = t
        .fake
        .teams(XML)
        .into_iter()
        .map(|team| team.slug)
        .filter(|s| s.starts_with("content-mit-6"))
        .collect();
    let distinct: BTreeSet<&String> = teams.iter().collect();
    assert_eq!((teams.len(), distinct.len()), (COMMANDS, COMMANDS));

    // Each delivery made one job, done; and the jobs of installation 1 never
    // overlapped: each job's calls fall between its first start and last end,
    // and those spans are disjoint.
    let mut spans: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut owners = BTreeSet::new();
    for d in &deliveries {
        let jobs = store.jobs_of_delivery(d).await.expect("jobs");
        assert_eq!(jobs.len(), 1, "{d}");
        assert_eq!(jobs[0].state, JobState::Done, "{d}");
        if let Some(o) = &jobs[0].lease_owner {
            owners.insert(o.split('/').next().unwrap_or_default().to_string());
        }
        let audit = store.audit_for_job(jobs[0].id).await.expect("audit");
        assert!(!audit.is_empty(), "{d}: no audited call");
        let start = audit
            .iter()
            .map(|e| e.started_at.timestamp_millis())
            .min()
            .unwrap_or(0);
        let end = audit
            .iter()
            .map(|e| e.at.timestamp_millis())
            .max()
            .unwrap_or(0);
        spans.insert(start, (end, jobs[0].id));
    }
    assert_eq!(
        owners,
        BTreeSet::from(["a".to_string(), "b".to_string()]),
        "both instances worked"
    );
    let mut last_end = i64::MIN;
    let mut last_job = 0;
    for (start, (end, job)) in &spans {
        assert!(
            *start >= last_end,
            "job {job} started at {start} before job {last_job} ended at {last_end}"
        );
        last_end = *end;
        last_job = *job;
    }

    // A second process under a live name does not start, and says why.
    let mut twin = Instance::new("b", &env, dir.path());
    twin.log = dir.path().join("twin.log");
    let out = Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", twin.port.to_string())
        .env("ORC_INSTANCE", "b")
        .env("ORC_LEASE_SECS", "3")
        .envs(&env)
        .output()
        .expect("run twin");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("another instance named \"b\" is running"),
        "{text}"
    );
    store.close().await;
}
