//! `/subscriptions:*` (admin): outbound webhook subscriptions, their deliveries and replays
//! (API.md §10). The secret is write-only: never in an answer.

use chrono::SecondsFormat;
use moon_application::{SubscriptionInput, SubscriptionService};
use moon_domain::{Delivery, WebhookSubscription};
use salvo::Request;
use salvo::http::StatusCode;
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::input::{json_body, name_param, object, optional, optional_object, query_params};
use crate::reply::Reply;
use crate::routes::SubscriptionsAction;

const KEYS: [&str; 5] = ["name", "url", "collections", "events", "secret"];

fn service(state: &AppState) -> Result<&SubscriptionService, ApiError> {
    state
        .subscriptions
        .as_deref()
        .ok_or_else(ApiError::not_found)
}

fn view(s: &WebhookSubscription) -> Json {
    let events: Vec<&str> = s.events.iter().map(|e| e.name()).collect();
    json!({
        "name": s.name, "url": s.url, "collections": s.collections, "events": events,
        "created_at": s.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

fn delivery_view(d: &Delivery) -> Json {
    json!({
        "id": d.id, "subscription": d.subscription, "seq": d.seq, "event": d.event.name(),
        "status": d.status.as_str(), "attempts": d.attempts, "last_error": d.last_error,
        "created_at": d.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

fn input(mut body: Map<String, Json>) -> Result<SubscriptionInput, ApiError> {
    Ok(SubscriptionInput {
        name: optional(&mut body, "name", "", "a name")?,
        url: optional(&mut body, "url", "", "a URL")?,
        collections: optional(&mut body, "collections", "", "a list of collection names")?,
        events: optional(&mut body, "events", "", "a list of create, update, destroy")?,
        secret: optional(&mut body, "secret", "", "a string")?,
    })
}

pub async fn admin(
    state: &AppState,
    req: &mut Request,
    action: SubscriptionsAction,
) -> Result<Reply, ApiError> {
    let subs = service(state)?;
    match action {
        SubscriptionsAction::List => {
            query_params(req, &[])?;
            let views: Vec<Json> = subs.list().await?.iter().map(view).collect();
            Ok(Reply::ok(
                &json!({ "subscriptions": views, "next_cursor": null }),
            ))
        }
        SubscriptionsAction::Get => {
            query_params(req, &["name"])?;
            let found = subs.get(&name_param(req, None, "subscription")?).await?;
            Ok(Reply::ok(&json!({ "subscription": view(&found) })))
        }
        SubscriptionsAction::Create => {
            query_params(req, &[])?;
            let body = object(json_body(req, state.max_body_bytes).await?, &KEYS, "")?;
            let made = subs.create(input(body)?).await?;
            Ok(Reply::json(
                StatusCode::CREATED,
                &json!({ "subscription": view(&made), "message": "Subscription created" }),
            ))
        }
        SubscriptionsAction::Update => {
            query_params(req, &["name"])?;
            let mut body = object(json_body(req, state.max_body_bytes).await?, &KEYS, "")?;
            let name = name_param(req, Some(&mut body), "subscription")?;
            let mut changes = input(body)?;
            changes.name = Some(name);
            let changed = subs.update(changes).await?;
            Ok(Reply::ok(
                &json!({ "subscription": view(&changed), "message": "Subscription updated" }),
            ))
        }
        SubscriptionsAction::Destroy => {
            query_params(req, &["name"])?;
            let mut body = optional_object(req, state.max_body_bytes, &["name"]).await?;
            subs.destroy(&name_param(req, body.as_mut(), "subscription")?)
                .await?;
            Ok(Reply::ok(&json!({ "message": "Subscription deleted" })))
        }
        SubscriptionsAction::Deliveries => {
            let params = query_params(req, &["name", "status", "limit"])?;
            let limit = params.get("limit").map_or(Ok(50), |l| {
                l.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| ApiError::invalid("limit", "limit must be 1-200"))
            })?;
            let name = params.get("name");
            if let Some(name) = name {
                subs.get(name).await?;
            }
            let found = subs.deliveries(name, params.get("status"), limit).await?;
            let views: Vec<Json> = found.iter().map(delivery_view).collect();
            Ok(Reply::ok(
                &json!({ "deliveries": views, "next_cursor": null }),
            ))
        }
        SubscriptionsAction::Replay => {
            query_params(req, &[])?;
            let mut body = optional_object(req, state.max_body_bytes, &["id", "name", "after"])
                .await?
                .unwrap_or_default();
            let id: Option<String> = optional(&mut body, "id", "", "a delivery id")?;
            let name: Option<String> = optional(&mut body, "name", "", "a subscription name")?;
            let after: Option<u64> = optional(&mut body, "after", "", "a sequence number")?;
            subs.replay(id.as_deref(), name.as_deref(), after).await?;
            Ok(Reply::json(
                StatusCode::ACCEPTED,
                &json!({ "message": "Queued again" }),
            ))
        }
    }
}
