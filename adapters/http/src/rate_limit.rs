//! Per-caller request limits: a fixed one-minute window per user or API key in a dashmap
//! (lock-free per entry, nothing written to the database), with the `X-RateLimit-*` headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use moon_domain::Principal;

/// Requests per minute per user and per API key; `0` turns a limit off.
#[derive(Debug)]
pub struct RateLimiter {
    per_user: u32,
    per_key: u32,
    windows: DashMap<String, Arc<Window>>,
}

/// One caller's current minute and how many requests it made in it (atomics: callers
/// share a read lock on the map, never a write lock, on the hot path).
#[derive(Debug, Default)]
struct Window {
    minute: AtomicU64,
    count: AtomicU32,
}

/// The headers a limited caller gets on every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the window resets.
    pub reset: u64,
}

impl RateLimiter {
    #[must_use]
    pub fn new(per_user: u32, per_key: u32) -> Self {
        Self {
            per_user,
            per_key,
            windows: DashMap::new(),
        }
    }

    /// Counts one request of `principal`: `Ok` with the headers, or `Err` with them when the
    /// limit is spent. `None` when no limit applies.
    pub fn check(&self, principal: &Principal) -> Option<Result<RateHeaders, RateHeaders>> {
        let limit = match principal {
            Principal::User { .. } => self.per_user,
            Principal::ApiKey(_) => self.per_key,
        };
        if limit == 0 {
            return None;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let minute = now / 60;
        let scope = principal.scope();
        let existing = self.windows.get(&scope).map(|w| Arc::clone(&w));
        let window =
            existing.unwrap_or_else(|| Arc::clone(&self.windows.entry(scope).or_default()));
        let seen = window.minute.load(Ordering::Acquire);
        if seen != minute
            && window
                .minute
                .compare_exchange(seen, minute, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            window.count.store(0, Ordering::Release);
        }
        let reset = (minute + 1) * 60;
        let used = window.count.fetch_add(1, Ordering::AcqRel);
        if used >= limit {
            window.count.fetch_sub(1, Ordering::AcqRel);
            return Some(Err(RateHeaders {
                limit,
                remaining: 0,
                reset,
            }));
        }
        Some(Ok(RateHeaders {
            limit,
            remaining: limit - used - 1,
            reset,
        }))
    }
}
