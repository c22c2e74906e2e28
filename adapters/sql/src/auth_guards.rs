//! The account changes that must be decided by the database, not by a read before the write:
//! a refresh token traded once (compare and swap on its hash), and the last admin kept
//! (every admin row locked while one is deleted or demoted), whatever runs at the same time,
//! in this process or another.

use moon_domain::ports::UserRemoval;
use moon_domain::{RepoError, Role, User};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use sea_query::{Expr, ExprTrait, LockType, Query, UpdateStatement};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::classify;
use crate::system_table::ident as a;

/// Swaps a live session's refresh hash from `expected` to `next`; `false` when another
/// call swapped it first (or the session ended).
pub async fn rotate_refresh(
    db: &SqlDatabase,
    sessions: &str,
    session_id: &str,
    expected: &str,
    next: &str,
) -> Result<bool, RepoError> {
    let stmt = Query::update()
        .table(a(sessions))
        .value(a("refresh_hash"), next)
        .and_where(Expr::col(a("id")).eq(session_id))
        .and_where(Expr::col(a("refresh_hash")).eq(expected))
        .and_where(Expr::col(a("revoked")).eq(false))
        .to_owned();
    let result = db.writer.execute(&stmt).await.map_err(|e| classify(&e))?;
    Ok(result.rows_affected() == 1)
}

/// The admins' ids, their rows locked until `txn` ends (SQLite's single writer already
/// serialises every write transaction).
async fn lock_admins(txn: &DatabaseTransaction, users: &str) -> Result<Vec<String>, RepoError> {
    let select = Query::select()
        .column(a("id"))
        .from(a(users))
        .and_where(Expr::col(a("role")).eq(Role::Admin.as_str()))
        .lock(LockType::Update)
        .to_owned();
    let rows = txn.query_all(&select).await.map_err(|e| classify(&e))?;
    rows.iter()
        .map(|r| get::<String>(r, 0).map(Option::unwrap_or_default))
        .collect()
}

async fn stored_role(
    txn: &DatabaseTransaction,
    users: &str,
    id: &str,
) -> Result<Option<String>, RepoError> {
    let select = Query::select()
        .column(a("role"))
        .from(a(users))
        .and_where(Expr::col(a("id")).eq(id))
        .lock(LockType::Update)
        .to_owned();
    let row = txn.query_one(&select).await.map_err(|e| classify(&e))?;
    Ok(row.map(|r| get::<String>(&r, 0)).transpose()?.flatten())
}

/// Deletes a user and their sessions unless they are the last admin.
pub async fn delete_user_keeping_an_admin(
    db: &SqlDatabase,
    users: &str,
    sessions: &str,
    id: &str,
) -> Result<UserRemoval, RepoError> {
    let txn = db.writer.begin().await.map_err(|e| classify(&e))?;
    let admins = lock_admins(&txn, users).await?;
    let outcome = match stored_role(&txn, users, id).await? {
        None => UserRemoval::Missing,
        Some(role) if role == Role::Admin.as_str() && admins.len() <= 1 => UserRemoval::LastAdmin,
        Some(_) => {
            for (table, column) in [(sessions, "user_id"), (users, "id")] {
                let stmt = Query::delete()
                    .from_table(a(table))
                    .and_where(Expr::col(a(column)).eq(id))
                    .to_owned();
                txn.execute(&stmt).await.map_err(|e| classify(&e))?;
            }
            UserRemoval::Deleted
        }
    };
    txn.commit().await.map_err(|e| classify(&e))?;
    Ok(outcome)
}

/// Runs `update` (of `user`'s row) unless it would leave no admin, decided with the admins
/// locked in the same transaction; `false` when refused.
pub async fn update_keeping_an_admin(
    db: &SqlDatabase,
    users: &str,
    user: &User,
    update: &UpdateStatement,
) -> Result<bool, RepoError> {
    let txn = db.writer.begin().await.map_err(|e| classify(&e))?;
    let admins = lock_admins(&txn, users).await?;
    let was_admin = admins.contains(&user.id);
    if was_admin && user.role != Role::Admin && admins.len() <= 1 {
        txn.rollback().await.map_err(|e| classify(&e))?;
        return Ok(false);
    }
    txn.execute(update).await.map_err(|e| classify(&e))?;
    txn.commit().await.map_err(|e| classify(&e))?;
    Ok(true)
}
