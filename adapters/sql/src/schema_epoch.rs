//! One number for the whole schema, bumped in the same transaction as every change to the
//! schema metadata: other Moon processes on the database poll it to learn that their
//! registry is stale.

use moon_domain::RepoError;
use sea_orm::ConnectionTrait;
use sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::classify;

/// The one-row table holding the epoch.
pub const TABLE: &str = "moon_schema_epoch";

/// Creates the table and its row when missing (start-up holds the start-up lock).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn ensure(db: &SqlDatabase) -> Result<(), RepoError> {
    let create = Table::create()
        .table(Alias::new(TABLE))
        .if_not_exists()
        .col(
            ColumnDef::new(Alias::new("id"))
                .integer()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Alias::new("epoch")).big_integer().not_null())
        .to_owned();
    db.writer.execute(&create).await.map_err(|e| classify(&e))?;
    let seed = match db.backend {
        Backend::MySql => format!("INSERT IGNORE INTO {TABLE} (id, epoch) VALUES (1, 0)"),
        _ => format!("INSERT INTO {TABLE} (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"),
    };
    db.writer
        .execute_unprepared(&seed)
        .await
        .map_err(|e| classify(&e))?;
    Ok(())
}

/// Bumps the epoch on `conn` (the transaction changing the metadata).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn bump(conn: &impl ConnectionTrait) -> Result<(), RepoError> {
    let stmt = Query::update()
        .table(Alias::new(TABLE))
        .value(Alias::new("epoch"), Expr::col(Alias::new("epoch")).add(1))
        .and_where(Expr::col(Alias::new("id")).eq(1))
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    Ok(())
}

/// The current epoch.
///
/// # Errors
/// [`RepoError`] when the database fails.
pub async fn read(db: &SqlDatabase) -> Result<i64, RepoError> {
    let select = Query::select()
        .column(Alias::new("epoch"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("id")).eq(1))
        .to_owned();
    let row = db
        .reader
        .query_one(&select)
        .await
        .map_err(|e| classify(&e))?;
    Ok(row
        .map(|r| get::<i64>(&r, 0))
        .transpose()?
        .flatten()
        .unwrap_or(0))
}
