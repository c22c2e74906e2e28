//! The port for stored answers of idempotent writes.

use async_trait::async_trait;

use crate::error::RepoError;
use crate::idempotency::{IdempotencyKey, Reservation, StoredAnswer};

/// Stored answers of idempotent writes, kept in the database so they survive restarts.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for a request whose content hashes to `request_hash`, or reports what
    /// the key already holds. Entries past `expires_at` (Unix seconds) count as absent.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Reservation, RepoError>;

    /// Stores the answer of a reserved key.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn complete(&self, key: &IdempotencyKey, answer: &StoredAnswer) -> Result<(), RepoError>;

    /// Frees a reserved key without an answer (a 5xx is not kept: the client may retry).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn release(&self, key: &IdempotencyKey) -> Result<(), RepoError>;

    /// Deletes the entries expired at `now`; returns how many.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn sweep(&self, now: i64) -> Result<u64, RepoError>;
}
