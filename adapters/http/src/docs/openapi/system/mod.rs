//! The system routes of the OpenAPI document, built from the router's own list of them
//! (`Route::system_routes`) and its method rules (`Route::kind`), one exhaustive match per
//! route: a route the router serves cannot be left out, nor documented with other methods.

mod accounts;
mod events;
mod op;
mod schema;

use serde_json::{Map, Value as Json, json};

use super::shapes::collection_name;
use super::{body, error_responses, headers};
use crate::access::Access;
use crate::docs::DocsRoute;
use crate::routes::Route;
use accounts::{api_keys, auth, users};
use events::{subscriptions, webhooks};
use op::{Op, op, text_page};
use schema::{collections, docs};

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
