//! The durable store: webhook deliveries, the job queue with its step journals,
//! requests, the course catalog and the audit log, in one embedded SQLite file
//! or in a PostgreSQL database that several instances share.
//!
//! Two promises shape this module (issue: "never lose a request, never run one
//! twice"):
//!
//! * **Never lose a request.** [`Store::record_delivery`] returns only after the
//!   delivery and its jobs are committed (SQLite: `synchronous=FULL` in WAL
//!   mode; PostgreSQL: `synchronous_commit=on`), so the 202 the webhook answers
//!   survives `kill -9` and power loss. [`Durability::Crash`] trades the
//!   power cut away for the fsync.
//! * **Never run one twice.** The delivery id (`X-GitHub-Delivery`) is the
//!   primary key: a redelivery stores nothing and queues nothing, unless its jobs
//!   ended `failed`, in which case they are queued again *with their journal*, so
//!   the steps that did finish are not redone.
//!
//! One fsync per delivery would cap ingest at the disk's fsync rate, so every
//! write goes through a single **group-commit writer**: a task that owns the one
//! write connection, drains whatever requests are waiting on its channel (up to
//! [`StoreOptions::max_batch`]), applies them in one transaction, commits once,
//! and then answers each waiter. While a commit is being flushed the next batch
//! piles up, so batches grow with load and the fsync cost is shared. Each
//! statement is a round trip to the database thread, so a batch of up to 16
//! rows of a kind is one multi-row statement, and a batch of deliveries that
//! imply no job is a single autocommitted INSERT (no BEGIN, no COMMIT): that
//! is most of ingress, and it is what its tail latency was made of. On SQLite
//! a batch of deliveries with jobs sends its `BEGIN IMMEDIATE` with the first
//! INSERT and its `COMMIT` with the last (`multirow::Around`): two trips
//! instead of four. Having a
//! single writer also means SQLite never makes two of our writers wait for each
//! other's lock. Reads go through a separate small pool; WAL lets them run while
//! the writer commits.
//!
//! All SQL lives here (and in `migrations/`, one list per backend), written
//! once in the subset both engines run alike (see `db`); `connect` picks the
//! engine from the URL at start-up. On PostgreSQL each instance has its own
//! writer, and the rules that span instances (claims, names, leases, pacing)
//! are single statements or take a row or advisory lock first.

mod audit;
mod catalog;
mod columns;
mod connect;
mod db;
mod deliveries;
mod form_requests;
mod imports;
mod instances;
mod jobs;
mod migrate;
mod model;
mod multirow;
mod requests;
mod retention;
mod wake;
mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::{mpsc, oneshot};

pub use crate::catalog::{CatalogRun, CourseKind, RunState};
use crate::clock::{SharedClock, SystemClock};
use audit::*;
pub use catalog::RepoEvent;
use catalog::*;
use columns::{from_row, ms_to_time};
use connect::*;
pub use connect::{Durability, StoreOptions};
pub use db::Backend;
use db::{q, Conn, Db, Pool, Row};
use deliveries::*;
use form_requests::*;
pub use form_requests::{FormRequest, FormState};
pub use imports::{Enqueued, ImportAction, ImportState, ImportStore, ImportTask, NewImport};
pub use instances::LiveInstance;
use instances::*;
use jobs::*;
use migrate::*;
pub use model::*;
use multirow::*;
use requests::*;
pub use retention::Pruned;
use retention::*;
pub use wake::JobWake;
use wake::*;
use writer::*;

/// Longest `last_error` kept: a GitHub error body must not bloat the queue table.
const MAX_ERROR_BYTES: usize = 8 * 1024;

/// How often the background checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// The writer's own auto-checkpoint, a safety net only (~40 MB of WAL).
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;
/// A WAL grown by a burst is truncated back to this after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Multi-row statements are built in these sizes only, so the connection's
/// prepared-statement cache (100 by default) holds 18 shapes per statement
/// instead of one per batch size. Every size up to 16 is its own shape: a
/// batch of up to 16 writes of a kind (what 16 busy connections make) takes
/// one statement, and each statement is a round trip to the database thread.
const CHUNK_SIZES: [usize; 18] = [
    64, 32, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
];
/// The largest batch that [`CHUNK_SIZES`] writes with one statement.
const ONE_STATEMENT: usize = 16;

/// Counters of the group-commit writer, for `/metrics` and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (or attempted).
    pub batches: u64,
    /// Writes they carried.
    pub ops: u64,
    /// The largest batch seen.
    pub max_batch: u64,
    /// Batches whose transaction failed (each write was then retried alone).
    pub failed_batches: u64,
    /// Time spent in transactions, BEGIN to COMMIT, in microseconds.
    pub commit_micros: u64,
    /// Transactions that took longer than [`SLOW_COMMIT`]: the stalls a
    /// client sees in its tail latency.
    pub slow_commits: u64,
    /// Of those, the ones that overlapped a background WAL checkpoint.
    pub slow_commits_in_checkpoint: u64,
    /// Background WAL checkpoints run, and the time they took (microseconds).
    pub checkpoints: u64,
    pub checkpoint_micros: u64,
}

/// A transaction slower than this counts as a stall in [`WriteStats`].
pub const SLOW_COMMIT: Duration = Duration::from_millis(10);

#[derive(Default)]
struct StatsCell {
    batches: AtomicU64,
    ops: AtomicU64,
    max_batch: AtomicU64,
    failed_batches: AtomicU64,
    commit_micros: AtomicU64,
    slow_commits: AtomicU64,
    slow_commits_in_checkpoint: AtomicU64,
    checkpoints: AtomicU64,
    checkpoint_micros: AtomicU64,
    /// A checkpoint is running now (set by checkpoint_task).
    in_checkpoint: std::sync::atomic::AtomicBool,
}

/// Handle on the store. Cheap to clone; all clones share one writer and pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    read: Pool,
    writer: mpsc::Sender<Pending>,
    clock: SharedClock,
    default_max_attempts: i64,
    keep_bodies: bool,
    durability: Durability,
    stats: Arc<StatsCell>,
    /// Set when the store closes, to stop its background listener.
    closing: tokio::sync::watch::Sender<bool>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if missing) `sqlite://PATH` or `sqlite::memory:`, or
    /// connects to `postgres://…`; runs the migrations, and starts the writer. Must be called inside a tokio runtime.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, StoreOptions::default()).await
    }

    /// [`Store::open`] with explicit options.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let Opened {
            conn,
            read,
            wal,
            durability,
        } = open_backend(url, &options).await?;
        let backend = conn.backend();
        let stats = Arc::new(StatsCell::default());
        let (tx, rx) = mpsc::channel(options.queue_depth.max(1));
        if let (true, Pool::Lite(pool)) = (wal, &read) {
            tokio::spawn(checkpoint_task(pool.clone(), tx.downgrade(), stats.clone()));
        }
        tokio::spawn(writer_task(
            conn,
            rx,
            options.clock.clone(),
            options.max_batch.max(1),
            stats.clone(),
        ));
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                read,
                writer: tx,
                clock: options.clock,
                default_max_attempts: options.default_max_attempts.max(1),
                keep_bodies: options.keep_bodies,
                durability,
                stats,
                closing: tokio::sync::watch::channel(false).0,
            }),
        })
    }

    /// Stops the store: the read pool closes at once, writes already queued are
    /// committed, later ones fail with [`StoreError::Closed`]. Returns once the
    /// database file is closed.
    pub async fn close(&self) {
        self.inner.closing.send_replace(true);
        self.inner.read.close().await;
        let _ = self.submit(Op::Shutdown).await;
    }

    fn now(&self) -> i64 {
        now_ms(&self.inner.clock)
    }

    /// The engine this store runs on (for logs, metrics and `doctor`).
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// What a commit survives, as the write connection reports it.
    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    async fn submit(&self, op: Op) -> Result<Out, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .send(Pending { op, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        // If this future is dropped here (the HTTP client went away), the write
        // still commits; a redelivery will then find it.
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stores a delivery and the jobs it implies in one transaction; durable on
    /// return. See [`DeliveryOutcome`] for what a known id does.
    pub async fn record_delivery(
        &self,
        delivery: NewDelivery,
        jobs: Vec<NewJob>,
    ) -> Result<DeliveryOutcome, StoreError> {
        // Serialise here, on the caller's task, to keep the writer's loop short.
        let jobs = jobs
            .into_iter()
            .map(|j| {
                Ok(PreparedJob {
                    kind: j.kind,
                    installation_id: j.installation_id,
                    payload: serde_json::to_string(&j.payload)?,
                    max_attempts: self.inner.default_max_attempts,
                })
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        // The body is kept when asked, and always when it did not parse (the
        // one case someone needs to look at it); else only its size.
        let keep_body = self.inner.keep_bodies || delivery.parse_error.is_some();
        let op = Op::Delivery {
            delivery,
            jobs,
            keep_body,
        };
        match self.submit(op).await? {
            Out::Delivery(outcome) => Ok(outcome),
            _ => Err(StoreError::WriterGone),
        }
    }

    /// Takes the next runnable job for `owner` and leases it for `lease`:
    /// first a `running` job whose lease expired (its worker died; it resumes
    /// from its journal), else the oldest due `queued` job; in both cases only
    /// if no other job of the same installation holds a live lease, so one
    /// installation's jobs run one at a time (GitHub's guidance on concurrent
    /// writes) while different installations run in parallel.
    pub async fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let raw = match self
            .submit(Op::Claim {
                owner: owner.to_owned(),
                lease_ms: duration_ms(lease),
            })
            .await?
        {
            Out::Claim(raw) => raw,
            _ => return Err(StoreError::WriterGone),
        };
        let Some(raw) = raw else { return Ok(None) };
        Ok(Some(Job {
            id: raw.id,
            delivery_id: raw.delivery_id,
            kind: decode(&raw.kind)?,
            installation_id: raw.installation_id,
            payload: serde_json::from_str(&raw.payload)?,
            journal: raw
                .journal
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            attempts: raw.attempts,
            max_attempts: raw.max_attempts,
        }))
    }

    /// Durably replaces the job's journal and renews its lease (by the length
    /// granted at claim time). [`StoreError::LeaseLost`] if `owner` no longer
    /// holds the job.
    pub async fn save_journal(
        &self,
        job_id: i64,
        owner: &str,
        journal: &Value,
    ) -> Result<(), StoreError> {
        // Stored text leaves the process too: no secret in it.
        let journal = Some(crate::secret::redact(&serde_json::to_string(journal)?).into_owned());
        self.submit(Op::Touch {
            job_id,
            owner: owner.to_owned(),
            journal,
        })
        .await
        .map(|_| ())
    }

    /// Renews the lease without touching the journal, for long waits (a
    /// secondary rate limit can pause a job for minutes).
    pub async fn renew_lease(&self, job_id: i64, owner: &str) -> Result<(), StoreError> {
        self.submit(Op::Touch {
            job_id,
            owner: owner.to_owned(),
            journal: None,
        })
        .await
        .map(|_| ())
    }

    /// Ends `owner`'s hold on a job. [`StoreError::LeaseLost`] if it no longer
    /// holds it (nothing is changed then).
    pub async fn finish_job(
        &self,
        job_id: i64,
        owner: &str,
        end: JobEnd,
    ) -> Result<(), StoreError> {
        let end = match end {
            JobEnd::Done { result } => PreparedEnd::Done {
                result: serde_json::to_string(&result)?,
            },
            JobEnd::Failed { error } => PreparedEnd::Failed {
                error: truncate_error(error),
            },
            JobEnd::Retry { after, error } => PreparedEnd::Retry {
                after_ms: duration_ms(after),
                error: truncate_error(error),
                refund: false,
            },
            JobEnd::Wait { after, error } => PreparedEnd::Retry {
                after_ms: duration_ms(after),
                error: truncate_error(error),
                refund: true,
            },
        };
        self.submit(Op::Finish {
            job_id,
            owner: owner.to_owned(),
            end,
        })
        .await
        .map(|_| ())
    }

    /// Appends GitHub writes to the audit log.
    pub async fn record_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.submit(Op::Audit(entries.to_vec())).await.map(|_| ())
    }

    /// Records what became of one command of a job (the requests table:
    /// issue ↔ command ↔ state), keyed by job and position in the comment.
    pub async fn record_request(&self, r: &RequestRecord) -> Result<(), StoreError> {
        self.submit(Op::Request(r.clone())).await.map(|_| ())
    }

    /// Remembers that this App created `full_name` for a course run, so a
    /// command sent again may adopt it.
    pub async fn record_made_repo(&self, m: &MadeRepo) -> Result<(), StoreError> {
        self.submit(Op::MadeRepo(m.clone())).await.map(|_| ())
    }

    /// Creates or updates a catalog run (and its course), keyed by course key.
    pub async fn upsert_run(&self, run: &CatalogRun) -> Result<(), StoreError> {
        self.submit(Op::UpsertRun(run.clone())).await.map(|_| ())
    }

    // ----- reads (pool) -----

    /// True when the database answers and the writer is alive (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        if self.inner.writer.is_closed() {
            return Err(StoreError::Closed);
        }
        q("SELECT 1").execute(&self.inner.read).await?;
        Ok(())
    }

    /// The group-commit writer's counters so far.
    pub fn write_stats(&self) -> WriteStats {
        let s = &self.inner.stats;
        WriteStats {
            batches: s.batches.load(Ordering::Relaxed),
            ops: s.ops.load(Ordering::Relaxed),
            max_batch: s.max_batch.load(Ordering::Relaxed),
            failed_batches: s.failed_batches.load(Ordering::Relaxed),
            commit_micros: s.commit_micros.load(Ordering::Relaxed),
            slow_commits: s.slow_commits.load(Ordering::Relaxed),
            slow_commits_in_checkpoint: s.slow_commits_in_checkpoint.load(Ordering::Relaxed),
            checkpoints: s.checkpoints.load(Ordering::Relaxed),
            checkpoint_micros: s.checkpoint_micros.load(Ordering::Relaxed),
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers.

fn now_ms(clock: &SharedClock) -> i64 {
    clock.now().timestamp_millis()
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// A stored error: redacted (see `secret::redact`), then bounded.
fn truncate_error(s: String) -> String {
    let mut s = crate::secret::redact(&s).into_owned();
    if s.len() > MAX_ERROR_BYTES {
        let mut cut = MAX_ERROR_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
