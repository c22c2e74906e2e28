//! Idempotency-Key handling: keys scoped to the caller and the concrete path, requests
//! identified by a hash of method, path, query and body, answers kept for a configurable time.

use std::sync::Arc;
use std::time::Duration;

use moon_domain::ports::{Clock, IdempotencyStore};
use moon_domain::{IdempotencyKey, Reservation, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 255;

/// Reserves, completes and releases idempotency keys.
pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl IdempotencyService {
    #[must_use]
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self { store, clock, ttl }
    }

    /// The stored-answer key for `client_key` sent by `caller` to `path`.
    ///
    /// # Errors
    /// A validation error for an empty, over-long or non-printable key.
    pub fn key(caller: &str, path: &str, client_key: &str) -> Result<IdempotencyKey, AppError> {
        if client_key.is_empty()
            || client_key.len() > MAX_KEY_LEN
            || !client_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(AppError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
            ));
        }
        Ok(IdempotencyKey(hex_sha256(&[
            caller.as_bytes(),
            path.as_bytes(),
            client_key.as_bytes(),
        ])))
    }

    /// What identifies one request: method, path with query, and body.
    #[must_use]
    pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
        hex_sha256(&[method.as_bytes(), path_and_query.as_bytes(), body])
    }

    /// Reserves `key` for the request `request_hash`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn reserve(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
    ) -> Result<Reservation, AppError> {
        let now = self.clock.now().timestamp();
        let expires_at = now.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX));
        Ok(self
            .store
            .reserve(key, request_hash, now, expires_at)
            .await?)
    }

    /// Keeps `answer` for replay; a failure is logged (the write itself succeeded).
    pub async fn complete(&self, key: &IdempotencyKey, answer: &StoredAnswer) {
        if let Err(e) = self.store.complete(key, answer).await {
            tracing::error!(error = %e, "cannot store an idempotent answer");
        }
    }

    /// Frees `key` after a 5xx, so the client's retry runs again.
    pub async fn release(&self, key: &IdempotencyKey) {
        if let Err(e) = self.store.release(key).await {
            tracing::error!(error = %e, "cannot release an idempotency key");
        }
    }

    /// Deletes expired answers.
    pub async fn sweep(&self) {
        match self.store.sweep(self.clock.now().timestamp()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(expired = n, "swept idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "cannot sweep idempotency keys"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_and_checked() {
        let a = IdempotencyService::key("alice", "/items:create", "k1");
        let b = IdempotencyService::key("bob", "/items:create", "k1");
        let c = IdempotencyService::key("alice", "/items:update", "k1");
        assert!(a.is_ok() && a != b && a != c);
        assert!(IdempotencyService::key("alice", "/p", "").is_err());
        assert!(IdempotencyService::key("alice", "/p", "has space").is_err());
        assert!(IdempotencyService::key("alice", "/p", &"k".repeat(256)).is_err());
        assert_ne!(
            IdempotencyService::request_hash("POST", "/p", b"{}"),
            IdempotencyService::request_hash("POST", "/p?atomic=true", b"{}")
        );
    }
}
