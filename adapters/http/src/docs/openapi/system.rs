//! The system routes of the OpenAPI document: health, auth, collections, users and keys.

use serde_json::{Map, Value as Json, json};

use super::{body, ok};

pub(super) fn system_paths(paths: &mut Map<String, Json>) {
    let public = json!([]);
    let obj = json!({"type": "object"});
    let mut metrics = super::error_responses(&["401", "403"]);
    metrics.insert(
        "200".to_owned(),
        json!({"description": "Prometheus text exposition format (version 0.0.4)",
            "content": {"text/plain": {"schema": {"type": "string"}}}}),
    );
    paths.insert(
        "/metrics".to_owned(),
        json!({"get": {"tags": ["system"], "operationId": "metrics",
            "summary": "Request counts and latency histograms by route kind and status, pool use, queues (admin, or anyone with metrics_public)",
            "responses": metrics}}),
    );
    let mut add = |path: &str,
                   method: &str,
                   summary: &str,
                   request: Option<Json>,
                   secured: bool,
                   errors: &[&str]| {
        let mut op = json!({"tags": ["system"], "summary": summary, "operationId": path.trim_start_matches('/').replace(':', "_"),
            "responses": ok("200", "ok", obj.clone(), errors)});
        if let Some(schema) = request {
            op["requestBody"] = body(schema);
        }
        if !secured {
            op["security"] = public.clone();
        }
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = op;
    };
    add(
        "/health",
        "get",
        "Health of Moon and its database",
        None,
        false,
        &[],
    );
    add(
        "/auth:login",
        "post",
        "Log in",
        Some(
            json!({"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}, "required": ["username", "password"]}),
        ),
        false,
        &["400", "401", "429"],
    );
    add(
        "/auth:refresh",
        "post",
        "Trade a refresh token for a new pair",
        Some(
            json!({"type": "object", "properties": {"refresh_token": {"type": "string"}}, "required": ["refresh_token"]}),
        ),
        false,
        &["400", "401"],
    );
    add(
        "/auth:logout",
        "post",
        "End a session",
        Some(
            json!({"type": "object", "properties": {"refresh_token": {"type": "string"}}, "required": ["refresh_token"]}),
        ),
        true,
        &["401"],
    );
    add("/auth:me", "get", "The caller", None, true, &["401", "403"]);
    for action in ["list", "get"] {
        add(
            &format!("/collections:{action}"),
            "get",
            &format!("Collections: {action}"),
            None,
            true,
            &["400", "401", "404"],
        );
        add(
            &format!("/users:{action}"),
            "get",
            &format!("Users: {action}"),
            None,
            true,
            &["401", "403", "404"],
        );
        add(
            &format!("/apikeys:{action}"),
            "get",
            &format!("API keys: {action}"),
            None,
            true,
            &["401", "403", "404"],
        );
    }
    for action in ["create", "update", "destroy"] {
        add(
            &format!("/collections:{action}"),
            "post",
            &format!("Collections: {action}"),
            Some(obj.clone()),
            true,
            &["400", "401", "403", "404", "409"],
        );
        add(
            &format!("/users:{action}"),
            "post",
            &format!("Users: {action}"),
            Some(obj.clone()),
            true,
            &["400", "401", "403", "404", "409"],
        );
        add(
            &format!("/apikeys:{action}"),
            "post",
            &format!("API keys: {action}"),
            Some(obj.clone()),
            true,
            &["400", "401", "403", "404"],
        );
    }
}
