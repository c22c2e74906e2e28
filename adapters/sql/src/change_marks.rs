//! A MySQL schema change in progress, marked on the collection's metadata row: its version
//! negated while the table is rebuilt and swapped (MySQL's DDL cannot share a transaction,
//! so no row lock can span the copy; the writes' version guard reads the mark instead).

use moon_domain::{Collection, RepoError};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, Expr, ExprTrait, Query};

use crate::error::classify;
use crate::metadata::{TABLE, version};

/// MySQL, before a rebuild copies rows: marks `current` as changing (its version negated),
/// committed at once. Writes carry their schema version (`writes`), so from here on every
/// write validated against `current` writes nothing, and the ones in flight finish first
/// (the update waits for their locks on this row): no write lands in the table being copied.
///
/// # Errors
/// [`RepoError::SchemaChanged`] when `current` is no longer the stored version.
pub async fn mark_changing(
    conn: &impl ConnectionTrait,
    current: &Collection,
) -> Result<(), RepoError> {
    set_version(conn, current, version(current), -version(current)).await
}

/// Undoes [`mark_changing`] (the change failed or was a dry run).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn unmark_changing(
    conn: &impl ConnectionTrait,
    current: &Collection,
) -> Result<(), RepoError> {
    set_version(conn, current, -version(current), version(current)).await
}

async fn set_version(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    from: i64,
    to: i64,
) -> Result<(), RepoError> {
    let stmt = Query::update()
        .table(Alias::new(TABLE))
        .value(Alias::new("version"), to)
        .and_where(Expr::col(Alias::new("name")).eq(collection.name.as_str()))
        .and_where(Expr::col(Alias::new("version")).eq(from))
        .to_owned();
    let done = conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    if done.rows_affected() == 0 {
        return Err(RepoError::SchemaChanged(format!(
            "'{}' is no longer at version {from}",
            collection.name
        )));
    }
    Ok(())
}

/// Start-up: versions left negative by a change that crashed before recording its intent
/// become positive again (the table was not touched yet).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn clear_changing_marks(conn: &impl ConnectionTrait) -> Result<(), RepoError> {
    let stmt = Query::update()
        .table(Alias::new(TABLE))
        .value(
            Alias::new("version"),
            Expr::col(Alias::new("version")).mul(-1),
        )
        .and_where(Expr::col(Alias::new("version")).lt(0))
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    Ok(())
}
