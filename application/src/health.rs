//! The health use case: is the database answering?

use std::sync::Arc;

use moon_domain::ports::DatabaseHealth;

/// Reports whether the database answers.
pub struct HealthService {
    database: Arc<dyn DatabaseHealth>,
}

impl HealthService {
    #[must_use]
    pub fn new(database: Arc<dyn DatabaseHealth>) -> Self {
        Self { database }
    }

    /// How the database connection pools are used now.
    #[must_use]
    pub fn pools(&self) -> Vec<moon_domain::ports::PoolUse> {
        self.database.pools()
    }

    /// `true` when the database answered a ping.
    pub async fn database_ok(&self) -> bool {
        match self.database.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "health check: database did not answer");
                false
            }
        }
    }
}
