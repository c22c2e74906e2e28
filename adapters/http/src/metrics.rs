//! `GET /metrics` in the Prometheus text format: requests and their latency by route kind,
//! method and status, counted by the dispatcher, and gauges read when scraped (database
//! pools, password hashing, login lockouts, collections, resident memory). Labels are closed
//! sets (route kinds, never collection names or ids), so the series stay bounded.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use salvo::http::Method;

use crate::AppState;
use crate::reply::Reply;
use crate::routes::{
    AdminAction, AuthAction, CollectionsAction, RecordsAction, Route, SubscriptionsAction,
    WebhooksAction,
};

/// The content type of the answer (Prometheus' text exposition format).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Every series Moon exposes.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    in_flight: Gauge,
    pools: Family<PoolLabels, Gauge>,
    collections: Gauge,
    hashing: Family<PoolLabels, Gauge>,
    lockouts: Gauge,
    webhook_events: Family<StatusLabels, Gauge>,
    resident: Gauge<u64, AtomicU64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to ~8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("moon");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route kind, method and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route kind",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        let pools = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by pool and state (in_use, idle, max)",
            pools.clone(),
        );
        let collections = Gauge::default();
        registry.register(
            "collections",
            "Collections in the schema registry",
            collections.clone(),
        );
        let hashing = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "password_hashing_jobs",
            "Password hashing jobs admitted (running and waiting) and the limits",
            hashing.clone(),
        );
        let lockouts = Gauge::default();
        registry.register(
            "login_lockout_entries",
            "Login lockout entries held in memory",
            lockouts.clone(),
        );
        let webhook_events = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhook_events",
            "Inbound webhook events not done yet, by status",
            webhook_events.clone(),
        );
        let resident = Gauge::<u64, AtomicU64>::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the Moon process",
            resident.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            in_flight,
            pools,
            collections,
            hashing,
            lockouts,
            webhook_events,
            resident,
        }
    }
}

impl Metrics {
    /// A request began; [`Metrics::finished`] ends it.
    pub fn started(&self) {
        self.in_flight.inc();
    }

    /// A request answered `status` after `seconds`.
    pub fn finished(&self, route: &'static str, method: &Method, status: u16, seconds: f64) {
        self.in_flight.dec();
        let labels = RequestLabels {
            route,
            method: method_label(method),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// The text exposition, with the gauges read now.
    pub async fn render(&self, state: &AppState) -> Reply {
        if let Some(webhooks) = &state.webhooks {
            match webhooks.queue_depth().await {
                Ok(depth) => {
                    for (status, count) in depth {
                        let key = StatusLabels {
                            status: status.as_str(),
                        };
                        let count = i64::try_from(count).unwrap_or(i64::MAX);
                        self.webhook_events.get_or_create(&key).set(count);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "metrics: cannot count webhook events"),
            }
        }
        for pool in state.health.pools() {
            let set = |label: &'static str, value: u32| {
                let key = PoolLabels {
                    pool: pool.pool,
                    state: label,
                };
                self.pools.get_or_create(&key).set(i64::from(value));
            };
            set("in_use", pool.open.saturating_sub(pool.idle));
            set("idle", pool.idle);
            set("max", pool.max);
        }
        self.collections
            .set(i64::try_from(state.collections.schemas().len()).unwrap_or(i64::MAX));
        if let Some(auth) = &state.auth {
            let (admitted, limits) = auth.hashing_load();
            let set = |label: &'static str, value: usize| {
                let key = PoolLabels {
                    pool: "argon2",
                    state: label,
                };
                let value = i64::try_from(value).unwrap_or(i64::MAX);
                self.hashing.get_or_create(&key).set(value);
            };
            set("admitted", admitted);
            set("concurrent_limit", limits.concurrent);
            set("waiting_limit", limits.waiting);
            self.lockouts
                .set(i64::try_from(auth.lockout_entries()).unwrap_or(i64::MAX));
        }
        self.resident.set(resident_bytes());
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        Reply::raw(salvo::http::StatusCode::OK, CONTENT_TYPE, text)
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Resident memory from `/proc/self/statm` (Linux; 0 elsewhere).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The route kind a request is counted under: a closed set.
#[must_use]
pub fn route_label(route: Option<&Route<'_>>) -> &'static str {
    let Some(route) = route else {
        return "unknown";
    };
    match route {
        Route::Health => "health",
        Route::Metrics => "metrics",
        Route::Docs(_) => "docs",
        Route::Hook(_) => "hooks",
        Route::Collections(action) => match action {
            CollectionsAction::List => "collections:list",
            CollectionsAction::Get => "collections:get",
            CollectionsAction::Create => "collections:create",
            CollectionsAction::Update => "collections:update",
            CollectionsAction::Destroy => "collections:destroy",
        },
        Route::Auth(action) => match action {
            AuthAction::Login => "auth:login",
            AuthAction::Refresh => "auth:refresh",
            AuthAction::Logout => "auth:logout",
            AuthAction::Me => "auth:me",
        },
        Route::Users(action) => admin_label(
            [
                "users:list",
                "users:get",
                "users:create",
                "users:update",
                "users:destroy",
            ],
            *action,
        ),
        Route::ApiKeys(action) => admin_label(
            [
                "apikeys:list",
                "apikeys:get",
                "apikeys:create",
                "apikeys:update",
                "apikeys:destroy",
            ],
            *action,
        ),
        Route::Webhooks(action) => match action {
            WebhooksAction::List => "webhooks:list",
            WebhooksAction::Get => "webhooks:get",
            WebhooksAction::Create => "webhooks:create",
            WebhooksAction::Update => "webhooks:update",
            WebhooksAction::Destroy => "webhooks:destroy",
            WebhooksAction::Events => "webhooks:events",
            WebhooksAction::Replay => "webhooks:replay",
        },
        Route::Subscriptions(action) => match action {
            SubscriptionsAction::List => "subscriptions:list",
            SubscriptionsAction::Get => "subscriptions:get",
            SubscriptionsAction::Create => "subscriptions:create",
            SubscriptionsAction::Update => "subscriptions:update",
            SubscriptionsAction::Destroy => "subscriptions:destroy",
            SubscriptionsAction::Deliveries => "subscriptions:deliveries",
            SubscriptionsAction::Replay => "subscriptions:replay",
        },
        Route::Records { action, .. } => match RecordsAction::parse(action) {
            Some(RecordsAction::List) => "records:list",
            Some(RecordsAction::Get) => "records:get",
            Some(RecordsAction::Schema) => "records:schema",
            Some(RecordsAction::Aggregate) => "records:aggregate",
            Some(RecordsAction::Changes) => "records:changes",
            Some(RecordsAction::Create) => "records:create",
            Some(RecordsAction::Update) => "records:update",
            Some(RecordsAction::Destroy) => "records:destroy",
            None => "records:unknown",
        },
    }
}

/// `labels` in the order of [`AdminAction`]'s variants.
const fn admin_label(labels: [&'static str; 5], action: AdminAction) -> &'static str {
    labels[action as usize]
}
