//! The gitreload mode's task queue, in its own SQLite file (`ORC_GITRELOAD_DB`):
//! an LMS host runs `orcoursetrion gitreload` without the App's database.
//!
//! Pushes arrive rarely (a few a minute at most), so this is a plain pool of
//! one connection: every write is its own transaction, committed with
//! `synchronous=FULL` before the push is answered. Coalescing is a rule of
//! the queue, so it lives here: a repo has at most one queued task per
//! action, and a push that finds one moves it to the newest commit instead
//! of adding another.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};

use super::columns::{from_row, Column};
use super::db::{Conn, Row as DbRow};
use super::migrate::migrate;
use super::{now_ms, StoreError};
use crate::clock::{SharedClock, SystemClock};

const IMPORT_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "imports",
    include_str!("../../migrations/gitreload/0001_imports.sql"),
)];

crate::word_enum::word_enum! {
    /// What a task does: gitreload's two actions, with its names.
    ImportAction {
        /// `git_add_course` into the LMS (`POST /`, `POST /gitreload`).
        CourseImport => "COURSE_IMPORT",
        /// Fetch and reset the checkout to its branch's newest commit (`POST /update`).
        GetLatest => "GET_LATEST",
    }
}

crate::word_enum::word_enum! {
    /// Where a task is.
    ImportState {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
        /// Left behind by a restart while a newer push for the same repo was
        /// already queued: that one imports the newer commit.
        Superseded => "superseded",
    }
}

/// A push accepted for a task.
#[derive(Debug, Clone, Serialize)]
pub struct NewImport {
    pub repo_name: String,
    pub owner: Option<String>,
    /// The checkout's origin URL without credentials.
    pub repo_url: String,
    pub action: ImportAction,
    pub git_ref: String,
    /// The pushed commit (`after`), when the payload names one.
    pub sha: Option<String>,
}

/// A stored task.
#[derive(Debug, Clone, Serialize)]
pub struct ImportTask {
    pub id: i64,
    /// The push this task imports (the newest, when pushes were coalesced).
    #[serde(flatten)]
    pub push: NewImport,
    pub state: ImportState,
    pub exit_code: Option<i64>,
    /// The last bytes of the command's merged stdout and stderr.
    pub output: String,
    pub attempts: i64,
    /// How many pushes this task stands for (more than one when coalesced).
    pub pushes: i64,
    /// The commits of the pushes folded into this one, oldest first (at most
    /// the last twenty).
    pub replaced: Vec<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// What [`ImportStore::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new task.
    Added { id: i64, queue_size: i64 },
    /// The repo had a task queued already: it now imports this push's commit.
    Coalesced {
        id: i64,
        queue_size: i64,
        /// The commit it was going to import.
        replaced_sha: Option<String>,
    },
}

impl Enqueued {
    /// Tasks queued or running, this one counted.
    pub fn queue_size(&self) -> i64 {
        match self {
            Enqueued::Added { queue_size, .. } | Enqueued::Coalesced { queue_size, .. } => {
                *queue_size
            }
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Enqueued::Added { id, .. } | Enqueued::Coalesced { id, .. } => *id,
        }
    }
}

/// The gitreload task queue.
#[derive(Clone)]
pub struct ImportStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl std::fmt::Debug for ImportStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportStore").finish_non_exhaustive()
    }
}

/// A task as stored; `replaced` is a space-separated list of commits.
fn task(row: SqliteRow) -> Result<ImportTask, StoreError> {
    let row = &DbRow::Lite(row);
    let replaced: String = row.try_get("replaced")?;
    Ok(from_row!(row => ImportTask {
        id, state, exit_code, output, attempts, pushes, queued_at, started_at, finished_at;
        push = from_row!(row => NewImport { repo_name, owner, repo_url, action, git_ref, sha }),
        replaced = replaced.split_whitespace().map(str::to_string).collect(),
    }))
}

const OPEN: &str = "state IN ('queued', 'running')";

impl ImportStore {
    /// Opens (creating if missing) the file at `path`, or `:memory:`.
    pub async fn open(path: &str) -> Result<ImportStore, StoreError> {
        let connect = if path == ":memory:" {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            SqliteConnectOptions::new().filename(path)
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await?;
        let clock: SharedClock = std::sync::Arc::new(SystemClock);
        // Its own connection: the pool's one stays open, which keeps an
        // in-memory database alive meanwhile.
        let mut conn = Conn::Lite(connect.connect().await?);
        migrate(&mut conn, IMPORT_MIGRATIONS, now_ms(&clock)).await?;
        conn.close().await?;
        Ok(ImportStore { pool, clock })
    }

    fn now(&self) -> i64 {
        now_ms(&self.clock)
    }

    /// Stores a push as a task, or folds it into the repo's queued one.
    /// Durable on return.
    pub async fn enqueue(&self, new: &NewImport) -> Result<Enqueued, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let queued = sqlx::query(
            "SELECT id, sha FROM imports WHERE state = 'queued' AND repo_name = ?1 AND action = ?2",
        )
        .bind(&new.repo_name)
        .bind(new.action.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let coalesced = match queued {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let replaced_sha: Option<String> = row.try_get("sha")?;
                sqlx::query(
                    "UPDATE imports SET sha = ?2, git_ref = ?3, repo_url = ?4, owner = ?5,
                         pushes = pushes + 1,
                         replaced = CASE WHEN ?6 IS NULL OR ?6 = ?2 THEN replaced
                                         ELSE substr(trim(replaced || ' ' || ?6), -819) END
                     WHERE id = ?1",
                )
                .bind(id)
                .bind(&new.sha)
                .bind(&new.git_ref)
                .bind(&new.repo_url)
                .bind(&new.owner)
                .bind(&replaced_sha)
                .execute(&mut *tx)
                .await?;
                Some((id, replaced_sha))
            }
            None => None,
        };
        let id = match &coalesced {
            Some((id, _)) => *id,
            None => sqlx::query(
                "INSERT INTO imports (repo_name, owner, repo_url, action, git_ref, sha, state, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7) RETURNING id",
            )
            .bind(&new.repo_name)
            .bind(&new.owner)
            .bind(&new.repo_url)
            .bind(new.action.as_str())
            .bind(&new.git_ref)
            .bind(&new.sha)
            .bind(self.now())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?,
        };
        let queue_size: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM imports WHERE {OPEN}"))
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(match coalesced {
            Some((id, replaced_sha)) => Enqueued::Coalesced {
                id,
                queue_size,
                replaced_sha,
            },
            None => Enqueued::Added { id, queue_size },
        })
    }

    /// Claims the oldest queued task of a repo that has none running (one
    /// repo never runs two tasks at once).
    pub async fn claim(&self) -> Result<Option<ImportTask>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(
            "UPDATE imports SET state = 'running', started_at = ?1, attempts = attempts + 1
             WHERE id = (SELECT id FROM imports q WHERE q.state = 'queued'
                         AND NOT EXISTS (SELECT 1 FROM imports r
                                         WHERE r.state = 'running' AND r.repo_name = q.repo_name)
                         ORDER BY q.id LIMIT 1)
             RETURNING *",
        )
        .bind(self.now())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(task).transpose()
    }

    /// Ends a running task.
    pub async fn finish(
        &self,
        id: i64,
        state: ImportState,
        exit_code: Option<i32>,
        output: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE imports SET state = ?2, exit_code = ?3, output = ?4, finished_at = ?5
             WHERE id = ?1 AND state = 'running'",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(exit_code)
        .bind(output)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// At start-up, by the process that owns the file: tasks left running by
    /// a process that is gone are queued again, unless a newer push for the
    /// same repo and action is queued already (that one supersedes them).
    /// Returns how many will run again.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let now = self.now();
        sqlx::query(
            "UPDATE imports SET state = 'superseded', finished_at = ?1
             WHERE state = 'running' AND EXISTS (
                 SELECT 1 FROM imports q WHERE q.state = 'queued'
                 AND q.repo_name = imports.repo_name AND q.action = imports.action)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let again = sqlx::query("UPDATE imports SET state = 'queued' WHERE state = 'running'")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(again)
    }

    /// The tasks queued or running, oldest first.
    pub async fn open_tasks(&self) -> Result<Vec<ImportTask>, StoreError> {
        let rows = sqlx::query(&format!("SELECT * FROM imports WHERE {OPEN} ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(task).collect()
    }

    /// The newest `limit` tasks, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<ImportTask>, StoreError> {
        let rows = sqlx::query("SELECT * FROM imports ORDER BY id DESC LIMIT ?1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(task).collect()
    }

    /// Tasks per state, for `/metrics`.
    pub async fn counts(&self) -> Result<BTreeMap<ImportState, i64>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM imports GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut out = BTreeMap::new();
        for r in rows.into_iter().map(DbRow::Lite) {
            out.insert(Column::read(&r, "state")?, r.try_get("n")?);
        }
        Ok(out)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(repo: &str, sha: &str) -> NewImport {
        NewImport {
            repo_name: repo.into(),
            owner: Some("mitx".into()),
            repo_url: format!("https://github.com/mitx/{repo}.git"),
            action: ImportAction::CourseImport,
            git_ref: "refs/heads/master".into(),
            sha: Some(sha.into()),
        }
    }

    #[tokio::test]
    async fn a_queued_task_absorbs_later_pushes_and_one_repo_runs_one_task() {
        let s = ImportStore::open(":memory:").await.expect("open");
        let first = s.enqueue(&push("a", "1")).await.expect("enqueue");
        assert_eq!(
            first,
            Enqueued::Added {
                id: 1,
                queue_size: 1
            }
        );
        let running = s.claim().await.expect("claim").expect("a task");
        assert_eq!(running.push.sha.as_deref(), Some("1"));
        // While it runs, one more is queued; further pushes fold into it.
        assert!(matches!(
            s.enqueue(&push("a", "2")).await.expect("enqueue"),
            Enqueued::Added { queue_size: 2, .. }
        ));
        let folded = s.enqueue(&push("a", "3")).await.expect("enqueue");
        assert_eq!(
            folded,
            Enqueued::Coalesced {
                id: 2,
                queue_size: 2,
                replaced_sha: Some("2".into())
            }
        );
        // The queued one waits for the running one of the same repo…
        assert!(s.claim().await.expect("claim").is_none());
        // …but another repo does not wait.
        s.enqueue(&push("b", "9")).await.expect("enqueue");
        let b = s.claim().await.expect("claim").expect("b");
        assert_eq!(b.push.repo_name, "b");
        s.finish(running.id, ImportState::Done, Some(0), "ok")
            .await
            .expect("finish");
        let next = s.claim().await.expect("claim").expect("a again");
        assert_eq!((next.push.sha.as_deref(), next.pushes), (Some("3"), 2));
        assert_eq!(next.replaced, ["2"]);
    }

    #[tokio::test]
    async fn recovery_requeues_running_tasks_unless_a_newer_push_waits() {
        let s = ImportStore::open(":memory:").await.expect("open");
        s.enqueue(&push("a", "1")).await.expect("enqueue");
        s.enqueue(&push("b", "1")).await.expect("enqueue");
        s.claim().await.expect("claim").expect("a");
        s.claim().await.expect("claim").expect("b");
        s.enqueue(&push("a", "2")).await.expect("enqueue");
        assert_eq!(s.recover().await.expect("recover"), 1);
        let states: Vec<(String, ImportState)> = s
            .recent(10)
            .await
            .expect("recent")
            .into_iter()
            .map(|t| (t.push.repo_name, t.state))
            .collect();
        assert_eq!(
            states,
            [
                ("a".to_string(), ImportState::Queued),
                ("b".to_string(), ImportState::Queued),
                ("a".to_string(), ImportState::Superseded),
            ]
        );
    }
}
