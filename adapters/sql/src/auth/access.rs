//! The few statement shapes every account table is read and written with: rows by one
//! column, insert or update by id, delete by one column.

use moon_domain::RepoError;
use sea_orm::{ConnectionTrait, QueryResult};
use sea_query::{Expr, ExprTrait, Order, Query, SimpleExpr, UpdateStatement};

use super::SqlAuthRepository;
use crate::error::{classify, internal};
use crate::system_table::ident as a;

impl SqlAuthRepository {
    /// `columns` of `table`'s rows, where `filter` holds, after the id `after`, at most
    /// `limit` of them in id order.
    pub(super) async fn rows(
        &self,
        table: &str,
        columns: &[&str],
        filter: Option<(&str, String)>,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<QueryResult>, RepoError> {
        let mut select = Query::select();
        select.columns(columns.iter().map(|c| a(c))).from(a(table));
        if let Some((column, value)) = filter {
            select.and_where(Expr::col(a(column)).eq(value));
        }
        if let Some(after) = after {
            select.and_where(Expr::col(a("id")).gt(after));
        }
        if let Some(limit) = limit {
            select.order_by(a("id"), Order::Asc).limit(u64::from(limit));
        }
        self.db
            .writer
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))
    }

    /// `columns` of the one row of `table` whose `column` is `value`, if any.
    pub(super) async fn row_where(
        &self,
        table: &str,
        columns: &[&str],
        column: &str,
        value: &str,
    ) -> Result<Option<QueryResult>, RepoError> {
        let rows = self
            .rows(table, columns, Some((column, value.to_owned())), None, None)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Inserts the row, or updates the one with its id.
    pub(super) async fn upsert(
        &self,
        table: &str,
        columns: &[&str],
        values: Vec<SimpleExpr>,
        insert: bool,
    ) -> Result<(), RepoError> {
        let outcome = if insert {
            let stmt = Query::insert()
                .into_table(a(table))
                .columns(columns.iter().map(|c| a(c)))
                .values(values)
                .map_err(internal)?
                .to_owned();
            self.db.writer.execute(&stmt).await
        } else {
            let stmt = update_statement(table, columns, values)?;
            self.db.writer.execute(&stmt).await
        };
        outcome.map(|_| ()).map_err(|e| classify(&e))
    }

    /// Deletes the rows where `column` is `value`; how many went.
    pub(super) async fn delete_where(
        &self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<u64, RepoError> {
        let stmt = Query::delete()
            .from_table(a(table))
            .and_where(Expr::col(a(column)).eq(value))
            .to_owned();
        Ok(self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected())
    }
}

/// `UPDATE table SET columns = values WHERE id = <the "id" value>`.
pub(super) fn update_statement(
    table: &str,
    columns: &[&str],
    values: Vec<SimpleExpr>,
) -> Result<UpdateStatement, RepoError> {
    let mut stmt = Query::update();
    stmt.table(a(table));
    let mut id = None;
    for (column, value) in columns.iter().zip(values) {
        if *column == "id" {
            id = Some(value);
        } else {
            stmt.value(a(column), value);
        }
    }
    let id = id.ok_or_else(|| internal("update without id"))?;
    stmt.and_where(Expr::col(a("id")).eq(id));
    Ok(stmt)
}
