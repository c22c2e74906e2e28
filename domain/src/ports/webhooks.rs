//! The port for webhook endpoints and their durable events.

use async_trait::async_trait;

use crate::collection::Collection;
use crate::error::RepoError;
use crate::record::NewRecord;
use crate::webhook::{EventStatus, WebhookEndpoint, WebhookEvent};

/// Webhook endpoints and their events, stored durably.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Every endpoint, by name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError>;
    /// Inserts (`insert`) or replaces an endpoint.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] for an existing name on insert.
    async fn save_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        insert: bool,
    ) -> Result<(), RepoError>;
    /// Deletes an endpoint; `false` when there was none.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_endpoint(&self, name: &str) -> Result<bool, RepoError>;

    /// Stores a received event; a duplicate `(webhook, event_key)` stores nothing and
    /// returns the first event's id.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn insert_event(&self, event: &WebhookEvent) -> Result<Result<(), String>, RepoError>;
    /// Claims up to `limit` events that are due (pending, failed and due, or processing
    /// with an expired lease) until `lease_until`; safe when several processes share the
    /// database.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError>;
    /// Writes the event's record and marks the event done, in one transaction, only while
    /// the event's `lease` is still its claim (so no event is ever applied twice).
    ///
    /// # Errors
    /// [`RepoError`] (a unique violation, a lost claim); nothing is written then.
    async fn complete(
        &self,
        event: &WebhookEvent,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError>;
    /// Records a failed attempt under the event's claim: `failed` and due again at
    /// `next_attempt_at`, or `dead`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn fail(
        &self,
        event: &WebhookEvent,
        error: &str,
        dead: bool,
        next_attempt_at: i64,
    ) -> Result<(), RepoError>;
    /// Makes every claimed event pending again (at start-up: claims of a crashed process).
    /// Safe with other live processes: a claim taken over only means their completion is
    /// refused, never a second record.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn release_claims(&self) -> Result<u64, RepoError>;
    /// Events of `webhook` (all if `None`) with `status` (any if `None`), oldest first,
    /// after the id `after`, at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn events(
        &self,
        webhook: Option<&str>,
        status: Option<EventStatus>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError>;
    /// One event.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn event(&self, id: &str) -> Result<Option<WebhookEvent>, RepoError>;
    /// Makes an event pending again, due now, with its attempts reset.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn requeue(&self, id: &str) -> Result<(), RepoError>;
    /// How many events are in each unfinished status (pending, processing, failed, dead).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn queue_depth(&self) -> Result<Vec<(EventStatus, u64)>, RepoError>;
}
