//! The subscription and delivery tables' rows: their columns and how they decode.

use chrono::{DateTime, Utc};
use moon_domain::{ChangeKind, Delivery, DeliveryStatus, RepoError, WebhookSubscription};
use sea_orm::QueryResult;

use crate::dialect::get;
use crate::error::internal;

pub(super) const SUB_COLUMNS: [&str; 7] = [
    "name",
    "url",
    "collections",
    "events",
    "secret",
    "created_at",
    "cursor_seq",
];
pub(super) const DELIVERY_COLUMNS: [&str; 10] = [
    "id",
    "subscription",
    "seq",
    "event",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
];

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn text(row: &QueryResult, i: usize) -> Result<String, RepoError> {
    Ok(get::<String>(row, i)?.unwrap_or_default())
}

fn number(row: &QueryResult, i: usize) -> Result<i64, RepoError> {
    Ok(get::<i64>(row, i)?.unwrap_or_default())
}

pub(super) fn subscription(row: &QueryResult) -> Result<WebhookSubscription, RepoError> {
    let collections: Vec<String> = serde_json::from_str(&text(row, 2)?).map_err(internal)?;
    let events: Vec<String> = serde_json::from_str(&text(row, 3)?).map_err(internal)?;
    Ok(WebhookSubscription {
        name: text(row, 0)?,
        url: text(row, 1)?,
        collections,
        events: events.iter().filter_map(|e| ChangeKind::parse(e)).collect(),
        secret: text(row, 4)?,
        created_at: from_millis(number(row, 5)?),
        cursor: u64::try_from(number(row, 6)?).unwrap_or(0),
    })
}

pub(super) fn delivery(row: &QueryResult) -> Result<Delivery, RepoError> {
    let event = text(row, 3)?;
    let status = text(row, 5)?;
    Ok(Delivery {
        id: text(row, 0)?,
        subscription: text(row, 1)?,
        seq: u64::try_from(number(row, 2)?).unwrap_or(0),
        event: ChangeKind::parse(&event).ok_or_else(|| internal(format!("event '{event}'")))?,
        payload: text(row, 4)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| internal(format!("status '{status}'")))?,
        attempts: u32::try_from(number(row, 6)?).unwrap_or(0),
        next_attempt_at: number(row, 7)?,
        last_error: get::<String>(row, 8)?,
        created_at: from_millis(number(row, 9)?),
    })
}

pub(super) fn names(kinds: &[ChangeKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    serde_json::to_string(&names).unwrap_or_default()
}
