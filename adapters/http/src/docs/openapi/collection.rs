//! The paths and filter parameters of one collection in the OpenAPI document, typed from its
//! columns.

use moon_domain::{Collection, FieldType, FilterOp};
use serde_json::{Map, Value as Json, json};

use super::{OPS, body, ok, pascal, query, reference, type_schema};

/// The fields a filter can name: the system ones, then the user columns (json cannot be
/// compared, only tested for null).
fn filter_fields(c: &Collection) -> impl Iterator<Item = (&str, FieldType)> {
    [
        ("id", FieldType::String),
        ("created_at", FieldType::Datetime),
        ("updated_at", FieldType::Datetime),
    ]
    .into_iter()
    .chain(
        c.columns
            .iter()
            .map(|col| (col.name.as_str(), col.field_type)),
    )
}

/// The schema of one filter operator's value for a field of type `ty`.
fn filter_value_schema(op: FilterOp, ty: FieldType) -> Json {
    match op {
        FilterOp::Null | FilterOp::NotNull => {
            json!({"type": "string", "description": "value ignored"})
        }
        FilterOp::In => {
            json!({"type": "string", "description": "comma-separated values (at most 100)"})
        }
        FilterOp::Like
        | FilterOp::Contains
        | FilterOp::IContains
        | FilterOp::StartsWith
        | FilterOp::EndsWith => json!({"type": "string", "maxLength": 256}),
        _ => type_schema(ty, false),
    }
}

/// A collection's filter parameters, one per field, in the `col[op]=value` form
/// (`deepObject`): written once in `components.parameters` and referenced by `:list` and
/// every aggregate, so the document grows with columns, not with columns × operations.
pub(super) fn collection_parameters(c: &Collection) -> Map<String, Json> {
    let name = c.name.as_str();
    filter_fields(c)
        .map(|(field, ty)| {
            let ops: Map<String, Json> = OPS
                .iter()
                .filter(|op| op.fits(ty))
                .map(|op| (op.name().to_owned(), filter_value_schema(*op, ty)))
                .collect();
            // The empty example keeps interactive clients from sending a made-up filter.
            let parameter = json!({"name": field, "in": "query", "required": false,
                "style": "deepObject", "explode": true, "example": {},
                "description": format!("filters on {field}: {field}[op]=value ({field}=value means eq)"),
                "schema": {"type": "object", "properties": ops, "additionalProperties": false}});
            (format!("{name}.{field}"), parameter)
        })
        .collect()
}

pub(super) fn collection_paths(c: &Collection, paths: &mut Map<String, Json>) {
    let name = c.name.as_str();
    let base = pascal(name);
    let tag = json!([name]);
    let mut list_params = vec![
        query(
            "limit",
            "page size, 1-200 (default 15)",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
            false,
        ),
        query(
            "after",
            "next_cursor of the previous page",
            json!({"type": "string"}),
            false,
        ),
        query(
            "sort",
            "up to 5 fields, comma separated, '-' for descending",
            json!({"type": "string"}),
            false,
        ),
        query(
            "q",
            "case-insensitive substring over the string columns",
            json!({"type": "string"}),
            false,
        ),
        query(
            "fields",
            "only these fields (plus id), comma separated",
            json!({"type": "string"}),
            false,
        ),
        query(
            "count",
            "'none' skips the total",
            json!({"type": "string", "enum": ["none"]}),
            false,
        ),
    ];
    let filters: Vec<Json> = filter_fields(c)
        .map(|(field, _)| json!({"$ref": format!("#/components/parameters/{name}.{field}")}))
        .collect();
    list_params.extend(filters.iter().cloned());
    let data = |schema: Json| json!({"type": "object", "properties": {"data": schema, "message": {"type": "string"}}, "required": ["data"]});
    let list_answer = json!({"type": "object", "properties": {
        "data": {"type": "array", "items": reference(&base)},
        "total": {"type": "integer"},
        "next_cursor": {"type": ["string", "null"]},
        "limit": {"type": "integer"}
    }, "required": ["data", "next_cursor", "limit"]});
    paths.insert(format!("/{name}:list"), json!({"get": {"tags": tag, "summary": format!("List {name}"), "operationId": format!("{name}_list"),
        "parameters": list_params, "responses": ok("200", "a page of records", list_answer, &["400", "401", "403", "404"])}}));
    paths.insert(format!("/{name}:get"), json!({"get": {"tags": tag, "summary": format!("Get one {name} record"), "operationId": format!("{name}_get"),
        "parameters": [query("id", "record id (ULID)", json!({"type": "string"}), true), query("fields", "only these fields", json!({"type": "string"}), false)],
        "responses": ok("200", "the record (ETag header)", data(reference(&base)), &["400", "401", "404"])}}));
    paths.insert(format!("/{name}:schema"), json!({"get": {"tags": tag, "summary": format!("Fields of {name}"), "operationId": format!("{name}_schema"),
        "responses": ok("200", "fields and record count", json!({"type": "object"}), &["401", "404"])}}));
    paths.insert(format!("/{name}:create"), json!({"post": {"tags": tag, "summary": format!("Create {name} records"), "operationId": format!("{name}_create"),
        "parameters": [query("atomic", "batches: all or nothing", json!({"type": "boolean"}), false)],
        "requestBody": body(json!({"oneOf": [
            {"type": "object", "properties": {"data": reference(&format!("{base}Input"))}, "required": ["data"], "additionalProperties": false},
            {"type": "array", "items": reference(&format!("{base}Input")), "maxItems": 50}
        ]})),
        "responses": ok("201", "created", data(reference(&base)), &["207", "400", "401", "403", "404", "409", "413"])}}));
    paths.insert(format!("/{name}:update"), json!({"post": {"tags": tag, "summary": format!("Update {name} records"), "operationId": format!("{name}_update"),
        "parameters": [query("atomic", "batches: all or nothing", json!({"type": "boolean"}), false)],
        "requestBody": body(json!({"type": "object", "properties": {"id": {"type": "string"}, "data": reference(&format!("{base}Patch"))}, "required": ["id", "data"]})),
        "responses": ok("200", "updated", data(reference(&base)), &["207", "400", "401", "403", "404", "409", "412", "413"])}}));
    paths.insert(format!("/{name}:destroy"), json!({"post": {"tags": tag, "summary": format!("Delete {name} records"), "operationId": format!("{name}_destroy"),
        "parameters": [query("atomic", "batches: all or nothing", json!({"type": "boolean"}), false)],
        "requestBody": body(json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]})),
        "responses": ok("200", "deleted", json!({"type": "object"}), &["207", "400", "401", "403", "404", "412", "413"])}}));
    for aggregate in ["count", "sum", "avg", "min", "max"] {
        let mut params = filters.clone();
        if aggregate != "count" {
            params.push(query(
                "field",
                "the column",
                json!({"type": "string"}),
                true,
            ));
        }
        params.push(query("q", "search", json!({"type": "string"}), false));
        paths.insert(format!("/{name}:{aggregate}"), json!({"get": {"tags": tag, "summary": format!("{aggregate} over {name}"), "operationId": format!("{name}_{aggregate}"),
            "parameters": params,
            "responses": ok("200", "the value", json!({"type": "object", "properties": {"value": {}}, "required": ["value"]}), &["400", "401", "404"])}}));
    }
}
