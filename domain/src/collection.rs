//! The schema of one collection as the API sees it.

use crate::field_type::FieldType;
use crate::name::{CollectionName, ColumnName};

/// One user column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: ColumnName,
    pub field_type: FieldType,
    pub nullable: bool,
    pub unique: bool,
}

/// A collection: its name, its user columns in order, its declared indexes, and its schema
/// version (bumped by every change to it; ETags and cursors use it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub name: CollectionName,
    pub columns: Vec<Column>,
    pub indexes: Vec<crate::index::Index>,
    pub version: u64,
}

impl Collection {
    /// The column called `name`, if any (a linear scan: collections are small and this
    /// beats hashing for the usual ten-odd columns).
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// The position of the column called `name`, if any.
    #[must_use]
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.as_str() == name)
    }
}
