//! The JSON Schemas of the system routes' bodies and answers (users, keys, tokens,
//! collections, webhooks, events), written once in `components.schemas`.

use serde_json::{Map, Value as Json, json};

const ROLES: [&str; 3] = ["admin", "user", "readonly"];
const TYPES: [&str; 6] = [
    "string", "integer", "decimal", "boolean", "datetime", "json",
];
const STATUSES: [&str; 5] = ["pending", "processing", "done", "failed", "dead"];

/// `schema` or `null` (an optional key sent as `null` counts as absent).
pub(super) fn or_null(mut schema: Json) -> Json {
    let types = match schema.get("type").cloned() {
        Some(Json::Array(mut items)) => {
            items.push(json!("null"));
            Json::Array(items)
        }
        Some(Json::String(one)) => json!([one, "null"]),
        _ => return json!({"anyOf": [schema, {"type": "null"}]}),
    };
    schema["type"] = types;
    if let Some(Json::Array(choices)) = schema.get_mut("enum") {
        choices.push(Json::Null);
    }
    schema
}

/// Text without NUL, at most `max` characters.
pub(super) fn text(max: usize) -> Json {
    json!({"type": "string", "maxLength": max, "pattern": "^[^\\u0000]*$"})
}

/// A password the rules take: 8 or more characters with an upper-case letter, a lower-case
/// letter and a digit.
pub(super) fn password() -> Json {
    json!({"type": "string", "maxLength": 1000,
        "pattern": "^(?=[^\\u0000]*[a-z])(?=[^\\u0000]*[A-Z])(?=[^\\u0000]*[0-9])[^\\u0000]{8,}$"})
}

/// A collection or webhook name.
pub(super) fn collection_name() -> Json {
    json!({"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9_]{1,62}$"})
}

/// A column name.
pub(super) fn column_name() -> Json {
    json!({"type": "string", "pattern": "^[a-z][a-z0-9_]{2,62}$"})
}

/// A ULID.
pub(super) fn ulid() -> Json {
    json!({"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$"})
}

fn column_definition() -> Json {
    // `scale` only on decimals.
    json!({"type": "object", "additionalProperties": false, "required": ["name", "type"],
        "properties": {"name": column_name(), "type": {"type": "string", "enum": TYPES},
            "nullable": or_null(json!({"type": "boolean"})), "unique": or_null(json!({"type": "boolean"})),
            "scale": or_null(json!({"type": "integer", "minimum": 0, "maximum": 10}))},
        "if": {"properties": {"type": {"const": "decimal"}}},
        "then": {},
        "else": {"properties": {"scale": {"type": "null"}}}})
}

fn user() -> Json {
    json!({"type": "object", "required": ["id", "username", "role", "can_write"],
        "properties": {"id": {"type": "string"}, "username": {"type": "string"},
            "email": {"type": ["string", "null"]}, "role": {"type": "string", "enum": ROLES},
            "can_write": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}}})
}

fn api_key() -> Json {
    json!({"type": "object", "required": ["id", "name", "role", "can_write"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
            "description": {"type": "string"}, "role": {"type": "string", "enum": ROLES},
            "can_write": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": ["string", "null"], "format": "date-time"}}})
}

fn webhook() -> Json {
    json!({"type": "object", "required": ["name", "collection", "signature", "mapping"],
        "properties": {"name": {"type": "string"}, "collection": {"type": "string"},
            "signature": {"type": "object", "properties": {"scheme": {"type": "string"},
                "header": {"type": "string"}, "prefix": {"type": "string"}}},
            "event_id": {"type": ["string", "null"]},
            "mapping": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time"}}})
}

fn event() -> Json {
    json!({"type": "object", "required": ["id", "webhook", "status", "attempts"],
        "properties": {"id": {"type": "string"}, "webhook": {"type": "string"},
            "status": {"type": "string", "enum": STATUSES}, "attempts": {"type": "integer"},
            "last_error": {"type": ["string", "null"]},
            "received_at": {"type": "string", "format": "date-time"},
            "record_id": {"type": ["string", "null"]}}})
}

/// The bodies `webhooks:create` and `webhooks:update` take (`name` required on create).
pub(super) fn webhook_input(create: bool) -> Json {
    let header = json!({"type": "string", "pattern": "^[A-Za-z0-9-]{1,100}$"});
    let scheme = json!({"type": "object", "additionalProperties": false, "required": ["scheme"],
        "properties": {"scheme": {"type": "string", "enum": ["hmac-sha256", "github", "stripe"]},
            "header": or_null(header.clone()),
            "prefix": or_null(json!({"type": "string", "pattern": "^[\\x21-\\x7e]{0,100}$"}))}});
    let pointer = json!({"type": "string", "pattern": "^(/[A-Za-z0-9_.-]{1,50}){1,10}$"});
    let event_id = json!({"anyOf": [pointer, header, {"type": "null"}]});
    let mut schema = json!({"type": "object", "additionalProperties": false,
        "properties": {"name": collection_name(), "collection": collection_name(),
            "secret": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "^[^\\u0000]+$"},
            "signature": scheme, "event_id": event_id,
            "mapping": {"type": "object", "minProperties": 1, "maxProperties": 100,
                "propertyNames": column_name(), "additionalProperties": pointer}}});
    if create {
        schema["required"] = json!(["name", "collection", "secret", "signature", "mapping"]);
    } else {
        schema["minProperties"] = json!(1);
    }
    schema
}

/// Every shared schema, for `components.schemas`.
pub(super) fn components() -> Map<String, Json> {
    let wrap = |key: &str, inner: &str| {
        json!({"type": "object", "required": [key],
            "properties": {key: {"$ref": format!("#/components/schemas/{inner}")}, "message": {"type": "string"}}})
    };
    let list = |key: &str, inner: &str| {
        json!({"type": "object", "required": [key, "next_cursor"],
            "properties": {key: {"type": "array", "items": {"$ref": format!("#/components/schemas/{inner}")}},
                "next_cursor": {"type": ["string", "null"]}}})
    };
    let mut map = Map::new();
    map.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error": {"type": "string"}, "code": {"type": "string"}, "details": {"type": "object"}}, "required": ["error", "code"]}),
    );
    map.insert(
        "Message".into(),
        json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
    );
    map.insert(
        "SearchTerm".into(),
        json!({"type": "string", "maxLength": 256, "pattern": "^[^\\u0000]*$"}),
    );
    map.insert("User".into(), user());
    map.insert("UserAnswer".into(), wrap("user", "User"));
    map.insert("UserList".into(), list("users", "User"));
    map.insert("ApiKey".into(), api_key());
    map.insert("ApiKeyAnswer".into(), {
        let mut answer = wrap("apikey", "ApiKey");
        answer["properties"]["key"] = json!({"type": "string", "pattern": "^moon_live_"});
        answer
    });
    map.insert("ApiKeyList".into(), list("apikeys", "ApiKey"));
    map.insert("Webhook".into(), webhook());
    map.insert("WebhookAnswer".into(), wrap("webhook", "Webhook"));
    map.insert("WebhookList".into(), list("webhooks", "Webhook"));
    map.insert("WebhookEvent".into(), event());
    map.insert("WebhookEventList".into(), list("events", "WebhookEvent"));
    map.insert(
        "Subscription".into(),
        json!({"type": "object", "required": ["name", "url", "collections", "events", "created_at"],
            "properties": {"name": {"type": "string"}, "url": {"type": "string"},
                "collections": {"type": "array", "items": {"type": "string"}},
                "events": {"type": "array", "items": {"type": "string", "enum": ["create", "update", "destroy"]}},
                "created_at": {"type": "string", "format": "date-time"}}}),
    );
    map.insert(
        "SubscriptionAnswer".into(),
        wrap("subscription", "Subscription"),
    );
    map.insert(
        "SubscriptionList".into(),
        list("subscriptions", "Subscription"),
    );
    map.insert(
        "Delivery".into(),
        json!({"type": "object", "required": ["id", "subscription", "seq", "event", "status", "attempts", "last_error", "created_at"],
            "properties": {"id": {"type": "string"}, "subscription": {"type": "string"}, "seq": {"type": "integer"},
                "event": {"type": "string", "enum": ["create", "update", "destroy"]},
                "status": {"type": "string", "enum": ["pending", "delivered", "dead"]},
                "attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"}}}),
    );
    map.insert("DeliveryList".into(), list("deliveries", "Delivery"));
    map.insert("ColumnDefinition".into(), column_definition());
    map.insert("IndexDefinition".into(), index_definition());
    map.insert(
        "Collection".into(),
        json!({"type": "object", "required": ["name", "columns", "indexes"], "properties": {"name": {"type": "string"},
            "columns": {"type": "array", "items": {"$ref": "#/components/schemas/ColumnDefinition"}},
            "indexes": {"type": "array", "items": {"$ref": "#/components/schemas/IndexDefinition"}}}}),
    );
    map.insert("CollectionAnswer".into(), wrap("collection", "Collection"));
    map.insert(
        "CollectionList".into(),
        json!({"type": "object", "required": ["collections", "count"], "properties": {
            "collections": {"type": "array", "items": {"type": "object", "required": ["name", "records"],
                "properties": {"name": {"type": "string"}, "records": {"type": "integer"}}}},
            "count": {"type": "integer"}}}),
    );
    map.insert(
        "TokenPair".into(),
        json!({"type": "object", "required": ["access_token", "refresh_token", "token_type", "expires_at", "user"],
            "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_at": {"type": "string", "format": "date-time"},
                "user": {"$ref": "#/components/schemas/User"}}}),
    );
    map.insert(
        "ChangeEvent".into(),
        json!({"type": "object", "required": ["collection", "id", "record", "version", "at"],
            "description": "The data of one change feed event; a reset's data is {\"seq\": <head>}.",
            "properties": {
                "collection": {"type": "string"},
                "id": {"type": ["string", "null"], "description": "the record's id (null for schema changes)"},
                "record": {"type": ["object", "null"], "description": "the record as written (null for destroys and schema changes)"},
                "version": {"type": "integer", "description": "the record's version after the write (a destroy: the version removed), or the schema's version"},
                "at": {"type": "string", "format": "date-time"},
                "action": {"type": "string", "enum": ["create", "alter", "drop"], "description": "schema changes only"}}}),
    );
    map.insert(
        "BatchResults".into(),
        json!({"type": "object", "required": ["results", "summary"], "properties": {
            "results": {"type": "array", "items": {"type": "object", "required": ["index", "status"], "properties": {
                "index": {"type": "integer"},
                "status": {"type": "string", "enum": ["created", "updated", "deleted", "failed", "not_found"]},
                "id": {"type": "string"}, "data": {"type": "object"},
                "error_code": {"type": "string"}, "error_message": {"type": "string"}}}},
            "summary": {"type": "object", "required": ["total", "succeeded", "failed"], "properties": {
                "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"}}}}}),
    );
    map.insert(
        "DryRun".into(),
        json!({"type": "object", "required": ["statements", "problems"], "properties": {
            "statements": {"type": "array", "items": {"type": "string"}},
            "problems": {"type": "array", "items": {"type": "object"}}}}),
    );
    map
}

/// An index as declared and as shown: a name, 1 to 5 keys (`-` first: descending), unique.
fn index_definition() -> Json {
    let key = json!({"type": "string", "pattern": "^-?[a-z][a-z0-9_]{1,62}$"});
    json!({"type": "object", "additionalProperties": false, "required": ["name", "columns"],
        "properties": {"name": column_name(),
            "columns": {"type": "array", "items": key, "minItems": 1,
                "maxItems": moon_domain::index::MAX_INDEX_KEYS, "uniqueItems": true},
            "unique": {"type": "boolean"}}})
}
