//! One database-wide lock that Moon processes on one database take for their start-up (system
//! tables, the JWT secret, the first admin, crash repair) and for every schema change, so these
//! run one at a time across instances: a later start-up finds everything made, and never
//! "repairs" a change another instance has in progress. PostgreSQL `pg_advisory_lock`,
//! MySQL/MariaDB `GET_LOCK`, both on a connection of their own; SQLite is one process's file
//! and needs none.

use std::time::Duration;

use sqlx::Connection;

use moon_domain::RepoError;

use crate::connect::{ConnectError, redact};
use crate::dialect::Backend;

/// The advisory lock key (PostgreSQL) and lock name (MySQL) of Moon's start-ups and schema
/// changes.
const PG_KEY: i64 = 0x6d6f_6f6e_0001;
const MYSQL_NAME: &str = "moon_startup";
/// How long a schema change waits for another instance's (or a start-up) to finish.
const CHANGE_WAIT_SECS: i64 = 60;

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

/// Held on MySQL while a schema change runs (its DDL commits implicitly, so no transaction
/// can carry the lock); dropping it closes its connection, which releases the lock even when
/// the change's request is cancelled half-way.
pub(crate) struct ChangeLock {
    conn: Option<sqlx::MySqlConnection>,
}

impl ChangeLock {
    /// MySQL: waits for the database-wide lock on a connection taken out of the pool.
    pub(crate) async fn mysql(pool: &sqlx::MySqlPool) -> Result<Self, RepoError> {
        let refused = |e: sqlx::Error| RepoError::Unavailable(e.to_string());
        let mut conn = pool.acquire().await.map_err(refused)?.detach();
        let granted: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(MYSQL_NAME)
            .bind(CHANGE_WAIT_SECS)
            .fetch_one(&mut conn)
            .await
            .map_err(refused)?;
        if granted != Some(1) {
            return Err(RepoError::Unavailable(
                "another instance's schema change is still running".into(),
            ));
        }
        Ok(Self { conn: Some(conn) })
    }

    /// Lets the next change in.
    pub(crate) async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(MYSQL_NAME)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

/// PostgreSQL: the same lock, taken inside a schema change's transaction and released with
/// it (`pg_advisory_xact_lock` and the start-up's session lock exclude each other).
pub(crate) async fn lock_in_transaction(
    txn: &impl sea_orm::ConnectionTrait,
) -> Result<(), RepoError> {
    let stmt = sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [PG_KEY.into()],
    );
    txn.execute_raw(stmt)
        .await
        .map(|_| ())
        .map_err(|e| crate::error::classify(&e))
}
