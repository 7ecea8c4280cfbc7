//! The durable store: webhook deliveries, the job queue with its step journals,
//! requests, the course catalog and the audit log, in one embedded SQLite file.
//!
//! Two promises shape this module (issue: "never lose a request, never run one
//! twice"):
//!
//! * **Never lose a request.** [`Store::record_delivery`] returns only after the
//!   delivery and its jobs are committed with `synchronous=FULL` in WAL mode, so
//!   the 202 the webhook answers survives `kill -9` and power loss.
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
//! piles up, so batches grow with load and the fsync cost is shared. Having a
//! single writer also means SQLite never makes two of our writers wait for each
//! other's lock. Reads go through a separate small pool; WAL lets them run while
//! the writer commits.
//!
//! All SQL lives here (and in `migrations/`), written in the portable subset
//! (integer epoch milliseconds, TEXT JSON, `RETURNING`, `ON CONFLICT`), so a
//! PostgreSQL backend can be added behind the same API.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::clock::{SharedClock, SystemClock};

/// The schema, in order. Append only: a shipped migration is never edited.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "request_index",
        include_str!("migrations/0002_request_index.sql"),
    ),
];

/// Longest `last_error` kept: a GitHub error body must not bloat the queue table.
const MAX_ERROR_BYTES: usize = 8 * 1024;

/// How often the background checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// The writer's own auto-checkpoint, a safety net only (~40 MB of WAL).
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;
/// A WAL grown by a burst is truncated back to this after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Multi-row statements are built in these sizes only, so the connection's
/// prepared-statement cache holds a handful of shapes instead of one per batch size.
const CHUNK_SIZES: [usize; 4] = [64, 16, 4, 1];

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("unsupported database URL scheme {0:?}: expected sqlite://PATH or sqlite::memory:")]
    UnsupportedUrl(String),
    #[error("the database schema is at version {found}, newer than this build knows ({known}); refusing to run an older binary on it")]
    SchemaTooNew { found: i64, known: i64 },
    /// The job is no longer running under this owner: its lease expired and
    /// another worker claimed it, or it was finished already. The caller must
    /// stop working on it without further side effects.
    #[error("job {0}: lease lost to another worker")]
    LeaseLost(i64),
    #[error("the store is closed")]
    Closed,
    #[error("the store's writer stopped before answering")]
    WriterGone,
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
}

/// A webhook delivery as received (after signature verification).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    /// The raw body, byte for byte, so a delivery can be re-examined later.
    pub body: bytes::Bytes,
    /// Why the body was not JSON, when it was not.
    pub parse_error: Option<String>,
}

/// A job implied by a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub installation_id: Option<i64>,
    pub payload: Value,
}

/// What [`Store::record_delivery`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// New delivery, stored with this many jobs.
    Stored { jobs: usize },
    /// Known delivery: nothing stored, nothing queued.
    Duplicate,
    /// Known delivery whose failed jobs were queued again (journal kept).
    Requeued { jobs: usize },
}

impl DeliveryOutcome {
    /// The word used in the webhook's answer and in metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Stored { .. } => "stored",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Requeued { .. } => "requeued",
        }
    }

    /// How many jobs became runnable because of this delivery.
    pub fn jobs(&self) -> usize {
        match self {
            DeliveryOutcome::Stored { jobs } | DeliveryOutcome::Requeued { jobs } => *jobs,
            DeliveryOutcome::Duplicate => 0,
        }
    }
}

/// A claimed job, handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub delivery_id: String,
    pub kind: String,
    pub installation_id: Option<i64>,
    pub payload: Value,
    /// The step journal of earlier attempts (resume from it), if any.
    pub journal: Option<Value>,
    /// Attempts so far, *including* this one (a crashed attempt counts too, so
    /// a job that kills its process cannot loop forever).
    pub attempts: i64,
    pub max_attempts: i64,
}

/// How a worker ends its hold on a job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    Done {
        result: Value,
    },
    Failed {
        error: String,
    },
    /// Back to the queue, runnable again after `after`. The worker decides
    /// between this and `Failed` from [`Job::attempts`] and [`Job::max_attempts`].
    Retry {
        after: Duration,
        error: String,
    },
}

/// The life cycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored (for tests, `/status` and operators).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub delivery_id: String,
    pub kind: String,
    pub installation_id: Option<i64>,
    pub payload: Value,
    pub state: JobState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_run_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub journal: Option<Value>,
    pub last_error: Option<String>,
    pub result: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery as stored, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub parse_error: Option<String>,
    /// Length of the stored body in bytes.
    pub body_len: i64,
}

impl DeliveryRow {
    pub fn has_body(&self) -> bool {
        self.body_len > 0
    }
}

/// One GitHub write, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub job_id: Option<i64>,
    pub installation_id: Option<i64>,
    pub method: String,
    /// Path only, never a query string or credential.
    pub path: String,
    /// None when no answer came (timeout, dropped connection): the write may or
    /// may not have happened, which is exactly what an auditor needs to know.
    pub status: Option<u16>,
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    /// The audit entry for a GitHub call, or None for reads (GET/HEAD), which
    /// the audit log does not keep.
    pub fn from_call(
        job_id: Option<i64>,
        call: &crate::github::CallRecord<'_>,
        at: DateTime<Utc>,
    ) -> Option<AuditEntry> {
        if call.method.eq_ignore_ascii_case("GET") || call.method.eq_ignore_ascii_case("HEAD") {
            return None;
        }
        Some(AuditEntry {
            job_id,
            installation_id: call.installation.and_then(|i| i64::try_from(i).ok()),
            method: call.method.to_ascii_uppercase(),
            path: call.path.to_owned(),
            status: call.status,
            at,
        })
    }
}

/// One command asked in a requests repo and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub repo: String,
    pub issue: i64,
    pub comment_id: i64,
    pub author: String,
    /// The command line in canonical form.
    pub command: String,
    /// Position of the command in its comment.
    pub command_index: i64,
    /// `done`, `failed`, `refused` or `invalid`.
    pub state: String,
    pub job_id: i64,
}

/// How a course is authored, which decides its GitHub org and hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Studio,
    Xml,
}

impl RunKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunKind::Studio => "studio",
            RunKind::Xml => "xml",
        }
    }
}

/// Where a course run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Staging,
    Released,
    Retired,
}

impl RunState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunState::Staging => "staging",
            RunState::Released => "released",
            RunState::Retired => "retired",
        }
    }
}

/// One course run of the catalog, with its course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRun {
    pub org: String,
    pub course: String,
    /// The course's title; `None` keeps the stored one.
    pub title: Option<String>,
    pub term: String,
    pub course_key: String,
    /// `owner/name` of the run's repository.
    pub repo: String,
    pub kind: RunKind,
    pub state: RunState,
}

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
}

#[derive(Default)]
struct StatsCell {
    batches: AtomicU64,
    ops: AtomicU64,
    max_batch: AtomicU64,
    failed_batches: AtomicU64,
}

/// Tuning knobs; the defaults are what `serve` uses.
#[derive(Clone)]
pub struct StoreOptions {
    /// Source of "now" for leases and retry times (tests use a manual clock).
    pub clock: SharedClock,
    /// Most writes committed in one transaction.
    pub max_batch: usize,
    /// Pending writes the channel holds before callers wait (back-pressure).
    pub queue_depth: usize,
    /// `max_attempts` given to new jobs.
    pub default_max_attempts: i64,
    /// Size of the read pool.
    pub read_connections: u32,
    /// How long SQLite waits for a lock held by another process.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Arc::new(SystemClock),
            max_batch: 256,
            queue_depth: 4096,
            default_max_attempts: 5,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Handle on the store. Cheap to clone; all clones share one writer and pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    read: SqlitePool,
    writer: mpsc::Sender<Pending>,
    clock: SharedClock,
    default_max_attempts: i64,
    stats: Arc<StatsCell>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if missing) `sqlite://PATH` or `sqlite::memory:`, runs the
    /// migrations, and starts the writer. Must be called inside a tokio runtime.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, StoreOptions::default()).await
    }

    /// [`Store::open`] with explicit options.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            // Only the scheme: a postgres:// URL may carry a password.
            let scheme = url.split(':').next().unwrap_or_default().to_owned();
            return Err(StoreError::UnsupportedUrl(scheme));
        }
        // For `sqlite::memory:` sqlx names a fresh shared-cache database on each
        // parse, so the writer and the pool must share this one parsed value.
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: the WAL is fsynced at every commit, so an acknowledged
            // delivery survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            // Checkpoints run in the background (see checkpoint_task); the
            // writer only checkpoints itself if that falls far behind.
            .pragma(
                "wal_autocheckpoint",
                WRITER_AUTOCHECKPOINT_PAGES.to_string(),
            )
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        let mut conn = connect.connect().await?;
        migrate(&mut conn, now_ms(&options.clock)).await?;
        let journal_mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect)
            .await?;
        let stats = Arc::new(StatsCell::default());
        let (tx, rx) = mpsc::channel(options.queue_depth.max(1));
        if journal_mode.eq_ignore_ascii_case("wal") {
            tokio::spawn(checkpoint_task(read.clone(), tx.downgrade(), stats.clone()));
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
                read,
                writer: tx,
                clock: options.clock,
                default_max_attempts: options.default_max_attempts.max(1),
                stats,
            }),
        })
    }

    /// Stops the store: the read pool closes at once, writes already queued are
    /// committed, later ones fail with [`StoreError::Closed`]. Returns once the
    /// database file is closed.
    pub async fn close(&self) {
        self.inner.read.close().await;
        let _ = self.submit(Op::Shutdown).await;
    }

    fn now(&self) -> i64 {
        now_ms(&self.inner.clock)
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
        match self.submit(Op::Delivery { delivery, jobs }).await? {
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
            kind: raw.kind,
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
        let journal = Some(serde_json::to_string(journal)?);
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

    /// The commands asked on one issue, oldest first.
    pub async fn requests_for_issue(
        &self,
        repo: &str,
        issue: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo, issue, comment_id, author, command, command_index, state, job_id
             FROM requests WHERE repo = ?1 AND issue = ?2 ORDER BY id",
        )
        .bind(repo)
        .bind(issue)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RequestRecord {
                    repo: row.try_get(0)?,
                    issue: row.try_get(1)?,
                    comment_id: row.try_get(2)?,
                    author: row.try_get(3)?,
                    command: row.try_get(4)?,
                    command_index: row.try_get(5)?,
                    state: row.try_get(6)?,
                    job_id: row.try_get(7)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(StoreError::from)
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
        sqlx::query("SELECT 1").execute(&self.inner.read).await?;
        Ok(())
    }

    /// One job, whatever its state.
    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| job_row(&r)).transpose()
    }

    /// The jobs a delivery implied, oldest first.
    pub async fn jobs_of_delivery(&self, delivery_id: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE delivery_id = ?1 ORDER BY id"
        ))
        .bind(delivery_id)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter().map(job_row).collect()
    }

    /// Jobs by state; every state is present (0 when none), for `/metrics`.
    pub async fn job_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut counts: BTreeMap<String, i64> = JobState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&self.inner.read)
            .await?;
        for r in rows {
            counts.insert(r.try_get(0)?, r.try_get(1)?);
        }
        Ok(counts)
    }

    pub async fn delivery_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM deliveries")
            .fetch_one(&self.inner.read)
            .await?
            .try_get(0)?)
    }

    /// One delivery, without its body.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, event, action, installation_id, received_at, parse_error, length(body)
             FROM deliveries WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.inner.read)
        .await?;
        row.map(|r| {
            Ok(DeliveryRow {
                id: r.try_get(0)?,
                event: r.try_get(1)?,
                action: r.try_get(2)?,
                installation_id: r.try_get(3)?,
                received_at: ms_to_time(r.try_get(4)?),
                parse_error: r.try_get(5)?,
                body_len: r.try_get(6)?,
            })
        })
        .transpose()
    }

    /// The body of a delivery exactly as received.
    pub async fn delivery_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT body FROM deliveries WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?;
        row.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    /// How long until a job may become claimable: the earliest retry time of a
    /// queued job (pushed back to the live lease of a job of the same
    /// installation, which blocks it) or lease expiry of a running one. `None`:
    /// nothing queued or running, so an idle worker can wait for a wake-up.
    /// `Some(ZERO)`: something is due now.
    pub async fn next_due_in(&self) -> Result<Option<Duration>, StoreError> {
        let now = self.now();
        let due: Option<i64> = sqlx::query(
            "SELECT MIN(due) FROM (
                 SELECT MAX(j.next_run_at, COALESCE(
                     (SELECT MAX(r.lease_until) FROM jobs r
                       WHERE r.state = 'running' AND r.lease_until > ?1
                         AND r.installation_id IS j.installation_id), 0)) AS due
                   FROM jobs j WHERE j.state = 'queued'
                 UNION ALL
                 SELECT lease_until AS due FROM jobs WHERE state = 'running')",
        )
        .bind(now)
        .fetch_one(&self.inner.read)
        .await?
        .try_get(0)?;
        Ok(due.map(|d| Duration::from_millis(u64::try_from(d.saturating_sub(now)).unwrap_or(0))))
    }

    /// The audit entries of one job, oldest first.
    pub async fn audit_for_job(&self, job_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, installation_id, method, path, status, at FROM audit
             WHERE job_id = ?1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                let status: Option<i64> = r.try_get(4)?;
                Ok(AuditEntry {
                    job_id: r.try_get(0)?,
                    installation_id: r.try_get(1)?,
                    method: r.try_get(2)?,
                    path: r.try_get(3)?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    at: ms_to_time(r.try_get(5)?),
                })
            })
            .collect()
    }

    /// The catalog runs of a course code (any org), oldest first.
    pub async fn catalog_runs(&self, course: &str) -> Result<Vec<CatalogRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.org, c.course_code, c.title, r.term, r.course_key, r.repo, r.kind, r.state
               FROM catalog_runs r JOIN catalog_courses c ON c.id = r.course_id
              WHERE c.course_code = ?1 ORDER BY r.id",
        )
        .bind(course)
        .fetch_all(&self.inner.read)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(6)?;
                let state: String = r.try_get(7)?;
                Ok(CatalogRun {
                    org: r.try_get(0)?,
                    course: r.try_get(1)?,
                    title: r.try_get(2)?,
                    term: r.try_get(3)?,
                    course_key: r.try_get(4)?,
                    repo: r.try_get(5)?,
                    kind: if kind == "xml" {
                        RunKind::Xml
                    } else {
                        RunKind::Studio
                    },
                    state: match state.as_str() {
                        "released" => RunState::Released,
                        "retired" => RunState::Retired,
                        _ => RunState::Staging,
                    },
                })
            })
            .collect()
    }

    /// The group-commit writer's counters so far.
    pub fn write_stats(&self) -> WriteStats {
        let s = &self.inner.stats;
        WriteStats {
            batches: s.batches.load(Ordering::Relaxed),
            ops: s.ops.load(Ordering::Relaxed),
            max_batch: s.max_batch.load(Ordering::Relaxed),
            failed_batches: s.failed_batches.load(Ordering::Relaxed),
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

fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn truncate_error(mut s: String) -> String {
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

const JOB_COLUMNS: &str = "id, delivery_id, kind, installation_id, payload, state, attempts, \
     max_attempts, next_run_at, lease_owner, lease_until, journal, last_error, result, \
     created_at, updated_at";

fn job_row(r: &SqliteRow) -> Result<JobRow, StoreError> {
    let payload: String = r.try_get("payload")?;
    let journal: Option<String> = r.try_get("journal")?;
    let result: Option<String> = r.try_get("result")?;
    let state: String = r.try_get("state")?;
    let lease_until: Option<i64> = r.try_get("lease_until")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        delivery_id: r.try_get("delivery_id")?,
        kind: r.try_get("kind")?,
        installation_id: r.try_get("installation_id")?,
        payload: serde_json::from_str(&payload)?,
        state: state
            .parse()
            .map_err(|e: String| StoreError::Db(sqlx::Error::Decode(e.into())))?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        next_run_at: ms_to_time(r.try_get("next_run_at")?),
        lease_owner: r.try_get("lease_owner")?,
        lease_until: lease_until.map(ms_to_time),
        journal: journal.as_deref().map(serde_json::from_str).transpose()?,
        last_error: r.try_get("last_error")?,
        result: result.as_deref().map(serde_json::from_str).transpose()?,
        created_at: ms_to_time(r.try_get("created_at")?),
        updated_at: ms_to_time(r.try_get("updated_at")?),
    })
}

/// Applies the embedded migrations not yet recorded in `schema_migrations`,
/// each in its own immediate transaction (so two processes starting at once
/// cannot both apply one).
async fn migrate(conn: &mut SqliteConnection, now: i64) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY NOT NULL,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let found: Option<i64> = sqlx::query("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if let Some(found) = found.filter(|f| *f > known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, name, sql) in MIGRATIONS {
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let applied = async {
            let done: Option<i64> =
                sqlx::query("SELECT version FROM schema_migrations WHERE version = ?1")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
            if done.is_none() {
                sqlx::raw_sql(sql).execute(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                )
                .bind(version)
                .bind(name)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                tracing::info!(version, name, "applied database migration");
            }
            Ok::<(), sqlx::Error>(())
        }
        .await;
        match applied {
            Ok(()) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The group-commit writer.

struct PreparedJob {
    kind: String,
    installation_id: Option<i64>,
    payload: String,
    max_attempts: i64,
}

enum PreparedEnd {
    Done { result: String },
    Failed { error: String },
    Retry { after_ms: i64, error: String },
}

enum Op {
    Delivery {
        delivery: NewDelivery,
        jobs: Vec<PreparedJob>,
    },
    Claim {
        owner: String,
        lease_ms: i64,
    },
    /// Renew the lease, and replace the journal when given.
    Touch {
        job_id: i64,
        owner: String,
        journal: Option<String>,
    },
    Finish {
        job_id: i64,
        owner: String,
        end: PreparedEnd,
    },
    Audit(Vec<AuditEntry>),
    UpsertRun(CatalogRun),
    Request(RequestRecord),
    Shutdown,
}

struct RawJob {
    id: i64,
    delivery_id: String,
    kind: String,
    installation_id: Option<i64>,
    payload: String,
    journal: Option<String>,
    attempts: i64,
    max_attempts: i64,
}

enum Out {
    Delivery(DeliveryOutcome),
    Claim(Option<RawJob>),
    Unit,
}

type Reply = oneshot::Sender<Result<Out, StoreError>>;

struct Pending {
    op: Op,
    reply: Reply,
}

async fn writer_task(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Pending>,
    clock: SharedClock,
    max_batch: usize,
    stats: Arc<StatsCell>,
) {
    let mut buf = Vec::with_capacity(max_batch);
    let mut shutdowns: Vec<Reply> = Vec::new();
    loop {
        if rx.recv_many(&mut buf, max_batch).await == 0 {
            break; // every Store handle is gone
        }
        let mut ops = Vec::with_capacity(buf.len());
        let mut replies = Vec::with_capacity(buf.len());
        for p in buf.drain(..) {
            if matches!(p.op, Op::Shutdown) {
                shutdowns.push(p.reply);
            } else {
                ops.push(p.op);
                replies.push(p.reply);
            }
        }
        if !ops.is_empty() {
            run_batch(&mut conn, ops, replies, now_ms(&clock), &stats).await;
        }
        if !shutdowns.is_empty() {
            rx.close();
            while let Ok(p) = rx.try_recv() {
                if matches!(p.op, Op::Shutdown) {
                    shutdowns.push(p.reply);
                } else {
                    let _ = p.reply.send(Err(StoreError::Closed));
                }
            }
            break;
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the database connection failed");
    }
    for s in shutdowns {
        let _ = s.send(Ok(Out::Unit));
    }
}

/// Copies committed WAL pages into the database file from a pool connection,
/// so that work (and its fsync of the main file) stays off the writer's commit
/// path: with SQLite's default auto-checkpoint, every few hundred deliveries one
/// unlucky commit would also pay for a checkpoint, which is what p99 sees.
/// PASSIVE never blocks the writer or readers. Stops with the store.
async fn checkpoint_task(
    pool: SqlitePool,
    writer: mpsc::WeakSender<Pending>,
    stats: Arc<StatsCell>,
) {
    let mut seen = 0u64;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() || writer.upgrade().is_none() {
            return;
        }
        let batches = stats.batches.load(Ordering::Relaxed);
        if batches == seen {
            continue;
        }
        seen = batches;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "background WAL checkpoint failed");
        }
    }
}

/// Runs one batch and answers every waiter. If the shared transaction fails,
/// each write is retried alone, so one bad write cannot fail its neighbours and
/// every waiter gets its own answer (never a silent drop).
async fn run_batch(
    conn: &mut SqliteConnection,
    ops: Vec<Op>,
    replies: Vec<Reply>,
    now: i64,
    stats: &StatsCell,
) {
    let n = ops.len() as u64;
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.ops.fetch_add(n, Ordering::Relaxed);
    stats.max_batch.fetch_max(n, Ordering::Relaxed);
    match exec_batch(conn, &ops, now).await {
        Ok(outs) => {
            for (reply, out) in replies.into_iter().zip(outs) {
                let _ = reply.send(out);
            }
        }
        Err(e) => {
            stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            if ops.len() == 1 {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e.into()));
                }
                return;
            }
            tracing::warn!(error = %e, writes = ops.len(), "group commit failed; retrying each write alone");
            for (op, reply) in ops.iter().zip(replies) {
                let out = match exec_batch(conn, std::slice::from_ref(op), now).await {
                    Ok(mut outs) => outs.pop().unwrap_or(Err(StoreError::WriterGone)),
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(out);
            }
        }
    }
}

/// One transaction: `Err` means it was rolled back and nothing of it stays.
async fn exec_batch(
    conn: &mut SqliteConnection,
    ops: &[Op],
    now: i64,
) -> Result<Vec<Result<Out, StoreError>>, sqlx::Error> {
    // IMMEDIATE takes the write lock up front, so the transaction cannot fail
    // half-way with SQLITE_BUSY on a lock upgrade.
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let result = match exec_ops(conn, ops, now).await {
        Ok(outs) => match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => return Ok(outs),
            Err(e) => e,
        },
        Err(e) => e,
    };
    // Some errors (I/O, full disk) roll back by themselves; then this fails
    // with "no transaction is active", which is fine.
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
        tracing::debug!(error = %e, "rollback after a failed batch");
    }
    Err(result)
}

async fn exec_ops(
    conn: &mut SqliteConnection,
    ops: &[Op],
    now: i64,
) -> Result<Vec<Result<Out, StoreError>>, sqlx::Error> {
    let mut outs: Vec<Option<Result<Out, StoreError>>> = ops.iter().map(|_| None).collect();

    // Deliveries first, in bulk. The first occurrence of an id in the batch is
    // the one that counts; a repeat inside the same batch is a duplicate of it.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut fresh: Vec<(usize, &NewDelivery, &[PreparedJob])> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::Delivery { delivery, jobs } = op {
            if seen.insert(delivery.id.as_str()) {
                fresh.push((i, delivery, jobs));
            } else {
                outs[i] = Some(Ok(Out::Delivery(DeliveryOutcome::Duplicate)));
            }
        }
    }
    if !fresh.is_empty() {
        let deliveries: Vec<&NewDelivery> = fresh.iter().map(|f| f.1).collect();
        let inserted = insert_deliveries(conn, &deliveries, now).await?;
        let mut new_jobs: Vec<(&str, &PreparedJob)> = Vec::new();
        for (i, delivery, jobs) in fresh {
            let outcome = if inserted.contains(delivery.id.as_str()) {
                new_jobs.extend(jobs.iter().map(|j| (delivery.id.as_str(), j)));
                DeliveryOutcome::Stored { jobs: jobs.len() }
            } else {
                match requeue_failed(conn, &delivery.id, now).await? {
                    0 => DeliveryOutcome::Duplicate,
                    n => DeliveryOutcome::Requeued { jobs: n },
                }
            };
            outs[i] = Some(Ok(Out::Delivery(outcome)));
        }
        insert_jobs(conn, &new_jobs, now).await?;
    }

    for (i, op) in ops.iter().enumerate() {
        let out = match op {
            Op::Delivery { .. } | Op::Shutdown => continue,
            Op::Claim { owner, lease_ms } => {
                Ok(Out::Claim(claim(conn, owner, *lease_ms, now).await?))
            }
            Op::Touch {
                job_id,
                owner,
                journal,
            } => touch(conn, *job_id, owner, journal.as_deref(), now).await?,
            Op::Finish { job_id, owner, end } => finish(conn, *job_id, owner, end, now).await?,
            Op::Audit(entries) => {
                for e in entries {
                    sqlx::query(
                        "INSERT INTO audit (job_id, installation_id, method, path, status, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .bind(e.job_id)
                    .bind(e.installation_id)
                    .bind(&e.method)
                    .bind(&e.path)
                    .bind(e.status.map(i64::from))
                    .bind(e.at.timestamp_millis())
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(Out::Unit)
            }
            Op::UpsertRun(run) => {
                upsert_run(conn, run, now).await?;
                Ok(Out::Unit)
            }
            Op::Request(r) => {
                upsert_request(conn, r, now).await?;
                Ok(Out::Unit)
            }
        };
        outs[i] = Some(out);
    }
    Ok(outs
        .into_iter()
        .map(|o| o.unwrap_or(Err(StoreError::WriterGone)))
        .collect())
}

/// Splits `items` greedily into slices of [`CHUNK_SIZES`].
fn chunked<T>(mut items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    while !items.is_empty() {
        let size = CHUNK_SIZES
            .iter()
            .copied()
            .find(|&c| c <= items.len())
            .unwrap_or(1);
        let (head, tail) = items.split_at(size);
        out.push(head);
        items = tail;
    }
    out
}

fn values_sql(head: &str, row: &str, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 1) + tail.len());
    sql.push_str(head);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push_str(row);
    }
    sql.push_str(tail);
    sql
}

/// Inserts new deliveries; returns the ids that were not already stored.
async fn insert_deliveries(
    conn: &mut SqliteConnection,
    deliveries: &[&NewDelivery],
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let mut inserted = HashSet::with_capacity(deliveries.len());
    for chunk in chunked(deliveries) {
        let sql = values_sql(
            "INSERT INTO deliveries (id, event, action, installation_id, received_at, body, parse_error) VALUES ",
            "(?,?,?,?,?,?,?)",
            chunk.len(),
            " ON CONFLICT (id) DO NOTHING RETURNING id",
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            q = q
                .bind(d.id.as_str())
                .bind(d.event.as_str())
                .bind(d.action.as_deref())
                .bind(d.installation_id)
                .bind(now)
                .bind(d.body.as_ref())
                .bind(d.parse_error.as_deref());
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(inserted)
}

async fn insert_jobs(
    conn: &mut SqliteConnection,
    jobs: &[(&str, &PreparedJob)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in chunked(jobs) {
        let sql = values_sql(
            "INSERT INTO jobs (delivery_id, kind, installation_id, payload, state, attempts, \
             max_attempts, next_run_at, created_at, updated_at) VALUES ",
            "(?,?,?,?,'queued',0,?,?,?,?)",
            chunk.len(),
            "",
        );
        let mut q = sqlx::query(&sql);
        for (delivery_id, j) in chunk {
            q = q
                .bind(*delivery_id)
                .bind(j.kind.as_str())
                .bind(j.installation_id)
                .bind(j.payload.as_str())
                .bind(j.max_attempts)
                .bind(now)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A redelivery of a delivery whose jobs failed: queue them again with fresh
/// attempts, keeping the journal so finished steps are skipped.
async fn requeue_failed(
    conn: &mut SqliteConnection,
    delivery_id: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, next_run_at = ?2,
                lease_owner = NULL, lease_until = NULL, lease_ms = NULL, updated_at = ?2
          WHERE delivery_id = ?1 AND state = 'failed'",
    )
    .bind(delivery_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
}

/// Expired leases first (resume crashed work), then due queued jobs.
const CLAIM_SQL: [&str; 2] = [
    "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_until = ?2 + ?3, lease_ms = ?3,
            attempts = attempts + 1, updated_at = ?2
      WHERE id = (SELECT j.id FROM jobs j
                   WHERE j.state = 'running' AND j.lease_until <= ?2
                     AND NOT EXISTS (SELECT 1 FROM jobs r
                                      WHERE r.state = 'running' AND r.lease_until > ?2
                                        AND r.installation_id IS j.installation_id)
                   ORDER BY j.lease_until, j.id LIMIT 1)
      RETURNING id, delivery_id, kind, installation_id, payload, journal, attempts, max_attempts",
    "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_until = ?2 + ?3, lease_ms = ?3,
            attempts = attempts + 1, updated_at = ?2
      WHERE id = (SELECT j.id FROM jobs j
                   WHERE j.state = 'queued' AND j.next_run_at <= ?2
                     AND NOT EXISTS (SELECT 1 FROM jobs r
                                      WHERE r.state = 'running' AND r.lease_until > ?2
                                        AND r.installation_id IS j.installation_id)
                   ORDER BY j.next_run_at, j.id LIMIT 1)
      RETURNING id, delivery_id, kind, installation_id, payload, journal, attempts, max_attempts",
];

async fn claim(
    conn: &mut SqliteConnection,
    owner: &str,
    lease_ms: i64,
    now: i64,
) -> Result<Option<RawJob>, sqlx::Error> {
    for sql in CLAIM_SQL {
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(now)
            .bind(lease_ms)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(r) = row {
            return Ok(Some(RawJob {
                id: r.try_get(0)?,
                delivery_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                installation_id: r.try_get(3)?,
                payload: r.try_get(4)?,
                journal: r.try_get(5)?,
                attempts: r.try_get(6)?,
                max_attempts: r.try_get(7)?,
            }));
        }
    }
    Ok(None)
}

async fn touch(
    conn: &mut SqliteConnection,
    job_id: i64,
    owner: &str,
    journal: Option<&str>,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET journal = COALESCE(?4, journal),
                lease_until = ?3 + COALESCE(lease_ms, 0), updated_at = ?3
          WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
    )
    .bind(job_id)
    .bind(owner)
    .bind(now)
    .bind(journal)
    .execute(&mut *conn)
    .await?;
    Ok(if done.rows_affected() == 0 {
        Err(StoreError::LeaseLost(job_id))
    } else {
        Ok(Out::Unit)
    })
}

async fn finish(
    conn: &mut SqliteConnection,
    job_id: i64,
    owner: &str,
    end: &PreparedEnd,
    now: i64,
) -> Result<Result<Out, StoreError>, sqlx::Error> {
    // lease_owner stays as a record of who ran the job last.
    let (state, next_run_at, result, error) = match end {
        PreparedEnd::Done { result } => ("done", None, Some(result.as_str()), None),
        PreparedEnd::Failed { error } => ("failed", None, None, Some(error.as_str())),
        PreparedEnd::Retry { after_ms, error } => (
            "queued",
            Some(now.saturating_add(*after_ms)),
            None,
            Some(error.as_str()),
        ),
    };
    let done = sqlx::query(
        "UPDATE jobs SET state = ?3, next_run_at = COALESCE(?4, next_run_at),
                result = COALESCE(?5, result), last_error = COALESCE(?6, last_error),
                lease_until = NULL, updated_at = ?7
          WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
    )
    .bind(job_id)
    .bind(owner)
    .bind(state)
    .bind(next_run_at)
    .bind(result)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(if done.rows_affected() == 0 {
        Err(StoreError::LeaseLost(job_id))
    } else {
        Ok(Out::Unit)
    })
}

async fn upsert_request(
    conn: &mut SqliteConnection,
    r: &RequestRecord,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO requests (repo, issue, comment_id, author, command, command_index, state, job_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (job_id, command_index) DO UPDATE
            SET command = excluded.command, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(&r.repo)
    .bind(r.issue)
    .bind(r.comment_id)
    .bind(&r.author)
    .bind(&r.command)
    .bind(r.command_index)
    .bind(&r.state)
    .bind(r.job_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_run(
    conn: &mut SqliteConnection,
    run: &CatalogRun,
    now: i64,
) -> Result<(), sqlx::Error> {
    let course_id: i64 = sqlx::query(
        "INSERT INTO catalog_courses (org, course_code, title, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (org, course_code) DO UPDATE
            SET title = COALESCE(excluded.title, catalog_courses.title),
                updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(&run.org)
    .bind(&run.course)
    .bind(run.title.as_deref())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO catalog_runs (course_id, term, course_key, repo, kind, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (course_key) DO UPDATE
            SET course_id = excluded.course_id, term = excluded.term, repo = excluded.repo,
                kind = excluded.kind, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(course_id)
    .bind(&run.term)
    .bind(&run.course_key)
    .bind(&run.repo)
    .bind(run.kind.as_str())
    .bind(run.state.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
