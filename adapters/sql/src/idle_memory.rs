//! Gives SQLite's writer cache back once writes have stopped: a burst of writes leaves up to
//! 2 MB of pages cached on the writer connection, which an idle server has no use for.
//!
//! Once a second the writer, when free, is asked its count of changed rows; when that count
//! has not moved for a whole second and the cache has not been released at that count, it
//! is (`PRAGMA shrink_memory`). A busy writer keeps its cache; an idle one pays one
//! statement a second. (The readers' caches, released the same way, stayed resident: glibc
//! keeps what they free among their arenas' live allocations. docs/benchmarks.md.)

use std::time::Duration;

use sqlx::SqlitePool;

/// How often the writer is looked at.
const TICK: Duration = Duration::from_secs(1);

/// Starts the release loop on `writer`; it ends when the pool is closed.
pub fn spawn(writer: SqlitePool) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut quiet = Quiet::default();
        while !writer.is_closed() {
            ticks.tick().await;
            let Some(mut conn) = writer.try_acquire() else {
                continue; // writing now
            };
            let Ok(changes) = sqlx::query_scalar::<_, i64>("SELECT total_changes()")
                .fetch_one(&mut *conn)
                .await
            else {
                continue;
            };
            if quiet.observe(changes) {
                if let Err(e) = sqlx::query("PRAGMA shrink_memory")
                    .execute(&mut *conn)
                    .await
                {
                    tracing::debug!(error = %e, "PRAGMA shrink_memory");
                }
                tracing::debug!(changes, "released the writer's page cache");
            }
        }
    });
}

/// The writer's count of changed rows at the last look, and at its last release.
#[derive(Debug, Default)]
struct Quiet {
    seen: Option<i64>,
    released: Option<i64>,
}

impl Quiet {
    /// Takes this look's count; true when the cache is to be released now.
    fn observe(&mut self, changes: i64) -> bool {
        let release = self.seen == Some(changes) && self.released != Some(changes);
        if release {
            self.released = Some(changes);
        }
        self.seen = Some(changes);
        release
    }
}

#[cfg(test)]
mod tests {
    use super::Quiet;

    #[test]
    fn releases_once_per_quiet_spell_and_never_while_writing() {
        let mut quiet = Quiet::default();
        let looks = [
            (0, false),
            (0, true),
            (0, false),
            (5, false),
            (9, false),
            (9, true),
        ];
        for (changes, release) in looks {
            assert_eq!(quiet.observe(changes), release, "at {changes}");
        }
        assert!(!quiet.observe(9), "a spell is released once");
        assert!(!quiet.observe(12), "a write since the last look");
    }
}
