//! Creating one record in one round trip per engine: the insert and its change log entry
//! (API.md §10) in one call, where the general path (`writes::insert` in a transaction)
//! takes four. The create path is the hottest write; each round trip is a hand-off to a
//! driver thread or the network.

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

/// MySQL, one record: `BEGIN`, the insert, its log entry (only if the insert wrote a row:
/// the schema guard may stop it) and `COMMIT` as one text-protocol call on one held
/// connection, rolled back there if any part fails. Every value is a literal MySQL cannot
/// misread whatever its SQL mode: text as `_utf8mb4 X'<hex>'`, numbers and datetimes as
/// digits (see [`literal`]).
///
/// # Errors
/// [`RepoError::Duplicate`] on a unique violation, [`RepoError::SchemaChanged`] when the
/// schema moved; nothing is written then.
pub async fn mysql(
    writer: &DatabaseConnection,
    collection: &Collection,
    record: &NewRecord,
) -> Result<(), RepoError> {
    let stmt = insert_statement(Backend::MySql, collection, record)?;
    let (template, values) = stmt.build(sea_query::MysqlQueryBuilder);
    let mut sql = String::with_capacity(template.len() + 64 * values.0.len());
    let mut values = values.0.into_iter();
    for part in template.split('?') {
        sql.push_str(part);
        if let Some(value) = values.next() {
            sql.push_str(&literal(&value)?);
        }
    }
    let change = created(collection, record)?;
    let log = format!(
        "INSERT INTO {} (collection, event, record_id, record, version, at_us) SELECT {}, '{}', \
         {}, {}, {}, {} FROM DUAL WHERE ROW_COUNT() > 0",
        changes::TABLE,
        literal(&SqlValue::from(change.collection.to_owned()))?,
        change.kind.name(),
        literal(&SqlValue::from(change.record_id.clone()))?,
        literal(&SqlValue::from(change.record.clone()))?,
        change.version,
        change.at.timestamp_micros(),
    );
    let script = format!("BEGIN; {sql}; {log}; COMMIT");
    let sqlx_error = |e: sqlx::Error| classify(&DbErr::Exec(RuntimeErr::SqlxError(e.into())));
    let mut conn = writer
        .get_mysql_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_error)?;
    match sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&mut *conn)
        .await
    {
        Ok(done) if done.rows_affected() == 0 => Err(moved(collection)),
        Ok(_) => Ok(()),
        Err(e) => {
            if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await {
                tracing::debug!(error = %rollback, "rollback after a failed insert");
            }
            Err(sqlx_error(e))
        }
    }
}

/// A MySQL literal for a bound value: no quote or backslash ever reaches the SQL text.
fn literal(value: &SqlValue) -> Result<String, RepoError> {
    use std::fmt::Write as _;
    let text = |t: &str| {
        let mut out = String::with_capacity(12 + 2 * t.len());
        out.push_str("_utf8mb4 X'");
        for b in t.bytes() {
            let _ = write!(out, "{b:02x}");
        }
        out.push('\'');
        out
    };
    Ok(match value {
        SqlValue::String(None)
        | SqlValue::BigInt(None)
        | SqlValue::Int(None)
        | SqlValue::Bool(None)
        | SqlValue::Decimal(None)
        | SqlValue::ChronoDateTime(None)
        | SqlValue::Json(None) => "NULL".to_owned(),
        SqlValue::String(Some(t)) => text(t),
        SqlValue::Json(Some(j)) => text(&j.to_string()),
        SqlValue::BigInt(Some(n)) => n.to_string(),
        SqlValue::Int(Some(n)) => n.to_string(),
        SqlValue::Bool(Some(b)) => if *b { "1" } else { "0" }.to_owned(),
        SqlValue::Decimal(Some(d)) => d.to_string(),
        SqlValue::ChronoDateTime(Some(dt)) => {
            format!("'{}'", dt.format("%Y-%m-%d %H:%M:%S%.6f"))
        }
        other => return Err(internal(format!("no MySQL literal for {other:?}"))),
    })
}
