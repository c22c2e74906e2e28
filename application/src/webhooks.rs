//! Inbound webhooks: endpoint management, signed ingestion (stored durably before the
//! answer, de-duplicated by event id), and a pool of workers that maps stored events into
//! records through the same validation as `:create`, retrying with backoff.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use moon_domain::ports::{Clock, SchemaRegistry, WebhookRepository};
use moon_domain::validation::validate_create;
use moon_domain::{
    EventStatus, NewRecord, RecordId, SignatureScheme, WebhookEndpoint, WebhookEvent,
};
use serde_json::Value as Json;
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use crate::error::AppError;
use crate::gate::SchemaGate;
use crate::secrets::constant_time_eq;

/// Retry rules (API.md §8: 5 attempts, 1 s doubling to 60 s).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What ingestion did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Stored: `202`.
    Accepted(String),
    /// Seen before (same event id): `200` with the first id.
    Duplicate(String),
}

/// Stripe's timestamp tolerance.
const STRIPE_TOLERANCE_SECS: i64 = 300;
/// How long a worker holds a claimed event before another may take it.
const LEASE_SECS: i64 = 60;

/// Webhook use cases and the worker pool.
pub struct WebhookService {
    repo: Arc<dyn WebhookRepository>,
    registry: Arc<dyn SchemaRegistry>,
    clock: Arc<dyn Clock>,
    gate: Arc<SchemaGate>,
    retry: RetryPolicy,
    wake: Notify,
    /// The endpoints as last read, and when (re-read after a change here, or when older
    /// than [`ENDPOINTS_TTL`] so other processes' changes arrive too).
    cached: std::sync::RwLock<Option<(std::time::Instant, Arc<Vec<WebhookEndpoint>>)>>,
}

/// How long the endpoint list is trusted before it is read again.
const ENDPOINTS_TTL: Duration = Duration::from_secs(2);

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks an event's signature by the endpoint's scheme, in constant time.
#[must_use]
pub fn signature_ok(
    endpoint: &WebhookEndpoint,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
    now: i64,
) -> bool {
    match &endpoint.signature {
        SignatureScheme::HmacSha256 {
            header: name,
            prefix,
        } => header(name).is_some_and(|value| {
            value.strip_prefix(prefix.as_str()).is_some_and(|hex| {
                constant_time_eq(
                    hex.trim().to_ascii_lowercase().as_bytes(),
                    hmac_hex(&endpoint.secret, &[body]).as_bytes(),
                )
            })
        }),
        SignatureScheme::GitHub => header("X-Hub-Signature-256").is_some_and(|value| {
            value.strip_prefix("sha256=").is_some_and(|hex| {
                constant_time_eq(
                    hex.trim().as_bytes(),
                    hmac_hex(&endpoint.secret, &[body]).as_bytes(),
                )
            })
        }),
        SignatureScheme::Stripe => header("Stripe-Signature").is_some_and(|value| {
            let mut timestamp = None;
            let mut signatures = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                    Some(("v1", sig)) => signatures.push(sig.to_owned()),
                    _ => {}
                }
            }
            let Some(t) = timestamp else { return false };
            if (now - t).abs() > STRIPE_TOLERANCE_SECS {
                return false;
            }
            let expected = hmac_hex(&endpoint.secret, &[t.to_string().as_bytes(), b".", body]);
            signatures
                .iter()
                .any(|sig| constant_time_eq(sig.as_bytes(), expected.as_bytes()))
        }),
    }
}

/// The event's de-duplication key: a JSON Pointer into the body or a header.
fn event_key(
    endpoint: &WebhookEndpoint,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &Json,
) -> Option<String> {
    let source = endpoint.event_id.as_deref()?;
    let value = if source.starts_with('/') {
        match body.pointer(source)? {
            Json::String(s) => s.clone(),
            Json::Null => return None,
            other => other.to_string(),
        }
    } else {
        header(source)?
    };
    Some(value.chars().take(191).collect())
}

impl WebhookService {
    #[must_use]
    pub fn new(
        repo: Arc<dyn WebhookRepository>,
        registry: Arc<dyn SchemaRegistry>,
        clock: Arc<dyn Clock>,
        gate: Arc<SchemaGate>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            repo,
            registry,
            clock,
            gate,
            retry,
            wake: Notify::new(),
            cached: std::sync::RwLock::new(None),
        }
    }

    /// The endpoint called `name`.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn endpoint(&self, name: &str) -> Result<WebhookEndpoint, AppError> {
        let wanted = name.to_ascii_lowercase();
        self.current_endpoints()
            .await?
            .iter()
            .find(|e| e.name.as_str() == wanted)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("webhook '{name}' not found")))
    }

    async fn current_endpoints(&self) -> Result<Arc<Vec<WebhookEndpoint>>, AppError> {
        if let Ok(cached) = self.cached.read()
            && let Some((at, endpoints)) = cached.as_ref()
            && at.elapsed() < ENDPOINTS_TTL
        {
            return Ok(Arc::clone(endpoints));
        }
        let endpoints = Arc::new(self.repo.endpoints().await?);
        if let Ok(mut cached) = self.cached.write() {
            *cached = Some((std::time::Instant::now(), Arc::clone(&endpoints)));
        }
        Ok(endpoints)
    }

    fn forget_endpoints(&self) {
        if let Ok(mut cached) = self.cached.write() {
            *cached = None;
        }
    }

    /// Every endpoint.
    ///
    /// # Errors
    /// A database failure.
    pub async fn endpoints(&self) -> Result<Vec<WebhookEndpoint>, AppError> {
        Ok(self.repo.endpoints().await?)
    }

    /// Checks an endpoint against the live schema: the collection exists, every mapped
    /// field is a column of it, every pointer is a JSON Pointer.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn check(&self, endpoint: &WebhookEndpoint) -> Result<(), AppError> {
        let collection = self
            .registry
            .get(endpoint.collection.as_str())
            .ok_or_else(|| {
                AppError::invalid(
                    "collection",
                    format!("no collection '{}'", endpoint.collection),
                )
            })?;
        if endpoint.mapping.is_empty() {
            return Err(AppError::invalid("mapping", "map at least one field"));
        }
        for (column, pointer) in &endpoint.mapping {
            if collection.column(column.as_str()).is_none() {
                return Err(AppError::invalid(
                    format!("mapping.{column}"),
                    format!("'{}' has no column '{column}'", collection.name),
                ));
            }
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(AppError::invalid(
                    format!("mapping.{column}"),
                    "a JSON Pointer starts with '/'",
                ));
            }
        }
        if let Some(missing) = collection
            .columns
            .iter()
            .find(|c| !c.nullable && !endpoint.mapping.iter().any(|(m, _)| *m == c.name))
        {
            return Err(AppError::invalid(
                "mapping",
                format!("the required column '{}' is not mapped", missing.name),
            ));
        }
        Ok(())
    }

    /// Creates (`insert`) or replaces an endpoint after checking it.
    ///
    /// # Errors
    /// Validation errors, or a duplicate name (409).
    pub async fn save(&self, endpoint: &WebhookEndpoint, insert: bool) -> Result<(), AppError> {
        self.check(endpoint)?;
        self.forget_endpoints();
        let saved = self.repo.save_endpoint(endpoint, insert).await;
        self.forget_endpoints();
        match saved {
            Err(moon_domain::RepoError::Duplicate { .. }) => Err(AppError::Conflict(format!(
                "webhook '{}' already exists",
                endpoint.name
            ))),
            other => Ok(other?),
        }
    }

    /// Deletes an endpoint (its events stay, for the record).
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn delete(&self, name: &str) -> Result<(), AppError> {
        let deleted = self.repo.delete_endpoint(name).await?;
        self.forget_endpoints();
        if deleted {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("webhook '{name}' not found")))
        }
    }

    /// Verifies, de-duplicates and stores one delivery; nothing else on the request path.
    ///
    /// # Errors
    /// Unknown endpoint (404), bad or missing signature (401), a body that is not JSON (400).
    pub async fn ingest(
        &self,
        name: &str,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<Ingested, AppError> {
        let endpoint = self.endpoint(name).await?;
        let now = self.clock.now();
        if !signature_ok(&endpoint, header, body, now.timestamp()) {
            return Err(AppError::Unauthorized(
                "missing or invalid webhook signature".to_owned(),
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| AppError::invalid("body", "the event is not UTF-8 JSON"))?;
        let json: Json = serde_json::from_str(text)
            .map_err(|e| AppError::invalid("body", format!("the event is not JSON: {e}")))?;
        let event = WebhookEvent {
            id: ulid::Ulid::new().to_string(),
            webhook: endpoint.name.to_string(),
            event_key: event_key(&endpoint, header, &json),
            body: text.to_owned(),
            status: EventStatus::Pending,
            attempts: 0,
            last_error: None,
            received_at: now,
            record_id: None,
            lease: None,
        };
        match self.repo.insert_event(&event).await? {
            Ok(()) => {
                self.wake.notify_waiters();
                Ok(Ingested::Accepted(event.id))
            }
            Err(first) => Ok(Ingested::Duplicate(first)),
        }
    }

    /// Events, filtered.
    ///
    /// # Errors
    /// A database failure.
    pub async fn events(
        &self,
        webhook: Option<&str>,
        status: Option<EventStatus>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, AppError> {
        Ok(self.repo.events(webhook, status, after, limit).await?)
    }

    /// Runs a failed or dead event again.
    ///
    /// # Errors
    /// Unknown event (404); a done event (409).
    pub async fn replay(&self, id: &str) -> Result<(), AppError> {
        let event = self
            .repo
            .event(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("event '{id}' not found")))?;
        if event.status == EventStatus::Done {
            return Err(AppError::Conflict(
                "this event is done; it is not run twice".to_owned(),
            ));
        }
        self.repo.requeue(id).await?;
        self.wake.notify_waiters();
        Ok(())
    }

    /// Makes the events a crashed process had claimed pending again (call at start-up).
    ///
    /// # Errors
    /// A database failure.
    pub async fn recover(&self) -> Result<u64, AppError> {
        Ok(self.repo.release_claims().await?)
    }

    /// Starts `workers` tasks that process events until `stop` turns true (each finishes the
    /// event in hand first).
    pub fn start_workers(
        self: &Arc<Self>,
        workers: usize,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..workers.max(1))
            .map(|_| {
                let service = Arc::clone(self);
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    while !*stop.borrow() {
                        let handled = service.work_once(4).await;
                        if handled == 0 {
                            tokio::select! {
                                () = service.wake.notified() => {}
                                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                                _ = stop.changed() => {}
                            }
                        }
                    }
                })
            })
            .collect()
    }

    /// Claims and processes up to `batch` due events; returns how many.
    pub async fn work_once(&self, batch: u32) -> usize {
        let now = self.clock.now().timestamp();
        let events = match self.repo.claim(now, now + LEASE_SECS, batch).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim webhook events");
                return 0;
            }
        };
        for event in &events {
            self.process(event).await;
        }
        events.len()
    }

    async fn process(&self, event: &WebhookEvent) {
        let _gate = self.gate.record_op().await;
        let outcome = match self.map(event).await {
            Ok((collection, record)) => self
                .repo
                .complete(event, &collection, &record)
                .await
                .map_err(|e| (e.to_string(), false)),
            Err(permanent) => Err((permanent, true)),
        };
        let Err((error, permanent)) = outcome else {
            return;
        };
        let attempts = event.attempts + 1;
        let dead = permanent || attempts >= self.retry.max_attempts;
        let backoff = self
            .retry
            .first_backoff
            .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1)))
            .min(self.retry.max_backoff);
        let next = self.clock.now().timestamp() + i64::try_from(backoff.as_secs()).unwrap_or(60);
        if let Err(e) = self.repo.fail(event, &error, dead, next).await {
            tracing::warn!(error = %e, event = %event.id, "cannot record a webhook failure");
        }
    }

    /// The record an event maps to; `Err` with a clear message when it cannot (permanent).
    async fn map(
        &self,
        event: &WebhookEvent,
    ) -> Result<(Arc<moon_domain::Collection>, NewRecord), String> {
        let endpoint = self
            .endpoint(&event.webhook)
            .await
            .map_err(|_| format!("webhook '{}' no longer exists", event.webhook))?;
        let collection = self
            .registry
            .get(endpoint.collection.as_str())
            .ok_or_else(|| format!("collection '{}' does not exist", endpoint.collection))?;
        let body: Json =
            serde_json::from_str(&event.body).map_err(|e| format!("the event is not JSON: {e}"))?;
        let mut data = serde_json::Map::new();
        for (column, pointer) in &endpoint.mapping {
            let value = body
                .pointer(pointer)
                .ok_or_else(|| format!("{column}: nothing at {pointer} in the event"))?;
            data.insert(column.to_string(), value.clone());
        }
        let fields = validate_create(&collection, data).map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let record = NewRecord {
            id: RecordId::from_ulid(ulid::Ulid::new()),
            created_at: self.clock.now(),
            fields,
        };
        Ok((collection, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moon_domain::{CollectionName, ColumnName};

    fn endpoint(signature: SignatureScheme) -> WebhookEndpoint {
        WebhookEndpoint {
            name: CollectionName::parse("stripe_payments").unwrap_or_else(|e| panic!("{e}")),
            collection: CollectionName::parse("payments").unwrap_or_else(|e| panic!("{e}")),
            secret: "whsec_test".into(),
            signature,
            event_id: Some("/id".into()),
            mapping: vec![(
                ColumnName::parse("amount").unwrap_or_else(|e| panic!("{e}")),
                "/amount".into(),
            )],
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn hmac_vectors_match_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex("Jefe", &[b"what do ya want for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn each_scheme_accepts_only_its_valid_signature() {
        let body = br#"{"id":"evt_1","amount":500}"#;
        let sig = hmac_hex("whsec_test", &[body]);
        let plain = endpoint(SignatureScheme::HmacSha256 {
            header: "X-Signature".into(),
            prefix: "sha256=".into(),
        });
        let with = |name: &'static str, value: String| {
            move |h: &str| (h.eq_ignore_ascii_case(name)).then(|| value.clone())
        };
        assert!(signature_ok(
            &plain,
            &with("X-Signature", format!("sha256={sig}")),
            body,
            0
        ));
        assert!(
            !signature_ok(&plain, &with("X-Signature", sig.clone()), body, 0),
            "prefix required"
        );
        assert!(
            !signature_ok(&plain, &with("X-Other", format!("sha256={sig}")), body, 0),
            "missing header"
        );
        let wrong = hmac_hex("another", &[body]);
        assert!(
            !signature_ok(
                &plain,
                &with("X-Signature", format!("sha256={wrong}")),
                body,
                0
            ),
            "wrong secret"
        );

        let github = endpoint(SignatureScheme::GitHub);
        assert!(signature_ok(
            &github,
            &with("X-Hub-Signature-256", format!("sha256={sig}")),
            body,
            0
        ));
        assert!(!signature_ok(
            &github,
            &with("X-Hub-Signature-256", format!("sha256={wrong}")),
            body,
            0
        ));

        let stripe = endpoint(SignatureScheme::Stripe);
        let t = 1_700_000_000_i64;
        let v1 = hmac_hex("whsec_test", &[t.to_string().as_bytes(), b".", body]);
        let header = format!("t={t},v1={v1}");
        assert!(signature_ok(
            &stripe,
            &with("Stripe-Signature", header.clone()),
            body,
            t + 10
        ));
        assert!(
            !signature_ok(
                &stripe,
                &with("Stripe-Signature", header.clone()),
                body,
                t + 301
            ),
            "stale timestamp"
        );
        assert!(!signature_ok(
            &stripe,
            &with("Stripe-Signature", format!("t={t},v1={wrong}")),
            body,
            t
        ));
        assert!(
            !signature_ok(&stripe, &|_: &str| None, body, t),
            "missing header"
        );
    }
}
