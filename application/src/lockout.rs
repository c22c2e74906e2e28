//! The login lock: failed logins counted per IP and username, atomically (the count is
//! taken before the password is checked, so a burst cannot slip past the limit), in a
//! bounded table whose entries expire with their window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;

use crate::error::AppError;

/// Entries kept at most; past it, expired ones are swept, and if none are, new pairs are
/// refused (`503`) rather than let through unchecked.
pub const MAX_ENTRIES: usize = 50_000;

/// Failures per key within a window.
pub struct LoginLockout {
    max_failures: u32,
    window: Duration,
    /// Key → (attempts counted, start of the window).
    entries: DashMap<String, (u32, DateTime<Utc>)>,
}

impl LoginLockout {
    #[must_use]
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: DashMap::new(),
        }
    }

    fn window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.window).unwrap_or_default()
    }

    /// Counts an attempt for `key` before it is checked, or refuses it while locked.
    ///
    /// # Errors
    /// [`AppError::RateLimited`] while the key is locked; [`AppError::Busy`] when the table
    /// is full of live entries.
    pub fn begin(&self, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let window = self.window();
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, (_, start)| now < *start + window);
            if self.entries.len() >= MAX_ENTRIES {
                return Err(AppError::Busy { retry_after: 60 });
            }
        }
        let mut entry = self.entries.entry(key.to_owned()).or_insert((0, now));
        if now >= entry.1 + window {
            *entry = (0, now);
        }
        if entry.0 >= self.max_failures {
            let retry = (entry.1 + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited {
                retry_after: u64::try_from(retry).unwrap_or(1),
            });
        }
        entry.0 += 1;
        Ok(())
    }

    /// A successful login clears its key.
    pub fn succeeded(&self, key: &str) {
        self.entries.remove(key);
    }

    /// Entries held now (for tests and metrics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let lock = LoginLockout::new(5, Duration::from_secs(900));
        let now = Utc::now();
        let outcomes: Vec<bool> = (0..24).map(|_| lock.begin("ip|ada", now).is_ok()).collect();
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 5);
        assert!(matches!(
            lock.begin("ip|ada", now),
            Err(AppError::RateLimited { .. })
        ));
        let later = now + chrono::Duration::seconds(901);
        assert!(
            lock.begin("ip|ada", later).is_ok(),
            "the lock ends with its window"
        );
        lock.succeeded("ip|ada");
        assert!(lock.is_empty());
    }

    #[test]
    fn the_table_is_bounded_and_swept() {
        let lock = LoginLockout::new(5, Duration::from_secs(60));
        let then = Utc::now();
        for i in 0..MAX_ENTRIES {
            assert!(lock.begin(&format!("k{i}"), then).is_ok());
        }
        assert!(matches!(
            lock.begin("new", then),
            Err(AppError::Busy { .. })
        ));
        let later = then + chrono::Duration::seconds(61);
        assert!(
            lock.begin("new", later).is_ok(),
            "expired entries make room"
        );
        assert_eq!(lock.len(), 1);
    }
}
