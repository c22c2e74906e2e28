//! SQLite creates committed in groups: one task takes every create waiting for the one
//! writer and writes them as one transaction (a multi-row insert per collection, one for
//! their log entries), one hand-off to the driver thread and one commit for the group. Each
//! client is answered only after the commit that holds its record; a group a statement of
//! which fails is rolled back and its creates written one by one, so each gets its own answer.

use std::collections::HashMap;

use moon_domain::{Collection, NewRecord, RepoError};
use sea_orm::{DbErr, RuntimeErr};
use sea_query::{Expr, InsertStatement, SqliteQueryBuilder, Value as SqlValue};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::changes;
use crate::dialect::Backend;
use crate::error::{classify, internal};
use crate::shaped;
use crate::writes::{created, insert_head, insert_row};

/// The most creates one transaction holds.
const GROUP: usize = 32;
/// The most values one transaction binds (SQLite allows 32,766).
const VALUES: usize = 16_000;
/// Creates waiting beyond the group being written; senders wait when it is full.
const WAITING: usize = 1_024;

/// Where creates are sent to be committed; cloned with the database.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Create>,
}

/// One record to insert, its statement's parts built by the caller.
#[derive(Debug)]
struct Create {
    /// The collection's name and shape: creates with the same key share one insert.
    key: (String, u64),
    head: InsertStatement,
    row: Vec<SqlValue>,
    entry: [SqlValue; 6],
    done: oneshot::Sender<Result<(), RepoError>>,
}

impl GroupCommit {
    /// Starts the committing task on `writer`; it ends when the last clone is dropped.
    #[must_use]
    pub fn start(writer: SqlitePool) -> Self {
        let (queue, waiting) = mpsc::channel(WAITING);
        tokio::spawn(run(writer, waiting));
        Self { queue }
    }

    /// Inserts `record` and its log entry; returns once they are committed.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation (nothing written then), or the
    /// classified failure of the database.
    pub async fn insert(
        &self,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError> {
        let (done, answer) = oneshot::channel();
        let create = Create {
            key: (
                collection.name.as_str().to_owned(),
                shaped::fingerprint(collection),
            ),
            head: insert_head(collection),
            row: insert_row(Backend::Sqlite, collection, record),
            entry: changes::entry_row(&created(collection, record)?),
            done,
        };
        let stopped = || RepoError::Unavailable("the writer has stopped".into());
        self.queue.send(create).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(writer: SqlitePool, mut waiting: mpsc::Receiver<Create>) {
    let mut taken = Vec::with_capacity(GROUP);
    while waiting.recv_many(&mut taken, GROUP).await > 0 {
        let mut creates = taken.drain(..).peekable();
        while creates.peek().is_some() {
            let mut group = Vec::new();
            let mut values = 0;
            while let Some(next) = creates
                .next_if(|c| group.is_empty() || values + c.row.len() + c.entry.len() <= VALUES)
            {
                values += next.row.len() + next.entry.len();
                group.push(next);
            }
            commit_group(&writer, group).await;
        }
    }
}

/// Writes `group` in one transaction, or, when that fails, each create in its own.
async fn commit_group(writer: &SqlitePool, group: Vec<Create>) {
    let result = write(writer, &group.iter().collect::<Vec<_>>()).await;
    if group.len() == 1 || result.is_ok() {
        for create in group {
            let _ = create.done.send(result.clone());
        }
        return;
    }
    for create in group {
        let result = write(writer, &[&create]).await;
        let _ = create.done.send(result);
    }
}

/// `BEGIN`, an insert per collection, the log entries and `COMMIT`, sent as one call; the
/// writer connection is held until a failed script's transaction is rolled back.
async fn write(writer: &SqlitePool, group: &[&Create]) -> Result<(), RepoError> {
    let mut inserts: Vec<(&(String, u64), InsertStatement)> = Vec::new();
    let mut at: HashMap<&(String, u64), usize> = HashMap::new();
    let mut log = changes::append_head();
    for create in group {
        let slot = *at.entry(&create.key).or_insert_with(|| {
            inserts.push((&create.key, create.head.clone()));
            inserts.len() - 1
        });
        let rows = create.row.iter().cloned().map(Expr::val);
        inserts[slot].1.values(rows).map_err(internal)?;
        let entry = create.entry.iter().cloned().map(Expr::val);
        log.values(entry).map_err(internal)?;
    }
    let mut sql = String::from("BEGIN; ");
    let mut values = Vec::new();
    for ((name, shape), insert) in &inserts {
        let (text, bound) = insert.build(SqliteQueryBuilder);
        sql.push_str(&format!("/* moon {name} {shape:016x} */ {text}; "));
        values.extend(bound.0);
    }
    let (text, bound) = log.build(SqliteQueryBuilder);
    sql.push_str(&text);
    sql.push_str("; COMMIT");
    values.extend(bound.0);
    execute(writer, sql, values).await
}

/// Runs `sql` with `values` on the writer, rolling back what a failure left open.
pub(crate) async fn execute(
    writer: &SqlitePool,
    sql: String,
    values: Vec<SqlValue>,
) -> Result<(), RepoError> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = match value {
            SqlValue::String(v) => query.bind(v),
            SqlValue::BigInt(v) => query.bind(v),
            SqlValue::Int(v) => query.bind(v),
            SqlValue::Bool(v) => query.bind(v),
            other => return Err(internal(format!("no SQLite binding for {other:?}"))),
        };
    }
    let sqlx_error = |e: sqlx::Error| classify(&DbErr::Exec(RuntimeErr::SqlxError(e.into())));
    let mut conn = writer.acquire().await.map_err(sqlx_error)?;
    match query.execute(&mut *conn).await {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                // No transaction left open (BEGIN itself failed): nothing to undo.
                tracing::debug!(error = %rollback, "rollback after a failed insert");
            }
            Err(sqlx_error(e))
        }
    }
}
