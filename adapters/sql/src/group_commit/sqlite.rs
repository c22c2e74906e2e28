//! A group on SQLite: each create's one-row insert and log entry, run by the group writer's
//! thread in one transaction. sea-query renders each shape's one-row insert once; the
//! writer keeps it prepared.

mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use moon_domain::RepoError;
use sea_orm::{DbErr, RuntimeErr};
use sea_query::{Expr, InsertStatement, SqliteQueryBuilder, Value as SqlValue};
use sqlx::SqlitePool;

pub(crate) use writer::{Setup, Writer};

use super::{Create, Shape};
use crate::changes;
use crate::error::{classify, internal};
use crate::shaped;
use writer::Row;

/// Shapes remembered before the cache starts again (a shape is a collection at a version).
const SHAPES: usize = 256;

/// The text of each shape's one-row insert and of the log's, as sea-query renders them.
#[derive(Debug, Default)]
pub(super) struct Texts {
    inserts: HashMap<Shape, Arc<str>>,
    log: Option<Arc<str>>,
}

impl Texts {
    /// The tagged one-row insert of `create`'s shape.
    fn insert(&mut self, create: &Create) -> Result<Arc<str>, RepoError> {
        if let Some(text) = self.inserts.get(&create.shape) {
            return Ok(Arc::clone(text));
        }
        if self.inserts.len() >= SHAPES {
            self.inserts.clear();
        }
        let shape = &create.shape;
        let text = one_row(create.head.clone(), &create.row)?;
        let tagged: Arc<str> = shaped::tag(&shape.name, shape.fingerprint, &text).into();
        self.inserts.insert(shape.clone(), Arc::clone(&tagged));
        Ok(tagged)
    }

    /// The one-row insert of a log entry.
    fn log(&mut self, entry: &[SqlValue]) -> Result<Arc<str>, RepoError> {
        if let Some(text) = &self.log {
            return Ok(Arc::clone(text));
        }
        let text: Arc<str> = one_row(changes::append_head(), entry)?.into();
        self.log = Some(Arc::clone(&text));
        Ok(text)
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

/// The rows that write `group`: each create's record, then its log entry, in group order.
fn rows(texts: &mut Texts, group: &[&Create]) -> Result<Vec<Row>, RepoError> {
    let mut rows = Vec::with_capacity(2 * group.len());
    for create in group {
        rows.push(Row {
            sql: texts.insert(create)?,
            values: create.row.clone(),
        });
        rows.push(Row {
            sql: texts.log(&create.entry)?,
            values: create.entry.to_vec(),
        });
    }
    Ok(rows)
}

/// Writes `group` on `writer` while holding `turn`, the pool's one connection that every
/// other write goes through: the two never wait on SQLite's lock for each other.
pub(super) async fn write(
    turn: &SqlitePool,
    writer: &Writer,
    texts: &mut Texts,
    group: &[&Create],
) -> Result<(), RepoError> {
    if group.is_empty() {
        return Ok(());
    }
    let rows = rows(texts, group)?;
    let sqlx_error = |e: sqlx::Error| classify(&DbErr::Exec(RuntimeErr::SqlxError(e.into())));
    let _turn = turn.acquire().await.map_err(sqlx_error)?;
    writer.write(rows).await
}

#[cfg(test)]
mod tests;
