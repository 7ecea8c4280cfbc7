//! `orcoursetrion gitreload` against real git checkouts in a temporary
//! `REPODIR`, with a stand-in `bin/python` that records each import (the
//! real edx-platform cannot run here) and does what `git_add_course` does to
//! the checkout: pull the newest commit of its origin.
//!
//! gitreload's own test list first (405, ping, other events, bad payloads,
//! the checkout checks, JSON and form bodies, `/update`, `/queue`), then what
//! this implementation adds: signatures, owners, deleted branches, failures
//! with their output, restarts, coalescing and commit statuses.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::fake::FakeGitHub;
use orcoursetrion::{
    sign, ClientConfig, GitreloadSettings, GitreloadSources, RetryPolicy, RunningGitreload,
};
use serde_json::{json, Value};

const SECRET: &str = "gitreload-test-secret";
const ORG: &str = "mitx";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Course Staff")
        .env("GIT_AUTHOR_EMAIL", "staff@example.edu")
        .env("GIT_COMMITTER_NAME", "Course Staff")
        .env("GIT_COMMITTER_EMAIL", "staff@example.edu")
        .output()
        .expect("git runs");
    common::expect_success(&out, &format!("git {args:?}: "));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An LMS host: `REPODIR`, a bare origin per course, edx-platform and a venv
/// whose `bin/python` is a recording stand-in.
struct Host {
    tmp: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let tmp = tempfile::tempdir().expect("tmp");
        let h = Host { tmp };
        for d in ["repos", "origins", "edx-platform", "venv/bin", "work"] {
            std::fs::create_dir_all(h.root().join(d)).expect("mkdir");
        }
        let script = format!(
            r#"#!/bin/sh
log={log}
dir="$7"
printf 'start %s\n' "$(basename "$dir")" >> "$log"
{{ for a in "$@"; do printf '%s\n' "$a"; done; }} > {args}
printf 'cwd=%s\nSERVICE_VARIANT=%s\nLMS_CFG=%s\nREVISION_CFG=%s\nORC_VARS=%s\n' \
  "$(pwd)" "$SERVICE_VARIANT" "$LMS_CFG" "$REVISION_CFG" "$(env | grep -c '^ORC_')" > {env}
echo "importing into the LMS"
git -C "$dir" pull -q --ff-only 2>&1
mode=$(cat {mode} 2>/dev/null)
case "$mode" in
  fail) echo "git_add_course: course.xml is broken" >&2; exit 3 ;;
  hang) sleep 60 & echo $! > {hung}; wait ;;
  sleep*) sleep "${{mode#sleep }}" ;;
  wait) i=0; while [ ! -e {release} ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done ;;
esac
printf 'end %s %s\n' "$(basename "$dir")" "$(git -C "$dir" rev-parse HEAD)" >> "$log"
"#,
            log = h.root().join("calls.log").display(),
            args = h.root().join("args.txt").display(),
            env = h.root().join("env.txt").display(),
            mode = h.root().join("mode").display(),
            hung = h.root().join("hung.pid").display(),
            release = h.root().join("release").display(),
        );
        let python = h.root().join("venv/bin/python");
        std::fs::write(&python, script).expect("write python");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        h
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn repodir(&self) -> PathBuf {
        self.root().join("repos")
    }

    /// A course: a bare origin with one commit on `branch`, and its checkout
    /// in `REPODIR`. Returns the head commit.
    fn course(&self, name: &str, branch: &str) -> String {
        let origin = self.root().join("origins").join(format!("{name}.git"));
        git(
            self.root(),
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                branch,
                &origin.to_string_lossy(),
            ],
        );
        let work = self.root().join("work").join(name);
        git(
            self.root(),
            &[
                "clone",
                "-q",
                &origin.to_string_lossy(),
                &work.to_string_lossy(),
            ],
        );
        git(&work, &["checkout", "-q", "-b", branch]);
        std::fs::write(work.join("course.xml"), "<course/>").expect("write");
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(&work, &["push", "-q", "origin", branch]);
        git(
            self.root(),
            &[
                "clone",
                "-q",
                &origin.to_string_lossy(),
                &self.repodir().join(name).to_string_lossy(),
            ],
        );
        git(&work, &["rev-parse", "HEAD"])
    }

    /// A new commit pushed to the course's origin (not yet in `REPODIR`).
    fn commit(&self, name: &str, n: usize) -> String {
        let work = self.root().join("work").join(name);
        std::fs::write(work.join("change.txt"), format!("{n}")).expect("write");
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", &format!("change {n}")]);
        git(&work, &["push", "-q", "origin", "HEAD"]);
        git(&work, &["rev-parse", "HEAD"])
    }

    fn mode(&self, mode: &str) {
        std::fs::write(self.root().join("mode"), mode).expect("mode");
    }

    /// Lets imports in mode `wait` finish (they wait for this file).
    fn release(&self) {
        std::fs::write(self.root().join("release"), "").expect("release");
    }

    /// Waits until the import script has started `n` times.
    async fn started(&self, n: usize) {
        for _ in 0..500 {
            if self
                .calls()
                .iter()
                .filter(|l| l.starts_with("start "))
                .count()
                >= n
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{n} imports did not start: {:?}", self.calls());
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.root().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// [`Host::vars`] plus the App's credentials and the fake GitHub, so
    /// that gitreload posts commit statuses there.
    fn vars_with_app(&self, gh: &FakeGitHub) -> HashMap<String, String> {
        let mut vars = self.vars();
        vars.insert("ORC_APP_ID".into(), common::TEST_APP_ID.to_string());
        vars.insert(
            "ORC_APP_PRIVATE_KEY".into(),
            common::test_app_private_key_pem().into(),
        );
        vars.insert("ORC_GH_API_URL".into(), gh.url());
        vars
    }

    fn vars(&self) -> HashMap<String, String> {
        let mut v = HashMap::new();
        let root = self.root();
        v.insert("REPODIR".into(), self.repodir().display().to_string());
        v.insert(
            "VIRTUAL_ENV".into(),
            root.join("venv").display().to_string(),
        );
        v.insert(
            "EDX_PLATFORM".into(),
            root.join("edx-platform").display().to_string(),
        );
        v.insert("DJANGO_SETTINGS".into(), "aws".into());
        v.insert("LMS_CFG".into(), "/edx/etc/lms.yml".into());
        v.insert("REVISION_CFG".into(), "/edx/etc/revisions.yml".into());
        v.insert("ORC_GITRELOAD_SECRET".into(), SECRET.into());
        v.insert(
            "ORC_GITRELOAD_DB".into(),
            root.join("gitreload.db").display().to_string(),
        );
        v.insert("HOME".into(), root.display().to_string());
        v
    }

    fn settings(&self, vars: &HashMap<String, String>) -> GitreloadSettings {
        GitreloadSettings::read(&GitreloadSources {
            vars,
            cwd: self.root().to_path_buf(),
            port: Some(0),
            allow_unsigned: false,
        })
        .expect("settings")
    }

    async fn start(&self) -> Server {
        self.start_with(self.vars()).await
    }

    async fn start_with(&self, vars: HashMap<String, String>) -> Server {
        let client = ClientConfig {
            retry: RetryPolicy {
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..ClientConfig::default()
        };
        let running = orcoursetrion::start_gitreload(self.settings(&vars), client)
            .await
            .expect("gitreload starts");
        Server::new(running)
    }
}

fn push_payload(repo: &str, branch: &str, after: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "0000000000000000000000000000000000000000",
        "after": after,
        "deleted": false,
        "repository": {
            "name": repo,
            "full_name": format!("{ORG}/{repo}"),
            "owner": {"name": ORG, "login": ORG},
        },
        "pusher": {"name": "staff"},
    })
}

struct Server {
    running: Option<RunningGitreload>,
    base: String,
    http: reqwest::Client,
}

/// What a hook call got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Answer {
    fn msg(&self) -> &str {
        self.body["msg"].as_str().unwrap_or_default()
    }
}

impl Server {
    fn new(running: RunningGitreload) -> Server {
        let base = format!("http://127.0.0.1:{}", running.addr.port());
        Server {
            running: Some(running),
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        path: &str,
        event: &str,
        content_type: &str,
        body: Vec<u8>,
        sig: Option<String>,
    ) -> Answer {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-GitHub-Event", event)
            .header("Content-Type", content_type)
            .header("X-GitHub-Delivery", "d1");
        if let Some(s) = sig {
            req = req.header("X-Hub-Signature-256", s);
        }
        let resp = req.body(body).send().await.expect("send");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// A signed JSON delivery.
    async fn hook(&self, path: &str, event: &str, payload: &Value) -> Answer {
        let body = payload.to_string().into_bytes();
        let sig = sign(SECRET.as_bytes(), &body);
        self.send(path, event, "application/json", body, Some(sig))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("text");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn imports(&self) -> Vec<Value> {
        match self.get("/imports").await.1 {
            Value::Array(a) => a,
            other => panic!("/imports: {other}"),
        }
    }

    /// Waits until no task is queued or running and `n` tasks exist.
    async fn settle(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let tasks = self.imports().await;
            let open = tasks
                .iter()
                .any(|t| t["state"] == "queued" || t["state"] == "running");
            if !open && tasks.len() >= n {
                return tasks;
            }
            assert!(
                Instant::now() < deadline,
                "tasks did not settle: {tasks:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

// ----- gitreload's own tests ---------------------------------------------------

#[tokio::test]
async fn the_post_paths_refuse_other_methods_and_queue_refuses_post() {
    let host = Host::new();
    let s = host.start().await;
    for (method, path) in [
        (reqwest::Method::GET, "/"),
        (reqwest::Method::GET, "/gitreload"),
        (reqwest::Method::PUT, "/gitreload"),
        (reqwest::Method::PATCH, "/update"),
        (reqwest::Method::DELETE, "/"),
        (reqwest::Method::POST, "/queue"),
    ] {
        let resp = s
            .http
            .request(method.clone(), format!("{}{path}", s.base))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
        let body: Value = resp.json().await.expect("a JSON answer");
        assert_eq!(
            body["msg"],
            "The method is not allowed for the requested URL."
        );
    }
    let (status, body) = s.get("/nope").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["msg"],
        "The requested URL was not found on the server."
    );
    let (status, queue) = s.get("/queue").await;
    assert_eq!(
        (status, queue),
        (200, json!({"queue_length": 0, "queue": []}))
    );
    s.stop().await;
}

#[tokio::test]
async fn ping_and_other_events_are_answered_and_queue_nothing() {
    let host = Host::new();
    let s = host.start().await;
    let pong = s
        .hook("/", "ping", &json!({"zen": "Keep it logically awesome."}))
        .await;
    assert_eq!((pong.status, pong.msg()), (200, "pong"));
    assert_eq!(pong.content_type, "application/json");
    let other = s
        .hook("/gitreload", "issues", &json!({"action": "opened"}))
        .await;
    assert_eq!(
        (other.status, other.msg()),
        (200, "We do not handle that event")
    );
    assert!(s.imports().await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_a_push_payload_is_400() {
    let host = Host::new();
    let s = host.start().await;
    for (ct, body) in [
        ("application/json", b"{not json".to_vec()),
        ("application/x-www-form-urlencoded", b"other=1".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"payload=%7Bnope".to_vec(),
        ),
        (
            "application/json",
            br#"{"ref": "refs/heads/master"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"ref": "refs/heads/master", "repository": {"name": "../etc"}}"#.to_vec(),
        ),
    ] {
        let sig = sign(SECRET.as_bytes(), &body);
        let a = s.send("/", "push", ct, body.clone(), Some(sig)).await;
        assert_eq!(a.status, 400, "{}: {a:?}", String::from_utf8_lossy(&body));
        assert!(a.msg().starts_with("Not a push payload"), "{a:?}");
    }
    assert!(s.imports().await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn the_checkout_checks_answer_as_gitreload() {
    let host = Host::new();
    let head = host.course("live-course", "master");
    host.course("detached", "master");
    git(
        &host.repodir().join("detached"),
        &["checkout", "-q", "--detach"],
    );
    let s = host.start().await;

    for (repo, branch, status, msg) in [
        ("nope", "master", 500, "Repository not valid"),
        (
            "detached",
            "master",
            500,
            "Unable to get current branch of checked out repo",
        ),
        (
            "live-course",
            "devel",
            200,
            "Branch pushed doesn't match local branch, ignoring",
        ),
    ] {
        let a = s
            .hook("/", "push", &push_payload(repo, branch, &head))
            .await;
        assert_eq!((a.status, a.msg()), (status, msg), "{repo}@{branch}");
    }
    assert!(s.imports().await.is_empty());
    s.stop().await;

    // REPODIR itself gone: a configuration issue, checked before the checkout.
    let mut vars = host.vars();
    vars.insert(
        "REPODIR".into(),
        host.root().join("no-such-dir").display().to_string(),
    );
    let s = host.start_with(vars).await;
    let a = s
        .hook("/", "push", &push_payload("live-course", "master", &head))
        .await;
    assert_eq!((a.status, a.msg()), (500, "Server configuration issue"));
    s.stop().await;
}

#[tokio::test]
async fn a_push_is_queued_from_a_json_or_a_form_body_and_runs_gitreloads_command() {
    let host = Host::new();
    let head = host.course("6.002x-course", "master");
    let s = host.start().await;

    let a = s
        .hook("/", "push", &push_payload("6.002x-course", "master", &head))
        .await;
    assert_eq!(
        (a.status, a.msg()),
        (200, "Added course import task to queue. Queue size was 1")
    );
    assert_eq!(a.content_type, "application/json");
    s.settle(1).await;

    // The form body of GitHub's "form" content type: payload=<json>.
    let payload = push_payload("6.002x-course", "master", &head).to_string();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload)
        .finish()
        .into_bytes();
    let sig = sign(SECRET.as_bytes(), &form);
    let b = s
        .send(
            "/gitreload",
            "push",
            "application/x-www-form-urlencoded",
            form,
            Some(sig),
        )
        .await;
    assert_eq!(
        (b.status, b.msg()),
        (200, "Added course import task to queue. Queue size was 1")
    );
    let tasks = s.settle(2).await;
    assert!(tasks.iter().all(|t| t["state"] == "done"), "{tasks:#?}");

    // The exact command of gitreload's import_repo.
    let root = host.root();
    let dir = host.repodir().join("6.002x-course");
    let origin = root.join("origins/6.002x-course.git");
    let args = std::fs::read_to_string(root.join("args.txt")).expect("args");
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "manage.py",
            "lms",
            "--settings=aws",
            "git_add_course",
            &origin.display().to_string(),
            "--directory_path",
            &dir.display().to_string(),
        ]
    );
    let env = std::fs::read_to_string(root.join("env.txt")).expect("env");
    let cwd = std::fs::canonicalize(root.join("edx-platform")).expect("cwd");
    assert_eq!(
        env.lines().collect::<Vec<_>>(),
        [
            format!("cwd={}", cwd.display()).as_str(),
            "SERVICE_VARIANT=lms",
            "LMS_CFG=/edx/etc/lms.yml",
            "REVISION_CFG=/edx/etc/revisions.yml",
            "ORC_VARS=0",
        ]
    );
    let (status, metrics) = s.get("/metrics").await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    common::assert_contains_all(
        &metrics,
        &[
            "gitreload_tasks{state=\"done\"} 2",
            "gitreload_tasks{state=\"queued\"} 0",
            "gitreload_pushes_total{answer=\"queued\"} 2",
            "gitreload_tasks_run_total 2",
        ],
    );
    assert_eq!(s.get("/healthz").await.0, 200);
    let t = &tasks[0];
    assert_eq!(t["exit_code"], 0);
    assert_eq!(t["sha"], head.as_str());
    assert_eq!(t["repo"], format!("{ORG}/6.002x-course"));
    assert!(t["output"]
        .as_str()
        .unwrap_or_default()
        .contains("importing into the LMS"));
    s.stop().await;
}

#[tokio::test]
async fn update_fetches_resets_and_cleans_the_checkout() {
    let host = Host::new();
    host.course("grader", "master");
    let dir = host.repodir().join("grader");
    std::fs::write(dir.join("stray.pyc"), "junk").expect("stray");
    std::fs::write(dir.join("course.xml"), "<edited/>").expect("edit");
    let newest = host.commit("grader", 1);
    let s = host.start().await;
    let a = s
        .hook(
            "/update",
            "push",
            &push_payload("grader", "master", &newest),
        )
        .await;
    assert_eq!(
        (a.status, a.msg()),
        (200, "Added git update task to queue. Queue size was 1")
    );
    let tasks = s.settle(1).await;
    assert_eq!(tasks[0]["state"], "done", "{tasks:#?}");
    assert_eq!(tasks[0]["action"], "GET_LATEST");
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), newest);
    assert!(!dir.join("stray.pyc").exists(), "git clean -xdf ran");
    assert_eq!(
        std::fs::read_to_string(dir.join("course.xml")).expect("read"),
        "<course/>"
    );
    assert!(host.calls().is_empty(), "an update imports nothing");
    s.stop().await;
}

#[tokio::test]
async fn the_queue_lists_what_is_queued_or_running_in_gitreloads_shape() {
    let host = Host::new();
    let a = host.course("course-a", "master");
    let b = host.course("course-b", "master");
    host.mode("wait");
    let s = host.start().await;
    s.hook("/", "push", &push_payload("course-a", "master", &a))
        .await;
    let second = s
        .hook("/update", "push", &push_payload("course-b", "master", &b))
        .await;
    assert_eq!(
        second.msg(),
        "Added git update task to queue. Queue size was 2"
    );
    let (status, q) = s.get("/queue").await;
    assert_eq!(status, 200);
    let origin = |n: &str| {
        host.root()
            .join("origins")
            .join(format!("{n}.git"))
            .display()
            .to_string()
    };
    assert_eq!(
        q,
        json!({"queue_length": 2, "queue": [
            {"repo_name": "course-a", "repo_url": origin("course-a"), "action": "COURSE_IMPORT"},
            {"repo_name": "course-b", "repo_url": origin("course-b"), "action": "GET_LATEST"},
        ]})
    );
    host.release();
    s.settle(2).await;
    assert_eq!(
        s.get("/queue").await.1,
        json!({"queue_length": 0, "queue": []})
    );
    s.stop().await;
}

// ----- failures end as failed tasks with their output -------------------------

#[tokio::test]
async fn a_failing_a_timed_out_and_an_unstartable_import_are_failed_tasks_with_output() {
    let host = Host::new();
    let head = host.course("c", "master");
    host.mode("fail");
    let mut vars = host.vars();
    vars.insert("ORC_GITRELOAD_TIMEOUT_S".into(), "1".into());
    let s = host.start_with(vars.clone()).await;
    s.hook("/", "push", &push_payload("c", "master", &head))
        .await;
    let t = s.settle(1).await;
    assert_eq!(
        (t[0]["state"].as_str(), t[0]["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert!(t[0]["output"]
        .as_str()
        .unwrap_or_default()
        .contains("course.xml is broken"));

    host.mode("hang");
    s.hook("/", "push", &push_payload("c", "master", &head))
        .await;
    let t = s.settle(2).await;
    assert_eq!(t[0]["state"], "failed");
    assert!(t[0]["exit_code"].is_null());
    assert!(
        t[0]["output"]
            .as_str()
            .unwrap_or_default()
            .contains("killed after 1 s"),
        "{:#?}",
        t[0]
    );
    let hung: i32 = std::fs::read_to_string(host.root().join("hung.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    // Gone, or dead and waiting for its reaper ("State:\tZ (zombie)").
    let status = std::fs::read_to_string(format!("/proc/{hung}/status")).unwrap_or_default();
    let running = status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .is_some_and(|st| !st.trim_start().starts_with(['Z', 'X']));
    assert!(!running, "the import's child {hung} outlived the timeout");
    s.stop().await;

    vars.insert(
        "VIRTUAL_ENV".into(),
        host.root().join("no-venv").display().to_string(),
    );
    let s = host.start_with(vars).await;
    s.hook("/", "push", &push_payload("c", "master", &head))
        .await;
    let t = s.settle(3).await;
    assert_eq!(t[0]["state"], "failed");
    let out = t[0]["output"].as_str().unwrap_or_default();
    assert!(
        out.contains("no-venv/bin/python") && out.contains("No such file"),
        "{out}"
    );
    s.stop().await;
}

// ----- better than gitreload ------------------------------------------------------

#[tokio::test]
async fn signatures_are_checked_before_anything_and_a_second_secret_works() {
    let host = Host::new();
    let head = host.course("c", "master");
    let mut vars = host.vars();
    vars.insert(
        "ORC_GITRELOAD_SECRET".into(),
        "new-secret, gitreload-test-secret".into(),
    );
    let s = host.start_with(vars).await;
    let body = push_payload("c", "master", &head).to_string().into_bytes();
    let none = s
        .send("/", "push", "application/json", body.clone(), None)
        .await;
    assert_eq!(
        (none.status, none.msg()),
        (401, "Signature missing or invalid")
    );
    let wrong = sign(b"not-the-secret", &body);
    let forged = s
        .send("/", "push", "application/json", body.clone(), Some(wrong))
        .await;
    assert_eq!(forged.status, 401);
    // Even a ping needs the signature: nothing is read before it matches.
    let ping = s
        .send("/", "ping", "application/json", b"{}".to_vec(), None)
        .await;
    assert_eq!(ping.status, 401);
    assert!(s.imports().await.is_empty());
    // The second secret of the list (rotation).
    let good = s
        .hook("/", "push", &push_payload("c", "master", &head))
        .await;
    assert_eq!(good.status, 200, "{good:?}");
    s.settle(1).await;
    s.stop().await;
}

#[tokio::test]
async fn another_owners_push_is_refused_and_a_deleted_branch_imports_nothing() {
    let host = Host::new();
    let head = host.course("c", "master");
    let mut vars = host.vars();
    vars.insert("ORC_GITRELOAD_OWNERS".into(), "MITx, mitx-studio".into());
    let s = host.start_with(vars).await;
    let mut other = push_payload("c", "master", &head);
    other["repository"]["owner"] = json!({"name": "someone", "login": "someone"});
    let a = s.hook("/", "push", &other).await;
    assert_eq!(a.status, 403, "{a:?}");
    assert!(a.msg().contains("someone"));
    let mut deleted = push_payload("c", "master", "0000000000000000000000000000000000000000");
    deleted["deleted"] = json!(true);
    let d = s.hook("/", "push", &deleted).await;
    assert_eq!((d.status, d.msg()), (200, "Branch was deleted, ignoring"));
    assert!(s.imports().await.is_empty());
    assert!(host.calls().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn twenty_pushes_in_a_burst_make_at_most_two_imports_the_last_of_the_newest_commit() {
    let host = Host::new();
    host.course("burst", "master");
    let shas: Vec<String> = (1..=20).map(|n| host.commit("burst", n)).collect();
    // The first import holds until every push has arrived, however slow the
    // host: the other nineteen come while it runs, and fold into one.
    host.mode("wait");
    let s = host.start().await;
    for (i, sha) in shas.iter().enumerate() {
        let a = s
            .hook("/", "push", &push_payload("burst", "master", sha))
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        if i == 0 {
            host.started(1).await;
        }
    }
    host.release();
    let tasks = s.settle(1).await;
    let ends: Vec<String> = host
        .calls()
        .into_iter()
        .filter(|l| l.starts_with("end "))
        .collect();
    assert!((1..=2).contains(&ends.len()), "{ends:?}");
    let newest = shas.last().expect("shas");
    assert_eq!(ends.last(), Some(&format!("end burst {newest}")));
    assert!(tasks.len() <= 2, "{tasks:#?}");
    assert_eq!(tasks[0]["sha"], newest.as_str());
    let pushes: i64 = tasks.iter().filter_map(|t| t["pushes"].as_i64()).sum();
    assert_eq!(pushes, 20);
    s.stop().await;
}

#[tokio::test]
async fn commit_statuses_go_pending_then_success_or_failure() {
    let gh = FakeGitHub::start().await;
    gh.add_installation(77, ORG);
    gh.add_repo(ORG, "c");
    let host = Host::new();
    let head = host.course("c", "master");
    let s = host.start_with(host.vars_with_app(&gh)).await;
    s.hook("/", "push", &push_payload("c", "master", &head))
        .await;
    s.settle(1).await;
    host.mode("fail");
    let second = host.commit("c", 2);
    s.hook("/", "push", &push_payload("c", "master", &second))
        .await;
    s.settle(2).await;
    let seen: Vec<(String, String, String)> = gh
        .statuses(ORG, "c")
        .into_iter()
        .map(|st| {
            assert!(st.context.starts_with("gitreload/"), "{st:?}");
            (st.sha[..7].to_string(), st.state, st.description)
        })
        .collect();
    let (h, n) = (head[..7].to_string(), second[..7].to_string());
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(
        seen[0],
        (h.clone(), "pending".into(), "Import queued".into())
    );
    assert_eq!((&seen[1].0, seen[1].1.as_str()), (&h, "success"));
    assert!(seen[1].2.starts_with("Import done in "));
    assert_eq!(
        seen[2],
        (n.clone(), "pending".into(), "Import queued".into())
    );
    assert_eq!(
        seen[3],
        (n, "failure".into(), "Import failed: exit code 3".into())
    );
    s.stop().await;
}

#[tokio::test]
async fn a_refused_status_call_does_not_fail_the_import() {
    let gh = FakeGitHub::start().await;
    gh.add_installation(77, ORG);
    gh.add_repo(ORG, "c");
    // The org owner accepted the App without the statuses permission.
    gh.set_installation_permission(77, "statuses", "read");
    let host = Host::new();
    let head = host.course("c", "master");
    let s = host.start_with(host.vars_with_app(&gh)).await;
    let a = s
        .hook("/", "push", &push_payload("c", "master", &head))
        .await;
    assert_eq!(a.status, 200);
    let t = s.settle(1).await;
    assert_eq!(t[0]["state"], "done");
    assert!(gh.statuses(ORG, "c").is_empty());
    let refused = gh
        .requests()
        .iter()
        .filter(|r| r.path.contains("/statuses/") && r.status == 403)
        .count();
    assert_eq!(refused, 2, "pending and success were both tried");
    s.stop().await;
}

// ----- durability: kill -9 and restart, with the real binary ---------------------

struct Process {
    child: std::process::Child,
    base: String,
}

async fn spawn_binary(host: &Host, port: u16) -> Process {
    spawn_binary_with(host, port, host.vars()).await
}

async fn spawn_binary_with(host: &Host, port: u16, vars: HashMap<String, String>) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orcoursetrion"));
    cmd.arg("gitreload")
        .arg("--port")
        .arg(port.to_string())
        .current_dir(host.root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn gitreload");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "gitreload did not start");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Process { child, base }
}

#[tokio::test]
async fn kill_9_with_three_queued_and_one_running_ends_with_four_imports_none_twice() {
    let host = Host::new();
    let names = ["k-one", "k-two", "k-three", "k-four"];
    let heads: Vec<String> = names.iter().map(|n| host.course(n, "master")).collect();
    host.mode("wait");
    let port = common::free_port();
    let mut p = spawn_binary(&host, port).await;
    let client = Server {
        running: None,
        base: p.base.clone(),
        http: reqwest::Client::new(),
    };
    for (n, h) in names.iter().zip(&heads) {
        let a = client
            .hook("/", "push", &push_payload(n, "master", h))
            .await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !host.calls().iter().any(|l| l.starts_with("start ")) {
        assert!(Instant::now() < deadline, "no import started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, q) = client.get("/queue").await;
    assert_eq!(q["queue_length"], 4, "{q}");
    p.child.kill().expect("kill -9");
    let _ = p.child.wait();

    host.mode("");
    let mut p = spawn_binary(&host, port).await;
    let tasks = client.settle(4).await;
    assert_eq!(tasks.len(), 4, "{tasks:#?}");
    assert!(tasks.iter().all(|t| t["state"] == "done"), "{tasks:#?}");
    let ends: Vec<String> = host
        .calls()
        .into_iter()
        .filter(|l| l.starts_with("end "))
        .collect();
    for n in names {
        let times = ends
            .iter()
            .filter(|l| l.starts_with(&format!("end {n} ")))
            .count();
        assert_eq!(times, 1, "{n} imported {times} times: {ends:?}");
    }
    let _ = p.child.kill();
    let _ = p.child.wait();
}

#[test]
fn the_binary_names_every_bad_setting_and_refuses_to_run_unsigned_by_default() {
    let err = common::refused_config(
        env!("CARGO_BIN_EXE_orcoursetrion"),
        &["gitreload"],
        &[
            ("NUM_THREADS", "many"),
            ("LOG_LEVEL", "chatty"),
            ("GITRELOAD_CONFIG", "/nonexistent/gr.env.json"),
        ],
    );
    common::assert_contains_all(
        &err,
        &[
            "NUM_THREADS",
            "LOG_LEVEL",
            "GITRELOAD_CONFIG",
            "ORC_GITRELOAD_SECRET",
            "--allow-unsigned",
        ],
    );
}

#[tokio::test]
async fn credentials_secrets_and_payloads_stay_out_of_logs_and_answers() {
    let host = Host::new();
    let head = host.course("private-course", "master");
    let secret_url = "https://gr-user:tok-secret-123@127.0.0.1:9/private-course.git";
    git(
        &host.repodir().join("private-course"),
        &["remote", "set-url", "origin", secret_url],
    );
    let log = host.root().join("gitreload.log");
    let port = common::free_port();
    let mut cmd_vars = host.vars();
    cmd_vars.insert("LOG_LEVEL".into(), "DEBUG".into());
    cmd_vars.insert("LOG_FILE_PATH".into(), log.display().to_string());
    let mut p = spawn_binary_with(&host, port, cmd_vars).await;
    let client = Server {
        running: None,
        base: p.base.clone(),
        http: reqwest::Client::new(),
    };
    let mut payload = push_payload("private-course", "master", &head);
    payload["pusher"] = json!({"name": "payload-marker-xyz"});
    let a = client.hook("/", "push", &payload).await;
    assert_eq!(a.status, 200, "{a:?}");
    let tasks = client.settle(1).await;
    let shown = serde_json::to_string(&tasks).expect("json");
    assert!(!shown.contains("tok-secret-123"), "{shown}");
    assert!(
        shown.contains("https://127.0.0.1:9/private-course.git"),
        "{shown}"
    );
    // The import itself gets the real URL: git_add_course clones from it.
    let args = std::fs::read_to_string(host.root().join("args.txt")).expect("args");
    assert!(args.contains(secret_url));
    let _ = p.child.kill();
    let _ = p.child.wait();
    let logged = std::fs::read_to_string(&log).expect("the log file");
    assert!(logged.contains("gitreload listening"), "{logged}");
    assert!(logged.contains("task queued"), "{logged}");
    for leak in ["tok-secret-123", SECRET, "payload-marker-xyz", "manage.py"] {
        assert!(!logged.contains(leak), "{leak} in the log:\n{logged}");
    }
}
