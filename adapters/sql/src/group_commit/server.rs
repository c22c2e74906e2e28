//! A group on PostgreSQL or MySQL: one transaction holding an `INSERT … SELECT … UNION ALL …`
//! per collection (every row carries the schema-version guard, so a group validated against
//! a schema another instance has changed since writes nothing) and one insert of the log
//! entries. A create alone on PostgreSQL is one statement instead: the insert and its entry
//! in one `WITH`, one round trip.

use moon_domain::RepoError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_query::{Alias, Expr, PostgresQueryBuilder, UnionType};

use super::{Create, Shape, by_shape};
use crate::changes;
use crate::dialect::Backend;
use crate::error::{classify, internal};
use crate::shaped;
use crate::table::ID;
use crate::writes::{metadata_row_at, moved_from};

pub(super) async fn write(
    pool: &DatabaseConnection,
    backend: Backend,
    group: &[&Create],
) -> Result<(), RepoError> {
    if let ([create], Backend::Postgres) = (group, backend) {
        return postgres_one(pool, create).await;
    }
    let txn = pool.begin().await.map_err(|e| classify(&e))?;
    let written = async {
        let mut log = changes::append_head();
        for (shape, creates) in by_shape(group) {
            let mut insert = creates[0].head.clone();
            insert
                .select_from(guarded_rows(shape, &creates)?)
                .map_err(internal)?;
            let mut statement = txn.get_database_backend().build(&insert);
            statement.sql = shaped::tag(&shape.name, shape.fingerprint, &statement.sql);
            let result = txn.execute_raw(statement).await.map_err(|e| classify(&e))?;
            if result.rows_affected() != creates.len() as u64 {
                return Err(moved_from(&shape.name, shape.version));
            }
            for create in &creates {
                log.values(create.entry.iter().cloned().map(Expr::val))
                    .map_err(internal)?;
            }
        }
        txn.execute(&log).await.map_err(|e| classify(&e))?;
        Ok(())
    }
    .await;
    match written {
        Ok(()) => txn.commit().await.map_err(|e| classify(&e)),
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a failed group");
            }
            Err(e)
        }
    }
}

/// `SELECT <row> FROM moon_collections WHERE name = ? AND version = ?`, one per create,
/// joined by `UNION ALL`: every row while the schema is the one validated against, none
/// once it moved.
fn guarded_rows(
    shape: &Shape,
    creates: &[&Create],
) -> Result<sea_query::SelectStatement, RepoError> {
    let mut rows = creates.iter().map(|create| {
        let mut row = metadata_row_at(&shape.name, shape.version);
        row.exprs(create.row.iter().cloned().map(Expr::val));
        row
    });
    let mut select = rows.next().ok_or_else(|| internal("an empty group"))?;
    for row in rows {
        select.union(UnionType::All, row);
    }
    Ok(select)
}

/// PostgreSQL, one create: `WITH written AS (INSERT … RETURNING id) INSERT INTO
/// moon_changes … FROM written` (a write the schema guard stopped logs nothing).
async fn postgres_one(pool: &DatabaseConnection, create: &Create) -> Result<(), RepoError> {
    let shape = &create.shape;
    let mut insert = create.head.clone();
    insert
        .select_from(guarded_rows(shape, &[create])?)
        .map_err(internal)?;
    insert.returning_col(Alias::new(ID));
    let (sql, values) = insert.build(PostgresQueryBuilder);
    let mut values = values.0;
    let n = values.len();
    let [collection, event, _record_id, record, version, at_us] = create.entry.clone();
    let sql = format!(
        "WITH written AS ({}) INSERT INTO {} (collection, event, record_id, record, version, \
         at_us) SELECT ${}, ${}, written.{ID}, ${}, ${}, ${} FROM written",
        shaped::tag(&shape.name, shape.fingerprint, &sql),
        changes::TABLE,
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5,
    );
    values.extend([collection, event, record, version, at_us]);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    let result = pool
        .execute_raw(statement)
        .await
        .map_err(|e| classify(&e))?;
    if result.rows_affected() == 0 {
        return Err(moved_from(&shape.name, shape.version));
    }
    Ok(())
}
