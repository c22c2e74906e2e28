//! Indexes a collection declares through the API (API.md §3): a name, up to five keys over
//! its columns or system fields (each ascending or descending), optionally unique.

use crate::collection::{Collection, Column};
use crate::error::FieldError;
use crate::field_type::FieldType;
use crate::name::ColumnName;
use crate::schema_change::{SchemaChange, SchemaError, field};

/// Keys one index may have.
pub const MAX_INDEX_KEYS: usize = 5;
/// Indexes one collection may have (a portable limit: the same on every engine).
pub const MAX_INDEXES: usize = 32;
/// The system fields an index may name besides the user columns.
pub const INDEXABLE_SYSTEM_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// An index's name, by the column-name rules.
pub type IndexName = ColumnName;

/// One key of an index: a column or system field, and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub field: String,
    pub descending: bool,
}

impl IndexKey {
    /// Parses `brand` or `-price` (descending).
    #[must_use]
    pub fn parse(raw: &str) -> Self {
        match raw.strip_prefix('-') {
            Some(field) => Self {
                field: field.to_owned(),
                descending: true,
            },
            None => Self {
                field: raw.to_owned(),
                descending: false,
            },
        }
    }

    /// The wire form: `brand`, `-price`.
    #[must_use]
    pub fn wire(&self) -> String {
        if self.descending {
            format!("-{}", self.field)
        } else {
            self.field.clone()
        }
    }

    /// Whether the key names a system field.
    #[must_use]
    pub fn is_system(&self) -> bool {
        INDEXABLE_SYSTEM_FIELDS.contains(&self.field.as_str())
    }
}

/// A declared index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: IndexName,
    pub keys: Vec<IndexKey>,
    pub unique: bool,
}

impl Index {
    /// The user column or system field type of each key in `collection`'s columns.
    fn key_type(key: &IndexKey, columns: &[Column]) -> Option<FieldType> {
        if key.is_system() {
            return Some(if key.field == "id" {
                FieldType::String
            } else {
                FieldType::Datetime
            });
        }
        columns
            .iter()
            .find(|c| c.name.as_str() == key.field)
            .map(|c| c.field_type)
    }

    /// Whether the index names the column `name`.
    #[must_use]
    pub fn covers(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k.field == name)
    }
}

/// Checks `indexes` against `columns`: `path(i)` names the i-th index in errors.
///
/// # Errors
/// The first rule broken: too many, a duplicate name, no or too many keys, a key twice, an
/// unknown field, or a `json` column (no engine orders JSON documents the same way).
pub fn check_indexes(
    columns: &[Column],
    indexes: &[Index],
    path: impl Fn(usize) -> String,
) -> Result<(), FieldError> {
    if indexes.len() > MAX_INDEXES {
        return Err(FieldError::invalid(
            path(MAX_INDEXES),
            format!("a collection may have at most {MAX_INDEXES} indexes"),
        ));
    }
    for (i, index) in indexes.iter().enumerate() {
        if indexes[..i].iter().any(|other| other.name == index.name) {
            return Err(FieldError::invalid(
                format!("{}.name", path(i)),
                format!("index '{}' already exists", index.name),
            ));
        }
        if index.keys.is_empty() || index.keys.len() > MAX_INDEX_KEYS {
            return Err(FieldError::invalid(
                format!("{}.columns", path(i)),
                format!("an index has 1 to {MAX_INDEX_KEYS} columns"),
            ));
        }
        for (j, key) in index.keys.iter().enumerate() {
            let at = format!("{}.columns[{j}]", path(i));
            if index.keys[..j].iter().any(|k| k.field == key.field) {
                return Err(FieldError::invalid(
                    at,
                    format!("'{}' is in the index twice", key.field),
                ));
            }
            match Index::key_type(key, columns) {
                None => {
                    return Err(FieldError::invalid(
                        at,
                        format!("no column '{}'", key.field),
                    ));
                }
                Some(FieldType::Json) => {
                    return Err(FieldError::invalid(
                        at,
                        format!("'{}' is a json column, which cannot be indexed", key.field),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The next indexes: the current ones with renamed columns renamed in them, less the
/// removed, plus the added; an index may not outlive its column nor cover a json one.
pub(crate) fn plan(
    change: &SchemaChange,
    current: &Collection,
    columns: &[Column],
) -> Result<Vec<Index>, SchemaError> {
    let mut indexes = current.indexes.clone();
    for rename in &change.rename {
        for key in indexes.iter_mut().flat_map(|ix| ix.keys.iter_mut()) {
            if key.field == rename.from.as_str() {
                key.field = rename.to.to_string();
            }
        }
    }
    for (i, name) in change.remove_indexes.iter().enumerate() {
        let Some(at) = indexes.iter().position(|ix| &ix.name == name) else {
            return Err(field(
                format!("remove_indexes[{i}]"),
                format!("no index '{name}'"),
            ));
        };
        indexes.remove(at);
    }
    for index in &indexes {
        for key in index.keys.iter().filter(|k| !k.is_system()) {
            let column = columns.iter().find(|c| c.name.as_str() == key.field);
            let named = |list: &[ColumnName]| list.iter().position(|n| n.as_str() == key.field);
            match column {
                None => {
                    let at = named(&change.remove).unwrap_or_default();
                    return Err(field(
                        format!("remove_columns[{at}]"),
                        format!(
                            "column '{}' is in index '{}': remove the index first (remove_indexes)",
                            key.field, index.name
                        ),
                    ));
                }
                Some(c) if c.field_type == FieldType::Json => {
                    let at = change
                        .modify
                        .iter()
                        .position(|m| m.name.as_str() == key.field)
                        .unwrap_or_default();
                    return Err(field(
                        format!("modify_columns[{at}].type"),
                        format!(
                            "column '{}' is in index '{}' and cannot become json",
                            key.field, index.name
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let kept = indexes.len();
    indexes.extend(change.add_indexes.iter().cloned());
    check_indexes(columns, &indexes, |i| {
        if i >= kept {
            format!("add_indexes[{}]", i - kept)
        } else {
            "indexes".to_owned()
        }
    })
    .map_err(SchemaError::Field)?;
    Ok(indexes)
}

impl Collection {
    /// The index called `name`, if any.
    #[must_use]
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name.as_str() == name)
    }
}

#[cfg(test)]
mod tests;
