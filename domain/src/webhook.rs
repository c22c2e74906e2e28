//! Inbound webhooks: endpoints (where events go and how they are checked and mapped) and
//! the events stored durably before they are answered.

use chrono::{DateTime, Utc};

use crate::name::{CollectionName, ColumnName};

/// How an endpoint's events are signed (API.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureScheme {
    /// Lowercase hex HMAC-SHA256 of the body in `header`, after an optional `prefix`.
    HmacSha256 { header: String, prefix: String },
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
    GitHub,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`, 5-minute tolerance.
    Stripe,
}

/// An endpoint: `POST /hooks/{name}` delivers into `collection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub name: CollectionName,
    pub collection: CollectionName,
    pub secret: String,
    pub signature: SignatureScheme,
    /// A JSON Pointer into the body (starts with `/`) or a header name; `None`: no de-duplication.
    pub event_id: Option<String>,
    /// Target column → JSON Pointer into the payload.
    pub mapping: Vec<(ColumnName, String)>,
    pub created_at: DateTime<Utc>,
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Pending,
    Processing,
    Done,
    Failed,
    Dead,
}

impl EventStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// A received event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: String,
    pub webhook: String,
    /// The de-duplication key taken from the event, if any.
    pub event_key: Option<String>,
    pub body: String,
    pub status: EventStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub record_id: Option<String>,
    /// The claim a worker holds on the event: only that claim may complete or fail it.
    pub lease: Option<String>,
}
