//! The schema: embedded migrations, applied in order at start-up.

use super::*;

/// Declares the migrations once: each is a version, a name and a file that
/// exists in both `migrations/sqlite/` and `migrations/postgres/` (at the crate root, as sqlx lays them out), so the two
/// lists cannot drift apart.
macro_rules! migrations {
    ($(($version:literal, $name:literal, $file:literal)),* $(,)?) => {
        const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[$(
            ($version, $name, include_str!(concat!("../../migrations/sqlite/", $file))),
        )*];
        const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[$(
            ($version, $name, include_str!(concat!("../../migrations/postgres/", $file))),
        )*];
    };
}

// The schema of each backend, in order. Append only: a shipped migration is
// never edited. Both backends have the same versions, so `schema_version`
// means the same on either; only the SQL of types and keys differs.
migrations![
    (1, "init", "0001_init.sql"),
    (2, "request_index", "0002_request_index.sql"),
    (3, "audit_actor", "0003_audit_actor.sql"),
    (4, "made_repos", "0004_made_repos.sql"),
    (5, "catalog_events", "0005_catalog_events.sql"),
    (6, "form_requests", "0006_form_requests.sql"),
    (7, "instances", "0007_instances.sql"),
    (8, "delivery_size", "0008_delivery_size.sql"),
    (9, "fewer_job_indexes", "0009_fewer_job_indexes.sql"),
    (
        10,
        "ordered_delivery_link",
        "0010_ordered_delivery_link.sql"
    ),
    (11, "retention_indexes", "0011_retention_indexes.sql"),
];

/// SQLite migrations that rebuild a table other tables point to. SQLite
/// allows that only with foreign keys off, which must be set outside the
/// transaction; the keys are checked (`foreign_key_check`) before the
/// commit and turned back on after it.
const SQLITE_REBUILDS: &[i64] = &[10];

pub(super) fn migrations(backend: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    }
}

/// The key of the PostgreSQL advisory lock held while migrating, so that
/// instances starting together apply each migration once.
const MIGRATION_LOCK: i64 = 0x006f_7263_5f6d_6967; // "orc_mig"

/// Applies the embedded migrations not yet recorded in `schema_migrations`,
/// each in its own immediate transaction (so two processes starting at once
/// cannot both apply one).
pub(super) async fn migrate(
    conn: &mut Conn,
    migrations: &[(i64, &str, &str)],
    now: i64,
) -> Result<(), StoreError> {
    if conn.backend() == Backend::Postgres {
        q("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let done = apply(conn, migrations, now).await;
        let unlocked = q("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        done?;
        unlocked?;
        return Ok(());
    }
    apply(conn, migrations, now).await
}

async fn apply(
    conn: &mut Conn,
    migrations: &[(i64, &str, &str)],
    now: i64,
) -> Result<(), StoreError> {
    conn.raw(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT  PRIMARY KEY NOT NULL,
             name       TEXT    NOT NULL,
             applied_at BIGINT  NOT NULL)",
    )
    .await?;
    let known = migrations.last().map(|m| m.0).unwrap_or(0);
    let found: Option<i64> = q("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if let Some(found) = found.filter(|f| *f > known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, name, sql) in migrations {
        let rebuild = conn.backend() == Backend::Sqlite && SQLITE_REBUILDS.contains(version);
        if rebuild {
            conn.raw("PRAGMA foreign_keys = OFF").await?;
        }
        let done = apply_one(conn, (*version, name, sql), rebuild, now).await;
        if rebuild {
            conn.raw("PRAGMA foreign_keys = ON").await?;
        }
        done?;
    }
    Ok(())
}

/// One migration in its own transaction, unless it is recorded already.
/// `check_keys`: run SQLite's `foreign_key_check` before the commit, and
/// roll back if any row points nowhere.
async fn apply_one(
    conn: &mut Conn,
    (version, name, sql): (i64, &str, &str),
    check_keys: bool,
    now: i64,
) -> Result<(), StoreError> {
    conn.raw(conn.backend().begin()).await?;
    let applied = async {
        let done: Option<i64> = q("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if done.is_some() {
            return Ok(());
        }
        conn.raw(sql).await?;
        if check_keys {
            let broken = q("PRAGMA foreign_key_check").fetch_all(&mut *conn).await?;
            if !broken.is_empty() {
                return Err(StoreError::BrokenKeys {
                    version,
                    rows: broken.len(),
                });
            }
        }
        q("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(name)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        tracing::info!(version, name, "applied database migration");
        Ok::<(), StoreError>(())
    }
    .await;
    match applied {
        Ok(()) => Ok(conn.raw("COMMIT").await?),
        Err(e) => {
            let _ = conn.raw("ROLLBACK").await;
            Err(e)
        }
    }
}

impl Store {
    /// The schema version the database is at, and the newest this build knows.
    pub async fn schema_version(&self) -> Result<(i64, i64), StoreError> {
        let at: Option<i64> = q("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.inner.read)
            .await?
            .try_get(0)?;
        let newest = migrations(self.inner.backend)
            .last()
            .map(|m| m.0)
            .unwrap_or(0);
        Ok((at.unwrap_or(0), newest))
    }
}
