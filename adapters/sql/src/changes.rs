//! The change log (API.md §10): an entry per record write and schema change, appended in the
//! write's own transaction. SQLite has one writer, so an entry takes the next number (its
//! rowid) as it is written; on PostgreSQL and MySQL transactions commit out of their start order, so
//! entries are written unnumbered and numbered after commit, in batches, under a lock (see
//! [`SqlChangeLog::sequence`]): a reader never sees a number below one it has seen.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::ChangeLog;
use moon_domain::{Change, ChangeKind, LogBounds, NewChange, RepoError};
use sea_orm::{ConnectionTrait, IsolationLevel, TransactionTrait};
use sea_query::{Alias, Expr, ExprTrait, LockType, Order, Query};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::{classify, internal};

/// The log.
pub const TABLE: &str = "moon_changes";
/// One row (`id` 1): the sequencer's lock and how far the log has been swept.
const HEAD: &str = "moon_change_head";
/// The most entries one sequencing pass numbers.
const BATCH: i64 = 10_000;

/// Creates the log and its head row when missing (start-up holds the start-up lock).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn ensure(db: &SqlDatabase) -> Result<(), RepoError> {
    let statements: &[&str] = match db.backend {
        Backend::Sqlite => &[
            // The number is the rowid: one more than the largest, and the sweep always
            // keeps the newest entry, so no number is ever given twice.
            "CREATE TABLE IF NOT EXISTS moon_changes (seq INTEGER PRIMARY KEY, \
             collection TEXT NOT NULL, event TEXT NOT NULL, record_id TEXT, record TEXT, \
             version INTEGER NOT NULL, at_us INTEGER NOT NULL)",
            // No index by collection on any engine: it would add a fifth of a create's cost;
            // a replay filters the rows after its position instead.
            "CREATE TABLE IF NOT EXISTS moon_change_head (id INTEGER PRIMARY KEY, \
             swept_through INTEGER NOT NULL)",
            "INSERT INTO moon_change_head (id, swept_through) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
        ],
        Backend::Postgres => &[
            "CREATE TABLE IF NOT EXISTS moon_changes (pk BIGSERIAL PRIMARY KEY, seq BIGINT UNIQUE, \
             collection TEXT NOT NULL, event TEXT NOT NULL, record_id TEXT, record TEXT, \
             version BIGINT NOT NULL, at_us BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS moon_change_head (id INTEGER PRIMARY KEY, \
             swept_through BIGINT NOT NULL)",
            "INSERT INTO moon_change_head (id, swept_through) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
        ],
        Backend::MySql => &[
            "CREATE TABLE IF NOT EXISTS moon_changes (pk BIGINT AUTO_INCREMENT PRIMARY KEY, \
             seq BIGINT NULL, collection VARCHAR(64) NOT NULL, event VARCHAR(8) NOT NULL, \
             record_id VARCHAR(32) NULL, record LONGTEXT NULL, version BIGINT NOT NULL, \
             at_us BIGINT NOT NULL, UNIQUE KEY moon_changes_seq (seq))",
            "CREATE TABLE IF NOT EXISTS moon_change_head (id INT PRIMARY KEY, \
             swept_through BIGINT NOT NULL)",
            "INSERT IGNORE INTO moon_change_head (id, swept_through) VALUES (1, 0)",
        ],
    };
    for sql in statements {
        db.writer
            .execute_unprepared(sql)
            .await
            .map_err(|e| classify(&e))?;
    }
    Ok(())
}

/// Appends `change` on `conn`, the transaction of the write it describes.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn append(conn: &impl ConnectionTrait, change: &NewChange<'_>) -> Result<(), RepoError> {
    conn.execute(&append_statement(change)?)
        .await
        .map_err(|e| classify(&e))?;
    Ok(())
}

/// The `INSERT` of `change` into the log.
///
/// # Errors
/// [`RepoError::Internal`] if sea-query refuses the statement.
pub fn append_statement(change: &NewChange<'_>) -> Result<sea_query::InsertStatement, RepoError> {
    let mut stmt = append_head();
    stmt.values(entry_row(change).into_iter().map(Expr::val))
        .map_err(internal)?;
    Ok(stmt)
}

/// `INSERT INTO moon_changes (<columns>)`, without rows. No number: SQLite gives the rowid,
/// the others leave it to `sequence`.
pub fn append_head() -> sea_query::InsertStatement {
    let columns = [
        "collection",
        "event",
        "record_id",
        "record",
        "version",
        "at_us",
    ];
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new(TABLE))
        .columns(columns.map(Alias::new));
    stmt
}

/// `change`'s row for [`append_head`].
pub fn entry_row(change: &NewChange<'_>) -> [sea_query::Value; 6] {
    [
        change.collection.into(),
        change.kind.name().into(),
        change.record_id.clone().into(),
        change.record.clone().into(),
        change.version.into(),
        change.at.timestamp_micros().into(),
    ]
}

/// The log on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlChangeLog {
    db: SqlDatabase,
}

impl SqlChangeLog {
    #[must_use]
    pub const fn new(db: SqlDatabase) -> Self {
        Self { db }
    }

    pub(crate) async fn max_seq(conn: &impl ConnectionTrait) -> Result<i64, RepoError> {
        let stmt = Query::select()
            .expr(Expr::col(Alias::new("seq")).max())
            .from(Alias::new(TABLE))
            .to_owned();
        let row = conn.query_one(&stmt).await.map_err(|e| classify(&e))?;
        Ok(row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    }

    /// Locks the head row on engines with concurrent writers (SQLite's writer is alone).
    async fn lock_head(&self, conn: &impl ConnectionTrait) -> Result<i64, RepoError> {
        let mut stmt = Query::select();
        stmt.column(Alias::new("swept_through"))
            .from(Alias::new(HEAD))
            .and_where(Expr::col(Alias::new("id")).eq(1));
        if self.db.backend != Backend::Sqlite {
            stmt.lock(LockType::Update);
        }
        let row = conn.query_one(&stmt).await.map_err(|e| classify(&e))?;
        Ok(row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    }

    async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, RepoError> {
        let isolation =
            (self.db.backend != Backend::Sqlite).then_some(IsolationLevel::ReadCommitted);
        self.db
            .writer
            .begin_with_config(isolation, None)
            .await
            .map_err(|e| classify(&e))
    }
}

fn decode(row: &sea_orm::QueryResult) -> Result<Change, RepoError> {
    let seq = get::<i64>(row, 0)?.unwrap_or(0);
    let event = get::<String>(row, 1)?.unwrap_or_default();
    let at_us = get::<i64>(row, 6)?.unwrap_or(0);
    Ok(Change {
        seq: u64::try_from(seq).unwrap_or(0),
        kind: ChangeKind::parse(&event)
            .ok_or_else(|| internal(format!("change log entry {seq} has event '{event}'")))?,
        collection: get::<String>(row, 2)?.unwrap_or_default(),
        record_id: get::<String>(row, 3)?,
        record: get::<String>(row, 4)?,
        version: get::<i64>(row, 5)?.unwrap_or(0),
        at: DateTime::<Utc>::from_timestamp_micros(at_us).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
    })
}

#[async_trait]
impl ChangeLog for SqlChangeLog {
    async fn after(
        &self,
        collection: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        let mut stmt = Query::select();
        stmt.columns(
            [
                "seq",
                "event",
                "collection",
                "record_id",
                "record",
                "version",
                "at_us",
            ]
            .map(Alias::new),
        )
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("seq")).gt(i64::try_from(after).unwrap_or(i64::MAX)))
        .order_by(Alias::new("seq"), Order::Asc)
        .limit(u64::from(limit));
        if let Some(name) = collection {
            stmt.and_where(Expr::col(Alias::new("collection")).eq(name));
        }
        let rows = self
            .db
            .reader
            .query_all(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter().map(decode).collect()
    }

    async fn bounds(&self) -> Result<LogBounds, RepoError> {
        let head = Self::max_seq(&self.db.reader).await?;
        let swept = Query::select()
            .column(Alias::new("swept_through"))
            .from(Alias::new(HEAD))
            .and_where(Expr::col(Alias::new("id")).eq(1))
            .to_owned();
        let row = self
            .db
            .reader
            .query_one(&swept)
            .await
            .map_err(|e| classify(&e))?;
        let swept = row.map(|r| get::<i64>(&r, 0)).transpose()?.flatten();
        Ok(LogBounds {
            head: u64::try_from(head).unwrap_or(0),
            swept_through: swept.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        })
    }

    async fn sequence(&self) -> Result<u64, RepoError> {
        if self.db.backend == Backend::Sqlite {
            return Ok(0);
        }
        let txn = self.begin().await?;
        self.lock_head(&txn).await?;
        let pending = Query::select()
            .expr(Expr::col(Alias::new("pk")).min())
            .expr(Expr::col(Alias::new("pk")).max())
            .from(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("seq")).is_null())
            .to_owned();
        let row = txn.query_one(&pending).await.map_err(|e| classify(&e))?;
        let (Some(low), Some(high)) = (
            row.as_ref()
                .map(|r| get::<i64>(r, 0))
                .transpose()?
                .flatten(),
            row.as_ref()
                .map(|r| get::<i64>(r, 1))
                .transpose()?
                .flatten(),
        ) else {
            txn.commit().await.map_err(|e| classify(&e))?;
            return Ok(0);
        };
        let high = Ord::min(high, low.saturating_add(BATCH - 1));
        // Entries committed before this pass get numbers above every number given so far,
        // in the order they were written; the pass's numbers appear at once, at its commit.
        let offset = Self::max_seq(&txn).await? - low + 1;
        let number = Query::update()
            .table(Alias::new(TABLE))
            .value(Alias::new("seq"), Expr::col(Alias::new("pk")).add(offset))
            .and_where(Expr::col(Alias::new("seq")).is_null())
            .and_where(Expr::col(Alias::new("pk")).between(low, high))
            .to_owned();
        let numbered = txn
            .execute(&number)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected();
        if self.db.backend == Backend::Postgres && numbered > 0 {
            // Other instances' feeds read at once (delivered at commit; see `listener`).
            let notify = format!("SELECT pg_notify('{}', 'feed')", crate::listener::CHANNEL);
            txn.execute_unprepared(&notify)
                .await
                .map_err(|e| classify(&e))?;
        }
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(numbered)
    }

    async fn sweep(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let txn = self.begin().await?;
        let swept = self.lock_head(&txn).await?;
        let newest = Self::max_seq(&txn).await?;
        let old = Query::select()
            .expr(Expr::col(Alias::new("seq")).max())
            .from(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("at_us")).lt(before.timestamp_micros()))
            .to_owned();
        let row = txn.query_one(&old).await.map_err(|e| classify(&e))?;
        // The newest entry stays, so the next number is never one given before.
        let cut = row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .map_or(0, |c| Ord::min(c, newest - 1));
        if cut <= swept {
            txn.commit().await.map_err(|e| classify(&e))?;
            return Ok(0);
        }
        let delete = Query::delete()
            .from_table(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("seq")).lte(cut))
            .to_owned();
        let deleted = txn
            .execute(&delete)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected();
        let mark = Query::update()
            .table(Alias::new(HEAD))
            .value(Alias::new("swept_through"), cut)
            .and_where(Expr::col(Alias::new("id")).eq(1))
            .to_owned();
        txn.execute(&mark).await.map_err(|e| classify(&e))?;
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(deleted)
    }
}
