//! PostgreSQL `LISTEN/NOTIFY` for other instances' changes: every epoch bump also notifies
//! `moon_changes` in its transaction (delivered at commit), and a listener here wakes this
//! process's pollers at once. Polling stays the fallback for missed notifications and
//! reconnects (and the only way on MySQL).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// The notification channel.
pub const CHANNEL: &str = "moon_changes";

/// Who to wake for which change.
#[derive(Debug, Clone, Default)]
pub struct ChangeSignals {
    pub schema: Arc<Notify>,
    pub auth: Arc<Notify>,
    /// Another instance numbered change log entries (the feed reads them).
    pub feed: Arc<Notify>,
}

/// Listens on [`CHANNEL`] for as long as Moon runs, waking `signals` by payload
/// (`schema`, `auth` or `feed`); reconnects after a pause when the connection drops.
pub fn spawn(url: String, signals: ChangeSignals) {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "cannot listen for other instances' changes");
                    } else {
                        // Changes made while not listening are found by the pollers.
                        signals.schema.notify_waiters();
                        signals.auth.notify_waiters();
                        signals.feed.notify_one();
                        while let Ok(note) = listener.recv().await {
                            match note.payload() {
                                "auth" => signals.auth.notify_waiters(),
                                "feed" => signals.feed.notify_one(),
                                _ => signals.schema.notify_waiters(),
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot connect to listen for changes"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
