//! `/webhooks:*` (admin: endpoints, events, replay) and `POST /hooks/{name}` (public,
//! signature-checked ingestion).

use chrono::SecondsFormat;
use moon_application::{AppError, Ingested, WebhookService};
use moon_domain::{
    CollectionName, ColumnName, EventStatus, SignatureScheme, WebhookEndpoint, WebhookEvent,
};
use salvo::Request;
use salvo::http::StatusCode;
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::input::{
    json_body, json_body_bytes, name_param, object, optional, optional_object, query_params,
    required,
};
use crate::reply::Reply;
use crate::routes::WebhooksAction;

const KEYS: [&str; 6] = [
    "name",
    "collection",
    "secret",
    "signature",
    "event_id",
    "mapping",
];

fn service(state: &AppState) -> Result<&WebhookService, ApiError> {
    state.webhooks.as_deref().ok_or_else(ApiError::not_found)
}

fn endpoint_view(e: &WebhookEndpoint) -> Json {
    let signature = match &e.signature {
        SignatureScheme::HmacSha256 { header, prefix } => {
            json!({"scheme": "hmac-sha256", "header": header, "prefix": prefix})
        }
        SignatureScheme::GitHub => json!({"scheme": "github", "header": "X-Hub-Signature-256"}),
        SignatureScheme::Stripe => json!({"scheme": "stripe", "header": "Stripe-Signature"}),
    };
    let mapping: Map<String, Json> = e
        .mapping
        .iter()
        .map(|(c, p)| (c.to_string(), json!(p)))
        .collect();
    json!({
        "name": e.name, "collection": e.collection, "signature": signature, "event_id": e.event_id,
        "mapping": mapping, "created_at": e.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

fn event_view(e: &WebhookEvent) -> Json {
    json!({
        "id": e.id, "webhook": e.webhook, "status": e.status.as_str(), "attempts": e.attempts,
        "last_error": e.last_error, "received_at": e.received_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "record_id": e.record_id,
    })
}

/// Applies the body's fields onto `base` (all of them for a new endpoint).
fn apply(
    mut body: Map<String, Json>,
    mut base: WebhookEndpoint,
    creating: bool,
) -> Result<WebhookEndpoint, ApiError> {
    if let Some(collection) = optional::<String>(&mut body, "collection", "", "a collection name")?
    {
        base.collection = CollectionName::parse(&collection)
            .map_err(|e| ApiError::invalid("collection", e.to_string()))?;
    }
    if let Some(secret) = optional::<String>(&mut body, "secret", "", "a string")? {
        base.secret = secret;
    }
    if creating && base.secret.is_empty() {
        return Err(ApiError::invalid("secret", "a webhook needs a secret"));
    }
    if let Some(signature) = body.remove("signature") {
        let mut sig = object(signature, &["scheme", "header", "prefix"], "signature.")?;
        let scheme: String = required(
            &mut sig,
            "scheme",
            "signature.",
            "hmac-sha256, github or stripe",
        )?;
        let header: Option<String> = optional(&mut sig, "header", "signature.", "a header name")?;
        let prefix: Option<String> = optional(&mut sig, "prefix", "signature.", "a string")?;
        base.signature = match scheme.as_str() {
            "hmac-sha256" => SignatureScheme::HmacSha256 {
                header: header.unwrap_or_else(|| "X-Signature".to_owned()),
                prefix: prefix.unwrap_or_default(),
            },
            "github" => SignatureScheme::GitHub,
            "stripe" => SignatureScheme::Stripe,
            other => {
                return Err(ApiError::invalid(
                    "signature.scheme",
                    format!("unknown scheme '{other}'; use hmac-sha256, github or stripe"),
                ));
            }
        };
    }
    match body.remove("event_id") {
        None => {}
        Some(Json::Null) => base.event_id = None,
        Some(Json::String(source)) => base.event_id = Some(source).filter(|s| !s.is_empty()),
        Some(_) => {
            return Err(ApiError::invalid(
                "event_id",
                "event_id is a JSON Pointer or a header name",
            ));
        }
    }
    if let Some(mapping) = body.remove("mapping") {
        let Json::Object(map) = mapping else {
            return Err(ApiError::invalid(
                "mapping",
                "mapping is an object of field → JSON Pointer",
            ));
        };
        base.mapping = map
            .into_iter()
            .map(|(field, pointer)| {
                let column = ColumnName::parse(&field)
                    .map_err(|e| ApiError::invalid(&format!("mapping.{field}"), e.to_string()))?;
                let pointer = pointer.as_str().ok_or_else(|| {
                    ApiError::invalid(&format!("mapping.{field}"), "a JSON Pointer string")
                })?;
                Ok((column, pointer.to_owned()))
            })
            .collect::<Result<_, ApiError>>()?;
    }
    Ok(base)
}

pub async fn admin(
    state: &AppState,
    req: &mut Request,
    action: WebhooksAction,
) -> Result<Reply, ApiError> {
    let hooks = service(state)?;
    match action {
        WebhooksAction::List => {
            let params = query_params(req, &["limit", "after"])?;
            let limit = params.get("limit").map_or(Ok(50), |l| {
                l.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", "limit must be 1-200"))
            })?;
            let after = params.get("after").unwrap_or_default();
            let page: Vec<WebhookEndpoint> = hooks
                .endpoints()
                .await?
                .into_iter()
                .filter(|e| e.name.as_str() > after)
                .take(limit)
                .collect();
            let next = (page.len() == limit)
                .then(|| page.last().map(|e| e.name.to_string()))
                .flatten();
            let views: Vec<Json> = page.iter().map(endpoint_view).collect();
            Ok(Reply::ok(
                &json!({ "webhooks": views, "next_cursor": next }),
            ))
        }
        WebhooksAction::Get => {
            query_params(req, &["name"])?;
            let endpoint = hooks.endpoint(&name_param(req, None, "webhook")?).await?;
            Ok(Reply::ok(&json!({ "webhook": endpoint_view(&endpoint) })))
        }
        WebhooksAction::Create => {
            query_params(req, &[])?;
            let mut body = object(json_body(req, state.max_body_bytes).await?, &KEYS, "")?;
            let raw: String = required(&mut body, "name", "", "a name")?;
            let name = CollectionName::parse(&raw)
                .map_err(|e| ApiError::invalid("name", e.to_string()))?;
            let blank = WebhookEndpoint {
                name: name.clone(),
                collection: name,
                secret: String::new(),
                signature: SignatureScheme::HmacSha256 {
                    header: "X-Signature".into(),
                    prefix: String::new(),
                },
                event_id: None,
                mapping: Vec::new(),
                created_at: chrono::Utc::now(),
            };
            if !body.contains_key("collection") {
                return Err(ApiError::invalid("collection", "collection is required"));
            }
            let endpoint = apply(body, blank, true)?;
            hooks.save(&endpoint, true).await?;
            Ok(Reply::json(
                StatusCode::CREATED,
                &json!({ "webhook": endpoint_view(&endpoint), "message": "Webhook created" }),
            ))
        }
        WebhooksAction::Update => {
            query_params(req, &["name"])?;
            let mut body = object(json_body(req, state.max_body_bytes).await?, &KEYS, "")?;
            let name = name_param(req, Some(&mut body), "webhook")?;
            let endpoint = apply(body, hooks.endpoint(&name).await?, false)?;
            hooks.save(&endpoint, false).await?;
            Ok(Reply::ok(
                &json!({ "webhook": endpoint_view(&endpoint), "message": "Webhook updated" }),
            ))
        }
        WebhooksAction::Destroy => {
            query_params(req, &["name"])?;
            let mut body = optional_object(req, state.max_body_bytes, &["name"]).await?;
            hooks
                .delete(&name_param(req, body.as_mut(), "webhook")?)
                .await?;
            Ok(Reply::ok(&json!({ "message": "Webhook deleted" })))
        }
        WebhooksAction::Events => {
            let params = query_params(req, &["name", "status", "limit", "after"])?;
            let status = params
                .get("status")
                .map(|s| {
                    EventStatus::parse(s).ok_or_else(|| {
                        ApiError::invalid("status", "status is pending, done, failed or dead")
                    })
                })
                .transpose()?;
            let limit = params.get("limit").map_or(Ok(50), |l| {
                l.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", "limit must be 1-200"))
            })?;
            let name = params.get("name").map(str::to_ascii_lowercase);
            if let Some(name) = &name {
                hooks.endpoint(name).await?;
            }
            let events = hooks
                .events(name.as_deref(), status, params.get("after"), limit)
                .await?;
            let next = (events.len() == limit as usize)
                .then(|| events.last().map(|e| e.id.clone()))
                .flatten();
            let views: Vec<Json> = events.iter().map(event_view).collect();
            Ok(Reply::ok(&json!({ "events": views, "next_cursor": next })))
        }
        WebhooksAction::Replay => {
            query_params(req, &["id"])?;
            let mut body = optional_object(req, state.max_body_bytes, &["id"]).await?;
            let id = match req.queries().get("id") {
                Some(id) => id.clone(),
                None => body
                    .as_mut()
                    .and_then(|b| b.remove("id"))
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .ok_or_else(|| ApiError::invalid("id", "give the event id"))?,
            };
            hooks.replay(&id).await?;
            Ok(Reply::json(
                StatusCode::ACCEPTED,
                &json!({ "id": id, "message": "Event queued again" }),
            ))
        }
    }
}

pub async fn ingest(state: &AppState, req: &mut Request, name: &str) -> Result<Reply, ApiError> {
    let hooks = service(state)?;
    let body = json_body_bytes(req, state.max_body_bytes).await?;
    let headers = req.headers().clone();
    let header = move |wanted: &str| {
        headers
            .get(wanted)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match hooks.ingest(name, &header, &body).await {
        Ok(Ingested::Accepted(id)) => Ok(Reply::json(StatusCode::ACCEPTED, &json!({ "id": id }))),
        Ok(Ingested::Duplicate(id)) => Ok(Reply::ok(&json!({ "id": id, "duplicate": true }))),
        Err(AppError::NotFound(_)) => Err(ApiError::not_found()),
        Err(e) => Err(e.into()),
    }
}
