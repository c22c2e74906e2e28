//! The OpenAPI 3.1 document, built from the live registry: the system routes, and for each
//! collection every action with its parameters (filters per column type), bodies and
//! answers, typed from its columns.

use moon_domain::{Collection, FieldType, FilterOp};
use serde_json::{Map, Value as Json, json};

mod collection;
mod headers;
mod shapes;
mod system;
use collection::{collection_parameters, collection_paths, filter_value_schemas};
use system::system_paths;

const OPS: [FilterOp; 14] = [
    FilterOp::Eq,
    FilterOp::Ne,
    FilterOp::Gt,
    FilterOp::Gte,
    FilterOp::Lt,
    FilterOp::Lte,
    FilterOp::Like,
    FilterOp::Contains,
    FilterOp::IContains,
    FilterOp::StartsWith,
    FilterOp::EndsWith,
    FilterOp::In,
    FilterOp::Null,
    FilterOp::NotNull,
];

/// The JSON Schema of a value of `ty`; datetimes and decimals refer to the shared schemas
/// of [`value_schemas`] (their patterns are long, and a wide schema repeats them often).
fn type_schema(ty: FieldType, nullable: bool) -> Json {
    let or_null = if nullable { "OrNull" } else { "" };
    let mut schema = match ty {
        FieldType::String => json!({"type": "string", "pattern": "^[^\\u0000]*$"}),
        FieldType::Integer => json!({"type": "integer", "format": "int64",
            "minimum": i64::MIN, "maximum": i64::MAX}),
        FieldType::Decimal { scale } => return reference(&format!("Decimal{scale}{or_null}")),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Datetime => return reference(&format!("Datetime{or_null}")),
        FieldType::Json => return reference(&format!("JsonDocument{or_null}")),
    };
    if nullable {
        let base = schema.get("type").cloned().unwrap_or(Json::Null);
        let types = match base {
            Json::Array(mut items) => {
                items.push(json!("null"));
                Json::Array(items)
            }
            other => json!([other, "null"]),
        };
        schema["type"] = types;
    }
    schema
}

/// The shared datetime and decimal schemas, with and without `null`.
fn value_schemas() -> Map<String, Json> {
    let mut map = Map::new();
    let mut add = |name: String, schema: Json| {
        let nullable = json!({"anyOf": [schema.clone(), {"type": "null"}]});
        map.insert(format!("{name}OrNull"), nullable);
        map.insert(name, schema);
    };
    // JSON without NUL in any string or key (PostgreSQL cannot store it), at any depth.
    add(
        "JsonDocument".into(),
        json!({"type": ["object", "array"],
            "propertyNames": {"pattern": "^[^\\u0000]*$"},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
            "items": {"$ref": "#/components/schemas/JsonValue"}}),
    );
    add(
        "Datetime".into(),
        json!({"type": "string", "format": "date-time", "pattern": format!("^{}$", collection::DATETIME)}),
    );
    for scale in 0..=10_u32 {
        let int_digits = 19 - scale;
        let pattern = if scale == 0 {
            format!("^-?[0-9]{{1,{int_digits}}}$")
        } else {
            format!("^-?[0-9]{{1,{int_digits}}}(\\.[0-9]{{1,{scale}}})?$")
        };
        add(
            format!("Decimal{scale}"),
            json!({"type": "string", "pattern": pattern, "description": format!("exact decimal with {scale} fractional digits, as a string")}),
        );
    }
    map.insert(
        "JsonValue".into(),
        json!({"anyOf": [
            {"type": ["number", "boolean", "null"]},
            {"type": "string", "pattern": "^[^\\u0000]*$"},
            {"$ref": "#/components/schemas/JsonDocument"}]}),
    );
    map
}

fn reference(name: &str) -> Json {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_responses(codes: &[&str]) -> Map<String, Json> {
    let mut map = Map::new();
    for code in codes {
        map.insert((*code).to_owned(), headers::error_answer(code));
    }
    map
}

fn body(schema: Json) -> Json {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn ok(status: &str, description: &str, schema: Json, errors: &[&str]) -> Json {
    let mut responses = error_responses(errors);
    responses.insert(
        status.to_owned(),
        json!({"description": description, "content": {"application/json": {"schema": schema}}}),
    );
    Json::Object(responses)
}

fn query(name: &str, description: &str, schema: Json, required: bool) -> Json {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

/// Pascal-case name of a collection's schemas (`order_items` → `OrderItems`).
fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn collection_schemas(c: &Collection, schemas: &mut Map<String, Json>) {
    let base = pascal(c.name.as_str());
    let mut record = Map::new();
    record.insert(
        "id".into(),
        json!({"type": "string", "description": "ULID", "readOnly": true}),
    );
    let mut input = Map::new();
    let mut required_input = Vec::new();
    for column in &c.columns {
        let mut schema = type_schema(column.field_type, column.nullable);
        if column.unique && column.field_type == FieldType::String {
            schema["maxLength"] = json!(moon_domain::portable::MAX_UNIQUE_STRING_CHARS);
        }
        record.insert(column.name.to_string(), schema.clone());
        input.insert(column.name.to_string(), schema);
        if !column.nullable {
            required_input.push(json!(column.name.as_str()));
        }
    }
    record.insert(
        "created_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    record.insert(
        "updated_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    // `fields=` returns only some fields: `id` is the one always there.
    schemas.insert(
        base.clone(),
        json!({"type": "object", "properties": record, "required": ["id"]}),
    );
    schemas.insert(
        format!("{base}Input"),
        json!({"type": "object", "properties": input.clone(), "required": required_input, "additionalProperties": false}),
    );
    for (kind, numeric) in [("Numeric", true), ("Ordered", false)] {
        let names = collection::aggregate_fields(c, numeric);
        if !names.is_empty() {
            schemas.insert(
                format!("{base}{kind}Field"),
                json!({"type": "string", "enum": names}),
            );
        }
    }
    let mut item = input.clone();
    item.insert("id".into(), shapes::ulid());
    schemas.insert(format!("{base}Item"), json!({"type": "object", "properties": item, "required": ["id"], "additionalProperties": false, "minProperties": 2}));
    schemas.insert(format!("{base}Patch"), json!({"type": "object", "properties": input, "additionalProperties": false, "minProperties": 1}));
}

/// Writes `map`'s entries (without braces) after `out`'s current content, each preceded
/// by a comma unless it is the first of its object.
fn write_entries(out: &mut Vec<u8>, map: &Map<String, Json>, first: &mut bool) {
    for (key, value) in map {
        if !std::mem::take(first) {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    }
}

/// The whole document as JSON text ending in a newline; `collections` is empty for
/// anonymous callers. Written collection by collection, so that building it holds one
/// collection's tree at a time beside the output bytes.
#[must_use]
pub fn document(
    version: &str,
    prefix: &str,
    collections: &[std::sync::Arc<Collection>],
    limits: &moon_application::Limits,
) -> Vec<u8> {
    let mut system = Map::new();
    system_paths(&mut system);
    let mut tags =
        vec![json!({"name": "system", "description": "health, auth, schema, users and API keys"})];
    tags.extend(collections.iter().map(
        |c| json!({"name": c.name.as_str(), "description": format!("records of {}", c.name)}),
    ));
    let head = json!({
        "openapi": "3.1.0",
        "info": {"title": "Moon", "version": version, "description": "Live, schema-on-the-fly REST backend. Generated from the current schema."},
        "servers": [{"url": if prefix.is_empty() { "/" } else { prefix }}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "tags": tags,
    });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.pop(); // the closing brace: paths and components follow
    out.extend_from_slice(b",\"paths\":{");
    let mut first = true;
    write_entries(&mut out, &system, &mut first);
    for c in collections {
        let mut paths = Map::new();
        collection_paths(c, limits, &mut paths);
        write_entries(&mut out, &paths, &mut first);
    }
    out.extend_from_slice(b"},\"components\":{\"securitySchemes\":");
    let schemes = json!({
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token from /auth:login"},
        "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "moon_live_ API key", "description": "An API key from /apikeys:create, sent as a bearer token"}
    });
    let _ = serde_json::to_writer(&mut out, &schemes);
    out.extend_from_slice(b",\"headers\":");
    let _ = serde_json::to_writer(&mut out, &headers::components());
    out.extend_from_slice(b",\"responses\":");
    let _ = serde_json::to_writer(&mut out, &headers::error_answers());
    out.extend_from_slice(b",\"parameters\":{");
    let mut first = true;
    write_entries(&mut out, &headers::parameters(), &mut first);
    for c in collections {
        write_entries(&mut out, &collection_parameters(c, limits), &mut first);
    }
    out.extend_from_slice(b"},\"schemas\":{");
    let mut first = true;
    write_entries(&mut out, &shapes::components(), &mut first);
    write_entries(&mut out, &filter_value_schemas(), &mut first);
    write_entries(&mut out, &value_schemas(), &mut first);
    for c in collections {
        let mut schemas = Map::new();
        collection_schemas(c, &mut schemas);
        write_entries(&mut out, &schemas, &mut first);
    }
    out.extend_from_slice(b"}}}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, Column, ColumnName};
    use std::sync::Arc;

    fn wide(collections: usize, columns: usize) -> Vec<Arc<Collection>> {
        let types = [
            FieldType::String,
            FieldType::Integer,
            FieldType::Decimal { scale: 2 },
            FieldType::Boolean,
            FieldType::Datetime,
            FieldType::Json,
        ];
        (0..collections)
            .map(|i| {
                Arc::new(Collection {
                    name: CollectionName::parse(&format!("coll_{i}"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    columns: (0..columns)
                        .map(|j| Column {
                            name: ColumnName::parse(&format!("column_{j}"))
                                .unwrap_or_else(|e| panic!("{e}")),
                            field_type: types[j % types.len()],
                            nullable: true,
                            unique: false,
                        })
                        .collect(),
                    indexes: Vec::new(),
                    version: 1,
                })
            })
            .collect()
    }

    #[test]
    fn the_streamed_document_is_one_json_object_with_every_part() {
        let bytes = document(
            "1.0",
            "/api",
            &wide(2, 3),
            &moon_application::Limits::default(),
        );
        assert_eq!(bytes.last(), Some(&b'\n'));
        let doc: Json = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/health"].is_object());
        assert!(doc["paths"]["/coll_1:list"]["get"].is_object());
        assert!(doc["components"]["schemas"]["Coll1Input"].is_object());
        let filter = &doc["components"]["parameters"]["coll_0.column_1"];
        assert_eq!(filter["style"], "deepObject");
        let gte = &filter["schema"]["properties"]["gte"]["$ref"];
        assert_eq!(gte, "#/components/schemas/FilterInteger");
        assert_eq!(
            doc["components"]["schemas"]["FilterInteger"]["type"],
            "integer"
        );
        let list = doc["paths"]["/coll_0:list"]["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            list.iter()
                .any(|p| p["$ref"] == "#/components/parameters/coll_0.column_1")
        );
    }

    #[test]
    fn the_document_grows_gently_with_columns() {
        // 100 collections of 100 columns were 71 MB with every filter written out per action.
        let bytes = document(
            "1.0",
            "",
            &wide(100, 100),
            &moon_application::Limits::default(),
        );
        eprintln!("100 × 100: {} bytes", bytes.len());
        // 16.4 MB with every parameter typed exactly (sort items each once, filters capped).
        assert!(bytes.len() < 18_000_000, "{} bytes", bytes.len());
        assert!(serde_json::from_slice::<Json>(&bytes).is_ok());
    }
}
