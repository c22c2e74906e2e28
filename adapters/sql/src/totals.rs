//! `total`s remembered on SQLite until the next logged write. Every record write and schema
//! change appends to the change log in its own transaction and SQLite numbers the entries in
//! commit order, so while the log's head is where it was, every count is what it was: a
//! repeated filtered `total` costs a seek to the log's last row instead of a scan. (On the
//! servers entries are numbered after commit, out of commit order: they always count.)

use std::collections::HashMap;
use std::sync::Mutex;

use moon_domain::{Collection, RepoError};
use sea_query::{Expr, SelectStatement};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::{changes, shaped};

/// Counts kept at most; all are forgotten when it is reached.
const KEPT: usize = 256;

/// Counts by statement (text and values), each with the log head it was counted at.
#[derive(Debug, Default)]
pub struct Totals {
    counts: Mutex<HashMap<String, (i64, u64)>>,
}

impl Totals {
    fn get(&self, key: &str, head: i64) -> Option<u64> {
        let counts = self.counts.lock().ok()?;
        counts
            .get(key)
            .and_then(|&(at, count)| (at == head).then_some(count))
    }

    fn keep(&self, key: String, head: i64, count: u64) {
        if let Ok(mut counts) = self.counts.lock() {
            if counts.len() >= KEPT && !counts.contains_key(&key) {
                counts.clear();
            }
            counts.insert(key, (head, count));
        }
    }
}

/// The change log's head as a selected expression (0 while the log is empty).
pub fn head() -> Expr {
    Expr::cust(format!(
        "(SELECT COALESCE(MAX(seq), 0) FROM {})",
        changes::TABLE
    ))
}

/// `count` (a `SELECT COUNT(*) … WHERE …` on `collection`) on SQLite's readers, from what is
/// kept when the log has not moved since. `head` is the log's head when the caller has just
/// read it in the same snapshot as its page; otherwise it is read here.
///
/// # Errors
/// The classified [`RepoError`].
pub async fn count(
    db: &SqlDatabase,
    collection: &Collection,
    count: &SelectStatement,
    head: Option<i64>,
) -> Result<u64, RepoError> {
    let text = shaped::tagged(&db.reader, collection, count);
    let key = format!("{}{:?}", text.sql, text.values);
    let head = match head {
        Some(head) => head,
        None => changes::SqlChangeLog::max_seq(&db.reader).await?,
    };
    if let Some(total) = db.totals.get(&key, head) {
        return Ok(total);
    }
    // The count and the head it is true at, read in one statement (one snapshot).
    let mut both = count.clone();
    both.expr(self::head());
    let row = shaped::query_one(&db.reader, collection, &both).await?;
    let (total, head) = match row {
        Some(row) => (
            get::<i64>(&row, 0)?.unwrap_or(0),
            get::<i64>(&row, 1)?.unwrap_or(0),
        ),
        None => (0, 0),
    };
    let total = u64::try_from(total).unwrap_or(0);
    db.totals.keep(key, head, total);
    Ok(total)
}
