//! Inbound webhooks: endpoint management, signed ingestion (stored durably before the
//! answer, de-duplicated by event id), and a pool of workers that maps stored events into
//! records through the same validation as `:create`, retrying with backoff.

use std::sync::Arc;
use std::time::Duration;

use moon_domain::ports::{Clock, SchemaRegistry, WebhookRepository};
use moon_domain::{EventStatus, SignatureScheme, WebhookEndpoint, WebhookEvent};
use serde_json::Value as Json;
use tokio::sync::Notify;

use crate::error::AppError;
use crate::gate::SchemaGate;
use crate::signature::signature_ok;

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

/// How long a worker holds a claimed event before another may take it: long against the
/// milliseconds an event takes, short enough that the events of a crashed instance move on
/// soon (over PostgreSQL and MySQL nothing else frees them, since other instances may hold
/// live claims). Taking a claim over early never doubles a record: the write checks the lease.
pub(crate) const LEASE_SECS: i64 = 15;

/// Webhook use cases and the worker pool.
pub struct WebhookService {
    pub(crate) repo: Arc<dyn WebhookRepository>,
    pub(crate) registry: Arc<dyn SchemaRegistry>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) gate: Arc<SchemaGate>,
    pub(crate) retry: RetryPolicy,
    pub(crate) wake: Notify,
    /// The endpoints as last read, and when (re-read after a change here, or when older
    /// than [`ENDPOINTS_TTL`] so other processes' changes arrive too).
    cached: std::sync::RwLock<Option<(std::time::Instant, Arc<Vec<WebhookEndpoint>>)>>,
}

/// How long the endpoint list is trusted before it is read again.
const ENDPOINTS_TTL: Duration = Duration::from_secs(2);

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
    // NUL cannot be stored by every engine; such an id is kept without it.
    Some(value.chars().filter(|c| *c != '\0').take(191).collect())
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
        if endpoint.secret.is_empty() {
            return Err(AppError::invalid("secret", "a secret may not be empty"));
        }
        let mut texts = vec![("secret", endpoint.secret.as_str())];
        if let SignatureScheme::HmacSha256 { header, prefix } = &endpoint.signature {
            texts.extend([
                ("signature.header", header.as_str()),
                ("signature.prefix", prefix.as_str()),
            ]);
        }
        if let Some(event_id) = &endpoint.event_id {
            texts.push(("event_id", event_id));
        }
        texts.extend(
            endpoint
                .mapping
                .iter()
                .map(|(_, p)| ("mapping", p.as_str())),
        );
        if let Some((field, _)) = texts.iter().find(|(_, t)| t.contains('\0')) {
            return Err(AppError::invalid(*field, "may not contain NUL characters"));
        }
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

    /// Events per unfinished status (pending, processing, failed, dead), for metrics.
    ///
    /// # Errors
    /// A database failure.
    pub async fn queue_depth(&self) -> Result<Vec<(EventStatus, u64)>, AppError> {
        Ok(self.repo.queue_depth().await?)
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
}
