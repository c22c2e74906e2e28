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
mod tests {
    use super::*;
    use crate::field_type::FieldType;
    use crate::name::CollectionName;

    fn name(raw: &str) -> ColumnName {
        ColumnName::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn col(raw: &str, field_type: FieldType) -> Column {
        Column {
            name: name(raw),
            field_type,
            nullable: true,
            unique: false,
        }
    }

    fn current() -> Collection {
        Collection {
            name: CollectionName::parse("items").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![
                col("alpha", FieldType::String),
                col("beta", FieldType::Integer),
            ],
            indexes: Vec::new(),
            version: 3,
        }
    }

    #[test]
    fn operations_apply_in_order_and_track_sources() {
        let change = SchemaChange {
            rename: vec![ColumnRename {
                from: name("alpha"),
                to: name("gamma"),
            }],
            modify: vec![col("gamma", FieldType::Integer)],
            add: vec![col("delta", FieldType::Boolean)],
            remove: vec![name("beta")],
            ..Default::default()
        };
        let plan = change
            .plan(&current(), 100)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.next.version, 4);
        let got: Vec<_> = plan
            .columns
            .iter()
            .map(|p| {
                (
                    p.column.name.as_str(),
                    p.source.as_ref().map(ColumnName::as_str),
                )
            })
            .collect();
        assert_eq!(got, [("gamma", Some("alpha")), ("delta", None)]);
        assert_eq!(plan.next.columns[0].field_type, FieldType::Integer);
    }

    #[test]
    fn bad_operations_name_the_field() {
        let unknown = SchemaChange {
            remove: vec![name("nope")],
            ..Default::default()
        };
        assert!(
            matches!(unknown.plan(&current(), 100), Err(SchemaError::Field(f)) if f.field == "remove_columns[0]")
        );
        let clash = SchemaChange {
            rename: vec![ColumnRename {
                from: name("alpha"),
                to: name("beta"),
            }],
            ..Default::default()
        };
        assert!(
            matches!(clash.plan(&current(), 100), Err(SchemaError::Field(f)) if f.field == "rename_columns[0].new_name")
        );
        let too_many = SchemaChange {
            add: vec![col("delta", FieldType::Json)],
            ..Default::default()
        };
        assert_eq!(
            too_many.plan(&current(), 2),
            Err(SchemaError::TooManyColumns { max: 2 })
        );
        assert!(SchemaChange::default().plan(&current(), 100).is_err());
        let empty = SchemaChange {
            remove: vec![name("alpha"), name("beta")],
            ..Default::default()
        };
        assert!(empty.plan(&current(), 100).is_err());
    }

    #[test]
    fn new_collections_need_distinct_columns() {
        assert!(check_columns(&[], 10).is_err());
        assert!(
            check_columns(
                &[col("alpha", FieldType::Json), col("alpha", FieldType::Json)],
                10
            )
            .is_err()
        );
        assert_eq!(
            check_columns(
                &[col("alpha", FieldType::Json), col("beta", FieldType::Json)],
                1
            ),
            Err(SchemaError::TooManyColumns { max: 1 })
        );
    }
}
