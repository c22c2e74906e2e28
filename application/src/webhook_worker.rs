//! The webhook worker pool: workers claim due events, map each through the same validation
//! as `:create`, write the record and mark the event done together, or record the failure
//! with backoff; claims of a crashed process are released at start-up.

use std::sync::Arc;
use std::time::Duration;

use moon_domain::validation::validate_create;
use moon_domain::{NewRecord, RecordId, WebhookEvent};
use serde_json::Value as Json;
use tokio::sync::watch;

use crate::error::AppError;
use crate::webhooks::{LEASE_SECS, WebhookService};

impl WebhookService {
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
