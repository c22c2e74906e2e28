//! Schema changes by table rebuild: a new table in the next shape, every row converted and
//! copied (all or none), then swapped in place of the old one.

use moon_domain::{Collection, FieldError, RepoError, SchemaPlan, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sea_query::{Alias, Expr, ExprTrait, Order, Query, Table};

use crate::dialect::{Backend, get};
use crate::error::classify;
use crate::shaped;
use crate::table::{self, CREATED_AT, ID, PKID, UPDATED_AT, VERSION};

/// The name a table is rebuilt under before it replaces the original.
pub const REBUILD_TABLE: &str = "_moon_rebuild";
/// The name the original takes while a MySQL rebuild swaps tables.
pub const OLD_TABLE: &str = "_moon_old";
/// Rows copied per round trip during a rebuild.
const REBUILD_BATCH: u64 = 500;

/// Rebuilds `current` as `plan.next` inside `txn`: a new table, every row converted and
/// copied, the old table dropped and the new one renamed into place. Returns the DDL run.
pub async fn rebuild_in_transaction(
    txn: &DatabaseTransaction,
    backend: Backend,
    current: &Collection,
    plan: &SchemaPlan,
) -> Result<Vec<String>, RepoError> {
    let name = current.name.as_str();
    let builder = backend.db_backend();
    if backend == Backend::Postgres {
        // Other processes' writes wait until the swap commits: none is lost in the copy.
        let lock = format!("LOCK TABLE \"{name}\" IN EXCLUSIVE MODE");
        txn.execute_unprepared(&lock)
            .await
            .map_err(|e| classify(&e))?;
    }
    let drop_stale = Table::drop()
        .table(Alias::new(REBUILD_TABLE))
        .if_exists()
        .to_owned();
    txn.execute(&drop_stale).await.map_err(|e| classify(&e))?;
    let create = table::create_statement(backend, REBUILD_TABLE, &plan.next);
    txn.execute(&create).await.map_err(|e| classify(&e))?;
    let copied = copy_rows(txn, backend, current, plan).await?;
    let drop = Table::drop().table(Alias::new(name)).to_owned();
    txn.execute(&drop).await.map_err(|e| classify(&e))?;
    let rename = Table::rename()
        .table(Alias::new(REBUILD_TABLE), Alias::new(name))
        .to_owned();
    txn.execute(&rename).await.map_err(|e| classify(&e))?;
    if backend == Backend::Postgres {
        let reset = format!(
            "SELECT setval(pg_get_serial_sequence('\"{name}\"', '{PKID}'), COALESCE(MAX(\"{PKID}\"), 0) + 1, false) FROM \"{name}\""
        );
        txn.execute_unprepared(&reset)
            .await
            .map_err(|e| classify(&e))?;
    }
    let mut statements = vec![
        builder.build(&create).to_string(),
        format!("-- copy {copied} rows from \"{name}\", converting changed columns"),
        builder.build(&drop).to_string(),
        builder.build(&rename).to_string(),
    ];
    // The old table's indexes went with it; the next schema's are made on the new one.
    for index in &plan.next.indexes {
        let sql = crate::indexes::create_sql(backend, &plan.next, index, name);
        txn.execute_unprepared(&sql)
            .await
            .map_err(|e| classify(&e))?;
        statements.push(sql);
    }
    Ok(statements)
}

/// Copies every row of `current` into the rebuild table, converting each planned column.
pub async fn copy_rows(
    txn: &impl ConnectionTrait,
    backend: Backend,
    current: &Collection,
    plan: &SchemaPlan,
) -> Result<u64, RepoError> {
    // Where each next column's value comes from in a current record (None: added).
    let sources: Vec<Option<usize>> = plan
        .columns
        .iter()
        .map(|p| {
            p.source
                .as_ref()
                .and_then(|s| current.column_index(s.as_str()))
        })
        .collect();
    let mut last_pkid = 0_i64;
    let mut copied = 0_u64;
    loop {
        let select = Query::select()
            .column(Alias::new(PKID))
            .columns(table::select_columns(current))
            .from(Alias::new(current.name.as_str()))
            .and_where(Expr::col(Alias::new(PKID)).gt(last_pkid))
            .order_by(Alias::new(PKID), Order::Asc)
            .limit(REBUILD_BATCH)
            .to_owned();
        let rows = shaped::query_all(txn, current, &select).await?;
        if rows.is_empty() {
            return Ok(copied);
        }
        let mut insert = Query::insert();
        insert.into_table(Alias::new(REBUILD_TABLE)).columns(
            [PKID, ID, CREATED_AT, UPDATED_AT, VERSION]
                .into_iter()
                .map(Alias::new)
                .chain(
                    plan.next
                        .columns
                        .iter()
                        .map(|c| Alias::new(c.name.as_str())),
                ),
        );
        for row in &rows {
            last_pkid = get::<i64>(row, 0)?.unwrap_or(last_pkid);
            let record = table::decode_record(backend, row, current, 1)?;
            let mut values = vec![
                last_pkid.into(),
                record.id.to_string().into(),
                backend.bind_datetime(&record.created_at),
                backend.bind_datetime(&record.updated_at),
                record.version.into(),
            ];
            for (planned, source) in plan.columns.iter().zip(&sources) {
                let column = &planned.column;
                let value = match source {
                    Some(i) => {
                        let (_, old) = &record.fields[*i];
                        old.clone().convert(column.field_type).map_err(|why| {
                            RepoError::Invalid(FieldError::invalid(
                                column.name.as_str(),
                                format!(
                                    "existing value cannot become {}: {why}",
                                    column.field_type
                                ),
                            ))
                        })?
                    }
                    None => Value::type_default(column.field_type),
                };
                if let Err(why) = moon_domain::portable::check_for_column(column, &value) {
                    return Err(RepoError::Invalid(FieldError::invalid(
                        column.name.as_str(),
                        format!("an existing value does not fit: {why}"),
                    )));
                }
                if value.is_null() && !column.nullable {
                    return Err(RepoError::Invalid(FieldError::invalid(
                        column.name.as_str(),
                        "existing records hold null values; it cannot become required",
                    )));
                }
                values.push(backend.bind(&value, column.field_type));
            }
            insert
                .values(values.into_iter().map(Expr::val))
                .map_err(crate::error::internal)?;
        }
        shaped::execute(txn, &plan.next, &insert).await?;
        copied += rows.len() as u64;
    }
}
