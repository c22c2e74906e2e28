//! Statements on collection tables, their text tagged with the shape they were built for:
//! drivers cache prepared statements per connection by text, and PostgreSQL fixes a prepared
//! statement's parameter and result types, so a statement must never outlive its shape.

use std::fmt::Write as _;

use moon_domain::{Collection, RepoError};
use sea_orm::{ConnectionTrait, DbBackend, ExecResult, QueryResult, Statement, StatementBuilder};
use sea_query::SelectStatement;

use crate::error::classify;

/// `stmt` built for `conn`'s engine, its text opened by a comment naming the collection and a
/// fingerprint of its column names and types (a type change, or a collection dropped and made
/// again with other types, gives new text, so no cached statement is reused).
pub fn tagged(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    stmt: &impl StatementBuilder,
) -> Statement {
    let mut statement = conn.get_database_backend().build(stmt);
    statement.sql = tag(
        collection.name.as_str(),
        fingerprint(collection),
        &statement.sql,
    );
    statement
}

/// `sql` opened by the comment [`tagged`] gives statements on `name` of shape `fingerprint`.
#[must_use]
pub fn tag(name: &str, fingerprint: u64, sql: &str) -> String {
    format!("/* moon {name} {fingerprint:016x} */ {sql}")
}

/// FNV-1a over the column names and wire types (with scale), stable across processes.
#[must_use]
pub fn fingerprint(collection: &Collection) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(PRIME);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(PRIME);
    };
    for column in &collection.columns {
        feed(column.name.as_str().as_bytes());
        feed(column.field_type.wire_name().as_bytes());
        feed(&column.field_type.scale().unwrap_or(0).to_le_bytes());
    }
    hash
}

/// Executes `stmt` on a table of `collection`.
///
/// # Errors
/// The classified [`RepoError`].
pub async fn execute(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    stmt: &impl StatementBuilder,
) -> Result<ExecResult, RepoError> {
    conn.execute_raw(tagged(conn, collection, stmt))
        .await
        .map_err(|e| classify(&e))
}

/// The first row of `stmt` on a table of `collection`.
///
/// # Errors
/// The classified [`RepoError`].
pub async fn query_one(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    stmt: &impl StatementBuilder,
) -> Result<Option<QueryResult>, RepoError> {
    conn.query_one_raw(tagged(conn, collection, stmt))
        .await
        .map_err(|e| classify(&e))
}

/// Every row of `stmt` on a table of `collection`.
///
/// # Errors
/// The classified [`RepoError`].
pub async fn query_all(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    stmt: &impl StatementBuilder,
) -> Result<Vec<QueryResult>, RepoError> {
    conn.query_all_raw(tagged(conn, collection, stmt))
        .await
        .map_err(|e| classify(&e))
}

/// The first `limit` rows of `select` on a table of `collection`. SQLite's planner reads a
/// bound `LIMIT`, so it prepares its statement again every time the limit is bound again (a
/// sixth of a 20-record page's instructions); there the limit is written into the text
/// instead, which leaves a few statements per collection, each prepared once.
///
/// # Errors
/// The classified [`RepoError`].
pub async fn query_page(
    conn: &impl ConnectionTrait,
    collection: &Collection,
    select: &SelectStatement,
    limit: u64,
) -> Result<Vec<QueryResult>, RepoError> {
    let statement = if conn.get_database_backend() == DbBackend::Sqlite {
        let mut statement = tagged(conn, collection, select);
        let _ = write!(statement.sql, " LIMIT {limit}");
        statement
    } else {
        tagged(conn, collection, select.clone().limit(limit))
    };
    conn.query_all_raw(statement)
        .await
        .map_err(|e| classify(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, Column, ColumnName, FieldType};

    fn things(ty: FieldType) -> Collection {
        Collection {
            name: CollectionName::parse("things").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![Column {
                name: ColumnName::parse("val").unwrap_or_else(|e| panic!("{e}")),
                field_type: ty,
                nullable: true,
                unique: false,
            }],
            indexes: Vec::new(),
            version: 1,
        }
    }

    #[test]
    fn every_type_and_scale_gives_other_text() {
        let shapes = [
            FieldType::String,
            FieldType::Integer,
            FieldType::Boolean,
            FieldType::Datetime,
            FieldType::Json,
            FieldType::Decimal { scale: 2 },
            FieldType::Decimal { scale: 4 },
        ];
        let prints: std::collections::HashSet<u64> =
            shapes.iter().map(|t| fingerprint(&things(*t))).collect();
        assert_eq!(prints.len(), shapes.len());
        assert_eq!(
            fingerprint(&things(FieldType::Json)),
            fingerprint(&things(FieldType::Json)),
            "the same shape keeps its statements"
        );
    }
}
