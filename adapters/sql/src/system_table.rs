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
