//! The port for reading the change log (entries are written by the record and schema
//! repositories, in the transactions of the writes they describe).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::change::{Change, LogBounds};
use crate::error::RepoError;

/// The durable change log.
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// Up to `limit` entries after `after`, in sequence order; of one collection when given.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn after(
        &self,
        collection: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError>;

    /// The log's head and how far it has been swept.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn bounds(&self) -> Result<LogBounds, RepoError>;

    /// Numbers committed entries that have no sequence number yet (on engines where
    /// concurrent transactions commit out of their start order); how many it numbered.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn sequence(&self) -> Result<u64, RepoError>;

    /// Deletes entries written before `before` (never the newest); how many.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn sweep(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
