//! The system routes of the OpenAPI document, built from the router's own list of them
//! (`Route::system_routes`) and its method rules (`Route::kind`), one exhaustive match per
//! route: a route the router serves cannot be left out, nor documented with other methods.

use serde_json::{Map, Value as Json, json};

use super::shapes::{collection_name, column_name, or_null, password, text, ulid, webhook_input};
use super::{body, error_responses, headers, query, reference};
use crate::access::Access;
use crate::docs::DocsRoute;
use crate::routes::{
    AdminAction, AuthAction, CollectionsAction, Route, SubscriptionsAction, WebhooksAction,
};

/// One operation being described.
struct Op {
    summary: String,
    params: Vec<Json>,
    body: Option<Json>,
    answer: (&'static str, &'static str, Json),
    errors: Vec<&'static str>,
    /// Other answers with their own description (and schema, when they have a body).
    others: Vec<(&'static str, &'static str, Option<Json>)>,
    /// OpenAPI links from the success answer to the operations on what it made.
    links: Option<Json>,
}

fn op(summary: impl Into<String>, status: &'static str, answer: Json) -> Op {
    Op {
        summary: summary.into(),
        params: Vec::new(),
        body: None,
        answer: (status, "application/json", answer),
        errors: Vec::new(),
        others: Vec::new(),
        links: None,
    }
}

/// Links from a create answer to get, update and destroy by the key it returned: `key` is
/// the query parameter, `pointer` where the answer holds it.
fn made(resource: &str, key: &str, pointer: &str) -> Json {
    let value = format!("$response.body#{pointer}");
    let by_key = |action: &str, method: &str| json!({"operationId": format!("{resource}_{action}_{method}"), "parameters": {key: value}});
    let mut links = json!({"get": by_key("get", "get"), "destroy": by_key("destroy", "post")});
    if resource != "collections" {
        links["update"] = by_key("update", "post");
    } else {
        links["destroy"] =
            json!({"operationId": "collections_destroy_post", "requestBody": {key: value}});
    }
    links
}

impl Op {
    fn param(mut self, name: &str, schema: Json, required: bool, about: &str) -> Self {
        self.params.push(query(name, about, schema, required));
        self
    }

    fn body(mut self, schema: Json) -> Self {
        self.body = Some(schema);
        self.errors.extend(["400", "413", "415"]);
        self
    }

    fn errors(mut self, codes: &[&'static str]) -> Self {
        self.errors.extend(codes);
        self
    }

    /// A redirect instead of a page.
    fn moved(mut self) -> Self {
        self.answer.0 = "301";
        self
    }

    fn links(mut self, links: Json) -> Self {
        self.links = Some(links);
        self
    }

    fn other(mut self, status: &'static str, about: &'static str, schema: Option<Json>) -> Self {
        self.others.push((status, about, schema));
        self
    }

    fn text(mut self, content_type: &'static str) -> Self {
        self.answer.1 = content_type;
        self
    }

    fn paged(self) -> Self {
        self.param(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
            false,
            "page size (default 50)",
        )
        .param(
            "after",
            json!({"type": "string"}),
            false,
            "next_cursor of the previous page",
        )
    }
}

fn object(properties: Json, required: &[&str]) -> Json {
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": required})
}

fn by_id(op: Op, what: &str) -> Op {
    op.param("id", ulid(), true, &format!("the {what}'s id"))
        .errors(&["404"])
}

fn by_name(op: Op, what: &str) -> Op {
    op.param(
        "name",
        collection_name(),
        true,
        &format!("the {what}'s name"),
    )
    .errors(&["404"])
}

fn text_page(summary: &str, content_type: &'static str) -> Op {
    op(summary, "200", json!({"type": "string"})).text(content_type)
}

fn docs(page: DocsRoute) -> Op {
    match page {
        DocsRoute::OpenApi => op("This OpenAPI document", "200", json!({"type": "object"})).other(
            "304",
            "not modified (If-None-Match)",
            None,
        ),
        DocsRoute::Ui => text_page("Interactive API docs", "text/html"),
        DocsRoute::Asset(file) => {
            let kind = if file.ends_with(".css") {
                "text/css"
            } else {
                "application/javascript"
            };
            text_page("An asset of the docs page", kind)
        }
        DocsRoute::DocRoot => text_page("Redirects to /doc/", "text/plain").moved(),
        DocsRoute::Doc(format) => {
            let kind = match format {
                super::super::llms::Format::Html => "text/html",
                super::super::llms::Format::Markdown => "text/markdown",
                super::super::llms::Format::Text => "text/plain",
                super::super::llms::Format::Json => "application/json",
            };
            let page = if kind == "application/json" {
                op(
                    "Reference for people and AI agents",
                    "200",
                    json!({"type": "object"}),
                )
            } else {
                text_page("Reference for people and AI agents", kind)
            };
            page.other("304", "not modified (If-None-Match)", None)
        }
    }
}

fn collections(action: CollectionsAction) -> Op {
    let columns = json!({"type": "array", "items": reference("ColumnDefinition"), "minItems": 1, "maxItems": 100});
    let indexes = json!({"type": "array", "items": reference("IndexDefinition"),
        "maxItems": moon_domain::index::MAX_INDEXES});
    match action {
        CollectionsAction::List => op("Every collection", "200", reference("CollectionList")),
        CollectionsAction::Get => by_name(
            op(
                "One collection's schema",
                "200",
                reference("CollectionAnswer"),
            ),
            "collection",
        ),
        CollectionsAction::Create => {
            op("Create a collection", "201", reference("CollectionAnswer"))
                .body(object(
                    json!({"name": collection_name(), "columns": columns, "indexes": indexes}),
                    &["name", "columns"],
                ))
                .errors(&["409"])
                .links(made("collections", "name", "/collection/name"))
        }
        CollectionsAction::Update => {
            let rename = json!({"type": "array", "items": object(json!({"old_name": column_name(), "new_name": column_name()}), &["old_name", "new_name"])});
            op(
                "Change a collection's columns, all or nothing",
                "200",
                json!({"oneOf": [reference("CollectionAnswer"), reference("DryRun")]}),
            )
            .param(
                "dry_run",
                json!({"type": "boolean"}),
                false,
                "report the plan, change nothing",
            )
            .body(object(
                json!({"name": collection_name(), "rename_columns": rename,
                    "modify_columns": columns, "add_columns": columns,
                    "remove_columns": {"type": "array", "items": column_name()},
                    "add_indexes": indexes, "remove_indexes": {"type": "array", "items": column_name()}}),
                &["name"],
            ))
            .errors(&["404", "409"])
        }
        CollectionsAction::Destroy => op(
            "Drop a collection and its records",
            "200",
            reference("Message"),
        )
        .body(object(json!({"name": collection_name()}), &["name"]))
        .errors(&["404"]),
    }
}

fn auth(action: AuthAction, method: &str) -> Op {
    let secret = text(1000);
    match (action, method) {
        (AuthAction::Login, _) => op("Log in", "200", reference("TokenPair"))
            .body(object(json!({"username": text(100), "password": text(1000)}), &["username", "password"]))
            .errors(&["401", "429", "503"]),
        (AuthAction::Refresh, _) => op("Trade a refresh token for a new pair", "200", reference("TokenPair"))
            .body(object(json!({"refresh_token": secret}), &["refresh_token"]))
            .errors(&["401", "429", "503"]),
        (AuthAction::Logout, _) => op("End the session of a refresh token", "200", reference("Message"))
            .body(object(json!({"refresh_token": secret}), &["refresh_token"])),
        (AuthAction::Me, "get") => op("The caller", "200", reference("UserAnswer")),
        (AuthAction::Me, _) => op("Change the caller's email or password", "200", reference("UserAnswer"))
            .body(json!({"oneOf": [
                object(json!({"email": {"type": ["string", "null"], "format": "email", "maxLength": 255}}), &["email"]),
                object(json!({"old_password": text(1000), "password": password()}), &["old_password", "password"])]}))
            .errors(&["409"]),
    }
}

fn users(action: AdminAction) -> Op {
    let role = or_null(json!({"type": "string", "enum": ["admin", "user", "readonly"]}));
    let username = json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,32}$"});
    let password = password();
    let email = json!({"type": ["string", "null"], "format": "email", "maxLength": 255});
    let can_write = or_null(json!({"type": "boolean"}));
    match action {
        AdminAction::List => op("Users", "200", reference("UserList")).paged(),
        AdminAction::Get => by_id(op("One user", "200", reference("UserAnswer")), "user"),
        AdminAction::Create => op("Create a user", "201", reference("UserAnswer"))
            .body(object(json!({"username": username, "password": password, "email": email, "role": role, "can_write": can_write}), &["username", "password"]))
            .errors(&["409"])
            .links(made("users", "id", "/user/id")),
        AdminAction::Update => by_id(op("Change a user, reset their password or end their sessions", "200", reference("UserAnswer")), "user")
            .body(json!({"oneOf": [
                json!({"type": "object", "additionalProperties": false,
                    "properties": {"email": email, "role": role, "can_write": can_write, "password": password, "action": {"type": "null"}}}),
                object(json!({"action": {"const": "reset_password"}, "new_password": password}), &["action", "new_password"]),
                object(json!({"action": {"const": "revoke_sessions"}}), &["action"])]}))
            .errors(&["409"]),
        AdminAction::Destroy => by_id(op("Delete a user", "200", reference("Message")), "user"),
    }
}

fn api_keys(action: AdminAction) -> Op {
    let role = or_null(json!({"type": "string", "enum": ["admin", "user", "readonly"]}));
    let name =
        json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000]+$"});
    let about = or_null(json!({"type": "string", "pattern": "^[^\\u0000]*$"}));
    let can_write = or_null(json!({"type": "boolean"}));
    match action {
        AdminAction::List => op("API keys", "200", reference("ApiKeyList")).paged(),
        AdminAction::Get => by_id(op("One API key", "200", reference("ApiKeyAnswer")), "key"),
        AdminAction::Create => op("Create an API key (shown once)", "201", reference("ApiKeyAnswer"))
            .body(object(json!({"name": name, "description": about, "role": role, "can_write": can_write}), &["name"]))
            .links(made("apikeys", "id", "/apikey/id")),
        AdminAction::Update => by_id(op("Change an API key's metadata or rotate it", "200", reference("ApiKeyAnswer")), "key")
            .body(json!({"oneOf": [
                json!({"type": "object", "additionalProperties": false,
                    "properties": {"name": name, "description": about, "role": role, "can_write": can_write, "action": {"type": "null"}}}),
                object(json!({"action": {"const": "rotate"}}), &["action"])]})),
        AdminAction::Destroy => by_id(op("Delete an API key", "200", reference("Message")), "key"),
    }
}

fn webhooks(action: WebhooksAction) -> Op {
    match action {
        WebhooksAction::List => op("Webhook endpoints", "200", reference("WebhookList")).paged(),
        WebhooksAction::Get => by_name(op("One webhook endpoint", "200", reference("WebhookAnswer")), "webhook"),
        WebhooksAction::Create => op("Create a webhook endpoint", "201", reference("WebhookAnswer"))
            .body(webhook_input(true))
            .errors(&["404", "409"])
            .links(made("webhooks", "name", "/webhook/name")),
        WebhooksAction::Update => by_name(op("Change a webhook endpoint", "200", reference("WebhookAnswer")), "webhook")
            .body(webhook_input(false)),
        WebhooksAction::Destroy => by_name(op("Delete a webhook endpoint", "200", reference("Message")), "webhook"),
        WebhooksAction::Events => op("Stored webhook events", "200", reference("WebhookEventList"))
            .param("name", collection_name(), false, "only this endpoint's events")
            .param("status", json!({"type": "string", "enum": ["pending", "processing", "done", "failed", "dead"]}), false, "only events in this state")
            .paged()
            .errors(&["404"]),
        WebhooksAction::Replay => op("Run a failed or dead event again", "202", json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "message": {"type": "string"}}}))
            .param("id", ulid(), true, "the event's id")
            .errors(&["404", "409"]),
    }
}

fn subscriptions(action: SubscriptionsAction) -> Op {
    let name =
        json!({"type": "string", "minLength": 2, "maxLength": 63, "pattern": "^[a-z][a-z0-9_-]*$"});
    let url = json!({"type": "string", "format": "uri", "pattern": "^https?://"});
    let collections = json!({"type": "array", "minItems": 1, "items": {"type": "string"}});
    let events = json!({"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string", "enum": ["create", "update", "destroy"]}});
    let secret =
        json!({"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000]+$"});
    let by = |op: Op| {
        op.param("name", name.clone(), true, "the subscription's name")
            .errors(&["404"])
    };
    match action {
        SubscriptionsAction::List => op("Outbound webhook subscriptions", "200", reference("SubscriptionList")),
        SubscriptionsAction::Get => by(op("One subscription (never its secret)", "200", reference("SubscriptionAnswer"))),
        SubscriptionsAction::Create => op("Subscribe a URL to changes", "201", reference("SubscriptionAnswer"))
            .body(object(json!({"name": name, "url": url, "collections": collections, "events": events, "secret": secret}), &["name", "url", "collections", "secret"]))
            .errors(&["404", "409"])
            .links(made("subscriptions", "name", "/subscription/name")),
        SubscriptionsAction::Update => by(op("Change a subscription", "200", reference("SubscriptionAnswer")))
            .body(object(json!({"url": url, "collections": collections, "events": events, "secret": secret}), &[])),
        SubscriptionsAction::Destroy => by(op("Delete a subscription and its deliveries", "200", reference("Message"))),
        SubscriptionsAction::Deliveries => op("Deliveries, newest first", "200", reference("DeliveryList"))
            .param("name", name.clone(), false, "only this subscription's")
            .param("status", json!({"type": "string", "enum": ["pending", "delivered", "dead"]}), false, "only deliveries in this state")
            .param("limit", json!({"type": "integer", "minimum": 1, "maximum": 200}), false, "how many (default 50)")
            .errors(&["404"]),
        SubscriptionsAction::Replay => op("Send a delivery again, or every change after a sequence number", "202", reference("Message"))
            .body(json!({"oneOf": [
                object(json!({"id": {"type": "string"}}), &["id"]),
                object(json!({"name": name, "after": {"type": "integer", "minimum": 0}}), &["name", "after"])]}))
            .errors(&["404"]),
    }
}

/// The path and the operation for `method`; `None` for collection routes, which
/// `collection` describes.
fn describe(route: Route<'static>, method: &str) -> Option<(String, Op)> {
    Some(match route {
        Route::Health => {
            let health = json!({"type": "object", "required": ["status", "database", "version", "timestamp"],
                "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]}, "database": {"type": "string", "enum": ["ok", "error"]},
                    "version": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"}}});
            (
                "/health".into(),
                op("Health of Moon and its database", "200", health),
            )
        }
        Route::Metrics => {
            let text = text_page(
                "Prometheus metrics: requests and latency by route kind and status, pool use, queues (admin, or anyone with metrics_public)",
                "text/plain",
            );
            ("/metrics".into(), text)
        }
        Route::Hook(_) => {
            let answer = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "duplicate": {"type": "boolean"}}});
            let mut hook = op("Deliver a signed event", "202", answer.clone())
                .body(json!({}))
                .errors(&["401", "404"])
                .other(
                    "200",
                    "an event seen before: the first one's id",
                    Some(answer),
                );
            hook.params.push(json!({"name": "name", "in": "path", "required": true, "schema": collection_name()}));
            ("/hooks/{name}".into(), hook)
        }
        Route::Docs(page) => (page.path().into(), docs(page)),
        Route::Collections(action) => (
            format!("/collections:{}", action_name(route)),
            collections(action),
        ),
        Route::Auth(action) => (
            format!("/auth:{}", action_name(route)),
            auth(action, method),
        ),
        Route::Users(action) => (format!("/users:{}", action_name(route)), users(action)),
        Route::ApiKeys(action) => (format!("/apikeys:{}", action_name(route)), api_keys(action)),
        Route::Webhooks(action) => (
            format!("/webhooks:{}", action_name(route)),
            webhooks(action),
        ),
        Route::Subscriptions(action) => (
            format!("/subscriptions:{}", action.name()),
            subscriptions(action),
        ),
        Route::Records { .. } => return None,
    })
}

/// The action part of a system route's path.
fn action_name(route: Route<'_>) -> &'static str {
    crate::metrics::route_label(Some(&route))
        .split_once(':')
        .map_or("", |(_, action)| action)
}

/// The answer headers particular to `route` and the request header it takes, if any.
fn request_headers(route: Route<'_>) -> (&'static [headers::AnswerHeader], Option<&'static str>) {
    match route {
        Route::Docs(DocsRoute::OpenApi | DocsRoute::Doc(_)) => {
            (&[headers::ETAG], Some("IfNoneMatch"))
        }
        Route::Collections(action) if action.kind() == crate::routes::Kind::Write => {
            (&[headers::REPLAYED], Some("IdempotencyKey"))
        }
        _ => (&[], None),
    }
}

pub(super) fn system_paths(paths: &mut Map<String, Json>) {
    for route in Route::system_routes() {
        for method in route.kind().methods() {
            let Some((path, op)) = describe(route, method) else {
                continue;
            };
            // The secure default: `/metrics` is documented as admin-only.
            let access = route.access(false);
            let secured = access.needs_credential();
            let admin = access == Access::Admin;
            let (extra, header_param) = request_headers(route);
            // Any route refuses unknown query parameters.
            let mut errors = op.errors.clone();
            if header_param == Some("IdempotencyKey") {
                errors.push("409");
            }
            errors.push("400");
            if secured {
                errors.extend(["401", "429", "503"]);
            }
            if admin {
                errors.push("403");
            }
            errors.sort_unstable();
            errors.dedup();
            let mut responses = error_responses(&errors);
            let (status, content_type, schema) = op.answer;
            let mut success =
                json!({"description": op.summary, "content": {content_type: {"schema": schema}}});
            if let Some(links) = op.links {
                success["links"] = links;
            }
            responses.insert(status.to_owned(), success);
            for (status, about, schema) in op.others {
                let answer = match schema {
                    Some(schema) => {
                        json!({"description": about, "content": {"application/json": {"schema": schema}}})
                    }
                    None => json!({"description": about}),
                };
                responses.insert(status.to_owned(), answer);
            }
            let id = format!(
                "{}_{method}",
                path.trim_start_matches('/')
                    .replace([':', '/', '.'], "_")
                    .replace(['{', '}'], "")
            );
            let mut operation = json!({"tags": ["system"], "summary": op.summary, "operationId": id, "responses": responses});
            let mut params = op.params;
            params.extend(header_param.map(headers::parameter));
            if !params.is_empty() {
                operation["parameters"] = Json::Array(params);
            }
            if let Some(schema) = op.body {
                operation["requestBody"] = body(schema);
            }
            if !secured {
                operation["security"] = json!([]);
            }
            headers::annotate(&mut operation, extra);
            let entry = paths.entry(path).or_insert_with(|| json!({}));
            entry[*method] = operation;
        }
    }
}
