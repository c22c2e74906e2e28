//! Ports for the world around: database health and the clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::RepoError;

/// Whether the database answers, for `/health`.
#[async_trait]
pub trait DatabaseHealth: Send + Sync {
    /// A cheap round trip to the database.
    ///
    /// # Errors
    /// [`RepoError`] when the database does not answer.
    async fn ping(&self) -> Result<(), RepoError>;

    /// How each connection pool is used now, for metrics.
    fn pools(&self) -> Vec<PoolUse> {
        Vec::new()
    }
}

/// How one connection pool is used at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Which pool: `writer` or `reader` (SQLite), `main` (one pool).
    pub pool: &'static str,
    /// Connections open now, idle or in use.
    pub open: u32,
    pub idle: u32,
    /// The most it may open.
    pub max: u32,
}

/// The time, injected so tests can pin it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Whole microseconds: what every engine stores and returns.
        let now = Utc::now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }
}
