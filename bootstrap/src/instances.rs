//! Several instances over one database: each polls the schema and auth epochs (woken at
//! once by PostgreSQL NOTIFY) and brings its registry and auth caches up to date.

use std::sync::Arc;
use std::time::Duration;

use moon_application::CollectionService;
use tokio::sync::Notify;

use crate::config::Config;

/// How often other instances' changes are looked for (API.md §9: served within 1 s).
pub fn poll_every(config: &Config) -> Duration {
    Duration::from_millis(config.instance_poll_ms.max(10))
}

/// Keeps the registry in step with schema changes made by other processes on the database.
pub fn spawn_schema_refresh(
    collections: Arc<CollectionService>,
    every: Duration,
    wake: Arc<Notify>,
) {
    spawn_poll("schema", every, wake, move |seen| {
        let collections = Arc::clone(&collections);
        async move { collections.refresh_from_database(&seen).await.map(|_| ()) }
    });
}

/// Drops this instance's auth caches when another instance ends a session or changes a
/// user or key (API.md §9: within 1 s).
pub fn spawn_auth_refresh(
    auth: Arc<moon_application::AuthService>,
    every: Duration,
    wake: Arc<Notify>,
) {
    spawn_poll("auth", every, wake, move |seen| {
        let auth = Arc::clone(&auth);
        async move { auth.refresh_from_database(&seen).await.map(|_| ()) }
    });
}

/// Runs `refresh` every `every`, or at once when `wake` is notified (PostgreSQL NOTIFY), with
/// the epoch it last saw, for as long as Moon runs.
fn spawn_poll<F, Fut>(what: &'static str, every: Duration, wake: Arc<Notify>, refresh: F)
where
    F: Fn(Arc<std::sync::atomic::AtomicI64>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), moon_application::AppError>> + Send,
{
    tokio::spawn(async move {
        let seen = Arc::new(std::sync::atomic::AtomicI64::new(-1));
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = wake.notified() => {}
            }
            if let Err(e) = refresh(Arc::clone(&seen)).await {
                tracing::warn!(error = %e, what, "cannot look for changes by other instances");
            }
        }
    });
}
