//! Record validation, the hot path: a JSON object and a collection in, typed fields or
//! every precise error out. No locks, no I/O, no allocation beyond the output.

use serde_json::{Map, Value as Json};

use crate::collection::Collection;
use crate::error::FieldError;
use crate::name::{ColumnName, SYSTEM_FIELDS};
use crate::value::Value;

/// Validates the `data` of a create: every user column, in collection order, with type
/// defaults for omitted nullable columns.
///
/// # Errors
/// Every problem found: unknown fields, system fields, wrong types, missing required fields.
pub fn validate_create(
    collection: &Collection,
    data: Map<String, Json>,
) -> Result<Vec<(ColumnName, Value)>, Vec<FieldError>> {
    // The output in column order, each slot marked in `given` when the body fills it.
    let mut fields: Vec<(ColumnName, Value)> = collection
        .columns
        .iter()
        .map(|c| (c.name.clone(), Value::Null))
        .collect();
    let mut given = Given::new(fields.len());
    let mut errors = Vec::new();
    let mut next = 0;
    for (key, json) in data {
        match typed_field(collection, next, &key, json) {
            Ok((index, value)) => {
                fields[index].1 = value;
                given.mark(index);
                next = index + 1;
            }
            Err(e) => errors.push(e),
        }
    }
    for (index, column) in collection.columns.iter().enumerate() {
        if given.has(index) {
            continue;
        }
        if column.nullable {
            fields[index].1 = Value::type_default(column.field_type);
        } else {
            errors.push(FieldError::invalid(column.name.as_str(), "is required"));
        }
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// Which columns a body gave: bits for up to 128 columns (the default limit is 100, so
/// no allocation), a vector beyond.
enum Given {
    Bits(u128),
    Many(Vec<bool>),
}

impl Given {
    fn new(columns: usize) -> Self {
        if columns <= 128 {
            Self::Bits(0)
        } else {
            Self::Many(vec![false; columns])
        }
    }

    fn mark(&mut self, index: usize) {
        match self {
            Self::Bits(bits) => *bits |= 1 << index,
            Self::Many(flags) => flags[index] = true,
        }
    }

    fn has(&self, index: usize) -> bool {
        match self {
            Self::Bits(bits) => bits & (1 << index) != 0,
            Self::Many(flags) => flags[index],
        }
    }
}

/// Validates the `data` of an update: only the fields given, each typed by its column.
///
/// # Errors
/// Every problem found: unknown fields, system fields, wrong types, nulls in required fields.
pub fn validate_update(
    collection: &Collection,
    data: Map<String, Json>,
) -> Result<Vec<(ColumnName, Value)>, Vec<FieldError>> {
    let mut fields = Vec::with_capacity(data.len());
    let mut errors = Vec::new();
    let mut next = 0;
    for (key, json) in data {
        match typed_field(collection, next, &key, json) {
            Ok((index, value)) => {
                fields.push((collection.columns[index].name.clone(), value));
                next = index + 1;
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// One field of a write: which column it fills and its typed value. Bodies usually name
/// fields in column order, so the column after the previous field's (`next`) is tried first.
fn typed_field(
    collection: &Collection,
    next: usize,
    key: &str,
    json: Json,
) -> Result<(usize, Value), FieldError> {
    let expected = collection
        .columns
        .get(next)
        .filter(|c| c.name.as_str() == key)
        .map(|_| next);
    // No column can be named like a system field: those are looked for only on a miss.
    let Some(index) = expected.or_else(|| collection.column_index(key)) else {
        if SYSTEM_FIELDS.contains(&key) {
            return Err(FieldError::invalid(
                key,
                "is set by the server and cannot be written",
            ));
        }
        return Err(FieldError::unknown(
            key,
            format!("unknown field '{key}' in collection '{}'", collection.name),
        ));
    };
    let column = &collection.columns[index];
    match Value::from_json(json, column.field_type) {
        Ok(Value::Null) if !column.nullable => Err(FieldError::invalid(key, "cannot be null")),
        Ok(value) => match crate::portable::check_for_column(column, &value) {
            Ok(()) => Ok((index, value)),
            Err(message) => Err(FieldError::invalid(key, message)),
        },
        Err(message) => Err(FieldError::invalid(key, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::Column;
    use crate::error::FieldErrorKind;
    use crate::field_type::FieldType;
    use crate::name::CollectionName;
    use serde_json::json;

    fn products() -> Collection {
        let col = |name: &str, field_type, nullable| Column {
            name: ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            field_type,
            nullable,
            unique: false,
        };
        Collection {
            name: CollectionName::parse("products").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![
                col("title", FieldType::String, false),
                col("price", FieldType::Decimal { scale: 2 }, true),
                col("stock", FieldType::Integer, true),
                col("meta", FieldType::Json, true),
                col("seen_at", FieldType::Datetime, true),
            ],
            indexes: Vec::new(),
            version: 1,
        }
    }

    /// Past 128 columns the given-fields marks live in a vector: the last column is still
    /// told apart from the first, and every missing one gets its default.
    #[test]
    fn wide_collections_mark_given_fields_past_128_columns() {
        let columns = (0..140)
            .map(|i| Column {
                name: ColumnName::parse(&format!("col_{i}")).unwrap_or_else(|e| panic!("{e}")),
                field_type: FieldType::Integer,
                nullable: i != 139,
                unique: false,
            })
            .collect();
        let wide = Collection {
            name: CollectionName::parse("wide").unwrap_or_else(|e| panic!("{e}")),
            columns,
            indexes: Vec::new(),
            version: 1,
        };
        let fields = validate_create(&wide, object(json!({"col_139": 7, "col_0": 1})))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fields.len(), 140);
        assert_eq!(fields[0].1, Value::Integer(1));
        assert_eq!(fields[1].1, Value::Integer(0));
        assert_eq!(fields[139].1, Value::Integer(7));
        let missing = validate_create(&wide, object(json!({"col_0": 1}))).err();
        assert_eq!(
            missing.map(|e| e[0].field.clone()),
            Some("col_139".to_owned())
        );
    }

    fn object(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn create_fills_type_defaults_in_column_order() {
        let fields = validate_create(&products(), object(json!({"title": "Pen"})))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<_> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["title", "price", "stock", "meta", "seen_at"]);
        let values: Vec<_> = fields.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values[0], Value::Text("Pen".into()));
        assert_eq!(serde_json::to_value(&values[1]).ok(), Some(json!("0.00")));
        assert_eq!(values[2], Value::Integer(0));
        assert_eq!(values[3], Value::Json(json!({})));
        assert_eq!(values[4], Value::Null);
    }

    /// Fields in column order take the quick lookup; any other order gives the same record.
    #[test]
    fn field_order_does_not_change_the_record() {
        let in_order = json!({"title": "Pen", "price": "1.50", "stock": 3, "meta": {"a": 1}});
        let reversed = json!({"meta": {"a": 1}, "stock": 3, "price": "1.50", "title": "Pen"});
        let a = validate_create(&products(), object(in_order)).unwrap_or_else(|e| panic!("{e:?}"));
        let b = validate_create(&products(), object(reversed)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(a, b);
        let skipping = json!({"stock": 3, "title": "Pen"});
        let c = validate_update(&products(), object(skipping)).unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<_> = c.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["stock", "title"]);
    }

    #[test]
    fn create_reports_every_problem() {
        let errors = validate_create(
            &products(),
            object(json!({"id": "x", "colour": "red", "stock": "5", "price": 1.5})),
        )
        .err()
        .unwrap_or_default();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"id") && fields.contains(&"colour"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"stock") && fields.contains(&"price"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"title"),
            "missing required field is reported: {fields:?}"
        );
        let unknown = errors.iter().find(|e| e.field == "colour").map(|e| e.kind);
        assert_eq!(unknown, Some(FieldErrorKind::Unknown));
    }

    #[test]
    fn update_takes_only_given_fields_and_refuses_null_in_required() {
        let fields = validate_update(&products(), object(json!({"stock": 3, "price": null})))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fields.len(), 2);
        let errors = validate_update(&products(), object(json!({"title": null}))).err();
        assert_eq!(errors.map(|e| e[0].field.clone()), Some("title".to_owned()));
        assert!(validate_update(&products(), object(json!({"updated_at": "x"}))).is_err());
    }
}
