//! Opening a store: the URL picks the backend, once; each backend gets its
//! own settings for the promises of this module (durable commits, one
//! schema applied once).

use super::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The write connection, the read pool, and the URL's password-free form.
pub(super) struct Opened {
    pub(super) conn: Conn,
    pub(super) read: Pool,
    /// SQLite in WAL mode: the background checkpointer is wanted.
    pub(super) wal: bool,
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

async fn open_sqlite(url: &str, options: &StoreOptions) -> Result<Opened, StoreError> {
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
    let mut conn = Conn::Lite(connect.connect().await?);
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
    let read = SqlitePoolOptions::new()
        .max_connections(options.read_connections.max(1))
        .connect_with(connect)
        .await?;
    Ok(Opened {
        conn,
        read: Pool::Lite(read),
        wal: journal_mode.eq_ignore_ascii_case("wal"),
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
    })
}
