//! The workers: `NUM_THREADS` loops that claim a task, run it, store how it
//! ended, and report it. The store decides which task may run (one per repo
//! at a time), so the workers need no locks of their own.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::checkout::{self, Checkout, CheckoutError};
use super::run::{self, Ended, Tail};
use super::settings::GitreloadSettings;
use super::status::{StatusState, Statuses};
use crate::secret::strip_url_credentials;
use crate::store::{ImportAction, ImportState, ImportStore, ImportTask};

/// How often an idle worker looks at the queue when nobody wakes it.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// What the routes and the workers share.
pub struct Shared {
    pub store: ImportStore,
    pub settings: GitreloadSettings,
    /// Woken when a task is queued or a repo's task ends.
    pub wake: Notify,
    pub statuses: Option<Statuses>,
    /// Pushes answered, by answer (for `/metrics`).
    pub answers: Mutex<BTreeMap<&'static str, u64>>,
    pub imports_run: AtomicU64,
    /// The mark this process's commands carry (`run::OWNER_VAR`).
    pub mark: String,
}

impl Shared {
    pub fn count(&self, answer: &'static str) {
        if let Ok(mut m) = self.answers.lock() {
            *m.entry(answer).or_default() += 1;
        }
    }
}

/// gitreload's import command, exactly: `{VIRTUAL_ENV}/bin/python manage.py
/// lms --settings={DJANGO_SETTINGS} git_add_course {origin} --directory_path
/// {REPODIR}/{name}` in `EDX_PLATFORM`, with the LMS's variables set. Our
/// own `ORC_*` variables (secrets among them) are not passed on.
pub fn import_command(s: &GitreloadSettings, c: &Checkout) -> Command {
    let mut cmd = Command::new(s.virtual_env.join("bin").join("python"));
    cmd.arg("manage.py")
        .arg("lms")
        .arg(format!("--settings={}", s.django_settings))
        .arg("git_add_course")
        .arg(&c.origin_url)
        .arg("--directory_path")
        .arg(&c.dir)
        .current_dir(&s.edx_platform)
        .env("SERVICE_VARIANT", "lms")
        .env("LMS_CFG", &s.lms_cfg)
        .env("REVISION_CFG", &s.revision_cfg);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ORC_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn checkout_problem(e: &CheckoutError) -> &'static str {
    match e {
        CheckoutError::NotARepo => "the checkout is gone",
        CheckoutError::Detached => "the checkout's HEAD is detached",
        CheckoutError::NoOrigin => "the checkout has no origin remote",
    }
}

/// Runs one task; the output with credentials removed from the origin URL.
async fn perform(s: &GitreloadSettings, mark: &str, task: &ImportTask) -> (Ended, String) {
    let dir = s.repodir.join(&task.push.repo_name);
    let mut tail = Tail::default();
    let mut secret_url = None;
    let ended = match task.push.action {
        ImportAction::CourseImport => match checkout::inspect(&dir).await {
            Ok(c) => {
                secret_url = Some(c.origin_url.clone());
                run::run(import_command(s, &c), mark, s.timeout, &mut tail).await
            }
            Err(e) => {
                let why = checkout_problem(&e);
                tail.line(why);
                Ended::NotStarted(why.into())
            }
        },
        ImportAction::GetLatest => checkout::get_latest(&dir, mark, s.timeout, &mut tail).await,
    };
    let mut output = tail.into_text();
    if let Some(url) = secret_url.filter(|u| strip_url_credentials(u) != *u) {
        output = output.replace(&url, &strip_url_credentials(&url));
    }
    (ended, output)
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn verb(action: ImportAction) -> &'static str {
    match action {
        ImportAction::CourseImport => "Import",
        ImportAction::GetLatest => "Update",
    }
}

/// The pending status of a queued task.
pub async fn report_queued(shared: &Shared, owner: &str, repo: &str, sha: &str, a: ImportAction) {
    if let Some(st) = &shared.statuses {
        let text = format!("{} queued", verb(a));
        st.set(owner, repo, sha, StatusState::Pending, &text).await;
    }
}

async fn report_end(shared: &Shared, task: &ImportTask, ended: &Ended, took: Duration) {
    let (Some(st), Some(owner), Some(sha)) = (&shared.statuses, &task.push.owner, &task.push.sha)
    else {
        return;
    };
    let (state, text) = if ended.succeeded() {
        let text = format!("{} done in {} s", verb(task.push.action), took.as_secs());
        (StatusState::Success, text)
    } else {
        let text = format!("{} failed: {}", verb(task.push.action), ended.describe());
        (StatusState::Failure, text)
    };
    st.set(owner, &task.push.repo_name, sha, state, &text).await;
    for old in &task.replaced {
        let text = format!("Taken with {}: {text}", short(sha));
        st.set(owner, &task.push.repo_name, old, state, &text).await;
    }
}

async fn run_task(shared: &Shared, task: ImportTask) {
    let started = Instant::now();
    tracing::info!(task = task.id, repo = %task.push.repo_name, action = %task.push.action,
        sha = task.push.sha.as_deref().unwrap_or("-"), "task started");
    let (ended, output) = perform(&shared.settings, &shared.mark, &task).await;
    let took = started.elapsed();
    let state = if ended.succeeded() {
        ImportState::Done
    } else {
        ImportState::Failed
    };
    if let Err(e) = shared
        .store
        .finish(task.id, state, ended.exit_code(), &output)
        .await
    {
        // Left running: the next start runs it again.
        tracing::error!(task = task.id, error = %e, "could not store how the task ended");
    }
    shared.imports_run.fetch_add(1, Ordering::Relaxed);
    if state == ImportState::Done {
        tracing::info!(task = task.id, repo = %task.push.repo_name, seconds = took.as_secs_f64(), "task done");
    } else {
        tracing::warn!(task = task.id, repo = %task.push.repo_name, end = %ended.describe(),
            seconds = took.as_secs_f64(), "task failed");
    }
    report_end(shared, &task, &ended, took).await;
}

/// One worker, until `stop` turns true.
pub async fn work(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let woken = shared.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match shared.store.claim().await {
            Ok(Some(task)) => {
                tokio::select! {
                    _ = run_task(&shared, task) => {}
                    // Dropping the run kills its process group; the task
                    // stays running in the store and runs again at start-up.
                    _ = stop.changed() => return,
                }
                // A repo's next task may run now.
                shared.wake.notify_waiters();
            }
            Ok(None) => {
                tokio::select! {
                    _ = woken => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => return,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the task queue");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}
