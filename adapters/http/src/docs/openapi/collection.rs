//! The paths and filter parameters of one collection in the OpenAPI document, typed from its
//! columns.

use moon_application::Limits;
use moon_domain::{Collection, FieldType, FilterOp};
use serde_json::{Map, Value as Json, json};

use super::headers::{self, ETAG, REPLAYED};
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

/// The name of a filter value's schema in the components (shared by every field of a type).
fn filter_value_name(op: FilterOp, ty: FieldType) -> String {
    let kind = match ty {
        FieldType::String => "String".to_owned(),
        FieldType::Integer => "Integer".to_owned(),
        FieldType::Decimal { scale } => format!("Decimal{scale}"),
        FieldType::Boolean => "Boolean".to_owned(),
        FieldType::Datetime => "Datetime".to_owned(),
        FieldType::Json => "Json".to_owned(),
    };
    match op {
        FilterOp::Null | FilterOp::NotNull => "FilterIgnored".to_owned(),
        FilterOp::In => format!("FilterIn{kind}"),
        FilterOp::Like
        | FilterOp::Contains
        | FilterOp::IContains
        | FilterOp::StartsWith
        | FilterOp::EndsWith => "SearchTerm".to_owned(),
        _ => format!("Filter{kind}"),
    }
}

/// An RFC 3339 datetime every engine takes (days to 28, so every month has them).
pub(super) const DATETIME: &str = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]0[0-9]:[0-5][0-9])";

/// Every filter value schema [`filter_value_name`] names, for `components.schemas`.
pub(super) fn filter_value_schemas() -> Map<String, Json> {
    let mut map = Map::new();
    map.insert(
        "FilterIgnored".into(),
        json!({"type": "string", "description": "value ignored"}),
    );
    let mut types = vec![
        FieldType::String,
        FieldType::Integer,
        FieldType::Boolean,
        FieldType::Datetime,
    ];
    types.extend((0..=10).map(|scale| FieldType::Decimal { scale }));
    for ty in types {
        map.insert(filter_value_name(FilterOp::Eq, ty), type_schema(ty, false));
        let item = match ty {
            FieldType::Integer => "-?[0-9]{1,18}".to_owned(),
            FieldType::Decimal { scale: 0 } => "-?[0-9]{1,19}".to_owned(),
            FieldType::Decimal { scale } => {
                format!("-?[0-9]{{1,{}}}(\\.[0-9]{{1,{scale}}})?", 19 - scale)
            }
            FieldType::Boolean => "(true|false)".to_owned(),
            FieldType::Datetime => DATETIME.to_owned(),
            _ => "[^,\\u0000]+".to_owned(),
        };
        map.insert(
            filter_value_name(FilterOp::In, ty),
            json!({"type": "string", "pattern": format!("^{item}(,{item}){{0,99}}$"),
                "description": "comma-separated values (at most 100)"}),
        );
    }
    map
}

/// A collection's filter parameters, one per field, in the `col[op]=value` form
/// (`deepObject`): written once in `components.parameters` and referenced by `:list` and
/// every aggregate, so the document grows with columns, not with columns × operations.
pub(super) fn collection_parameters(c: &Collection, limits: &Limits) -> Map<String, Json> {
    let name = c.name.as_str();
    // The filter cap counts across fields, which no schema of one parameter can say: each
    // field gets an equal share of it (at least one), unless the share covers all its
    // operators anyway (then the document is exact both ways).
    let fields = c.columns.len() + 3;
    let share = (limits.max_filters / fields).max(1);
    let mut parameters: Map<String, Json> = filter_fields(c)
        .map(|(field, ty)| {
            let ops: Map<String, Json> = OPS
                .iter()
                .filter(|op| op.fits(ty))
                .map(|op| (op.name().to_owned(), reference(&filter_value_name(*op, ty))))
                .collect();
            let mut schema = json!({"type": "object", "properties": ops, "additionalProperties": false});
            if share < schema["properties"].as_object().map_or(0, Map::len) {
                schema["maxProperties"] = json!(share);
            }
            // The empty example keeps interactive clients from sending a made-up filter.
            let parameter = json!({"name": field, "in": "query", "required": false,
                "style": "deepObject", "explode": true, "example": {},
                "description": format!("filters on {field}: {field}[op]=value ({field}=value means eq); at most {} filters in all", limits.max_filters),
                "schema": schema});
            (format!("{name}.{field}"), parameter)
        })
        .collect();
    parameters.insert(
        format!("{name}.sort"),
        {
            let mut sort = listed(
                "sort",
                "fields to sort by, '-' for descending, each field once",
                &sortable(c),
                limits.max_sort_fields,
            );
            // A field goes one way: never both `f` and `-f`.
            let once: Vec<Json> = filter_fields(c)
                .filter(|(_, ty)| *ty != FieldType::Json)
                .map(|(f, _)| json!({"not": {"allOf": [{"contains": {"const": f}}, {"contains": {"const": format!("-{f}")}}]}}))
                .collect();
            sort["schema"]["allOf"] = Json::Array(once);
            sort
        },
    );
    parameters.insert(
        format!("{name}.fields"),
        listed(
            "fields",
            "only these fields (plus id)",
            &field_names(c),
            1000,
        ),
    );
    parameters
}

/// The columns `sum`/`avg` (`numeric`) or `min`/`max` apply to.
pub(super) fn aggregate_fields(c: &Collection, numeric: bool) -> Vec<&str> {
    c.columns
        .iter()
        .filter(|col| match col.field_type {
            FieldType::Integer | FieldType::Decimal { .. } => true,
            FieldType::Datetime | FieldType::String => !numeric,
            FieldType::Boolean | FieldType::Json => false,
        })
        .map(|col| col.name.as_str())
        .collect()
}

/// `:changes`: the feed of the collection's changes, as Server-Sent Events (API.md §10).
fn feed_path(name: &str, filters: &[Json]) -> Json {
    let mut params = filters.to_vec();
    params.extend([
        query("q", "search", search(), false),
        query(
            "after",
            "resume after this event id (a sequence number); Last-Event-ID wins",
            json!({"type": "integer", "minimum": 0}),
            false,
        ),
        query(
            "access_token",
            "the bearer credential, for clients that cannot send headers (a browser's EventSource)",
            json!({"type": "string"}),
            false,
        ),
        json!({"name": "Last-Event-ID", "in": "header", "required": false,
            "description": "the id of the last event received: the stream resumes after it",
            "schema": {"type": "integer", "minimum": 0}}),
    ]);
    let mut responses = ok("200", "", json!({}), &["400", "401", "404", "429", "503"]);
    responses["200"] = json!({
        "description": "Server-Sent Events, one per committed change in commit order: `id: <sequence>`, `event: create|update|destroy|schema` (or `reset` when the position is no longer kept), `data:` a ChangeEvent; a comment every 15 s. Ends when the credential stops working, the collection is dropped, or the reader falls too far behind.",
        "content": {"text/event-stream": {"schema": {"type": "string"},
            "x-moon-event-data": reference("ChangeEvent")}}});
    json!({"get": {"tags": [name], "summary": format!("Follow changes to {name}"),
        "operationId": format!("{name}_changes"), "parameters": params, "responses": responses}})
}

/// A search term's schema (`SearchTerm` in the components).
fn search() -> Json {
    reference("SearchTerm")
}

/// Every field name a record has, system ones included.
fn field_names(c: &Collection) -> Vec<String> {
    ["id", "created_at", "updated_at"]
        .into_iter()
        .map(str::to_owned)
        .chain(c.columns.iter().map(|col| col.name.to_string()))
        .collect()
}

/// The `sort` items: each sortable field, ascending or (`-`) descending.
fn sortable(c: &Collection) -> Vec<String> {
    filter_fields(c)
        .filter(|(_, ty)| *ty != FieldType::Json)
        .flat_map(|(name, _)| [name.to_owned(), format!("-{name}")])
        .collect()
}

/// A comma-separated list parameter whose items are `choices`.
fn listed(name: &str, about: &str, choices: &[String], max: usize) -> Json {
    json!({"name": name, "in": "query", "required": false, "description": about,
        "style": "form", "explode": false,
        "schema": {"type": "array", "items": {"type": "string", "enum": choices},
            "minItems": 1, "maxItems": max, "uniqueItems": true}})
}

pub(super) fn collection_paths(c: &Collection, limits: &Limits, paths: &mut Map<String, Json>) {
    let name = c.name.as_str();
    let base = pascal(name);
    let tag = json!([name]);
    let mut list_params = vec![
        query(
            "limit",
            &format!(
                "page size, 1-{} (default {})",
                limits.max_page_size, limits.default_page_size
            ),
            json!({"type": "integer", "minimum": 1, "maximum": limits.max_page_size}),
            false,
        ),
        query(
            "after",
            "next_cursor of the previous page (only from this same query)",
            json!({"type": "string"}),
            false,
        ),
        json!({"$ref": format!("#/components/parameters/{name}.sort")}),
        query(
            "q",
            "case-insensitive substring over the string columns",
            search(),
            false,
        ),
        json!({"$ref": format!("#/components/parameters/{name}.fields")}),
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
        "parameters": list_params, "responses": ok("200", "a page of records", list_answer, &["400", "401", "404", "429", "503"])}}));
    paths.insert(format!("/{name}:get"), json!({"get": {"tags": tag, "summary": format!("Get one {name} record"), "operationId": format!("{name}_get"),
        "parameters": [query("id", "record id (ULID)", super::shapes::ulid(), true), json!({"$ref": format!("#/components/parameters/{name}.fields")})],
        "responses": ok("200", "the record (ETag header)", data(reference(&base)), &["400", "401", "404", "429", "503"])}}));
    paths[&format!("/{name}:get")]["get"]["responses"]["304"] =
        json!({"description": "not modified (If-None-Match)"});
    paths.insert(format!("/{name}:schema"), json!({"get": {"tags": tag, "summary": format!("Fields of {name}"), "operationId": format!("{name}_schema"),
        "responses": ok("200", "fields and record count", json!({"type": "object"}), &["400", "401", "404", "429", "503"])}}));
    let record = reference(&base);
    let input = reference(&format!("{base}Input"));
    let batch = |item: Json| json!({"type": "array", "items": item, "minItems": 1, "maxItems": limits.max_batch});
    let wrapped = |inner: Json| json!({"type": "object", "properties": {"data": inner}, "required": ["data"], "additionalProperties": false});
    let flat_patch = reference(&format!("{base}Item"));
    let ids = batch(super::shapes::ulid());
    let writes = [
        (
            "create",
            "Create one record or a batch",
            "201",
            json!({"oneOf": [wrapped(input.clone()), wrapped(batch(input.clone())), batch(input)]}),
            vec!["404", "409"],
        ),
        (
            "update",
            "Update one record or a batch",
            "200",
            json!({"oneOf": [
                {"type": "object", "properties": {"id": super::shapes::ulid(), "data": reference(&format!("{base}Patch"))}, "required": ["id", "data"], "additionalProperties": false},
                wrapped(batch(flat_patch.clone())), batch(flat_patch)]}),
            vec!["404", "409", "412"],
        ),
        (
            "destroy",
            "Delete one record or a batch",
            "200",
            json!({"oneOf": [{"type": "object", "properties": {"id": super::shapes::ulid()}, "required": ["id"], "additionalProperties": false},
                wrapped(ids.clone()), ids]}),
            vec!["404", "409", "412"],
        ),
    ];
    for (action, summary, status, request, mut errors) in writes {
        errors.extend(["400", "401", "403", "413", "415", "429", "503"]);
        let one = if action == "destroy" {
            json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})
        } else {
            data(json!({"oneOf": [record.clone(), {"type": "array", "items": record.clone()}]}))
        };
        let mut responses = ok(
            status,
            "done (a batch with atomic=true: all of it)",
            one,
            &errors,
        );
        responses["207"] = json!({"description": "a batch, item by item", "content": {"application/json": {"schema": reference("BatchResults")}}});
        if action == "create" {
            let id = "$response.body#/data/id";
            responses[status]["links"] = json!({
                "get": {"operationId": format!("{name}_get"), "parameters": {"id": id}},
                "destroy": {"operationId": format!("{name}_destroy"), "requestBody": {"id": id}}});
        }
        paths.insert(format!("/{name}:{action}"), json!({"post": {"tags": tag, "summary": summary, "operationId": format!("{name}_{action}"),
            "parameters": [query("atomic", "batches: all or nothing", json!({"type": "boolean"}), false)],
            "requestBody": body(request), "responses": responses}}));
    }
    for aggregate in ["count", "sum", "avg", "min", "max"] {
        let mut params = filters.clone();
        if aggregate != "count" {
            let numeric = matches!(aggregate, "sum" | "avg");
            let names = aggregate_fields(c, numeric);
            // No column fits: every request is a 400, so the action is not offered here.
            if names.is_empty() {
                continue;
            }
            let kind = if numeric { "Numeric" } else { "Ordered" };
            let schema = reference(&format!("{base}{kind}Field"));
            params.push(query("field", "the column", schema, true));
        }
        params.push(query("q", "search", search(), false));
        paths.insert(format!("/{name}:{aggregate}"), json!({"get": {"tags": tag, "summary": format!("{aggregate} over {name}"), "operationId": format!("{name}_{aggregate}"),
            "parameters": params,
            "responses": ok("200", "the value", json!({"type": "object", "properties": {"value": {}}, "required": ["value"]}), &["400", "401", "404", "429", "503"])}}));
    }
    paths.insert(format!("/{name}:changes"), feed_path(name, &filters));
    for (path, item) in paths.iter_mut() {
        let action = path.rsplit_once(':').map_or("", |(_, action)| action);
        let (extra, params): (&[_], &[&str]) = match action {
            "get" => (&[ETAG], &["IfNoneMatch"]),
            "create" => (&[ETAG, REPLAYED], &["IdempotencyKey"]),
            "update" => (&[ETAG, REPLAYED], &["IdempotencyKey", "IfMatch"]),
            "destroy" => (&[REPLAYED], &["IdempotencyKey", "IfMatch"]),
            _ => (&[], &[]),
        };
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|ops| ops.values_mut())
        {
            if let Some(list) = operation.get_mut("parameters").and_then(Json::as_array_mut) {
                list.extend(params.iter().map(|key| headers::parameter(key)));
            }
            headers::annotate(operation, extra);
        }
    }
}
