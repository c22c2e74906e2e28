//! Adoption: a table that exists without Moon's metadata (an existing database) is served
//! after start-up. A table already in Moon's shape only gets its metadata back; any other is
//! rebuilt into Moon's shape (system columns added, its own `id`/timestamps kept as
//! `legacy_*` columns, rows copied with fresh ULIDs), all or nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use moon_domain::ports::{Clock, SystemClock};
use moon_domain::value::{DecimalValue, parse_datetime, parse_decimal};
use moon_domain::{
    Collection, CollectionName, Column, ColumnName, FieldType, RecordId, RepoError, Value,
};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait};
use sea_query::{Alias, Expr, Query, Table};

use crate::catalogue::{self, PhysicalColumn, infer};
use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::{classify, internal};
use crate::metadata;
use crate::rebuild::{OLD_TABLE, REBUILD_TABLE};
use crate::table::{self, CREATED_AT, ID, PKID, UPDATED_AT, VERSION};

const SYSTEM: [&str; 5] = [PKID, ID, CREATED_AT, UPDATED_AT, VERSION];
const INSERT_BATCH: usize = 200;

/// Adopts `table`; `None` (and a warning saying why) when Moon cannot serve it exactly.
///
/// # Errors
/// [`RepoError`] when the database fails; the table is then as it was.
pub async fn adopt(db: &SqlDatabase, table: &str) -> Result<Option<Collection>, RepoError> {
    let skip = |why: String| {
        tracing::warn!(table, "table without Moon metadata not adopted: {why}");
        Ok(None)
    };
    let name = match CollectionName::parse(table) {
        Ok(name) if name.as_str() == table => name,
        Ok(_) => return skip("its name is not lowercase".into()),
        Err(e) => return skip(format!("its name cannot be a collection name: {e}")),
    };
    let physical = catalogue::columns(db, table).await?;
    let moon_shaped = SYSTEM.iter().all(|s| physical.iter().any(|c| c.name == *s));
    let mut columns = Vec::new();
    let mut sources = Vec::new();
    for pc in physical
        .iter()
        .filter(|c| !(moon_shaped && SYSTEM.contains(&c.name.as_str())))
    {
        let Some(field_type) = infer(db.backend, pc) else {
            return skip(format!(
                "column '{}' has type '{}', which no Moon type holds exactly",
                pc.name, pc.sql_type
            ));
        };
        let Some(column_name) = target_name(&pc.name) else {
            return skip(format!("column '{}' cannot be a Moon column name", pc.name));
        };
        if columns.iter().any(|c: &Column| c.name == column_name) {
            return skip(format!("two columns would be called '{column_name}'"));
        }
        columns.push(Column {
            name: column_name,
            field_type,
            nullable: pc.nullable,
            unique: false,
        });
        sources.push(pc.clone());
    }
    if columns.is_empty() {
        return skip("it has no columns Moon could serve".into());
    }
    let collection = Collection {
        name,
        columns,
        indexes: Vec::new(),
        version: 1,
    };
    if moon_shaped {
        metadata::insert(&db.writer, &collection).await?;
    } else {
        let copied = rebuild_foreign(db, &collection, &sources).await?;
        tracing::warn!(
            table,
            rows = copied,
            "rebuilt a foreign table into Moon's shape"
        );
    }
    tracing::warn!(
        table,
        columns = %collection.columns.iter().map(|c| format!("{}:{}", c.name, c.field_type)).collect::<Vec<_>>().join(","),
        "adopted a table without Moon metadata, with inferred types"
    );
    Ok(Some(collection))
}

/// The Moon column name for a foreign column: as is when valid, `legacy_<name>` for the
/// names Moon reserves (`id`, `created_at`, ...).
fn target_name(raw: &str) -> Option<ColumnName> {
    let lower = raw.to_ascii_lowercase();
    ColumnName::parse(&lower)
        .ok()
        .or_else(|| ColumnName::parse(&format!("legacy_{}", lower.trim_start_matches('_'))).ok())
}

/// Copies every row of the foreign table into a Moon-shaped one that takes its place.
async fn rebuild_foreign(
    db: &SqlDatabase,
    collection: &Collection,
    sources: &[PhysicalColumn],
) -> Result<u64, RepoError> {
    let backend = db.backend;
    let table = collection.name.as_str();
    let select = Query::select()
        .columns(sources.iter().map(|c| Alias::new(c.name.as_str())))
        .from(Alias::new(table))
        .to_owned();
    let drop_stale = Table::drop()
        .table(Alias::new(REBUILD_TABLE))
        .if_exists()
        .to_owned();
    let create = table::create_statement(backend, REBUILD_TABLE, collection);
    let now = SystemClock.now();
    let txn = db.writer.begin().await.map_err(|e| classify(&e))?;
    txn.execute(&drop_stale).await.map_err(|e| classify(&e))?;
    txn.execute(&create).await.map_err(|e| classify(&e))?;
    let rows = txn.query_all(&select).await.map_err(|e| classify(&e))?;
    let mut ids = ulid::Generator::new();
    for chunk in rows.chunks(INSERT_BATCH) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new(REBUILD_TABLE)).columns(
            [ID, CREATED_AT, UPDATED_AT, VERSION]
                .into_iter()
                .map(Alias::new)
                .chain(
                    collection
                        .columns
                        .iter()
                        .map(|c| Alias::new(c.name.as_str())),
                ),
        );
        for row in chunk {
            let id = ids.generate().map(RecordId::from_ulid).map_err(internal)?;
            let mut values = vec![
                id.to_string().into(),
                backend.bind_datetime(&now),
                backend.bind_datetime(&now),
                1_i64.into(),
            ];
            for (i, column) in collection.columns.iter().enumerate() {
                let value = decode_foreign(backend, row, i, column.field_type).map_err(|why| {
                    internal(format!(
                        "adopting '{table}', column '{}': {why}",
                        column.name
                    ))
                })?;
                values.push(backend.bind(&value, column.field_type));
            }
            insert
                .values(values.into_iter().map(Expr::val))
                .map_err(internal)?;
        }
        crate::shaped::execute(&txn, collection, &insert).await?;
    }
    if backend == Backend::MySql {
        // MySQL commits DDL implicitly: fill, then swap atomically; a crash before the
        // metadata write leaves a Moon-shaped table that the next start adopts as is.
        txn.commit().await.map_err(|e| classify(&e))?;
        let swap =
            format!("RENAME TABLE `{table}` TO `{OLD_TABLE}`, `{REBUILD_TABLE}` TO `{table}`");
        db.writer
            .execute_unprepared(&swap)
            .await
            .map_err(|e| classify(&e))?;
        metadata::insert(&db.writer, collection).await?;
        let drop_old = Table::drop().table(Alias::new(OLD_TABLE)).to_owned();
        db.writer
            .execute(&drop_old)
            .await
            .map_err(|e| classify(&e))?;
    } else {
        txn.execute(&Table::drop().table(Alias::new(table)).to_owned())
            .await
            .map_err(|e| classify(&e))?;
        let rename = Table::rename()
            .table(Alias::new(REBUILD_TABLE), Alias::new(table))
            .to_owned();
        txn.execute(&rename).await.map_err(|e| classify(&e))?;
        metadata::insert(&txn, collection).await?;
        txn.commit().await.map_err(|e| classify(&e))?;
    }
    Ok(rows.len() as u64)
}

/// Reads a foreign value: first as Moon stores the type, then in the other forms engines
/// use for it (narrower integers, naive timestamps, text).
fn decode_foreign(
    backend: Backend,
    row: &QueryResult,
    index: usize,
    ty: FieldType,
) -> Result<Value, String> {
    if let Ok(value) = backend.decode(row, index, ty) {
        return Ok(value);
    }
    let fallback = match ty {
        FieldType::Integer => get::<i32>(row, index)
            .map(|v| v.map(|i| Value::Integer(i64::from(i))))
            .or_else(|_| get::<i16>(row, index).map(|v| v.map(|i| Value::Integer(i64::from(i)))))
            .ok(),
        FieldType::Boolean => get::<i64>(row, index)
            .ok()
            .map(|v| v.map(|i| Value::Bool(i != 0))),
        FieldType::Datetime => get::<NaiveDateTime>(row, index)
            .map(|v| v.map(|n| Value::DateTime(n.and_utc())))
            .or_else(|_| get::<DateTime<Utc>>(row, index).map(|v| v.map(Value::DateTime)))
            .ok(),
        FieldType::Decimal { scale } => {
            if let Ok(v) = get::<i64>(row, index) {
                Some(v.map(|i| {
                    let mut d = DecimalValue::from(i);
                    d.rescale(scale);
                    Value::Decimal(d)
                }))
            } else if let Ok(v) = get::<f64>(row, index) {
                // SQLite keeps NUMERIC as REAL; its shortest text form must fit the scale.
                let parsed = v
                    .map(|f| parse_decimal(&f.to_string(), scale))
                    .transpose()?;
                Some(parsed.map(Value::Decimal))
            } else {
                None
            }
        }
        FieldType::Json => get::<serde_json::Value>(row, index)
            .ok()
            .map(|v| v.map(Value::Json)),
        FieldType::String => None,
    };
    if let Some(value) = fallback {
        return Ok(value.unwrap_or(Value::Null));
    }
    let text = get::<String>(row, index).map_err(|e| e.to_string())?;
    let Some(text) = text else {
        return Ok(Value::Null);
    };
    if ty == FieldType::Datetime {
        if let Ok(dt) = parse_datetime(&text) {
            return Ok(Value::DateTime(dt));
        }
        let naive = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f"))
            .map_err(|_| format!("'{text}' is not a datetime"))?;
        return Ok(Value::DateTime(naive.and_utc()));
    }
    Value::Text(text).convert(ty)
}
