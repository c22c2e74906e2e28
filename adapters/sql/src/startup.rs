//! Several Moon processes starting at once on one empty database: each takes a
//! database-wide lock for its start-up (system tables, the JWT secret, the first admin), so
//! they run one after another and the later ones find everything made. PostgreSQL
//! `pg_advisory_lock`, MySQL/MariaDB `GET_LOCK`, both on a connection of their own; SQLite
//! is one process's file and needs none.

use std::time::Duration;

use sqlx::Connection;

use crate::connect::{ConnectError, redact};
use crate::dialect::Backend;

/// The advisory lock key (PostgreSQL) and lock name (MySQL) of Moon's start-up.
const PG_KEY: i64 = 0x6d6f_6f6e_0001;
const MYSQL_NAME: &str = "moon_startup";

/// Held while this process starts; [`StartupLock::release`] lets the next one in.
#[derive(Debug)]
pub struct StartupLock {
    held: Held,
}

#[derive(Debug)]
enum Held {
    None,
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

impl StartupLock {
    /// Waits (at most `wait`) for the start-up lock of the database `url` names.
    ///
    /// # Errors
    /// [`ConnectError`] when the server cannot be reached or the lock is not granted in time.
    pub async fn acquire(url: &str, wait: Duration) -> Result<Self, ConnectError> {
        let failed = |reason: String| ConnectError::Open {
            url: redact(url),
            reason,
        };
        let held = match Backend::from_url(url) {
            Some(Backend::Postgres) => {
                let mut conn = sqlx::PgConnection::connect(url)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                let lock = sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn);
                tokio::time::timeout(wait, lock)
                    .await
                    .map_err(|_| failed(format!("start-up lock not granted within {wait:?}")))?
                    .map_err(|e| failed(e.to_string()))?;
                Held::Postgres(conn)
            }
            Some(Backend::MySql) => {
                let mut conn = sqlx::MySqlConnection::connect(url)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                let granted: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(MYSQL_NAME)
                    .bind(i64::try_from(wait.as_secs()).unwrap_or(60))
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                if granted != Some(1) {
                    return Err(failed(format!("start-up lock not granted within {wait:?}")));
                }
                Held::MySql(conn)
            }
            _ => Held::None,
        };
        Ok(Self { held })
    }

    /// Lets the next starting process in (closing the connection would too).
    pub async fn release(self) {
        match self.held {
            Held::None => {}
            Held::Postgres(mut conn) => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            Held::MySql(mut conn) => {
                let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
                    .bind(MYSQL_NAME)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}
