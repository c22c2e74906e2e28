//! Every statement has a time limit, set on each connection as it opens: PostgreSQL's
//! `statement_timeout` (and `client_connection_check_interval`, so a backend notices a
//! client that left), MariaDB's `max_statement_time` or MySQL's `max_execution_time`, and on
//! SQLite a progress handler that interrupts a statement running past the limit.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{AssertSqlSafe, raw_sql};

/// What `after_connect` takes: a setup run on every new connection.
type Setup<C> = dyn for<'c> Fn(&'c mut C, PoolConnectionMetadata) -> BoxFuture<'c, Result<(), sqlx::Error>>
    + Send
    + Sync
    + 'static;

/// SQLite VM instructions between two looks at the clock.
const SQLITE_CHECK_EVERY: i32 = 1_000;
/// A pause in progress calls this long means the next call belongs to a new statement.
const SQLITE_STATEMENT_GAP: Duration = Duration::from_millis(5);

/// Sets the limit on each new PostgreSQL connection.
pub fn postgres(limit: Duration) -> Box<Setup<sqlx::PgConnection>> {
    Box::new(move |conn, _| {
        Box::pin(async move {
            let set = format!("SET statement_timeout = {}", limit.as_millis());
            raw_sql(AssertSqlSafe(set)).execute(&mut *conn).await?;
            // PostgreSQL 14 and later; older servers simply keep running a query whose
            // client left until it ends or times out.
            let _ = raw_sql("SET client_connection_check_interval = 1000")
                .execute(&mut *conn)
                .await;
            Ok(())
        })
    })
}

/// Sets the limit on each new MySQL/MariaDB connection.
pub fn mysql(limit: Duration) -> Box<Setup<sqlx::MySqlConnection>> {
    Box::new(move |conn, _| {
        Box::pin(async move {
            let mariadb = format!("SET SESSION max_statement_time = {}", limit.as_secs_f64());
            if raw_sql(AssertSqlSafe(mariadb))
                .execute(&mut *conn)
                .await
                .is_err()
            {
                let mysql = format!("SET SESSION max_execution_time = {}", limit.as_millis());
                raw_sql(AssertSqlSafe(mysql)).execute(&mut *conn).await?;
            }
            Ok(())
        })
    })
}

/// Installs the interrupting progress handler on each new SQLite connection.
pub fn sqlite(limit: Duration) -> Box<Setup<sqlx::SqliteConnection>> {
    Box::new(move |conn, _| {
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            let mut watch = StatementWatch::new(limit);
            handle
                .set_progress_handler(SQLITE_CHECK_EVERY, move || watch.keep_going(Instant::now()));
            Ok(())
        })
    })
}

/// Tells from a stream of progress calls when the current statement began: calls come
/// every few microseconds while one runs, so a pause longer than [`SQLITE_STATEMENT_GAP`]
/// starts a new one. (A statement that pauses, waiting for the disk, gets more time, never
/// less.)
struct StatementWatch {
    limit: Duration,
    started: Instant,
    last: Instant,
}

impl StatementWatch {
    fn new(limit: Duration) -> Self {
        let now = Instant::now();
        Self {
            limit,
            started: now,
            last: now,
        }
    }

    /// `false` interrupts the statement.
    fn keep_going(&mut self, now: Instant) -> bool {
        if now.duration_since(self.last) > SQLITE_STATEMENT_GAP {
            self.started = now;
        }
        self.last = now;
        now.duration_since(self.started) <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_statement_is_stopped_and_the_next_one_starts_afresh() {
        let limit = Duration::from_millis(100);
        let t0 = Instant::now();
        let mut watch = StatementWatch::new(limit);
        let mut at = t0;
        // A statement calling back every millisecond: stopped just past its limit.
        let mut stopped_at = None;
        for ms in 1..200 {
            at = t0 + Duration::from_millis(ms);
            if !watch.keep_going(at) {
                stopped_at = Some(ms);
                break;
            }
        }
        assert!(
            stopped_at.is_some_and(|ms| (100..=106).contains(&ms)),
            "{stopped_at:?}"
        );
        // After a pause, a new statement has its whole limit again.
        let next = at + Duration::from_millis(50);
        assert!(watch.keep_going(next));
        assert!(watch.keep_going(next + Duration::from_millis(3)));
    }
}
