//! Per-caller request limits: a fixed one-minute window per user or API key in a dashmap
//! (lock-free per entry, nothing written to the database), with the `X-RateLimit-*` headers.

use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use moon_domain::Principal;

/// Requests per minute per user and per API key; `0` turns a limit off.
#[derive(Debug)]
pub struct RateLimiter {
    per_user: u32,
    per_key: u32,
    windows: DashMap<String, (u64, u32)>,
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
        let mut entry = self.windows.entry(principal.scope()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        let reset = (minute + 1) * 60;
        if entry.1 >= limit {
            return Some(Err(RateHeaders {
                limit,
                remaining: 0,
                reset,
            }));
        }
        entry.1 += 1;
        Some(Ok(RateHeaders {
            limit,
            remaining: limit - entry.1,
            reset,
        }))
    }
}
