//! Record writes as statements on any connection or transaction: the single-record
//! repository methods and atomic batches share them.

use chrono::{DateTime, Utc};
use moon_domain::{Collection, ColumnName, NewRecord, Record, RecordId, RepoError, Value, Written};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};

use crate::dialect::Backend;
use crate::error::internal;
use crate::shaped;
use crate::table::{self, CREATED_AT, ID, UPDATED_AT, VERSION};

/// `SELECT` of one record by id, with the registry's columns.
#[must_use]
pub fn by_id(collection: &Collection, id: RecordId) -> SelectStatement {
    Query::select()
        .columns(table::select_columns(collection))
        .from(Alias::new(collection.name.as_str()))
        .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
        .to_owned()
}

/// Inserts one validated record on `conn`.
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation.
pub async fn insert(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
    record: &NewRecord,
) -> Result<(), RepoError> {
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
    shaped::execute(conn, collection, &stmt).await?;
    Ok(())
}

/// Updates one record on `conn` (the version check in the same statement) and reads it
/// back; the caller owns the transaction.
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation.
pub async fn update(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
    id: RecordId,
    fields: &[(ColumnName, Value)],
    updated_at: DateTime<Utc>,
    expected_version: Option<i64>,
) -> Result<Written<Record>, RepoError> {
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
    let result = shaped::execute(conn, collection, &stmt).await?;
    let row = shaped::query_one(conn, collection, &by_id(collection, id)).await?;
    match (result.rows_affected(), row) {
        (0, Some(_)) => Ok(Written::Stale),
        (_, None) => Ok(Written::Missing),
        (_, Some(row)) => table::decode_record(backend, &row, collection, 0).map(Written::Done),
    }
}

/// Deletes one record on `conn`, only at `expected_version` when given.
///
/// # Errors
/// [`RepoError`] when the database fails.
pub async fn delete(
    conn: &impl ConnectionTrait,
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
    let result = shaped::execute(conn, collection, &stmt).await?;
    if result.rows_affected() > 0 {
        return Ok(Written::Done(()));
    }
    if expected_version.is_none() {
        return Ok(Written::Missing);
    }
    let exists = shaped::query_one(conn, collection, &by_id(collection, id))
        .await?
        .is_some();
    Ok(if exists {
        Written::Stale
    } else {
        Written::Missing
    })
}
