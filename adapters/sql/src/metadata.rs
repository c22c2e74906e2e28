//! The `moon_collections` system table: each collection's schema as the API sees it,
//! the source of truth the registry is loaded from.

use moon_domain::SchemaAction;
use moon_domain::{
    Collection, CollectionName, Column, ColumnName, FieldType, Index, IndexKey, RepoError,
};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};
use serde::{Deserialize, Serialize};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::{classify, internal};

/// The system table's name.
pub const TABLE: &str = "moon_collections";
/// Schema changes begun but not finished (MySQL, whose DDL cannot share a transaction).
pub const INTENTS: &str = "moon_schema_intents";

/// One column as stored in the metadata.
#[derive(Debug, Serialize, Deserialize)]
struct StoredColumn {
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<u32>,
    nullable: bool,
    unique: bool,
}

/// Creates the system tables when missing.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn ensure_tables(db: &SqlDatabase) -> Result<(), RepoError> {
    let backend = db.backend;
    let stmt = Table::create()
        .table(Alias::new(TABLE))
        .if_not_exists()
        .col(
            ColumnDef::new_with_type(Alias::new("name"), backend.name_type())
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(Alias::new("version"))
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Alias::new("columns")).text().not_null())
        .to_owned();
    db.writer.execute(&stmt).await.map_err(|e| classify(&e))?;
    let intents = Table::create()
        .table(Alias::new(INTENTS))
        .if_not_exists()
        .col(
            ColumnDef::new_with_type(Alias::new("name"), backend.name_type())
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(Alias::new("version"))
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Alias::new("columns")).text().not_null())
        .to_owned();
    db.writer
        .execute(&intents)
        .await
        .map_err(|e| classify(&e))?;
    crate::epochs::ensure(db).await
}

/// Every stored collection, in name order.
///
/// # Errors
/// [`RepoError`] when the table cannot be read or a row does not decode.
pub async fn load_all(db: &SqlDatabase) -> Result<Vec<Collection>, RepoError> {
    load_from(db, TABLE).await
}

/// Every recorded intent: the schema a collection was being changed to.
///
/// # Errors
/// [`RepoError`] when the table cannot be read or a row does not decode.
pub async fn load_intents(db: &SqlDatabase) -> Result<Vec<Collection>, RepoError> {
    load_from(db, INTENTS).await
}

async fn load_from(db: &SqlDatabase, table: &str) -> Result<Vec<Collection>, RepoError> {
    let select = Query::select()
        .columns([
            Alias::new("name"),
            Alias::new("version"),
            Alias::new("columns"),
        ])
        .from(Alias::new(table))
        .order_by(Alias::new("name"), sea_query::Order::Asc)
        .to_owned();
    let rows = db
        .writer
        .query_all(&select)
        .await
        .map_err(|e| classify(&e))?;
    rows.iter()
        .map(|row| {
            let name = get::<String>(row, 0)?.unwrap_or_default();
            let version = get::<i64>(row, 1)?.unwrap_or(1);
            let columns = get::<String>(row, 2)?.unwrap_or_default();
            decode(&name, version, &columns)
        })
        .collect()
}

/// One index as stored in the metadata (keys in their wire form, `-` descending).
#[derive(Debug, Serialize, Deserialize)]
struct StoredIndex {
    name: String,
    columns: Vec<String>,
    unique: bool,
}

/// The stored schema: the column list alone (as every version before indexes wrote it),
/// or columns with indexes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredSchema {
    Columns(Vec<StoredColumn>),
    WithIndexes {
        columns: Vec<StoredColumn>,
        indexes: Vec<StoredIndex>,
    },
}

fn decode(name: &str, version: i64, columns: &str) -> Result<Collection, RepoError> {
    let bad = |why: String| internal(format!("metadata of '{name}': {why}"));
    let name = CollectionName::parse(name).map_err(|e| bad(e.to_string()))?;
    let (stored, stored_indexes) =
        match serde_json::from_str(columns).map_err(|e| bad(e.to_string()))? {
            StoredSchema::Columns(columns) => (columns, Vec::new()),
            StoredSchema::WithIndexes { columns, indexes } => (columns, indexes),
        };
    let columns = stored
        .into_iter()
        .map(|c| {
            Ok(Column {
                name: ColumnName::parse(&c.name).map_err(|e| bad(e.to_string()))?,
                field_type: FieldType::from_wire(&c.field_type, c.scale)
                    .ok_or_else(|| bad(format!("unknown type '{}'", c.field_type)))?,
                nullable: c.nullable,
                unique: c.unique,
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let indexes = stored_indexes
        .into_iter()
        .map(|ix| {
            Ok(Index {
                name: ColumnName::parse(&ix.name).map_err(|e| bad(e.to_string()))?,
                keys: ix.columns.iter().map(|k| IndexKey::parse(k)).collect(),
                unique: ix.unique,
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(Collection {
        name,
        columns,
        indexes,
        // A negative version marks a MySQL change in progress (see `mark_changing`).
        version: Ord::max(version.unsigned_abs(), 1),
    })
}

fn encode(collection: &Collection) -> Result<String, RepoError> {
    let columns: Vec<StoredColumn> = collection
        .columns
        .iter()
        .map(|c| StoredColumn {
            name: c.name.to_string(),
            field_type: c.field_type.wire_name().to_owned(),
            scale: c.field_type.scale(),
            nullable: c.nullable,
            unique: c.unique,
        })
        .collect();
    let stored = if collection.indexes.is_empty() {
        StoredSchema::Columns(columns)
    } else {
        let indexes = collection
            .indexes
            .iter()
            .map(|ix| StoredIndex {
                name: ix.name.to_string(),
                columns: ix.keys.iter().map(IndexKey::wire).collect(),
                unique: ix.unique,
            })
            .collect();
        StoredSchema::WithIndexes { columns, indexes }
    };
    serde_json::to_string(&stored).map_err(internal)
}

pub(crate) fn version(collection: &Collection) -> i64 {
    i64::try_from(collection.version).unwrap_or(i64::MAX)
}

/// Records a new collection, on `conn` (the transaction that creates its table), at the
/// schema epoch its own bump reached: returns that version. Every schema change bumps the
/// epoch and an alter adds 1 to the version, so no earlier collection of the same name ever
/// had it, and a write validated against a dropped namesake cannot pass the version guard.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn insert(
    conn: &impl ConnectionTrait,
    collection: &Collection,
) -> Result<u64, RepoError> {
    use crate::epochs::{Epoch, TABLE as EPOCHS};
    crate::epochs::bump(conn, Epoch::Schema).await?;
    let epoch = Query::select()
        .expr(Expr::val(collection.name.as_str()))
        .column(Alias::new("epoch"))
        .expr(Expr::val(encode(collection)?))
        .from(Alias::new(EPOCHS))
        .and_where(Expr::col(Alias::new("id")).eq(Epoch::Schema as i32))
        .to_owned();
    let stmt = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns([
            Alias::new("name"),
            Alias::new("version"),
            Alias::new("columns"),
        ])
        .select_from(epoch)
        .map_err(internal)?
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    let stored = Query::select()
        .column(Alias::new("version"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("name")).eq(collection.name.as_str()))
        .to_owned();
    let row = conn.query_one(&stored).await.map_err(|e| classify(&e))?;
    let version = row.map(|r| get::<i64>(&r, 0)).transpose()?.flatten();
    log_schema(
        conn,
        &collection.name,
        version.unwrap_or(1),
        SchemaAction::Create,
    )
    .await?;
    // Bumped again now the row is in. Outside a transaction (MySQL's create, whose DDL
    // commits anyway; adoption) another instance could read the first bump before the row
    // existed, reload without the collection and never look again: `big` stayed a 404 there.
    crate::epochs::bump(conn, Epoch::Schema).await?;
    Ok(version.and_then(|v| u64::try_from(v).ok()).unwrap_or(1))
}

/// Logs a schema change of `name` at `version` (API.md §10), in the change's transaction.
async fn log_schema(
    conn: &impl ConnectionTrait,
    name: &CollectionName,
    version: i64,
    action: SchemaAction,
) -> Result<(), RepoError> {
    let change = moon_domain::NewChange {
        kind: moon_domain::ChangeKind::Schema,
        collection: name.as_str(),
        record_id: None,
        record: Some(action.name().to_owned()),
        version,
        at: chrono::Utc::now(),
    };
    crate::changes::append(conn, &change).await
}

/// Records that `next` is about to replace its collection's schema (cleared by
/// [`clear_intent`] once the metadata says so).
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn record_intent(
    conn: &impl ConnectionTrait,
    next: &Collection,
) -> Result<(), RepoError> {
    clear_intent(conn, &next.name).await?;
    insert_into(conn, INTENTS, next).await
}

/// Forgets the intent recorded for `name`, if any.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn clear_intent(
    conn: &impl ConnectionTrait,
    name: &CollectionName,
) -> Result<(), RepoError> {
    delete_from(conn, INTENTS, name).await
}

async fn insert_into(
    conn: &impl ConnectionTrait,
    table: &str,
    collection: &Collection,
) -> Result<(), RepoError> {
    let stmt = Query::insert()
        .into_table(Alias::new(table))
        .columns([
            Alias::new("name"),
            Alias::new("version"),
            Alias::new("columns"),
        ])
        .values_panic([
            collection.name.as_str().into(),
            version(collection).into(),
            encode(collection)?.into(),
        ])
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    Ok(())
}

/// Replaces a collection's stored schema, on `conn`.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn update(conn: &impl ConnectionTrait, collection: &Collection) -> Result<(), RepoError> {
    let stmt = Query::update()
        .table(Alias::new(TABLE))
        .value(Alias::new("version"), version(collection))
        .value(Alias::new("columns"), encode(collection)?)
        .and_where(Expr::col(Alias::new("name")).eq(collection.name.as_str()))
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    log_schema(
        conn,
        &collection.name,
        version(collection),
        SchemaAction::Alter,
    )
    .await?;
    crate::epochs::bump(conn, crate::epochs::Epoch::Schema).await
}

/// Forgets a collection's stored schema, on `conn`.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn delete(conn: &impl ConnectionTrait, name: &CollectionName) -> Result<(), RepoError> {
    let stored = Query::select()
        .column(Alias::new("version"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("name")).eq(name.as_str()))
        .to_owned();
    let row = conn.query_one(&stored).await.map_err(|e| classify(&e))?;
    let dropped = row.map(|r| get::<i64>(&r, 0)).transpose()?.flatten();
    delete_from(conn, TABLE, name).await?;
    if let Some(version) = dropped {
        log_schema(conn, name, version, SchemaAction::Drop).await?;
    }
    crate::epochs::bump(conn, crate::epochs::Epoch::Schema).await
}

async fn delete_from(
    conn: &impl ConnectionTrait,
    table: &str,
    name: &CollectionName,
) -> Result<(), RepoError> {
    let stmt = Query::delete()
        .from_table(Alias::new(table))
        .and_where(Expr::col(Alias::new("name")).eq(name.as_str()))
        .to_owned();
    conn.execute(&stmt).await.map_err(|e| classify(&e))?;
    Ok(())
}
