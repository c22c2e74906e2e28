//! Moon's HTTP adapter: salvo serving `/{resource}:{action}` over the application's use
//! cases, with JSON errors everywhere.
#![forbid(unsafe_code)]

mod access;
mod body;
mod cors;
mod dispatch;
mod docs;
mod error;
mod handlers;
mod idempotent;
mod input;
mod metrics;
mod outbound;
mod rate_limit;
mod record_view;
mod reply;
mod request_id;
mod routes;
mod schema_dto;

use std::sync::Arc;

use moon_application::{
    AuthService, CollectionService, HealthService, IdempotencyService, RecordService,
    WebhookService,
};
use salvo::{Router, Service};

pub use cors::{Cors, DEFAULT_HEADERS as DEFAULT_CORS_HEADERS};
pub use docs::DocsCache;
pub use error::ApiError;
pub use metrics::Metrics;
pub use outbound::HttpTransport;
pub use rate_limit::RateLimiter;

/// Everything the handlers need, built once at start-up.
pub struct AppState {
    pub collections: Arc<CollectionService>,
    pub records: Arc<RecordService>,
    pub health: Arc<HealthService>,
    /// Authentication; `None` turns it off (every route open: benchmarks, DB-free tests).
    pub auth: Option<Arc<AuthService>>,
    /// Requests per minute per user and API key.
    pub rate_limiter: RateLimiter,
    /// Which browser origins may call.
    pub cors: Cors,
    /// Built documentation, kept until the schema changes.
    pub docs: DocsCache,
    /// Whether anonymous callers see the collections in the docs too.
    pub docs_public: bool,
    /// Request counters and latency histograms, served at `/metrics`.
    pub metrics: Metrics,
    /// Whether `/metrics` is open to anyone (else admins only).
    pub metrics_public: bool,
    /// Inbound webhooks; `None` turns them off.
    pub webhooks: Option<Arc<WebhookService>>,
    /// Outbound webhooks; `None` turns `/subscriptions:*` off (404).
    pub subscriptions: Option<Arc<moon_application::SubscriptionService>>,
    /// The change feed; `None` turns `:changes` off (404).
    pub feed: Option<Arc<moon_application::ChangeFeed>>,
    /// Idempotent writes; `None` turns `Idempotency-Key` off.
    pub idempotency: Option<Arc<IdempotencyService>>,
    /// The version `/health` reports.
    pub version: &'static str,
    /// Where every route sits, e.g. `/api/v1`; empty for none.
    pub prefix: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a whole request body may take to arrive.
    pub body_deadline: std::time::Duration,
    /// Largest page size, for messages.
    pub max_page_size: u32,
}

/// The salvo service: request ids, then the dispatcher for every path.
#[must_use]
pub fn service(state: AppState) -> Service {
    let dispatcher = dispatch::Dispatcher {
        state: Arc::new(state),
    };
    let router = Router::new()
        .hoop(request_id::RequestId::new())
        .push(Router::with_path("{**rest}").goal(dispatcher));
    Service::new(router)
}

/// Normalises a configured prefix: `api/v1/` → `/api/v1`, `/` → none.
#[must_use]
pub fn normalise_prefix(raw: &str) -> String {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}
