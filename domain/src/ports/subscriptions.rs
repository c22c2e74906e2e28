//! The ports for outbound webhooks: where subscriptions and their deliveries are kept, and
//! how a delivery is sent.

use async_trait::async_trait;

use crate::error::RepoError;
use crate::subscription::{Attempt, Delivery, DeliveryStatus, WebhookSubscription};

/// Subscriptions and deliveries, durable across restarts and shared by instances.
#[async_trait]
pub trait SubscriptionRepository: Send + Sync {
    /// # Errors
    /// [`RepoError::Duplicate`] when the name is taken.
    async fn create(&self, subscription: &WebhookSubscription) -> Result<(), RepoError>;
    /// Replaces url, collections, events and secret; `false` when there is no such name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn update(&self, subscription: &WebhookSubscription) -> Result<bool, RepoError>;
    /// Deletes the subscription and its deliveries; `false` when there is no such name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete(&self, name: &str) -> Result<bool, RepoError>;
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn get(&self, name: &str) -> Result<Option<WebhookSubscription>, RepoError>;
    /// Every subscription, by name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list(&self) -> Result<Vec<WebhookSubscription>, RepoError>;
    /// Takes or renews the lease on delivering for `name` until `until_ms`: `true` when
    /// `owner` holds it (no other instance delivers for that subscription meanwhile).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, RepoError>;
    /// Stores `deliveries` and moves the cursor from `from` to `to`, in one transaction;
    /// `false` (nothing stored) when the cursor was no longer at `from`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn enqueue(
        &self,
        name: &str,
        from: u64,
        to: u64,
        deliveries: &[Delivery],
    ) -> Result<bool, RepoError>;
    /// Up to `limit` pending deliveries, lowest sequence number first.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn pending(&self, name: &str, limit: u32) -> Result<Vec<Delivery>, RepoError>;
    /// Marks these deliveries delivered, in one statement.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delivered(&self, ids: &[String]) -> Result<(), RepoError>;
    /// Records what an attempt came to.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn record(&self, id: &str, attempt: &Attempt) -> Result<(), RepoError>;
    /// Up to `limit` deliveries, newest first, of one subscription and status when given.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn deliveries(
        &self,
        name: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, RepoError>;
    /// Makes the delivery pending again, due now, attempts reset; `false` when unknown.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn replay(&self, id: &str, now_ms: i64) -> Result<bool, RepoError>;
    /// Moves the subscription's cursor back to `after`: every matching change after it is
    /// delivered again (as new deliveries); `false` when there is no such name.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn rewind(&self, name: &str, after: u64) -> Result<bool, RepoError>;
}

/// Sends one delivery over HTTP.
#[async_trait]
pub trait DeliveryTransport: Send + Sync {
    /// POSTs `body` to `url` with `headers`; the status code, or why there was none.
    ///
    /// # Errors
    /// A message when no answer came (refused, timed out, a private address).
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String>;
}
