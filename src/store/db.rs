//! The two backends, SQLite and PostgreSQL, behind one small interface, so
//! that every statement of the store is written once.
//!
//! The store's SQL is kept to what both engines run the same way: `$n`
//! placeholders, integer epoch milliseconds, TEXT JSON, `RETURNING`,
//! `ON CONFLICT`, `IS NOT DISTINCT FROM`, and `COLLATE NOCASE` (on
//! PostgreSQL a case-insensitive ICU collation named `nocase`, created by its
//! first migration). The few statements that must differ (how a write
//! transaction starts, how a claim skips rows another instance holds) come
//! from [`Backend`]. Nothing outside `store/` knows which backend runs.
//!
//! sqlx's own `Any` driver was the other choice; it was set aside because it
//! opens connections from a URL only, which loses SQLite's typed settings
//! (WAL, `synchronous=FULL`, one shared in-memory database) and PostgreSQL's
//! `LISTEN`.

use std::borrow::Cow;

use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{ColumnIndex, Decode, Row as _, Type};

/// Which engine a store runs on; chosen once, from the URL, at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Starts a write transaction. SQLite's IMMEDIATE takes the write lock
    /// up front, so a transaction cannot fail half-way on a lock upgrade.
    pub(super) fn begin(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Appended to the claim's row choice. On PostgreSQL several instances
    /// claim at once: a row another transaction is taking is skipped, not
    /// waited for. SQLite has one writer, so there is nothing to skip.
    pub(super) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE OF j SKIP LOCKED",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One bound value. Borrowed where it can be, so a 13 KB body is not copied.
#[derive(Debug, Clone)]
pub(super) enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
    Blob(Option<&'a [u8]>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<&i64> for Arg<'_> {
    fn from(v: &i64) -> Self {
        Arg::Int(Some(*v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(Some(v))
    }
}
impl<'a> From<Option<&'a [u8]>> for Arg<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        Arg::Blob(v)
    }
}

/// A statement and its values, run on either backend.
pub(super) struct Q<'a> {
    sql: Cow<'a, str>,
    args: Vec<Arg<'a>>,
}

/// `sqlx::query`, for both backends.
pub(super) fn q<'a>(sql: impl Into<Cow<'a, str>>) -> Q<'a> {
    Q {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// How many rows a statement changed.
pub(super) struct Done(u64);

impl Done {
    pub(super) fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// A connection or pool a statement runs on.
pub(super) enum Target<'c> {
    Lite(&'c mut SqliteConnection),
    LitePool(&'c SqlitePool),
    Pg(&'c mut PgConnection),
    PgPool(&'c PgPool),
}

pub(super) trait Exec<'c> {
    fn target(self) -> Target<'c>;
}

impl<'c> Exec<'c> for Target<'c> {
    fn target(self) -> Target<'c> {
        self
    }
}

/// Something several statements can run on in turn: the write connection
/// or the read pool.
pub(super) trait Db {
    fn on(&mut self) -> Target<'_>;
}

impl Db for Conn {
    fn on(&mut self) -> Target<'_> {
        match self {
            Conn::Lite(c) => Target::Lite(c),
            Conn::Pg(c) => Target::Pg(c),
        }
    }
}

impl Db for &Pool {
    fn on(&mut self) -> Target<'_> {
        match *self {
            Pool::Lite(p) => Target::LitePool(p),
            Pool::Pg(p) => Target::PgPool(p),
        }
    }
}

/// The one write connection of a store.
pub(super) enum Conn {
    Lite(SqliteConnection),
    Pg(PgConnection),
}

impl Conn {
    pub(super) fn backend(&self) -> Backend {
        match self {
            Conn::Lite(_) => Backend::Sqlite,
            Conn::Pg(_) => Backend::Postgres,
        }
    }

    /// Runs several statements in one go (a migration file).
    pub(super) async fn raw(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Executor as _;
        match self {
            Conn::Lite(c) => c.execute(sql).await.map(|_| ()),
            Conn::Pg(c) => c.execute(sql).await.map(|_| ()),
        }
    }

    pub(super) async fn close(self) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        match self {
            Conn::Lite(c) => c.close().await,
            Conn::Pg(c) => c.close().await,
        }
    }
}

impl<'c> Exec<'c> for &'c mut Conn {
    fn target(self) -> Target<'c> {
        match self {
            Conn::Lite(c) => Target::Lite(c),
            Conn::Pg(c) => Target::Pg(c),
        }
    }
}

/// The read pool of a store.
#[derive(Clone, Debug)]
pub(super) enum Pool {
    Lite(SqlitePool),
    Pg(PgPool),
}

impl Pool {
    pub(super) async fn close(&self) {
        match self {
            Pool::Lite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }
}

impl<'c> Exec<'c> for &'c Pool {
    fn target(self) -> Target<'c> {
        match self {
            Pool::Lite(p) => Target::LitePool(p),
            Pool::Pg(p) => Target::PgPool(p),
        }
    }
}

/// A result row of either backend; `try_get` as on sqlx's rows.
pub(super) enum Row {
    Lite(SqliteRow),
    Pg(PgRow),
}

impl Row {
    pub(super) fn try_get<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>,
        I: ColumnIndex<SqliteRow> + ColumnIndex<PgRow>,
    {
        match self {
            Row::Lite(r) => r.try_get(index),
            Row::Pg(r) => r.try_get(index),
        }
    }
}

macro_rules! bound {
    ($q:expr) => {{
        let mut out = sqlx::query(&$q.sql);
        for a in &$q.args {
            out = match a {
                Arg::Int(v) => out.bind(*v),
                Arg::Text(v) => out.bind(v.as_deref()),
                Arg::Blob(v) => out.bind(*v),
            };
        }
        out
    }};
}

/// Runs `$q` with the sqlx method `$m` on whichever target, mapping each
/// backend's answer with `$lite` / `$pg`.
macro_rules! dispatch {
    ($q:expr, $target:expr, $m:ident, $lite:expr, $pg:expr) => {
        match $target {
            Target::Lite(c) => bound!($q).$m(c).await.map($lite),
            Target::LitePool(p) => bound!($q).$m(p).await.map($lite),
            Target::Pg(c) => bound!($q).$m(c).await.map($pg),
            Target::PgPool(p) => bound!($q).$m(p).await.map($pg),
        }
    };
}

impl<'a> Q<'a> {
    pub(super) fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    pub(super) async fn execute<'c>(self, on: impl Exec<'c>) -> Result<Done, sqlx::Error> {
        dispatch!(
            self,
            on.target(),
            execute,
            |r| Done(r.rows_affected()),
            |r| Done(r.rows_affected())
        )
    }

    pub(super) async fn fetch_all<'c>(self, on: impl Exec<'c>) -> Result<Vec<Row>, sqlx::Error> {
        dispatch!(
            self,
            on.target(),
            fetch_all,
            |rows| rows.into_iter().map(Row::Lite).collect(),
            |rows| rows.into_iter().map(Row::Pg).collect()
        )
    }

    pub(super) async fn fetch_optional<'c>(
        self,
        on: impl Exec<'c>,
    ) -> Result<Option<Row>, sqlx::Error> {
        dispatch!(
            self,
            on.target(),
            fetch_optional,
            |r| r.map(Row::Lite),
            |r| r.map(Row::Pg)
        )
    }

    pub(super) async fn fetch_one<'c>(self, on: impl Exec<'c>) -> Result<Row, sqlx::Error> {
        dispatch!(self, on.target(), fetch_one, Row::Lite, Row::Pg)
    }
}
