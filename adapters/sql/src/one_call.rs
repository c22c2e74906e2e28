//! Creating one record in one round trip on PostgreSQL: the insert and its change log entry
//! (API.md §10) in one statement, where the general path (`writes::insert` in a transaction,
//! which MySQL keeps) takes four. The create path is the hottest write; each round trip is a
//! trip over the network. (SQLite's creates go through `group_commit`.)

use moon_domain::{Collection, NewRecord, RepoError};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_query::{Alias, Value as SqlValue};

use crate::changes;
use crate::dialect::Backend;
use crate::error::classify;
use crate::shaped;
use crate::table::ID;
use crate::writes::{created, insert_statement, moved};

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
