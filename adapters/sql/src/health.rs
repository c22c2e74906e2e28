//! `DatabaseHealth` over SQL: one cheap round trip.

use async_trait::async_trait;
use moon_domain::RepoError;
use moon_domain::ports::{DatabaseHealth, PoolUse};
use sea_orm::ConnectionTrait;

use crate::connect::SqlDatabase;
use crate::error::classify;

/// Pings the database behind a [`SqlDatabase`].
#[derive(Debug, Clone)]
pub struct SqlDatabaseHealth {
    db: SqlDatabase,
}

impl SqlDatabaseHealth {
    #[must_use]
    pub const fn new(db: SqlDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl DatabaseHealth for SqlDatabaseHealth {
    async fn ping(&self) -> Result<(), RepoError> {
        self.db
            .reader
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    fn pools(&self) -> Vec<PoolUse> {
        self.db.pool_use()
    }
}
