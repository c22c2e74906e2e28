//! SQLite's group writer: a connection of its own on a thread of its own, so a group of
//! creates costs one hand-off to that thread and one answer back (sqlx's connection thread
//! answered every statement of a group on its own, four wake-ups a group).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use moon_domain::RepoError;
use rusqlite::types::{ToSql, ToSqlOutput, Value as Stored, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sea_query::Value as SqlValue;
use tokio::sync::oneshot;

use crate::connect::SqliteSync;
use crate::error::classify_sqlite;

/// Statements kept prepared: a one-row insert per shape written lately, and the log's.
const PREPARED: usize = 64;
/// A writer idle this long gives its page cache and prepared statements back.
const QUIET: Duration = Duration::from_secs(1);

/// One row to insert: the statement's text (a key of the prepared cache) and its values.
#[derive(Debug)]
pub(super) struct Row {
    pub sql: Arc<str>,
    pub values: Vec<SqlValue>,
}

/// What the writer thread is asked.
enum Job {
    /// Insert `rows` in one transaction; all or nothing.
    Write {
        rows: Vec<Row>,
        done: oneshot::Sender<Result<(), RepoError>>,
    },
    /// Read one integer (a pragma's value, say): how the connection is set up.
    #[cfg_attr(not(test), allow(dead_code))]
    Ask {
        sql: &'static str,
        done: oneshot::Sender<Result<i64, RepoError>>,
    },
}

/// Where groups are sent; the thread ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// How the writer's connection is set up, as the pools' are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    pub sync: SqliteSync,
    pub busy_timeout: Duration,
}

impl Writer {
    /// Opens `path` and starts the thread that owns the connection.
    ///
    /// # Errors
    /// When the file cannot be opened or set up.
    pub(crate) fn open(path: &Path, setup: Setup) -> Result<Self, String> {
        let conn = connection(path, setup).map_err(|e| format!("{}: {e}", path.display()))?;
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("moon-sqlite-writer".into())
            .spawn(move || serve(conn, &queue))
            .map_err(|e| format!("cannot start the SQLite writer: {e}"))?;
        Ok(Self { jobs })
    }

    /// Inserts `rows` in one transaction; returns once it is committed or rolled back.
    ///
    /// # Errors
    /// The classified failure; nothing of `rows` is written then.
    pub(super) async fn write(&self, rows: Vec<Row>) -> Result<(), RepoError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job::Write { rows, done })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The integer `sql` reads on the writer's connection.
    ///
    /// # Errors
    /// The classified failure.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) async fn ask(&self, sql: &'static str) -> Result<i64, RepoError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job::Ask { sql, done })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> RepoError {
    RepoError::Unavailable("the writer has stopped".into())
}

fn connection(path: &Path, setup: Setup) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(setup.busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match setup.sync {
        SqliteSync::Normal => "NORMAL",
        SqliteSync::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Indexes on decimal columns are ordered by it; inserting maintains them.
    conn.create_collation(
        crate::query::DECIMAL_COLLATION,
        crate::query::compare_decimal_text,
    )?;
    conn.set_prepared_statement_cache_capacity(PREPARED);
    Ok(conn)
}

/// Runs jobs until every sender is gone; a quiet spell gives the cache back once.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    let mut dirty = false;
    loop {
        let job = match queue.recv_timeout(QUIET) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if std::mem::take(&mut dirty) {
                    conn.flush_prepared_statement_cache();
                    if let Err(e) = conn.release_memory() {
                        tracing::debug!(error = %e, "releasing the writer's cache");
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match job {
            Job::Write { rows, done } => {
                dirty = true;
                let _ = done.send(insert(&mut conn, &rows).map_err(|e| classify_sqlite(&e)));
            }
            Job::Ask { sql, done } => {
                let answer = conn.query_row(sql, [], |row| row.get::<_, i64>(0));
                let _ = done.send(answer.map_err(|e| classify_sqlite(&e)));
            }
        }
    }
}

/// `rows` in one immediate transaction: the write lock is taken at `BEGIN`, so a failure
/// leaves nothing and dropping the transaction rolls it back.
fn insert(conn: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for row in rows {
        let mut statement = tx.prepare_cached(&row.sql)?;
        statement.execute(rusqlite::params_from_iter(row.values.iter().map(Bound)))?;
    }
    tx.commit()
}

/// A sea-query value bound as sqlx bound it: text, integers, booleans as 0 and 1, or null.
struct Bound<'a>(&'a SqlValue);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::String(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            SqlValue::BigInt(Some(v)) => ToSqlOutput::Owned(Stored::Integer(*v)),
            SqlValue::Int(Some(v)) => ToSqlOutput::Owned(Stored::Integer(i64::from(*v))),
            SqlValue::Bool(Some(v)) => ToSqlOutput::Owned(Stored::Integer(i64::from(*v))),
            SqlValue::String(None)
            | SqlValue::BigInt(None)
            | SqlValue::Int(None)
            | SqlValue::Bool(None) => ToSqlOutput::Owned(Stored::Null),
            other => {
                let e = format!("no SQLite binding for {other:?}");
                return Err(rusqlite::Error::ToSqlConversionFailure(e.into()));
            }
        })
    }
}
