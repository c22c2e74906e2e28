//! `RecordRepository` over SQL: parameterised sea-query statements on collection tables,
//! rows decoded by the registry's column types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::RecordRepository;
use moon_domain::{
    Aggregate, BatchFailure, BatchOutcome, BatchWrite, Collection, ColumnName, Field, ListQuery,
    NewRecord, Record, RecordId, RepoError, SystemField, Value, Written,
};
use sea_orm::TransactionTrait;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};

use crate::connect::SqlDatabase;
use crate::dialect::Backend;
use crate::dialect::get;
use crate::error::classify;
use crate::table::{self, ID};
use crate::{aggregate, query, retry, shaped, totals, writes};

/// Records on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlRecordRepository {
    db: SqlDatabase,
}

impl SqlRecordRepository {
    #[must_use]
    pub const fn new(db: SqlDatabase) -> Self {
        Self { db }
    }

    fn select(collection: &Collection) -> SelectStatement {
        Query::select()
            .columns(table::select_columns(collection))
            .from(Alias::new(collection.name.as_str()))
            .to_owned()
    }

    /// The page a list query asks for, in its order, after its cursor (its limit is
    /// [`shaped::query_page`]'s).
    fn page(backend: Backend, collection: &Collection, query: &ListQuery) -> SelectStatement {
        let mut select = Self::select(collection);
        select.cond_where(query::conditions(backend, collection, query));
        if let Some(after) = query::after_cursor(backend, query) {
            select.cond_where(after);
        }
        query::order(&mut select, backend, query);
        select
    }

    /// How many records match a list query's filters and search.
    fn count_of(backend: Backend, collection: &Collection, query: &ListQuery) -> SelectStatement {
        Query::select()
            .expr(Func::count(Expr::cust("*")))
            .from(Alias::new(collection.name.as_str()))
            .cond_where(query::conditions(backend, collection, query))
            .to_owned()
    }

    fn decode_page(
        backend: Backend,
        collection: &Collection,
        rows: &[sea_orm::QueryResult],
    ) -> Result<Vec<Record>, RepoError> {
        rows.iter()
            .map(|row| table::decode_record(backend, row, collection, 0))
            .collect()
    }

    /// One run of an atomic batch in one transaction.
    async fn write_atomic_once(
        &self,
        collection: &Collection,
        writes: &[BatchWrite],
    ) -> Result<Vec<BatchOutcome>, BatchFailure> {
        let backend = self.db.backend;
        let fail = |index: usize| {
            move |e: RepoError| BatchFailure {
                index,
                error: Some(e),
            }
        };
        let txn = self
            .db
            .writer
            .begin()
            .await
            .map_err(|e| fail(0)(classify(&e)))?;
        let mut outcomes = Vec::with_capacity(writes.len());
        for (index, write) in writes.iter().enumerate() {
            let outcome = match write {
                BatchWrite::Create(record) => writes::insert(&txn, backend, collection, record)
                    .await
                    .map(|()| Some(BatchOutcome::Created(record.clone().into()))),
                BatchWrite::Update {
                    id,
                    fields,
                    updated_at,
                } => writes::update(&txn, backend, collection, *id, fields, *updated_at, None)
                    .await
                    .map(|w| match w {
                        Written::Done(record) => Some(BatchOutcome::Updated(record)),
                        Written::Missing | Written::Stale => None,
                    }),
                BatchWrite::Delete(id) => {
                    writes::delete(&txn, backend, collection, *id, None, Utc::now())
                        .await
                        .map(|w| match w {
                            Written::Done(()) => Some(BatchOutcome::Deleted(*id)),
                            Written::Missing | Written::Stale => None,
                        })
                }
            };
            match outcome {
                Ok(Some(outcome)) => outcomes.push(outcome),
                Ok(None) => {
                    let _ = txn.rollback().await;
                    return Err(BatchFailure { index, error: None });
                }
                Err(e) => {
                    let _ = txn.rollback().await;
                    return Err(fail(index)(e));
                }
            }
        }
        txn.commit()
            .await
            .map_err(|e| fail(writes.len().saturating_sub(1))(classify(&e)))?;
        self.db.feed.notify_one();
        Ok(outcomes)
    }

    fn by_id(collection: &Collection, id: RecordId) -> SelectStatement {
        Self::select(collection)
            .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
            .to_owned()
    }
}

#[async_trait]
impl RecordRepository for SqlRecordRepository {
    async fn insert(&self, collection: &Collection, record: &NewRecord) -> Result<(), RepoError> {
        retry::on_conflict(retry::transient, || async {
            // Committed in a group with the creates waiting beside it.
            self.db.creates.insert(collection, record).await?;
            self.db.feed.notify_one();
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, RepoError> {
        let row =
            shaped::query_one(&self.db.reader, collection, &Self::by_id(collection, id)).await?;
        row.map(|row| table::decode_record(self.db.backend, &row, collection, 0))
            .transpose()
    }

    async fn update(
        &self,
        collection: &Collection,
        id: RecordId,
        fields: &[(ColumnName, Value)],
        updated_at: DateTime<Utc>,
        expected_version: Option<i64>,
    ) -> Result<Written<Record>, RepoError> {
        retry::on_conflict(retry::transient, || async {
            let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
            let written = writes::update(
                &txn,
                self.db.backend,
                collection,
                id,
                fields,
                updated_at,
                expected_version,
            )
            .await?;
            txn.commit().await.map_err(|e| classify(&e))?;
            self.db.feed.notify_one();
            Ok(written)
        })
        .await
    }

    async fn delete(
        &self,
        collection: &Collection,
        id: RecordId,
        expected_version: Option<i64>,
    ) -> Result<Written<()>, RepoError> {
        retry::on_conflict(retry::transient, || async {
            let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
            let written = writes::delete(
                &txn,
                self.db.backend,
                collection,
                id,
                expected_version,
                Utc::now(),
            )
            .await?;
            txn.commit().await.map_err(|e| classify(&e))?;
            self.db.feed.notify_one();
            Ok(written)
        })
        .await
    }

    async fn write_atomic(
        &self,
        collection: &Collection,
        writes: &[BatchWrite],
    ) -> Result<Vec<BatchOutcome>, BatchFailure> {
        let transient = |f: &BatchFailure| f.error.as_ref().is_some_and(retry::transient);
        retry::on_conflict(transient, || self.write_atomic_once(collection, writes)).await
    }

    async fn list(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<Vec<Record>, RepoError> {
        let backend = self.db.backend;
        let select = Self::page(backend, collection, query);
        let limit = u64::from(query.limit);
        let rows = shaped::query_page(&self.db.reader, collection, &select, limit).await?;
        Self::decode_page(backend, collection, &rows)
    }

    async fn count(&self, collection: &Collection, query: &ListQuery) -> Result<u64, RepoError> {
        let select = Self::count_of(self.db.backend, collection, query);
        if self.db.backend == Backend::Sqlite {
            return totals::count(&self.db, collection, &select, None).await;
        }
        let row = shaped::query_one(&self.db.reader, collection, &select).await?;
        let count = row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn list_counted(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<(Vec<Record>, u64), RepoError> {
        let backend = self.db.backend;
        if backend != Backend::Sqlite {
            let records = self.list(collection, query).await?;
            return Ok((records, self.count(collection, query).await?));
        }
        // The change log's head comes with the page (one statement, one snapshot), so a
        // remembered total costs no second read.
        let mut select = Self::page(backend, collection, query);
        select.expr(totals::head());
        let limit = u64::from(query.limit);
        let rows = shaped::query_page(&self.db.reader, collection, &select, limit).await?;
        let head_column = table::select_columns(collection).count();
        let head = rows
            .first()
            .map(|row| get::<i64>(row, head_column))
            .transpose()?
            .flatten();
        let records = Self::decode_page(backend, collection, &rows)?;
        let count = Self::count_of(backend, collection, query);
        let total = totals::count(&self.db, collection, &count, head).await?;
        Ok((records, total))
    }

    async fn aggregate(
        &self,
        collection: &Collection,
        aggregate: &Aggregate,
        query: &ListQuery,
    ) -> Result<Value, RepoError> {
        let field = match aggregate {
            Aggregate::Count => {
                let count = self.count(collection, query).await?;
                return Ok(Value::Integer(i64::try_from(count).unwrap_or(i64::MAX)));
            }
            Aggregate::Sum(f) | Aggregate::Avg(f) | Aggregate::Min(f) | Aggregate::Max(f) => f,
        };
        // Computed here, exactly, from the matching values: SQL would use floats for
        // SQLite's decimal text and overflow on SQLite integer sums.
        let select = Query::select()
            .expr(Expr::col(Alias::new(field.name())))
            .from(Alias::new(collection.name.as_str()))
            .cond_where(query::conditions(self.db.backend, collection, query))
            .and_where(Expr::col(Alias::new(field.name())).is_not_null())
            .to_owned();
        let rows = shaped::query_all(&self.db.reader, collection, &select).await?;
        let values = rows
            .iter()
            .map(|row| match field {
                Field::System(SystemField::Id) => {
                    get::<String>(row, 0).map(|v| v.map_or(Value::Null, Value::Text))
                }
                Field::System(_) => self
                    .db
                    .backend
                    .decode_datetime(row, 0)
                    .map(|v| v.map_or(Value::Null, Value::DateTime)),
                Field::Column(_, ty) => self.db.backend.decode(row, 0, *ty),
            })
            .collect::<Result<Vec<_>, _>>()?;
        aggregate::compute(aggregate, field.field_type(), values)
    }
}
