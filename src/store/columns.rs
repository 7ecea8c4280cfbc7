//! How a stored column becomes a Rust value: one rule per kind of column,
//! read by name, so that a query's column order can change without a reader
//! silently taking the wrong column.
//!
//! The rules the schema implies live here and nowhere else: times are epoch
//! milliseconds in a BIGINT, JSON is TEXT (the same on both engines), and a
//! state or kind is its word ([`Word`]).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::db::Row;
use crate::word_enum::Word;

/// A value read from the column of that name.
pub(super) trait Column: Sized {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error>;
}

/// Types both engines decode as they are.
macro_rules! as_stored {
    ($($ty:ty),* $(,)?) => {$(
        impl Column for $ty {
            fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
                row.try_get(name)
            }
        }
    )*};
}

as_stored!(i64, String, Option<i64>, Option<String>, bool);

/// A word read back into its enum; an unknown word is a decode error, never
/// a default.
impl<T: Word> Column for T {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        let word: &str = row.try_get(name)?;
        word.parse()
            .map_err(|e: String| sqlx::Error::Decode(e.into()))
    }
}

/// Epoch milliseconds.
pub(super) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl Column for DateTime<Utc> {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        Ok(ms_to_time(row.try_get(name)?))
    }
}

impl Column for Option<DateTime<Utc>> {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(ms_to_time))
    }
}

/// An HTTP status; a value outside `u16` (none is written) reads as none.
impl Column for Option<u16> {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        Ok(row
            .try_get::<Option<i64>, _>(name)?
            .and_then(|s| u16::try_from(s).ok()))
    }
}

fn json(text: &str) -> Result<Value, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl Column for Value {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        json(row.try_get(name)?)
    }
}

impl Column for Option<Value> {
    fn read(row: &Row, name: &str) -> Result<Self, sqlx::Error> {
        row.try_get::<Option<&str>, _>(name)?.map(json).transpose()
    }
}

/// Builds `Type { field, … }` with each field read from the column of its
/// own name; fields after `;` take the value given (`name = expr`).
macro_rules! from_row {
    ($row:expr => $ty:ident { $($field:ident),* $(,)? $(; $($name:ident = $value:expr),* $(,)?)? }) => {
        $ty {
            $($field: $crate::store::columns::Column::read($row, stringify!($field))?,)*
            $($($name: $value,)*)?
        }
    };
}

pub(super) use from_row;

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;
    use crate::store::model::JobState;

    #[derive(Debug, PartialEq)]
    struct Sample {
        id: i64,
        state: JobState,
        at: DateTime<Utc>,
        note: Option<String>,
        status: Option<u16>,
    }

    async fn row(sql: &str) -> Row {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        Row::Lite(
            sqlx::query(sql)
                .fetch_one(&mut conn)
                .await
                .expect("the query runs"),
        )
    }

    fn sample(row: &Row) -> Result<Sample, sqlx::Error> {
        Ok(from_row!(row => Sample { id, state, at, note, status }))
    }

    #[tokio::test]
    async fn fields_are_read_by_name_whatever_the_column_order() {
        let want = Sample {
            id: 7,
            state: JobState::Running,
            at: ms_to_time(1_700_000_000_123),
            note: None,
            status: Some(404),
        };
        let a = row(
            "SELECT 7 AS id, 'running' AS state, 1700000000123 AS at, NULL AS note, 404 AS status",
        )
        .await;
        let b = row(
            "SELECT 404 AS status, NULL AS note, 1700000000123 AS at, 'running' AS state, 7 AS id",
        )
        .await;
        assert_eq!(sample(&a).expect("decodes"), want);
        assert_eq!(sample(&b).expect("decodes"), want);
    }

    #[tokio::test]
    async fn an_unknown_word_is_a_decode_error_not_a_default() {
        let r =
            row("SELECT 1 AS id, 'sleeping' AS state, 0 AS at, NULL AS note, NULL AS status").await;
        let err = sample(&r).expect_err("an unknown state must not decode");
        assert!(matches!(err, sqlx::Error::Decode(_)), "{err:?}");
        assert!(err.to_string().contains("sleeping"), "{err}");
    }

    #[tokio::test]
    async fn json_text_and_out_of_range_status_read_as_their_rules_say() {
        let r = row(r#"SELECT '{"a":1}' AS doc, NULL AS none, 70000 AS status"#).await;
        assert_eq!(
            Value::read(&r, "doc").expect("json"),
            serde_json::json!({"a": 1})
        );
        assert_eq!(Option::<Value>::read(&r, "none").expect("null"), None);
        assert_eq!(Option::<u16>::read(&r, "status").expect("int"), None);
        let bad = row("SELECT '{not json' AS doc").await;
        assert!(Value::read(&bad, "doc").is_err());
    }
}
