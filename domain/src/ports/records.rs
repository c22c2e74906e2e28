//! The port for record reads and writes on collection tables.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::batch::{BatchFailure, BatchOutcome, BatchWrite};
use crate::collection::Collection;
use crate::error::RepoError;
use crate::name::ColumnName;
use crate::query::{Aggregate, ListQuery};
use crate::record::{NewRecord, Record, RecordId, Written};
use crate::value::Value;

/// Record reads and writes on collection tables.
#[async_trait]
pub trait RecordRepository: Send + Sync {
    /// Inserts one validated record.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation.
    async fn insert(&self, collection: &Collection, record: &NewRecord) -> Result<(), RepoError>;

    /// The record with `id`, if any.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn get(&self, collection: &Collection, id: RecordId)
    -> Result<Option<Record>, RepoError>;

    /// Sets `fields` on the record with `id`, stamps `updated_at`, bumps its version, and
    /// returns the record as stored. With `expected_version`, writes only if the stored
    /// version is that one (checked in the same statement as the write).
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] on a unique violation.
    async fn update(
        &self,
        collection: &Collection,
        id: RecordId,
        fields: &[(ColumnName, Value)],
        updated_at: DateTime<Utc>,
        expected_version: Option<i64>,
    ) -> Result<Written<Record>, RepoError>;

    /// Deletes the record with `id`, only at `expected_version` when given.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete(
        &self,
        collection: &Collection,
        id: RecordId,
        expected_version: Option<i64>,
    ) -> Result<Written<()>, RepoError>;

    /// Applies every write of a batch in one transaction, all or nothing.
    ///
    /// # Errors
    /// The first failing item ([`BatchFailure`]); nothing is written then.
    async fn write_atomic(
        &self,
        collection: &Collection,
        writes: &[BatchWrite],
    ) -> Result<Vec<BatchOutcome>, BatchFailure>;

    /// Up to `query.limit` records matching the query's filters and search, in its order
    /// (then `id`), after its cursor if any.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<Vec<Record>, RepoError>;

    /// How many records match the query's filters and search (all, for an empty query).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn count(&self, collection: &Collection, query: &ListQuery) -> Result<u64, RepoError>;

    /// The page [`list`](Self::list) gives and the [`count`](Self::count) of every record
    /// matching the same query: two reads here, one round trip on an engine that can do
    /// better.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list_counted(
        &self,
        collection: &Collection,
        query: &ListQuery,
    ) -> Result<(Vec<Record>, u64), RepoError> {
        let records = self.list(collection, query).await?;
        Ok((records, self.count(collection, query).await?))
    }

    /// Computes `aggregate` over the matching records: exact, `Null` for an empty set
    /// (count: 0). Sums of integers that leave i64 come back as decimals.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn aggregate(
        &self,
        collection: &Collection,
        aggregate: &Aggregate,
        query: &ListQuery,
    ) -> Result<Value, RepoError>;
}
