//! The catalog tables: `catalog_courses` and their `catalog_runs`.

use super::*;

/// What a repo event changes in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RepoEvent {
    /// A push to the repo (`at`: epoch milliseconds).
    Pushed { repo: String, at: i64 },
    /// The repo was deleted or archived: its run is retired.
    Retired { repo: String },
    /// The repo was renamed or transferred.
    Moved { from: String, to: String },
}

/// Named with `AS`: SQLite leaves the name of a qualified column unspecified.
const RUN_COLUMNS: &str = "c.org AS org, c.course_code AS course, c.title AS title, \
    r.term AS term, r.course_key AS course_key, r.repo AS repo, r.kind AS kind, r.state AS state, \
    r.last_push_at AS last_push_at, r.request AS request, c.language AS language, \
    r.created_at AS created_at";

impl Store {
    /// The catalog runs of a course code (any org), oldest first.
    pub async fn catalog_runs(&self, course: &str) -> Result<Vec<CatalogRun>, StoreError> {
        let rows = q(format!(
            "SELECT {RUN_COLUMNS} FROM catalog_runs r JOIN catalog_courses c ON c.id = r.course_id
              WHERE c.course_code = $1 ORDER BY r.id"
        ))
        .bind(course)
        .fetch_all(&self.inner.read)
        .await?;
        runs_of(&rows)
    }

    /// The `limit` runs most recently created or changed, newest first.
    pub async fn latest_runs(&self, limit: i64) -> Result<Vec<CatalogRun>, StoreError> {
        let rows = q(format!(
            "SELECT {RUN_COLUMNS} FROM catalog_runs r JOIN catalog_courses c ON c.id = r.course_id
              ORDER BY r.updated_at DESC, r.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.inner.read)
        .await?;
        runs_of(&rows)
    }

    /// The run whose course key is `key`.
    pub async fn catalog_run(&self, key: &str) -> Result<Option<CatalogRun>, StoreError> {
        let rows = q(format!(
            "SELECT {RUN_COLUMNS} FROM catalog_runs r JOIN catalog_courses c ON c.id = r.course_id
              WHERE r.course_key = $1"
        ))
        .bind(key)
        .fetch_all(&self.inner.read)
        .await?;
        Ok(runs_of(&rows)?.into_iter().next())
    }

    /// Applies a repo event to the runs of that repo; how many changed.
    pub async fn apply_repo_event(&self, event: &RepoEvent) -> Result<u64, StoreError> {
        match self.submit(Op::RepoEvent(event.clone())).await? {
            Out::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }
}

pub(super) async fn apply_repo_event(
    conn: &mut Conn,
    event: &RepoEvent,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done =
        match event {
            RepoEvent::Pushed { repo, at } => {
                q(
                    "UPDATE catalog_runs SET last_push_at = CASE WHEN COALESCE(last_push_at, 0) > $2 THEN last_push_at ELSE $2 END,
                        updated_at = $3
                  WHERE repo = $1 COLLATE NOCASE",
                )
                .bind(repo)
                .bind(at)
                .bind(now)
                .execute(&mut *conn)
                .await?
            }
            RepoEvent::Retired { repo } => {
                q(
                    "UPDATE catalog_runs SET state = 'retired', updated_at = $2
                  WHERE repo = $1 COLLATE NOCASE AND state <> 'retired'",
                )
                .bind(repo)
                .bind(now)
                .execute(&mut *conn)
                .await?
            }
            RepoEvent::Moved { from, to } => q(
                "UPDATE catalog_runs SET repo = $2, updated_at = $3 WHERE repo = $1 COLLATE NOCASE",
            )
            .bind(from)
            .bind(to)
            .bind(now)
            .execute(&mut *conn)
            .await?,
        };
    Ok(done.rows_affected())
}

fn runs_of(rows: &[Row]) -> Result<Vec<CatalogRun>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok(from_row!(r => CatalogRun {
                org, course, title, term, course_key, repo, kind, state, last_push_at, request,
                language, created_at
            }))
        })
        .collect()
}

pub(super) async fn upsert_run(
    conn: &mut Conn,
    run: &CatalogRun,
    now: i64,
) -> Result<(), sqlx::Error> {
    let course_id: i64 = q(
        "INSERT INTO catalog_courses (org, course_code, title, language, created_at, updated_at)
         VALUES ($1, $2, $3, $5, $4, $4)
         ON CONFLICT (org, course_code) DO UPDATE
            SET title = COALESCE(excluded.title, catalog_courses.title),
                language = COALESCE(excluded.language, catalog_courses.language),
                updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(&run.org)
    .bind(&run.course)
    .bind(run.title.as_deref())
    .bind(now)
    .bind(run.language.as_deref())
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    q(
        "INSERT INTO catalog_runs (course_id, term, course_key, repo, kind, state, request,
                                   created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $7)
         ON CONFLICT (course_key) DO UPDATE
            SET course_id = excluded.course_id, term = excluded.term, repo = excluded.repo,
                kind = excluded.kind, state = excluded.state,
                request = COALESCE(excluded.request, catalog_runs.request),
                updated_at = excluded.updated_at",
    )
    .bind(course_id)
    .bind(&run.term)
    .bind(&run.course_key)
    .bind(&run.repo)
    .bind(run.kind.as_str())
    .bind(run.state.as_str())
    .bind(now)
    .bind(run.request.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
