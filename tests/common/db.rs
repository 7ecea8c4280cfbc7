#![allow(dead_code)]
//! The databases tests run on: SQLite always, and PostgreSQL when
//! `ORC_TEST_DATABASE_URL` names a server (`.ci/run` starts one). Each
//! PostgreSQL test gets its own fresh schema, so tests run in parallel on one
//! server and never see each other's rows.
//!
//! [`on_both_backends!`] turns `async fn name(db: TestDb)` into the tests
//! `name::sqlite` and `name::postgres`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The variable that names the test server.
pub const TEST_DATABASE_VAR: &str = "ORC_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDb {
    Sqlite,
    Postgres,
}

static SCHEMAS: AtomicU32 = AtomicU32::new(0);

/// The PostgreSQL server's URL, when one is configured.
pub fn postgres_server() -> Option<String> {
    std::env::var(TEST_DATABASE_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A new empty schema on the test server; the URL that uses it.
pub async fn fresh_postgres_url() -> String {
    let base = postgres_server().expect("ORC_TEST_DATABASE_URL is set");
    let schema = format!(
        "t{}_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to ORC_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create a test schema");
    let _ = conn.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

impl TestDb {
    /// False for PostgreSQL when no server is configured: the test says so
    /// and passes without running (`.ci/run` always configures one).
    pub fn available(self) -> bool {
        match self {
            TestDb::Sqlite => true,
            TestDb::Postgres => {
                let ok = postgres_server().is_some();
                if !ok {
                    eprintln!("skipped: {TEST_DATABASE_VAR} is not set, so no PostgreSQL server");
                }
                ok
            }
        }
    }

    /// A fresh database: a file in `dir`, or a new schema on the server.
    pub async fn url(self, dir: &Path) -> String {
        match self {
            TestDb::Sqlite => format!("sqlite://{}", dir.join("orc.db").display()),
            TestDb::Postgres => fresh_postgres_url().await,
        }
    }
}

/// `on_both_backends!(multi_thread: [a]; current_thread: [b, c]);`: the
/// tests `a::sqlite`, `a::postgres`, `b::sqlite`, … each calling
/// `async fn a(db: TestDb)`, on a multi- or a current-thread runtime.
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread: [$($m:ident),* $(,)?]; current_thread: [$($name:ident),* $(,)?] $(;)?) => {
        $(
            mod $m {
                use super::common::db::TestDb;
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$m(TestDb::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if TestDb::Postgres.available() {
                        super::$m(TestDb::Postgres).await
                    }
                }
            }
        )*
        $(
            mod $name {
                use super::common::db::TestDb;
                #[tokio::test]
                async fn sqlite() {
                    super::$name(TestDb::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    if TestDb::Postgres.available() {
                        super::$name(TestDb::Postgres).await
                    }
                }
            }
        )*
    };
}
