//! `RecordRepository` over SQL: parameterised sea-query statements on collection tables,
//! rows decoded by the registry's column types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::RecordRepository;
use moon_domain::{
    Aggregate, Collection, ColumnName, Field, ListQuery, NewRecord, Record, RecordId, RepoError,
    SystemField, Value, Written,
};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::{classify, internal};
use crate::table::{self, CREATED_AT, ID, UPDATED_AT, VERSION};
use crate::{aggregate, query};

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

    fn by_id(collection: &Collection, id: RecordId) -> SelectStatement {
        Self::select(collection)
            .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
            .to_owned()
    }
}

#[async_trait]
impl RecordRepository for SqlRecordRepository {
    async fn insert(&self, collection: &Collection, record: &NewRecord) -> Result<(), RepoError> {
        let backend = self.db.backend;
        let created = backend.bind_datetime(&record.created_at);
        let mut values = vec![
            record.id.to_string().into(),
            created.clone(),
            created,
            1_i64.into(),
        ];
        for ((_, value), column) in record.fields.iter().zip(&collection.columns) {
            values.push(backend.bind(value, column.field_type));
        }
        let stmt = Query::insert()
            .into_table(Alias::new(collection.name.as_str()))
            .columns(
                [ID, CREATED_AT, UPDATED_AT, VERSION]
                    .into_iter()
                    .map(Alias::new)
                    .chain(record.fields.iter().map(|(n, _)| Alias::new(n.as_str()))),
            )
            .values(values.into_iter().map(Expr::val))
            .map_err(internal)?
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn get(
        &self,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, RepoError> {
        let row = self
            .db
            .reader
            .query_one(&Self::by_id(collection, id))
            .await
            .map_err(|e| classify(&e))?;
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
        let backend = self.db.backend;
        let mut stmt = Query::update();
        stmt.table(Alias::new(collection.name.as_str()));
        for (name, value) in fields {
            let ty = collection
                .column(name.as_str())
                .map(|c| c.field_type)
                .ok_or_else(|| internal(format!("no column '{name}'")))?;
            stmt.value(Alias::new(name.as_str()), backend.bind(value, ty));
        }
        stmt.value(Alias::new(UPDATED_AT), backend.bind_datetime(&updated_at))
            .value(Alias::new(VERSION), Expr::col(Alias::new(VERSION)).add(1))
            .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()));
        if let Some(version) = expected_version {
            stmt.and_where(Expr::col(Alias::new(VERSION)).eq(version));
        }
        let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
        let result = txn.execute(&stmt).await.map_err(|e| classify(&e))?;
        if result.rows_affected() == 0 {
            let exists = txn
                .query_one(&Self::by_id(collection, id))
                .await
                .map_err(|e| classify(&e))?
                .is_some();
            txn.rollback().await.map_err(|e| classify(&e))?;
            return Ok(if exists {
                Written::Stale
            } else {
                Written::Missing
            });
        }
        let row = txn
            .query_one(&Self::by_id(collection, id))
            .await
            .map_err(|e| classify(&e))?;
        txn.commit().await.map_err(|e| classify(&e))?;
        match row {
            Some(row) => table::decode_record(backend, &row, collection, 0).map(Written::Done),
            None => Ok(Written::Missing),
        }
    }

    async fn delete(
        &self,
        collection: &Collection,
        id: RecordId,
        expected_version: Option<i64>,
    ) -> Result<Written<()>, RepoError> {
        let mut stmt = Query::delete()
            .from_table(Alias::new(collection.name.as_str()))
            .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
            .to_owned();
        if let Some(version) = expected_version {
            stmt.and_where(Expr::col(Alias::new(VERSION)).eq(version));
        }
        let result = self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        if result.rows_affected() > 0 {
            return Ok(Written::Done(()));
        }
        if expected_version.is_none() {
            return Ok(Written::Missing);
        }
        let exists = self
            .db
            .writer
            .query_one(&Self::by_id(collection, id))
            .await
            .map_err(|e| classify(&e))?
            .is_some();
        Ok(if exists {
            Written::Stale
        } else {
            Written::Missing
        })
    }

    async fn list(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<Vec<Record>, RepoError> {
        let backend = self.db.backend;
        let mut select = Self::select(collection);
        select.cond_where(query::conditions(backend, collection, query));
        if let Some(after) = query::after_cursor(backend, query) {
            select.cond_where(after);
        }
        query::order(&mut select, backend, query);
        select.limit(u64::from(query.limit));
        let rows = self
            .db
            .reader
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter()
            .map(|row| table::decode_record(backend, row, collection, 0))
            .collect()
    }

    async fn count(&self, collection: &Collection, query: &ListQuery) -> Result<u64, RepoError> {
        let select = Query::select()
            .expr(Func::count(Expr::cust("*")))
            .from(Alias::new(collection.name.as_str()))
            .cond_where(query::conditions(self.db.backend, collection, query))
            .to_owned();
        let row = self
            .db
            .reader
            .query_one(&select)
            .await
            .map_err(|e| classify(&e))?;
        let count = row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0);
        Ok(u64::try_from(count).unwrap_or(0))
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
        let rows = self
            .db
            .reader
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))?;
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
