//! Multi-row statements: how a batch of rows is cut into statements, and the
//! SQL text of each.

use super::*;

/// Splits `items` greedily into slices of [`CHUNK_SIZES`].
pub(super) fn chunked<T>(mut items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    while !items.is_empty() {
        let size = CHUNK_SIZES
            .iter()
            .copied()
            .find(|&c| c <= items.len())
            .unwrap_or(1);
        let (head, tail) = items.split_at(size);
        out.push(head);
        items = tail;
    }
    out
}

/// SQL that travels with a multi-row statement to the database thread. The
/// SQLite connection lives on a thread of its own, and every statement is a
/// trip there and back: two thread wake-ups, which on a busy host cost more
/// than the statement. So a batch of deliveries begins its transaction in the
/// trip of its first INSERT and commits it in the trip of its last (SQLite
/// runs the statements of one string in order, and stops at the first error).
/// PostgreSQL takes one statement per query that has parameters, so there it
/// is always empty.
#[derive(Clone, Copy, Default)]
pub(super) struct Around {
    /// A statement run before the first chunk's, such as `BEGIN IMMEDIATE`.
    pub(super) before: Option<&'static str>,
    /// A statement run after the last chunk's, such as `COMMIT`.
    pub(super) after: Option<&'static str>,
}

impl Around {
    /// What chunk `i` of `n` carries: `before` the first, `after` the last.
    pub(super) fn chunk(self, i: usize, n: usize) -> Around {
        Around {
            before: self.before.filter(|_| i == 0),
            after: self.after.filter(|_| i + 1 == n),
        }
    }
}

/// `head`, then `rows` copies of `row` separated by commas, then `tail`, all
/// inside `around`. Each `?` of `row` becomes the next numbered placeholder
/// (`$1`, `$2`, …), which both backends read.
pub(super) fn values_sql(around: Around, head: &str, row: &str, rows: usize, tail: &str) -> String {
    use std::fmt::Write as _;
    let extra = |s: Option<&str>| s.map_or(0, |s| s.len() + 2);
    let mut sql = String::with_capacity(
        extra(around.before)
            + head.len()
            + rows * (row.len() * 2 + 1)
            + tail.len()
            + extra(around.after),
    );
    if let Some(before) = around.before {
        sql.push_str(before);
        sql.push_str("; ");
    }
    sql.push_str(head);
    let mut n = 0usize;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        for c in row.chars() {
            if c == '?' {
                n += 1;
                let _ = write!(sql, "${n}");
            } else {
                sql.push(c);
            }
        }
    }
    sql.push_str(tail);
    if let Some(after) = around.after {
        sql.push_str("; ");
        sql.push_str(after);
    }
    sql
}
