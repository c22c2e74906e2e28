//! A group on SQLite: `BEGIN`, the inserts, the log entries and `COMMIT` as one call to the
//! writer connection's thread (each call is a hand-off to that thread and back).

use moon_domain::RepoError;
use sea_orm::{DbErr, RuntimeErr};
use sea_query::{Expr, SqliteQueryBuilder, Value as SqlValue};
use sqlx::SqlitePool;

use super::{Create, by_shape};
use crate::changes;
use crate::error::{classify, internal};
use crate::shaped;

pub(super) async fn write(writer: &SqlitePool, group: &[&Create]) -> Result<(), RepoError> {
    let mut sql = String::from("BEGIN; ");
    let mut values = Vec::new();
    let mut log = changes::append_head();
    for (shape, creates) in by_shape(group) {
        let mut insert = creates[0].head.clone();
        for create in &creates {
            insert
                .values(create.row.iter().cloned().map(Expr::val))
                .map_err(internal)?;
            log.values(create.entry.iter().cloned().map(Expr::val))
                .map_err(internal)?;
        }
        let (text, bound) = insert.build(SqliteQueryBuilder);
        sql.push_str(&shaped::tag(&shape.name, shape.fingerprint, &text));
        sql.push_str("; ");
        values.extend(bound.0);
    }
    let (text, bound) = log.build(SqliteQueryBuilder);
    sql.push_str(&text);
    sql.push_str("; COMMIT");
    values.extend(bound.0);
    execute(writer, sql, values).await
}

/// Runs `sql` with `values` on the writer, rolling back what a failure left open; the
/// connection is held until then, so no other write meets the transaction open.
async fn execute(writer: &SqlitePool, sql: String, values: Vec<SqlValue>) -> Result<(), RepoError> {
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
