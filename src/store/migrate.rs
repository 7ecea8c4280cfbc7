//! The schema: embedded migrations, applied in order at start-up.

use super::*;

/// The schema, in order. Append only: a shipped migration is never edited.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "request_index",
        include_str!("migrations/0002_request_index.sql"),
    ),
    (
        3,
        "audit_actor",
        include_str!("migrations/0003_audit_actor.sql"),
    ),
    (
        4,
        "made_repos",
        include_str!("migrations/0004_made_repos.sql"),
    ),
    (
        5,
        "catalog_events",
        include_str!("migrations/0005_catalog_events.sql"),
    ),
    (
        6,
        "form_requests",
        include_str!("migrations/0006_form_requests.sql"),
    ),
];

/// Applies the embedded migrations not yet recorded in `schema_migrations`,
/// each in its own immediate transaction (so two processes starting at once
/// cannot both apply one).
pub(super) async fn migrate(
    conn: &mut SqliteConnection,
    migrations: &[(i64, &str, &str)],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY NOT NULL,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let known = migrations.last().map(|m| m.0).unwrap_or(0);
    let found: Option<i64> = sqlx::query("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if let Some(found) = found.filter(|f| *f > known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, name, sql) in migrations {
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

impl Store {
    /// The schema version the database is at, and the newest this build knows.
    pub async fn schema_version(&self) -> Result<(i64, i64), StoreError> {
        let at: Option<i64> = sqlx::query("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.inner.read)
            .await?
            .try_get(0)?;
        let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        Ok((at.unwrap_or(0), newest))
    }
}
