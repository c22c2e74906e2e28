//! Moon's persistence: sea-orm + sea-query repositories for SQLite, PostgreSQL and MySQL.
#![forbid(unsafe_code)]

mod adopt;
mod aggregate;
mod auth;
mod auth_guards;
mod catalogue;
mod change_marks;
mod changes;
mod collections;
mod connect;
pub mod dialect;
mod epochs;
mod error;
mod failpoint;
mod group_commit;
mod health;
mod idempotency;
mod idle_memory;
mod in_place;
mod indexes;
mod listener;
mod login_failures;
mod metadata;
mod query;
mod rebuild;
mod reconcile;
mod records;
mod retry;
mod shaped;
mod startup;
mod subscriptions;
mod system_table;
mod table;
mod time_limit;
mod totals;
mod webhook_config;
mod webhook_queue;
mod webhooks;
mod writes;

pub use auth::SqlAuthRepository;
pub use changes::SqlChangeLog;
pub use collections::SqlCollectionRepository;
pub use connect::{ConnectError, PoolOptions, SqlDatabase, SqliteSync, redact};
pub use dialect::Backend;
pub use health::SqlDatabaseHealth;
pub use idempotency::SqlIdempotencyStore;
pub use listener::ChangeSignals;
pub use login_failures::SqlLoginFailureLog;
pub use records::SqlRecordRepository;
pub use startup::StartupLock;
pub use subscriptions::SqlSubscriptionRepository;
pub use webhooks::SqlWebhookRepository;

/// Starts listening for other instances' changes on PostgreSQL (see [`ChangeSignals`]).
pub fn listen_for_changes(url: String, signals: ChangeSignals) {
    listener::spawn(url, signals);
}
