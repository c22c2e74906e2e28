//! The login lock: failed logins counted per IP and username in a bounded table whose
//! entries expire with their window. Attempts are admitted before their password is checked,
//! never more at once than failures left, so a burst cannot slip past the limit: 24 wrong
//! passwords sent together get 5 answers and then 429, while correct ones wait their turn.
//! With a [`LoginFailureLog`] the failures are also kept in the database and read back before
//! each attempt, so every instance over it locks the same keys (a burst spread over N
//! instances at the same instant can get N × the admitted attempts, never more).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use moon_domain::ports::{Clock, LoginFailureLog};
use tokio::sync::Notify;

use crate::error::AppError;

/// Entries kept at most; past it, expired ones are swept, and if none are, new pairs are
/// refused (`503`) rather than let through unchecked.
pub const MAX_ENTRIES: usize = 50_000;
/// How long an attempt waits for others on the same key before it is told to retry.
const MAX_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    in_flight: u32,
    since: DateTime<Utc>,
    /// Attempts ended so far, so a read of the shared log is known to be still current.
    ended: u64,
}

/// Failures per key within a window.
pub struct LoginLockout {
    max_failures: u32,
    window: chrono::Duration,
    clock: Arc<dyn Clock>,
    entries: DashMap<String, Entry>,
    /// Woken whenever an attempt ends, so waiting ones look again.
    ended: Notify,
    /// The failures every instance shares, when there are several.
    log: Option<Arc<dyn LoginFailureLog>>,
}

/// An admitted attempt; [`Attempt::failed`] or [`Attempt::succeeded`] ends it (dropping it
/// unfinished, as a cancelled request does, counts nothing).
pub struct Attempt<'a> {
    lockout: &'a LoginLockout,
    key: String,
    open: bool,
}

impl LoginLockout {
    #[must_use]
    pub fn new(max_failures: u32, window: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            max_failures,
            window: chrono::Duration::from_std(window).unwrap_or_default(),
            clock,
            entries: DashMap::new(),
            ended: Notify::new(),
            log: None,
        }
    }

    /// Keeps failures in `log` too, shared with every instance over the same database.
    #[must_use]
    pub fn with_log(mut self, log: Arc<dyn LoginFailureLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// The start of the window that is open now, in Unix milliseconds.
    fn window_start(&self) -> i64 {
        (self.clock.now() - self.window).timestamp_millis()
    }

    /// Takes `key`'s failures from the shared log, which every instance (this one included:
    /// attempts are recorded there before they end here) writes. Only while no attempt on
    /// the key is in flight here and none ended during the read, so the read is current.
    async fn adopt_shared(&self, key: &str) -> Result<(), AppError> {
        let Some(log) = self.log.as_ref().filter(|_| self.max_failures > 0) else {
            return Ok(());
        };
        let before = self.entries.get(key).map(|e| (e.in_flight, e.ended));
        if before.is_some_and(|(in_flight, _)| in_flight > 0) {
            return Ok(());
        }
        let shared = log.failures(key, self.window_start()).await?;
        let shared = shared.and_then(|(failures, since)| {
            DateTime::<Utc>::from_timestamp_millis(since).map(|since| (failures, since))
        });
        if let Some(mut entry) = self.entries.get_mut(key) {
            if before != Some((0, entry.ended)) {
                return Ok(());
            }
            (entry.failures, entry.since) = shared.unwrap_or((0, entry.since));
            return Ok(());
        }
        if before.is_some() || self.entries.len() >= MAX_ENTRIES {
            return Ok(()); // changed meanwhile, or full: `try_admit` sweeps or refuses
        }
        if let Some((failures, since)) = shared {
            self.entries.entry(key.to_owned()).or_insert(Entry {
                failures,
                in_flight: 0,
                since,
                ended: 0,
            });
        }
        Ok(())
    }

    /// Deletes shared failures whose window has passed.
    pub async fn sweep_shared(&self) {
        if let Some(log) = &self.log
            && let Err(e) = log.sweep(self.window_start()).await
        {
            tracing::warn!(error = %e, "cannot sweep login failures");
        }
    }

    /// Admits an attempt for `key`, waiting while others on it could use up its failures.
    ///
    /// # Errors
    /// [`AppError::RateLimited`] while the key is locked; [`AppError::Busy`] when the table
    /// is full of live entries or the wait is too long; a database failure.
    pub async fn begin(&self, key: &str) -> Result<Attempt<'_>, AppError> {
        self.adopt_shared(key).await?;
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.try_admit(key)? {
                return Ok(Attempt {
                    lockout: self,
                    key: key.to_owned(),
                    open: self.max_failures > 0,
                });
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return Err(AppError::Busy { retry_after: 1 });
            }
        }
    }

    fn try_admit(&self, key: &str) -> Result<bool, AppError> {
        if self.max_failures == 0 {
            return Ok(true);
        }
        let now = self.clock.now();
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, e| e.in_flight > 0 || now < e.since + self.window);
            if self.entries.len() >= MAX_ENTRIES {
                return Err(AppError::Busy { retry_after: 60 });
            }
        }
        let mut entry = self.entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            in_flight: 0,
            since: now,
            ended: 0,
        });
        if now >= entry.since + self.window {
            entry.failures = 0;
            entry.since = now;
        }
        if entry.failures >= self.max_failures {
            let retry = (entry.since + self.window - now).num_seconds().max(1);
            return Err(AppError::RateLimited {
                retry_after: u64::try_from(retry).unwrap_or(1),
            });
        }
        if entry.failures + entry.in_flight >= self.max_failures {
            return Ok(false);
        }
        entry.in_flight += 1;
        Ok(true)
    }

    fn end(&self, key: &str, failed: bool) {
        let now = self.clock.now();
        let forget = self.entries.get_mut(key).is_some_and(|mut entry| {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.ended += 1;
            if failed {
                if entry.failures == 0 {
                    entry.since = now;
                }
                entry.failures += 1;
            } else {
                entry.failures = 0;
            }
            entry.failures == 0 && entry.in_flight == 0
        });
        if forget {
            self.entries
                .remove_if(key, |_, e| e.failures == 0 && e.in_flight == 0);
        }
        self.ended.notify_waiters();
    }

    /// Entries held now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Attempt<'_> {
    /// The password was wrong (or the user unknown): one more failure, here and shared.
    pub async fn failed(mut self) {
        if let Some(log) = &self.lockout.log {
            let at = self.lockout.clock.now().timestamp_millis();
            let start = self.lockout.window_start();
            if let Err(e) = log.record_failure(&self.key, at, start).await {
                tracing::warn!(error = %e, "cannot record a login failure in the database");
            }
        }
        self.open = false;
        self.lockout.end(&self.key, true);
    }

    /// The login succeeded: the key's failures are forgotten, here and shared.
    pub async fn succeeded(mut self) {
        if let Some(log) = &self.lockout.log
            && let Err(e) = log.forget(&self.key).await
        {
            tracing::warn!(error = %e, "cannot forget login failures in the database");
        }
        self.open = false;
        self.lockout.end(&self.key, false);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Some(mut entry) = self.lockout.entries.get_mut(&self.key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
                entry.ended += 1;
            }
            self.lockout.ended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
