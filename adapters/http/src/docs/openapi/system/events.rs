//! The operations on events in and out: `/webhooks:*` (inbound) and `/subscriptions:*`
//! (outbound).

use serde_json::json;

use super::op::{Op, by_name, made, object, op};
use crate::docs::openapi::reference;
use crate::docs::openapi::shapes::{collection_name, ulid, webhook_input};
use crate::routes::{SubscriptionsAction, WebhooksAction};

pub(super) fn webhooks(action: WebhooksAction) -> Op {
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

pub(super) fn subscriptions(action: SubscriptionsAction) -> Op {
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
