//! Workers: claim a job with a lease, run it, record how it ended.
//!
//! The store hands out one job per installation at a time (GitHub's advice
//! against concurrent writes), so several workers only run different
//! installations in parallel. A job whose process died is claimed again when
//! its lease expires and resumes from its journal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::Instrument;

use super::approval::{self, Waiting};
use super::journal::{JobJournalStore, ReadFuture};
use super::{checklist, comment, request, ChecklistJob};
use super::{
    Bot, CommentJob, InstallationJob, JobContext, JobKind, JobVerdict, RequestJob, JOB_CONTEXT,
};
use crate::actions::{JournalError, SaveFuture};
use crate::catalog::CatalogRun;
use crate::github::GitHub;
use crate::metrics::Metrics;
use crate::store::{
    FormState, Job, JobEnd, JobWake, MadeRepo, RepoEvent, RequestRecord, RequestState, Store,
};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claim holds without renewal; renewed every third of it.
    pub lease: Duration,
    /// First job-level retry delay; doubles per attempt, capped at 30 minutes.
    pub retry_base: Duration,
    /// Longest idle sleep between looks at the queue (a wake-up comes sooner
    /// when ingress stores a job).
    pub idle_poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            lease: Duration::from_secs(300),
            retry_base: Duration::from_secs(30),
            idle_poll: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    /// The App-level handle; each job acts through `app.installation(id)`.
    pub app: GitHub,
    pub bot: Arc<Bot>,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<JobWake>,
    pub options: WorkerOptions,
    pub owner: String,
}

struct StoreJournal<'a> {
    store: &'a Store,
    job_id: i64,
    owner: &'a str,
    job: &'a CommentJob,
}

impl JobJournalStore for StoreJournal<'_> {
    fn save<'s>(&'s mut self, journal: &'s serde_json::Value) -> SaveFuture<'s> {
        Box::pin(async move {
            self.store
                .save_journal(self.job_id, self.owner, journal)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn record_command<'s>(
        &'s mut self,
        index: usize,
        command: &'s str,
        state: RequestState,
        status_comment: Option<u64>,
    ) -> SaveFuture<'s> {
        Box::pin(async move {
            let record = RequestRecord {
                repo: self.job.repo.to_string(),
                issue: self.job.issue as i64,
                comment_id: self.job.comment_id as i64,
                author: self.job.author.clone(),
                command: command.to_string(),
                command_index: index as i64,
                state,
                job_id: self.job_id,
                status_comment: status_comment.map(|id| id as i64),
            };
            self.store
                .record_request(&record)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn issue_requests(&self) -> ReadFuture<'_, Vec<RequestRecord>> {
        Box::pin(async move {
            self.store
                .requests_for_issue(&self.job.repo.to_string(), self.job.issue as i64)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn record_made_repo<'s>(
        &'s mut self,
        full_name: &'s str,
        course_key: &'s str,
    ) -> SaveFuture<'s> {
        Box::pin(async move {
            let m = MadeRepo {
                full_name: full_name.to_string(),
                course_key: course_key.to_string(),
                job_id: self.job_id,
            };
            self.store
                .record_made_repo(&m)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn made_repo<'s>(&'s self, full_name: &'s str) -> ReadFuture<'s, Option<String>> {
        Box::pin(async move {
            self.store
                .made_repo(full_name)
                .await
                .map(|m| m.map(|m| m.course_key))
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn answered_within_the_hour(&self) -> ReadFuture<'_, bool> {
        Box::pin(async move {
            let since = chrono::Utc::now() - chrono::Duration::hours(1);
            self.store
                .answered_since(
                    &self.job.repo.to_string(),
                    self.job.issue as i64,
                    &self.job.author,
                    since,
                    self.job_id,
                )
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn form_request(&self) -> ReadFuture<'_, Option<crate::store::FormRequest>> {
        Box::pin(async move {
            self.store
                .form_requests(&self.job.repo.to_string(), Some(self.job.issue as i64))
                .await
                .map(|rows| rows.into_iter().next())
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn approve<'s>(&'s mut self, approver: &'s str, waiting: &'s Waiting) -> SaveFuture<'s> {
        Box::pin(async move {
            approval::approve_in_store(self.store, self.job, approver, waiting)
                .await
                .map_err(JournalError)
        })
    }

    fn cancel<'s>(&'s mut self, waiting: &'s Waiting) -> SaveFuture<'s> {
        Box::pin(async move {
            approval::cancel_in_store(self.store, waiting)
                .await
                .map_err(JournalError)
        })
    }

    fn record_form_outcome(&mut self, ok: bool) -> SaveFuture<'_> {
        Box::pin(async move {
            let state = if ok {
                FormState::Done
            } else {
                FormState::Failed
            };
            self.store
                .set_form_state(&self.job.repo.to_string(), self.job.issue as i64, state)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn catalog<'s>(&'s self, course: Option<&'s str>) -> ReadFuture<'s, Vec<CatalogRun>> {
        Box::pin(async move {
            match course {
                Some(c) => self.store.catalog_runs(c).await,
                None => self.store.latest_runs(20).await,
            }
            .map_err(|e| JournalError(e.to_string()))
        })
    }

    fn record_runs<'s>(&'s mut self, runs: &'s [CatalogRun]) -> SaveFuture<'s> {
        Box::pin(async move {
            // A run made for a request remembers it.
            let request = format!("{}#{}", self.job.repo, self.job.issue);
            for run in runs {
                let mut run = run.clone();
                run.request.get_or_insert_with(|| request.clone());
                self.store
                    .upsert_run(&run)
                    .await
                    .map_err(|e| JournalError(e.to_string()))?;
            }
            Ok(())
        })
    }
}

impl Worker {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            // GitHub cannot be reached: no job is claimed until the next try
            // is due, so none uses an attempt on a certain failure.
            if let Some(wait) = self.app.outage().filter(|w| !w.is_zero()) {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            match self.store.claim_job(&self.owner, self.options.lease).await {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", job = job.id, delivery = %job.delivery_id, worker = %self.owner);
                    self.process(job).instrument(span).await;
                }
                Ok(None) => {
                    let due = self.store.next_due_in().await.ok().flatten();
                    let wait = due
                        .unwrap_or(self.options.idle_poll)
                        .min(self.options.idle_poll);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => return,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a job");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        }
    }

    fn retry_delay(&self, attempts: i64) -> Duration {
        let exp = attempts.clamp(1, 16) as u32 - 1;
        self.options
            .retry_base
            .saturating_mul(1 << exp)
            .min(Duration::from_secs(30 * 60))
    }

    async fn process(&self, job: Job) {
        let started = Instant::now();
        tracing::info!(kind = %job.kind, attempt = job.attempts, "job claimed");
        let running = self.wake.running(job.installation_id);
        let final_attempt = job.attempts >= job.max_attempts;
        let verdict = {
            let renew = async {
                let mut tick = tokio::time::interval(self.options.lease / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = self.store.renew_lease(job.id, &self.owner).await {
                        tracing::warn!(error = %e, "lease renewal failed");
                    }
                }
            };
            let context = JobContext {
                job_id: job.id,
                delivery_id: job.delivery_id.clone(),
                actor: job
                    .payload
                    .get("author")
                    .and_then(|a| a.as_str())
                    .map(str::to_owned),
            };
            JOB_CONTEXT
                .scope(context, async {
                    tokio::select! {
                        v = self.run_job(&job, final_attempt) => v,
                        _ = renew => unreachable_verdict(),
                    }
                })
                .await
        };
        // Read once: whether GitHub answered anything since a call got no answer.
        let outage = self.app.outage();
        let (end, state) = match verdict {
            JobVerdict::Done(result) => (JobEnd::Done { result }, "done"),
            JobVerdict::Failed(error) => {
                tracing::warn!(%error, "job failed");
                (JobEnd::Failed { error }, "failed")
            }
            JobVerdict::Unanswerable(error) => {
                tracing::warn!(%error, "job failed: nothing can be answered on GitHub");
                (JobEnd::Failed { error }, "unanswerable")
            }
            JobVerdict::Retry(error) if outage.is_some() => {
                let after = outage.unwrap_or_default();
                tracing::warn!(%error, retry_in_ms = after.as_millis() as u64, "GitHub cannot be reached: the job waits, and keeps its attempt");
                (JobEnd::Wait { after, error }, "retry")
            }
            JobVerdict::Retry(error) if final_attempt => {
                tracing::warn!(%error, "job failed: its retries are used up");
                (JobEnd::Failed { error }, "failed")
            }
            JobVerdict::Retry(error) => {
                let after = self.retry_delay(job.attempts);
                tracing::warn!(%error, retry_in_ms = after.as_millis() as u64, "job will be retried");
                (JobEnd::Retry { after, error }, "retry")
            }
        };
        if let Err(e) = self.store.finish_job(job.id, &self.owner, end).await {
            tracing::error!(error = %e, "cannot record the end of the job");
        }
        self.metrics.observe_job(state, started.elapsed());
        tracing::info!(
            state,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job ended"
        );
        // Dropping `running` now wakes a worker for a job of the same
        // installation queued behind this one.
        drop(running);
    }

    async fn run_job(&self, job: &Job, final_attempt: bool) -> JobVerdict {
        match self.run_kind(job, final_attempt).await {
            Ok(verdict) | Err(verdict) => verdict,
        }
    }

    /// One job by its kind; `Err` is a payload this build cannot read.
    async fn run_kind(&self, job: &Job, final_attempt: bool) -> Result<JobVerdict, JobVerdict> {
        Ok(match job.kind {
            JobKind::Installation => {
                let p: InstallationJob = payload_of(job)?;
                self.app.forget_account(&p.account);
                tracing::info!(account = %p.account, "installation gone; forgotten");
                JobVerdict::Done(serde_json::json!({ "forgotten": p.account }))
            }
            JobKind::Catalog => {
                let ev: RepoEvent = payload_of(job)?;
                match self.store.apply_repo_event(&ev).await {
                    Ok(n) => JobVerdict::Done(serde_json::json!({ "runs": n })),
                    Err(e) => JobVerdict::Retry(e.to_string()),
                }
            }
            JobKind::Comment => {
                let payload: CommentJob = payload_of(job)?;
                let gh = self.app.for_accounts(payload.installation_id);
                let mut journal = StoreJournal {
                    store: &self.store,
                    job_id: job.id,
                    owner: &self.owner,
                    job: &payload,
                };
                comment::run_comment_job(
                    &self.bot,
                    &gh,
                    job.id,
                    &payload,
                    job.journal.as_ref(),
                    &mut journal,
                    final_attempt,
                )
                .await
            }
            JobKind::Checklist => {
                let p: ChecklistJob = payload_of(job)?;
                let gh = self.app.for_accounts(p.installation_id);
                checklist::run(&self.bot, &gh, &self.store, &p).await.into()
            }
            JobKind::Request => {
                let p: RequestJob = payload_of(job)?;
                let gh = self.app.for_accounts(p.installation_id);
                request::run(&self.bot, &gh, &self.store, &p).await.into()
            }
        })
    }
}

/// A job's payload as its kind's type. One this build cannot read (written
/// by another version, or damaged) fails the job at once: retrying cannot
/// make it readable.
fn payload_of<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, JobVerdict> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobVerdict::Failed(format!("unreadable job payload: {e}")))
}

/// The lease renewer never ends; this only satisfies the type checker.
fn unreachable_verdict() -> JobVerdict {
    JobVerdict::Failed("lease renewal loop ended".into())
}
