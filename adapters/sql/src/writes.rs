//! Record writes as statements on any connection or transaction: the single-record
//! repository methods and atomic batches share them.

use chrono::{DateTime, Utc};
use moon_domain::{
    ChangeKind, Collection, ColumnName, NewChange, NewRecord, Record, RecordId, RepoError, Value,
    Written,
};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, Expr, ExprTrait, InsertStatement, Query, SelectStatement, SimpleExpr};

use crate::dialect::Backend;
use crate::error::internal;
use crate::table::{self, CREATED_AT, ID, UPDATED_AT, VERSION};
use crate::{changes, metadata, shaped};

/// `SELECT` of one record by id, with the registry's columns.
#[must_use]
pub fn by_id(collection: &Collection, id: RecordId) -> SelectStatement {
    Query::select()
        .columns(table::select_columns(collection))
        .from(Alias::new(collection.name.as_str()))
        .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
        .to_owned()
}

/// A select of the collection's metadata row at the version `collection` was validated
/// against. Every write on PostgreSQL and MySQL carries it, so a write validated against a
/// schema another process has changed since writes nothing (`SCHEMA_CHANGED`); SQLite is
/// one process, whose schema gate already orders writes and changes.
fn metadata_at_version(collection: &Collection) -> SelectStatement {
    metadata_row_at(collection.name.as_str(), collection.version)
}

/// [`metadata_at_version`] from the collection's name and version.
pub(crate) fn metadata_row_at(name: &str, version: u64) -> SelectStatement {
    Query::select()
        .from(Alias::new(metadata::TABLE))
        .and_where(Expr::col(Alias::new("name")).eq(name))
        .and_where(Expr::col(Alias::new("version")).eq(i64::try_from(version).unwrap_or(i64::MAX)))
        .to_owned()
}

fn guard(backend: Backend, collection: &Collection) -> Option<SimpleExpr> {
    (backend != Backend::Sqlite).then(|| {
        let mut probe = metadata_at_version(collection);
        probe.expr(Expr::val(1));
        Expr::exists(probe)
    })
}

/// Whether `collection`'s stored version is no longer the one it was validated against.
async fn schema_moved(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
) -> Result<bool, RepoError> {
    if backend == Backend::Sqlite {
        return Ok(false);
    }
    let mut probe = metadata_at_version(collection);
    probe.expr(Expr::val(1));
    Ok(conn
        .query_one(&probe)
        .await
        .map_err(|e| crate::error::classify(&e))?
        .is_none())
}

pub(crate) fn moved(collection: &Collection) -> RepoError {
    moved_from(collection.name.as_str(), collection.version)
}

/// [`moved`] from the collection's name and version.
pub(crate) fn moved_from(name: &str, version: u64) -> RepoError {
    RepoError::SchemaChanged(format!("'{name}' is no longer at schema version {version}"))
}

/// Inserts one validated record on `conn` and logs it; the caller owns the transaction.
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation.
pub async fn insert(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
    record: &NewRecord,
) -> Result<(), RepoError> {
    let stmt = insert_statement(backend, collection, record)?;
    let result = shaped::execute(conn, collection, &stmt).await?;
    if result.rows_affected() == 0 {
        return Err(moved(collection));
    }
    changes::append(conn, &created(collection, record)?).await
}

pub(crate) fn insert_statement(
    backend: Backend,
    collection: &Collection,
    record: &NewRecord,
) -> Result<InsertStatement, RepoError> {
    let mut stmt = insert_head(collection);
    let values = insert_row(backend, collection, record)
        .into_iter()
        .map(Expr::val);
    if backend == Backend::Sqlite {
        stmt.values(values).map_err(internal)?;
    } else {
        // INSERT ... SELECT <values> FROM moon_collections WHERE name = ? AND version = ?:
        // one row while the schema is the one validated against, none once it moved.
        let mut source = metadata_at_version(collection);
        source.exprs(values);
        stmt.select_from(source).map_err(internal)?;
    }
    Ok(stmt)
}

/// `INSERT INTO <collection> (<every column>)`, without rows.
pub(crate) fn insert_head(collection: &Collection) -> InsertStatement {
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new(collection.name.as_str()))
        .columns(
            [ID, CREATED_AT, UPDATED_AT, VERSION]
                .into_iter()
                .map(Alias::new)
                .chain(
                    collection
                        .columns
                        .iter()
                        .map(|c| Alias::new(c.name.as_str())),
                ),
        );
    stmt
}

/// `record`'s row for [`insert_head`]: one value per column, in order.
pub(crate) fn insert_row(
    backend: Backend,
    collection: &Collection,
    record: &NewRecord,
) -> Vec<sea_query::Value> {
    let created = backend.bind_datetime(&record.created_at);
    let mut values = Vec::with_capacity(4 + collection.columns.len());
    values.extend([
        record.id.to_string().into(),
        created.clone(),
        created,
        1_i64.into(),
    ]);
    for ((_, value), column) in record.fields.iter().zip(&collection.columns) {
        values.push(backend.bind(value, column.field_type));
    }
    values
}

/// The log entry of `record`'s creation.
pub(crate) fn created<'a>(
    collection: &'a Collection,
    record: &NewRecord,
) -> Result<NewChange<'a>, RepoError> {
    Ok(NewChange {
        kind: ChangeKind::Create,
        collection: collection.name.as_str(),
        record_id: Some(record.id.to_string()),
        record: Some(serde_json::to_string(record).map_err(internal)?),
        version: 1,
        at: record.created_at,
    })
}

/// Updates one record on `conn` (the version check in the same statement), reads it back
/// and logs it; the caller owns the transaction.
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
    if let Some(guard) = guard(backend, collection) {
        stmt.and_where(guard);
    }
    let result = shaped::execute(conn, collection, &stmt).await?;
    if result.rows_affected() == 0 && schema_moved(conn, backend, collection).await? {
        return Err(moved(collection));
    }
    let row = shaped::query_one(conn, collection, &by_id(collection, id)).await?;
    match (result.rows_affected(), row) {
        (0, Some(_)) => Ok(Written::Stale),
        (_, None) => Ok(Written::Missing),
        (_, Some(row)) => {
            let record = table::decode_record(backend, &row, collection, 0)?;
            let change = NewChange {
                kind: ChangeKind::Update,
                collection: collection.name.as_str(),
                record_id: Some(record.id.to_string()),
                record: Some(serde_json::to_string(&record).map_err(internal)?),
                version: record.version,
                at: updated_at,
            };
            changes::append(conn, &change).await?;
            Ok(Written::Done(record))
        }
    }
}

/// Deletes one record on `conn`, only at `expected_version` when given, and logs it; the
/// caller owns the transaction.
///
/// # Errors
/// [`RepoError`] when the database fails.
pub async fn delete(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
    id: RecordId,
    expected_version: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Written<()>, RepoError> {
    let version = stored_version(conn, backend, collection, id).await?;
    let mut stmt = Query::delete()
        .from_table(Alias::new(collection.name.as_str()))
        .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()))
        .to_owned();
    if let Some(version) = expected_version {
        stmt.and_where(Expr::col(Alias::new(VERSION)).eq(version));
    }
    if let Some(guard) = guard(backend, collection) {
        stmt.and_where(guard);
    }
    let result = shaped::execute(conn, collection, &stmt).await?;
    if result.rows_affected() > 0 {
        let change = NewChange {
            kind: ChangeKind::Destroy,
            collection: collection.name.as_str(),
            record_id: Some(id.to_string()),
            record: None,
            version: version.unwrap_or_default(),
            at,
        };
        changes::append(conn, &change).await?;
        return Ok(Written::Done(()));
    }
    if schema_moved(conn, backend, collection).await? {
        return Err(moved(collection));
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

/// The version of the record with `id`, locked on the engines with concurrent writers until
/// the transaction ends (the destroy's change log entry names the version it removed).
async fn stored_version(
    conn: &impl ConnectionTrait,
    backend: Backend,
    collection: &Collection,
    id: RecordId,
) -> Result<Option<i64>, RepoError> {
    let mut stmt = Query::select();
    stmt.column(Alias::new(VERSION))
        .from(Alias::new(collection.name.as_str()))
        .and_where(Expr::col(Alias::new(ID)).eq(id.to_string()));
    if backend != Backend::Sqlite {
        stmt.lock(sea_query::LockType::Update);
    }
    let row = shaped::query_one(conn, collection, &stmt).await?;
    row.map(|r| crate::dialect::get::<i64>(&r, 0))
        .transpose()
        .map(Option::flatten)
}
