//! Creating one record in one round trip on SQLite and PostgreSQL: the insert and its change
//! log entry (API.md §10) in one call, where the general path (`writes::insert` in a
//! transaction, which MySQL keeps) takes four. The create path is the hottest write; each
//! round trip is a hand-off to a driver thread or the network.

use moon_domain::{Collection, NewRecord, RepoError};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement};
use sea_query::{Alias, Value as SqlValue};

use crate::changes;
use crate::dialect::Backend;
use crate::error::{classify, internal};
use crate::shaped;
use crate::table::ID;
use crate::writes::{created, insert_statement, moved};

/// SQLite, one record: `BEGIN`, the insert, its log entry and `COMMIT` sent as one call to
/// the writer connection's thread. Each call is a hand-off to that thread and back; four of
/// them instead of one cost two thirds of the create throughput. The connection is held
/// until a failed script's transaction is rolled back, so no other write meets it open.
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation; nothing is written then.
pub async fn sqlite(
    writer: &DatabaseConnection,
    collection: &Collection,
    record: &NewRecord,
) -> Result<(), RepoError> {
    let insert = shaped::tagged(
        writer,
        collection,
        &insert_statement(Backend::Sqlite, collection, record)?,
    );
    let log = writer
        .get_database_backend()
        .build(&changes::append_statement(&created(collection, record)?)?);
    let sql = format!("BEGIN; {}; {}; COMMIT", insert.sql, log.sql);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in [insert.values, log.values]
        .into_iter()
        .flatten()
        .flat_map(|v| v.0)
    {
        query = match value {
            SqlValue::String(v) => query.bind(v),
            SqlValue::BigInt(v) => query.bind(v),
            SqlValue::Int(v) => query.bind(v),
            SqlValue::Bool(v) => query.bind(v),
            other => return Err(internal(format!("no SQLite binding for {other:?}"))),
        };
    }
    let sqlx_error = |e: sqlx::Error| classify(&DbErr::Exec(RuntimeErr::SqlxError(e.into())));
    let mut conn = writer
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_error)?;
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

/// PostgreSQL, one record: the insert and its log entry as one statement (the entry is
/// written from the insert's `RETURNING`, so a write the schema guard stopped logs nothing).
/// One round trip instead of four (`BEGIN`, two inserts, `COMMIT`).
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation, [`RepoError::SchemaChanged`] when the
/// schema moved; nothing is written then.
pub async fn postgres(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    record: &NewRecord,
) -> Result<(), RepoError> {
    let mut stmt = insert_statement(Backend::Postgres, collection, record)?;
    stmt.returning_col(Alias::new(ID));
    let insert = shaped::tagged(conn, collection, &stmt);
    let mut values = insert.values.map(|v| v.0).unwrap_or_default();
    let change = created(collection, record)?;
    let n = values.len();
    let sql = format!(
        "WITH written AS ({}) INSERT INTO {} (collection, event, record_id, record, version, \
         at_us) SELECT ${}, '{}', written.{ID}, ${}, ${}, ${} FROM written",
        insert.sql,
        changes::TABLE,
        n + 1,
        change.kind.name(),
        n + 2,
        n + 3,
        n + 4,
    );
    values.extend([
        SqlValue::from(change.collection.to_owned()),
        SqlValue::from(change.record),
        SqlValue::from(change.version),
        SqlValue::from(change.at.timestamp_micros()),
    ]);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    let result = conn
        .execute_raw(statement)
        .await
        .map_err(|e| classify(&e))?;
    if result.rows_affected() == 0 {
        return Err(moved(collection));
    }
    Ok(())
}
