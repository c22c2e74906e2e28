//! The physical shape of a collection table: system columns, user columns, and how a
//! row is selected and decoded by the registry's types.

use moon_domain::{Collection, Record, RecordId, RepoError};
use sea_orm::QueryResult;
use sea_query::{Alias, ColumnDef, Table, TableCreateStatement};

use crate::dialect::{Backend, get};
use crate::error::internal;

/// The internal auto-increment key (never in a response).
pub const PKID: &str = "pkid";
/// The record id (ULID).
pub const ID: &str = "id";
pub const CREATED_AT: &str = "created_at";
pub const UPDATED_AT: &str = "updated_at";
/// The internal row version (never in a response; ETags use it).
pub const VERSION: &str = "_version";

/// The system columns every record row starts with, in select order.
const SYSTEM_SELECT: [&str; 4] = [ID, CREATED_AT, UPDATED_AT, VERSION];

/// `CREATE TABLE` for `collection` under the name `table`.
#[must_use]
pub fn create_statement(
    backend: Backend,
    table: &str,
    collection: &Collection,
) -> TableCreateStatement {
    let datetime = backend.column_type(moon_domain::FieldType::Datetime);
    let mut stmt = Table::create();
    stmt.table(Alias::new(table))
        .col(
            ColumnDef::new(Alias::new(PKID))
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(
            ColumnDef::new_with_type(Alias::new(ID), backend.id_type())
                .not_null()
                .unique_key(),
        )
        .col(ColumnDef::new_with_type(Alias::new(CREATED_AT), datetime.clone()).not_null())
        .col(ColumnDef::new_with_type(Alias::new(UPDATED_AT), datetime).not_null())
        .col(
            ColumnDef::new(Alias::new(VERSION))
                .big_integer()
                .not_null()
                .default(1),
        );
    if backend == Backend::MySql {
        // Binary collation: strings compare and sort by code point, case-sensitively.
        stmt.character_set("utf8mb4").collate("utf8mb4_bin");
    }
    for column in &collection.columns {
        let mut def = ColumnDef::new_with_type(
            Alias::new(column.name.as_str()),
            backend.column_type(column.field_type),
        );
        if column.nullable {
            def.null();
        } else {
            def.not_null();
        }
        if column.unique {
            def.unique_key();
        }
        stmt.col(&mut def);
    }
    if backend == Backend::MySql {
        // Inline, so the table and its indexes come in one atomic statement.
        for mut index in crate::indexes::mysql_inline(collection) {
            stmt.index(&mut index);
        }
    }
    stmt.to_owned()
}

/// The columns a record is selected with: the system ones, then the user ones.
pub fn select_columns(collection: &Collection) -> impl Iterator<Item = Alias> + '_ {
    SYSTEM_SELECT.iter().map(|c| Alias::new(*c)).chain(
        collection
            .columns
            .iter()
            .map(|c| Alias::new(c.name.as_str())),
    )
}

/// Decodes a row selected with [`select_columns`], starting at column `offset`.
///
/// # Errors
/// [`RepoError::Internal`] when a stored value does not decode as its column's type.
pub fn decode_record(
    backend: Backend,
    row: &QueryResult,
    collection: &Collection,
    offset: usize,
) -> Result<Record, RepoError> {
    let missing = |what: &str| internal(format!("{what} is null in '{}'", collection.name));
    let id = get::<String>(row, offset)?.ok_or_else(|| missing(ID))?;
    let id = RecordId::parse(id.trim()).map_err(internal)?;
    let created_at = backend
        .decode_datetime(row, offset + 1)?
        .ok_or_else(|| missing(CREATED_AT))?;
    let updated_at = backend
        .decode_datetime(row, offset + 2)?
        .ok_or_else(|| missing(UPDATED_AT))?;
    let version = get::<i64>(row, offset + 3)?.unwrap_or(1);
    let fields = collection
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            backend
                .decode(row, offset + 4 + i, column.field_type)
                .map(|v| (column.name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Record {
        id,
        created_at,
        updated_at,
        version,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, Column, ColumnName, FieldType};
    use sea_query::SqliteQueryBuilder;

    #[test]
    fn sqlite_tables_carry_system_columns_then_user_columns() {
        let collection = Collection {
            name: CollectionName::parse("products").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![Column {
                name: ColumnName::parse("title").unwrap_or_else(|e| panic!("{e}")),
                field_type: FieldType::String,
                nullable: false,
                unique: true,
            }],
            indexes: Vec::new(),
            version: 1,
        };
        let sql = create_statement(Backend::Sqlite, "products", &collection)
            .to_string(SqliteQueryBuilder);
        assert_eq!(
            sql,
            r#"CREATE TABLE "products" ( "pkid" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "id" varchar(26) NOT NULL UNIQUE, "created_at" text NOT NULL, "updated_at" text NOT NULL, "_version" integer NOT NULL DEFAULT 1, "title" text NOT NULL UNIQUE )"#
        );
    }
}
