//! The catalog tables: `catalog_courses` and their `catalog_runs`.

use super::*;

impl Store {
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
                    kind: decode(&kind)?,
                    state: decode(&state)?,
                })
            })
            .collect()
    }
}

pub(super) async fn upsert_run(
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
