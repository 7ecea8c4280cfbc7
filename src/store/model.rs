//! What the store takes and gives: its rows, outcomes and errors.

use super::*;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("unsupported database URL scheme {0:?}: expected sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The URL is not one the backend can read (its text is not repeated: it may hold a password).
    #[error("the {0}:// database URL cannot be read; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB")]
    BadUrl(String),
    #[error("the database schema is at version {found}, newer than this build knows ({known}); refusing to run an older binary on it")]
    SchemaTooNew { found: i64, known: i64 },
    /// A migration that rebuilt a table left rows pointing nowhere; it was
    /// rolled back, and the database is as it was.
    #[error("database migration {version} would leave {rows} rows with a broken foreign key; rolled back")]
    BrokenKeys { version: i64, rows: usize },
    /// The job is no longer running under this owner: its lease expired and
    /// another worker claimed it, or it was finished already. The caller must
    /// stop working on it without further side effects.
    #[error("job {0}: lease lost to another worker")]
    LeaseLost(i64),
    /// Another live process runs under this instance name.
    #[error("another instance named {:?} is running (on {}, pid {}, heartbeat {} ms ago); give this one its own ORC_INSTANCE, or stop that one", .0.name, .0.host, .0.pid, .0.heartbeat_age_ms)]
    InstanceLive(super::LiveInstance),
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
    pub kind: JobKind,
    pub installation_id: Option<i64>,
    pub payload: Value,
}

impl NewJob {
    /// A job whose payload is `payload` as JSON; `None` when it cannot be
    /// written as JSON (which the job types never give).
    pub fn of(
        kind: JobKind,
        installation_id: Option<i64>,
        payload: &impl serde::Serialize,
    ) -> Option<NewJob> {
        let payload = serde_json::to_value(payload).ok()?;
        Some(NewJob {
            kind,
            installation_id,
            payload,
        })
    }
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
    pub kind: JobKind,
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
    /// Back to the queue without using an attempt: GitHub could not be
    /// reached at all, so the attempt told nothing about the job.
    Wait {
        after: Duration,
        error: String,
    },
}

crate::word_enum::word_enum! {
    /// The life cycle of a job.
    JobState {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

crate::word_enum::word_enum! {
    /// What a job does; decides which driver the worker hands it to.
    JobKind {
        /// A comment that holds commands.
        Comment => "comment",
        /// An installation was deleted or suspended.
        Installation => "installation",
        /// An issue opened or edited in a requests repo, whose body may be a
        /// course-request form.
        Request => "request",
        /// A push to a course repo, or the repo deleted, archived, renamed
        /// or transferred: the catalog follows.
        Catalog => "catalog",
        /// A person ticked boxes of the bot's checklist comment.
        Checklist => "checklist",
    }
}

crate::word_enum::word_enum! {
    /// What became of one command asked in a requests repo.
    RequestState {
        /// It ran and succeeded (or, for `/help`, was answered).
        Done => "done",
        /// It ran and failed.
        Failed => "failed",
        /// The author may not run it.
        Refused => "refused",
        /// It did not parse; the reply says why.
        Invalid => "invalid",
        /// Not answered: its author, who may not write to the requests repo,
        /// was answered on this issue within the hour (a 👀 only).
        Throttled => "throttled",
        /// It waits for an approver's `/approve`.
        Pending => "pending",
        /// Approved: it runs as a new job (whose own row says how it ended).
        Approved => "approved",
        /// Cancelled with `/cancel` while it waited.
        Cancelled => "cancelled",
    }
}

/// Decodes a stored word, as a database decode error when it is unknown.
pub(super) fn decode<T: FromStr<Err = String>>(word: &str) -> Result<T, StoreError> {
    word.parse()
        .map_err(|e: String| StoreError::Db(sqlx::Error::Decode(e.into())))
}

/// A job as stored (for tests, `/status` and operators).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub delivery_id: String,
    pub kind: JobKind,
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
    /// Length of the stored body in bytes (0: not kept).
    pub body_len: i64,
    /// Length of the body as received.
    pub size: i64,
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
    /// The delivery whose job made the call.
    pub delivery_id: Option<String>,
    /// The login that asked for it.
    pub actor: Option<String>,
    pub installation_id: Option<i64>,
    pub method: String,
    /// Path only, never a query string or credential.
    pub path: String,
    /// None when no answer came (timeout, dropped connection): the write may or
    /// may not have happened, which is exactly what an auditor needs to know.
    pub status: Option<u16>,
    /// When the call was sent.
    pub started_at: DateTime<Utc>,
    /// When its answer came (or it failed): the call's end.
    pub at: DateTime<Utc>,
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
    pub state: RequestState,
    pub job_id: i64,
    /// The bot's comment that answered it, if any.
    pub status_comment: Option<i64>,
}

/// A repo this App created for a course run (see `made_repos`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeRepo {
    pub full_name: String,
    pub course_key: String,
    pub job_id: i64,
}
