//! Numbers that tell other Moon processes on the database their caches are stale: the
//! schema epoch, bumped in the same transaction as every change to the schema metadata, and
//! the auth epoch, bumped after every change that ends a session or reduces rights. Each
//! process polls them.

use moon_domain::RepoError;
use sea_orm::ConnectionTrait;
use sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::classify;

/// The table holding the epochs, one row each.
pub const TABLE: &str = "moon_epochs";

/// Which epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    Schema = 1,
    Auth = 2,
}

/// Creates the table and its rows when missing (start-up holds the start-up lock).
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
        Backend::MySql => format!("INSERT IGNORE INTO {TABLE} (id, epoch) VALUES (1, 0), (2, 0)"),
        _ => format!(
            "INSERT INTO {TABLE} (id, epoch) VALUES (1, 0), (2, 0) ON CONFLICT (id) DO NOTHING"
        ),
    };
    db.writer
        .execute_unprepared(&seed)
        .await
        .map_err(|e| classify(&e))?;
    Ok(())
}

/// Bumps `epoch` on `conn` (for the schema: the transaction changing the metadata).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn bump(conn: &impl ConnectionTrait, epoch: Epoch) -> Result<(), RepoError> {
    let stmt = Query::update()
        .table(Alias::new(TABLE))
        .value(Alias::new("epoch"), Expr::col(Alias::new("epoch")).add(1))
        .and_where(Expr::col(Alias::new("id")).eq(epoch as i32))
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Delivered when the transaction commits (see `listener`).
        let payload = match epoch {
            Epoch::Schema => "schema",
            Epoch::Auth => "auth",
        };
        let notify = format!(
            "SELECT pg_notify('{}', '{payload}')",
            crate::listener::CHANNEL
        );
        conn.execute_unprepared(&notify)
            .await
            .map_err(|e| classify(&e))?;
    }
    Ok(())
}

/// The current value of `epoch`.
///
/// # Errors
/// [`RepoError`] when the database fails.
pub async fn read(db: &SqlDatabase, epoch: Epoch) -> Result<i64, RepoError> {
    let select = Query::select()
        .column(Alias::new("epoch"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("id")).eq(epoch as i32))
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
