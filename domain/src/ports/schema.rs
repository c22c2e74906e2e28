//! Ports for schemas: DDL + metadata, and the in-memory registry.

use std::sync::Arc;

use async_trait::async_trait;

use crate::collection::Collection;
use crate::error::RepoError;
use crate::name::CollectionName;
use crate::schema_change::SchemaPlan;

/// DDL and schema metadata: the physical tables and the system table describing them.
#[async_trait]
pub trait CollectionRepository: Send + Sync {
    /// Every collection recorded in the schema metadata, for loading the registry.
    ///
    /// # Errors
    /// [`RepoError`] when the metadata cannot be read or decoded.
    async fn load_all(&self) -> Result<Vec<Collection>, RepoError>;

    /// Every collection as the metadata says now, without repairs (another process may be
    /// in the middle of a change): for refreshing the registry.
    ///
    /// # Errors
    /// [`RepoError`] when the metadata cannot be read or decoded.
    async fn load_current(&self) -> Result<Vec<Collection>, RepoError>;

    /// A number bumped by every schema change of any process, in the change's transaction.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn schema_epoch(&self) -> Result<i64, RepoError>;

    /// Creates the table, its indexes and its metadata row, all or nothing; returns the schema
    /// version it was stored at, one no earlier collection of that name ever had.
    ///
    /// # Errors
    /// [`RepoError`] when the database refuses; nothing is left behind.
    async fn create(&self, collection: &Collection) -> Result<u64, RepoError>;

    /// Moves the table from `current` to `plan.next`, converting existing rows, all or
    /// nothing. With `dry_run`, does the work and rolls it back. Returns the statements run.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] naming the column when existing rows do not fit;
    /// [`RepoError::Duplicate`] when a new unique column holds duplicates.
    async fn alter(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError>;

    /// Drops the table and its metadata row.
    ///
    /// # Errors
    /// [`RepoError`] when the database refuses.
    async fn destroy(&self, name: &CollectionName) -> Result<(), RepoError>;
}

/// The in-memory schema cache every request is validated against.
pub trait SchemaRegistry: Send + Sync {
    /// The collection called `name` (already lowercase).
    fn get(&self, name: &str) -> Option<Arc<Collection>>;
    /// Every collection, sorted by name.
    fn list(&self) -> Vec<Arc<Collection>>;
    /// Adds or replaces a collection; call only after the database change committed.
    fn put(&self, collection: Collection);
    /// Forgets a collection; call only after the database change committed.
    fn remove(&self, name: &str);
    /// How many collections there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
