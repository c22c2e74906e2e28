//! The wire form of schemas: column definitions parsed from `collections:create|update`
//! bodies, and collections written back for `collections:get` and `:schema`.

use moon_domain::field_type::MAX_DECIMAL_SCALE;
use moon_domain::{
    Collection, CollectionName, Column, ColumnName, FieldType, Index, IndexKey, IndexName,
};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::input::{object, optional, required};

/// The keys a column definition may have (no `default`: API.md §3).
const COLUMN_KEYS: [&str; 5] = ["name", "type", "nullable", "unique", "scale"];

/// Parses a collection name from the body field `field`.
///
/// # Errors
/// `VALIDATION_ERROR` naming the field.
pub fn collection_name(raw: &str, field: &str) -> Result<CollectionName, ApiError> {
    CollectionName::parse(raw)
        .map_err(|e| ApiError::invalid(field, format!("invalid collection name '{raw}': {e}")))
}

/// Parses a column name found at `field`.
///
/// # Errors
/// `VALIDATION_ERROR` naming the field.
pub fn column_name(raw: &str, field: &str) -> Result<ColumnName, ApiError> {
    ColumnName::parse(raw)
        .map_err(|e| ApiError::invalid(field, format!("invalid column name '{raw}': {e}")))
}

/// Parses an index name found at `field` (index names follow the column-name rules).
///
/// # Errors
/// `VALIDATION_ERROR` naming the field.
pub fn index_name(raw: &str, field: &str) -> Result<IndexName, ApiError> {
    IndexName::parse(raw)
        .map_err(|e| ApiError::invalid(field, format!("invalid index name '{raw}': {e}")))
}

/// Parses one column definition found at `path` (e.g. `columns[0]`).
///
/// # Errors
/// `UNKNOWN_FIELD` or `VALIDATION_ERROR` naming the exact key.
pub fn column(json: Json, path: &str) -> Result<Column, ApiError> {
    let prefix = format!("{path}.");
    let mut map = object(json, &COLUMN_KEYS, &prefix)?;
    let raw_name: String = required(&mut map, "name", &prefix, "a string")?;
    let name = column_name(&raw_name, &format!("{prefix}name"))?;
    let type_name: String = required(&mut map, "type", &prefix, "a string")?;
    // A whole number written as `2.0` is the scale 2 (JSON does not tell them apart).
    let scale: Option<f64> = optional(&mut map, "scale", &prefix, "an integer from 0 to 10")?;
    let scale = match scale {
        None => None,
        Some(s) if s.fract() == 0.0 && (0.0..=1000.0).contains(&s) => Some(s as u32),
        Some(_) => {
            return Err(ApiError::invalid(
                &format!("{prefix}scale"),
                format!("{prefix}scale must be an integer from 0 to 10"),
            ));
        }
    };
    let nullable = optional(&mut map, "nullable", &prefix, "true or false")?.unwrap_or(true);
    let unique = optional(&mut map, "unique", &prefix, "true or false")?.unwrap_or(false);
    let field_type = FieldType::from_wire(&type_name, scale).ok_or_else(|| {
        ApiError::invalid(
            &format!("{prefix}type"),
            format!("unknown type '{type_name}'; use string, integer, decimal, boolean, datetime or json"),
        )
    })?;
    match (field_type, scale) {
        (FieldType::Decimal { scale }, _) if scale > MAX_DECIMAL_SCALE => Err(ApiError::invalid(
            &format!("{prefix}scale"),
            format!("scale may be at most {MAX_DECIMAL_SCALE}"),
        )),
        (FieldType::Decimal { .. }, _) | (_, None) => Ok(Column {
            name,
            field_type,
            nullable,
            unique,
        }),
        (_, Some(_)) => Err(ApiError::invalid(
            &format!("{prefix}scale"),
            "scale applies only to decimal columns",
        )),
    }
}

/// Parses a JSON array of column definitions found at `field`.
///
/// # Errors
/// `VALIDATION_ERROR` when not an array, or naming the first bad column key.
pub fn columns(json: Option<Json>, field: &str) -> Result<Vec<Column>, ApiError> {
    match json {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| column(item, &format!("{field}[{i}]")))
            .collect(),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be an array of columns"),
        )),
    }
}

/// Parses one index definition found at `path` (e.g. `indexes[0]`): a name, `columns`
/// (`"-price"` descending), `unique`.
///
/// # Errors
/// `UNKNOWN_FIELD` or `VALIDATION_ERROR` naming the exact key.
pub fn index(json: Json, path: &str) -> Result<Index, ApiError> {
    let prefix = format!("{path}.");
    let mut map = object(json, &["name", "columns", "unique"], &prefix)?;
    let raw_name: String = required(&mut map, "name", &prefix, "a string")?;
    let name = index_name(&raw_name, &format!("{prefix}name"))?;
    let keys: Vec<String> = required(
        &mut map,
        "columns",
        &prefix,
        "an array of column names ('-' first for descending)",
    )?;
    let unique = optional(&mut map, "unique", &prefix, "true or false")?.unwrap_or(false);
    Ok(Index {
        name,
        keys: keys.iter().map(|k| IndexKey::parse(k)).collect(),
        unique,
    })
}

/// Parses a JSON array of index definitions found at `field`.
///
/// # Errors
/// `VALIDATION_ERROR` when not an array, or naming the first bad index key.
pub fn indexes(json: Option<Json>, field: &str) -> Result<Vec<Index>, ApiError> {
    match json {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| index(item, &format!("{field}[{i}]")))
            .collect(),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be an array of indexes"),
        )),
    }
}

/// The indexes as `collections:get` and `:schema` show them (the form they are declared in).
#[must_use]
pub fn indexes_view(collection: &Collection) -> Json {
    collection
        .indexes
        .iter()
        .map(|ix| {
            let columns: Vec<String> = ix.keys.iter().map(IndexKey::wire).collect();
            json!({"name": ix.name, "columns": columns, "unique": ix.unique})
        })
        .collect()
}

/// One column as `collections:get` shows it.
#[derive(Serialize)]
struct ColumnView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    field_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<u32>,
    nullable: bool,
    unique: bool,
}

/// A collection as `collections:get|create|update` show it.
#[must_use]
pub fn collection_view(collection: &Collection) -> Json {
    let columns: Vec<ColumnView<'_>> = collection
        .columns
        .iter()
        .map(|c| ColumnView {
            name: c.name.as_str(),
            field_type: c.field_type.wire_name(),
            scale: c.field_type.scale(),
            nullable: c.nullable,
            unique: c.unique,
        })
        .collect();
    json!({ "name": collection.name, "columns": columns, "indexes": indexes_view(collection) })
}

/// The fields `:schema` lists: the system fields, then the user columns.
#[must_use]
pub fn schema_fields(collection: &Collection) -> Vec<Json> {
    let system = |name: &str, ty: &str| json!({ "name": name, "type": ty, "nullable": false, "unique": name == "id", "readonly": true });
    let mut fields = vec![system("id", "string")];
    fields.extend(collection.columns.iter().map(|c| {
        let mut field = json!({
            "name": c.name,
            "type": c.field_type.wire_name(),
            "nullable": c.nullable,
            "unique": c.unique,
            "readonly": false,
        });
        if let (Some(scale), Json::Object(map)) = (c.field_type.scale(), &mut field) {
            map.insert("scale".into(), scale.into());
        }
        field
    }));
    fields.push(system("created_at", "datetime"));
    fields.push(system("updated_at", "datetime"));
    fields
}
