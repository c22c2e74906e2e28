//! A group on SQLite: `BEGIN`, the inserts, the log entries and `COMMIT` as one call to the
//! writer connection's thread (each call is a hand-off to that thread and back). sea-query
//! renders each shape's one-row insert once; a group repeats its row of placeholders.

use std::collections::HashMap;

use moon_domain::RepoError;
use sea_orm::{DbErr, RuntimeErr};
use sea_query::{Expr, InsertStatement, SqliteQueryBuilder, Value as SqlValue};
use sqlx::SqlitePool;

use super::{Create, Shape, by_shape};
use crate::changes;
use crate::error::{classify, internal};
use crate::shaped;

/// Shapes remembered before the cache starts again (a shape is a collection at a version).
const SHAPES: usize = 256;

/// The text of each shape's one-row insert and of the log's, as sea-query renders them.
#[derive(Debug, Default)]
pub(super) struct Texts {
    inserts: HashMap<Shape, String>,
    log: Option<String>,
}

impl Texts {
    /// The tagged one-row insert of `create`'s shape.
    fn insert(&mut self, create: &Create) -> Result<&str, RepoError> {
        if !self.inserts.contains_key(&create.shape) {
            if self.inserts.len() >= SHAPES {
                self.inserts.clear();
            }
            let shape = &create.shape;
            let text = one_row(create.head.clone(), &create.row)?;
            let tagged = shaped::tag(&shape.name, shape.fingerprint, &text);
            self.inserts.insert(shape.clone(), tagged);
        }
        Ok(&self.inserts[&create.shape])
    }

    /// The one-row insert of a log entry.
    fn log(&mut self, entry: &[SqlValue]) -> Result<&str, RepoError> {
        if self.log.is_none() {
            self.log = Some(one_row(changes::append_head(), entry)?);
        }
        Ok(self.log.as_deref().unwrap_or_default())
    }
}

/// `head` with `row` rendered, checked to bind every value as one `?` in order.
fn one_row(mut head: InsertStatement, row: &[SqlValue]) -> Result<String, RepoError> {
    head.values(row.iter().cloned().map(Expr::val))
        .map_err(internal)?;
    let (text, bound) = head.build(SqliteQueryBuilder);
    if bound.0 != row || !text.ends_with(&placeholders(row.len())) {
        return Err(internal(format!(
            "an insert rendered unlike its row: {text}"
        )));
    }
    Ok(text)
}

/// `(?, ?, …)` for `n` values, as sea-query writes a row of them.
fn placeholders(n: usize) -> String {
    let mut row = String::with_capacity(3 * n + 1);
    row.push('(');
    for i in 0..n {
        row.push_str(if i == 0 { "?" } else { ", ?" });
    }
    row.push(')');
    row
}

/// `text` (a one-row insert) followed by `more` rows like its last.
fn push_rows(sql: &mut String, text: &str, width: usize, more: usize) {
    sql.push_str(text);
    let row = placeholders(width);
    for _ in 0..more {
        sql.push_str(", ");
        sql.push_str(&row);
    }
    sql.push_str("; ");
}

/// The statement text and values that write `group` in one transaction.
fn render(texts: &mut Texts, group: &[&Create]) -> Result<(String, Vec<SqlValue>), RepoError> {
    let mut sql = String::from("BEGIN; ");
    let mut values = Vec::with_capacity(group.iter().map(|c| c.values()).sum());
    let mut entries = Vec::with_capacity(group.len() * group[0].entry.len());
    for (_, creates) in by_shape(group) {
        let first = creates[0];
        push_rows(
            &mut sql,
            texts.insert(first)?,
            first.row.len(),
            creates.len() - 1,
        );
        for create in &creates {
            if create.row.len() != first.row.len() {
                return Err(internal("creates of one shape with rows of two widths"));
            }
            values.extend(create.row.iter().cloned());
            entries.extend(create.entry.iter().cloned());
        }
    }
    let width = group[0].entry.len();
    push_rows(
        &mut sql,
        texts.log(&group[0].entry)?,
        width,
        group.len() - 1,
    );
    values.append(&mut entries);
    sql.push_str("COMMIT");
    Ok((sql, values))
}

pub(super) async fn write(
    writer: &SqlitePool,
    texts: &mut Texts,
    group: &[&Create],
) -> Result<(), RepoError> {
    if group.is_empty() {
        return Ok(());
    }
    let (sql, values) = render(texts, group)?;
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

#[cfg(test)]
mod tests;
