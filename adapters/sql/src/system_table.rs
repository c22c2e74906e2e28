//! Small helpers for Moon's own system tables (users, sessions, keys, webhooks, ...): their
//! identifiers are fixed strings, never user input.

use sea_query::{Alias, ColumnDef, ColumnType, StringLen};

/// A system table or column name.
#[must_use]
pub fn ident(name: &str) -> Alias {
    Alias::new(name)
}

/// A `VARCHAR(len)` column of a system table.
#[must_use]
pub fn varchar(name: &str, len: u32) -> ColumnDef {
    ColumnDef::new_with_type(ident(name), ColumnType::String(StringLen::N(len)))
}

/// Creates a system table's index unless it exists (MySQL has no `IF NOT EXISTS` for
/// indexes: its "duplicate key name" error means the index is there).
///
/// # Errors
/// [`moon_domain::RepoError`] for any other refusal.
pub async fn ensure_index(
    conn: &impl sea_orm::ConnectionTrait,
    index: &sea_query::IndexCreateStatement,
) -> Result<(), moon_domain::RepoError> {
    match conn.execute(index).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            if text.contains("Duplicate key name") || text.contains("already exists") {
                Ok(())
            } else {
                Err(crate::error::classify(&e))
            }
        }
    }
}
