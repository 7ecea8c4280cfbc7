//! Opening a store: the URL picks the backend, once; each backend gets its
//! own settings for the promises of this module (durable commits, one
//! schema applied once).

use super::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

crate::word_enum::word_enum! {
    /// What an acknowledged delivery survives on SQLite (`ORC_DURABILITY`).
    /// The cost is one `fdatasync` per group commit, which bounds the
    /// webhook's latency on a slow disk (BENCHMARKS.md).
    Durability {
        /// `synchronous=FULL`: the WAL is synced at every commit, so a
        /// 202 survives a power cut or a kernel crash. The default.
        PowerLoss => "power-loss",
        /// `synchronous=NORMAL`: a commit is in the kernel's page cache
        /// when it returns, so a 202 survives the process being killed
        /// (`kill -9`, the OOM killer, a panic), not a power cut. The WAL
        /// is still synced at every checkpoint.
        Crash => "crash",
    }
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
    /// Keep every delivery's body (`ORC_KEEP_BODIES`), not only the ones
    /// that did not parse. Off by default: the jobs hold what they need, and
    /// a 13 KB body is most of what a delivery writes.
    pub keep_bodies: bool,
    /// What a commit survives once it returns (SQLite; PostgreSQL always
    /// commits with `synchronous_commit=on`).
    pub durability: Durability,
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
            keep_bodies: false,
            durability: Durability::PowerLoss,
        }
    }
}

/// The page size of a new SQLite database (an existing one keeps its own).
/// A commit writes every page it touches to the WAL, whole: a delivery with
/// a job touches about eight (two tables, four indexes, the id sequence), so
/// 1 KiB pages write half the bytes of the 4 KiB default per delivery
/// (BENCHMARKS.md), and a row of the hot tables still fits in one page.
const PAGE_SIZE: u32 = 1024;

/// Prepared statements the SQLite write connection keeps.
const WRITER_STATEMENT_CACHE: usize = 200;

/// The write connection, the read pool, and the URL's password-free form.
pub(super) struct Opened {
    pub(super) conn: Conn,
    pub(super) read: Pool,
    /// SQLite in WAL mode: the background checkpointer is wanted.
    pub(super) wal: bool,
    /// Read back from the write connection, not taken from the options.
    pub(super) durability: Durability,
}

/// Only the scheme of a URL goes into an error: a postgres:// URL may carry a password.
fn scheme_of(url: &str) -> String {
    url.split(':').next().unwrap_or_default().to_owned()
}

pub(super) async fn open_backend(url: &str, options: &StoreOptions) -> Result<Opened, StoreError> {
    if url.starts_with("sqlite:") {
        open_sqlite(url, options).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        open_postgres(url, options).await
    } else {
        Err(StoreError::UnsupportedUrl(scheme_of(url)))
    }
}

/// Turning a new database to WAL takes an exclusive lock that SQLite's busy
/// timeout does not wait for, so an instance that starts while another one
/// does that gets `SQLITE_BUSY` at once. It tries again, within the same
/// timeout as any other lock.
async fn connect_waiting(
    connect: &SqliteConnectOptions,
    timeout: Duration,
) -> Result<sqlx::SqliteConnection, sqlx::Error> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match connect.connect().await {
            Err(sqlx::Error::Database(e))
                if is_busy(&*e) && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            done => return done,
        }
    }
}

/// `SQLITE_BUSY` or one of its extended codes (the low byte is the primary code).
fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

async fn open_sqlite(url: &str, options: &StoreOptions) -> Result<Opened, StoreError> {
    // For `sqlite::memory:` sqlx names a fresh shared-cache database on each
    // parse, so the writer and the pool must share this one parsed value.
    let connect = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match options.durability {
            Durability::PowerLoss => SqliteSynchronous::Full,
            Durability::Crash => SqliteSynchronous::Normal,
        })
        .page_size(PAGE_SIZE)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true)
        // Checkpoints run in the background (see checkpoint_task); the
        // writer only checkpoints itself if that falls far behind.
        .pragma(
            "wal_autocheckpoint",
            WRITER_AUTOCHECKPOINT_PAGES.to_string(),
        )
        .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
    // The writer prepares each multi-row shape twice on SQLite, with and
    // without the BEGIN or COMMIT that rides along (multirow::Around), so it
    // keeps more prepared statements than sqlx's default of 100.
    let writer = connect
        .clone()
        .statement_cache_capacity(WRITER_STATEMENT_CACHE);
    let mut conn = Conn::Lite(connect_waiting(&writer, options.busy_timeout).await?);
    migrate(
        &mut conn,
        migrations(Backend::Sqlite),
        now_ms(&options.clock),
    )
    .await?;
    let journal_mode: String = q("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    // 2 is FULL (or 3, EXTRA); 1 is NORMAL.
    let synchronous: i64 = q("PRAGMA synchronous")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let durability = if synchronous >= 2 {
        Durability::PowerLoss
    } else {
        Durability::Crash
    };
    let read = SqlitePoolOptions::new()
        .max_connections(options.read_connections.max(1))
        .connect_with(connect)
        .await?;
    Ok(Opened {
        conn,
        read: Pool::Lite(read),
        wal: journal_mode.eq_ignore_ascii_case("wal"),
        durability,
    })
}

async fn open_postgres(url: &str, options: &StoreOptions) -> Result<Opened, StoreError> {
    let connect = PgConnectOptions::from_str(url)
        .map_err(|_| StoreError::BadUrl(scheme_of(url)))?
        .application_name("orcoursetrion");
    let mut conn = Conn::Pg(connect.connect().await?);
    // Commits are durable once COMMIT returns only with the server's default
    // synchronous_commit; a server set to `off` would break the 202 promise.
    q("SET synchronous_commit = on").execute(&mut conn).await?;
    migrate(
        &mut conn,
        migrations(Backend::Postgres),
        now_ms(&options.clock),
    )
    .await?;
    // One more than asked: the LISTEN of watch_jobs holds one.
    let read = PgPoolOptions::new()
        .max_connections(options.read_connections.max(1) + 1)
        .connect_with(connect)
        .await?;
    Ok(Opened {
        conn,
        read: Pool::Pg(read),
        wal: false,
        durability: Durability::PowerLoss,
    })
}
