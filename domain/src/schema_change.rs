//! Schema changes: checks a new collection's columns, and plans a `collections:update`
//! (rename → modify → add → remove) into the next schema plus where each column comes from.

use crate::collection::{Collection, Column};
use crate::error::FieldError;
use crate::index::{Index, IndexName};
use crate::name::ColumnName;

/// Why a schema (new or changed) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("{}: {}", .0.field, .0.message)]
    Field(FieldError),
    #[error("a collection may have at most {max} columns")]
    TooManyColumns { max: usize },
}

/// One `rename_columns` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRename {
    pub from: ColumnName,
    pub to: ColumnName,
}

/// A whole `collections:update` request, already parsed into names and columns; the index
/// changes apply after the column changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaChange {
    pub rename: Vec<ColumnRename>,
    pub modify: Vec<Column>,
    pub add: Vec<Column>,
    pub remove: Vec<ColumnName>,
    pub add_indexes: Vec<Index>,
    pub remove_indexes: Vec<IndexName>,
}

/// One column of the next schema and where its data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedColumn {
    pub column: Column,
    /// The column's name in the current table; `None` for an added column.
    pub source: Option<ColumnName>,
}

/// The outcome of planning a change: the next schema (version bumped) and its columns'
/// sources, in the next schema's column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaPlan {
    pub next: Collection,
    pub columns: Vec<PlannedColumn>,
}

impl SchemaPlan {
    /// The added columns that are required (allowed only while the table is empty).
    pub fn added_required(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|p| p.source.is_none() && !p.column.nullable)
            .map(|p| &p.column)
    }

    /// The added unique columns whose type default is a value (every type but datetime):
    /// existing records would all get it, so allowed only while at most one record exists.
    pub fn added_unique_with_default(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|p| {
                p.source.is_none()
                    && p.column.unique
                    && !crate::value::Value::type_default(p.column.field_type).is_null()
            })
            .map(|p| &p.column)
    }
}

/// Checks the columns of a new collection: at least one, no duplicates, at most `max`.
///
/// # Errors
/// The first rule broken.
pub fn check_columns(columns: &[Column], max: usize) -> Result<(), SchemaError> {
    if columns.is_empty() {
        return Err(SchemaError::Field(FieldError::invalid(
            "columns",
            "at least one column is required",
        )));
    }
    if columns.len() > max {
        return Err(SchemaError::TooManyColumns { max });
    }
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|c| c.name == column.name) {
            return Err(field(
                format!("columns[{i}].name"),
                format!("duplicate column '{}'", column.name),
            ));
        }
    }
    check_unique_count(columns, "columns")
}

/// At most [`MAX_UNIQUE_COLUMNS`](crate::portable::MAX_UNIQUE_COLUMNS) unique columns.
fn check_unique_count(columns: &[Column], field_name: &str) -> Result<(), SchemaError> {
    let max = crate::portable::MAX_UNIQUE_COLUMNS;
    if columns.iter().filter(|c| c.unique).count() > max {
        return Err(field(
            field_name,
            format!("a collection may have at most {max} unique columns"),
        ));
    }
    Ok(())
}

impl SchemaChange {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rename.is_empty()
            && self.modify.is_empty()
            && self.add.is_empty()
            && self.remove.is_empty()
            && self.add_indexes.is_empty()
            && self.remove_indexes.is_empty()
    }

    /// Plans this change against `current`.
    ///
    /// # Errors
    /// The first operation that does not fit the schema as it stands at that step.
    pub fn plan(
        &self,
        current: &Collection,
        max_columns: usize,
    ) -> Result<SchemaPlan, SchemaError> {
        if self.is_empty() {
            return Err(field(
                "name",
                "nothing to change: give rename_columns, modify_columns, add_columns, remove_columns, add_indexes or remove_indexes",
            ));
        }
        let mut cols: Vec<PlannedColumn> = current
            .columns
            .iter()
            .map(|c| PlannedColumn {
                column: c.clone(),
                source: Some(c.name.clone()),
            })
            .collect();
        let position = |cols: &[PlannedColumn], name: &ColumnName| {
            cols.iter().position(|p| &p.column.name == name)
        };

        for (i, r) in self.rename.iter().enumerate() {
            let Some(at) = position(&cols, &r.from) else {
                return Err(field(
                    format!("rename_columns[{i}].old_name"),
                    format!("no column '{}'", r.from),
                ));
            };
            if position(&cols, &r.to).is_some() {
                return Err(field(
                    format!("rename_columns[{i}].new_name"),
                    format!("column '{}' already exists", r.to),
                ));
            }
            cols[at].column.name = r.to.clone();
        }
        for (i, m) in self.modify.iter().enumerate() {
            let Some(at) = position(&cols, &m.name) else {
                return Err(field(
                    format!("modify_columns[{i}].name"),
                    format!("no column '{}'", m.name),
                ));
            };
            cols[at].column = m.clone();
        }
        for (i, a) in self.add.iter().enumerate() {
            if position(&cols, &a.name).is_some() {
                return Err(field(
                    format!("add_columns[{i}].name"),
                    format!("column '{}' already exists", a.name),
                ));
            }
            cols.push(PlannedColumn {
                column: a.clone(),
                source: None,
            });
        }
        for (i, name) in self.remove.iter().enumerate() {
            let Some(at) = position(&cols, name) else {
                return Err(field(
                    format!("remove_columns[{i}]"),
                    format!("no column '{name}'"),
                ));
            };
            cols.remove(at);
        }
        let columns: Vec<Column> = cols.iter().map(|p| p.column.clone()).collect();
        if columns.is_empty() {
            return Err(field(
                "remove_columns",
                "a collection must keep at least one column",
            ));
        }
        if columns.len() > max_columns {
            return Err(SchemaError::TooManyColumns { max: max_columns });
        }
        check_unique_count(&columns, "columns")?;
        let indexes = crate::index::plan(self, current, &columns)?;
        let next = Collection {
            name: current.name.clone(),
            columns,
            indexes,
            version: current.version + 1,
        };
        Ok(SchemaPlan {
            next,
            columns: cols,
        })
    }
}

pub(crate) fn field(name: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError::Field(FieldError::invalid(name, message))
}

#[cfg(test)]
mod tests;
