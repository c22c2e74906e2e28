//! The schema gate: record operations share it, schema changes take it alone, so a write is
//! never validated against one schema and applied to another, and none is lost while a
//! table is rebuilt.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared by the record and collection services of one process.
#[derive(Debug, Default)]
pub struct SchemaGate {
    lock: RwLock<()>,
}

impl SchemaGate {
    /// Held by a record operation for its whole duration.
    pub async fn record_op(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().await
    }

    /// Held by a schema change; waits for record operations in flight to finish.
    pub async fn schema_change(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock.write().await
    }
}
