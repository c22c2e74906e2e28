//! Opens the database a URL names: for SQLite one writer connection (writes serialised,
//! DDL safe) beside a pool of readers, in WAL mode, and the group writer that commits
//! creates taking turns with it; for the others one pool.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{ConnectOptions, DatabaseConnection, SqlxSqliteConnector};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::dialect::Backend;
use crate::{metadata, time_limit};

/// Pool sizes and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL, MySQL); `None`: the
    /// engine's default ([`sqlite_readers`], or [`SERVER_CONNECTIONS`]).
    pub max_connections: Option<u32>,
    /// How long a request waits for a connection, and SQLite's busy timeout.
    pub acquire_timeout: Duration,
    /// The longest any one statement may run (`None`: no limit).
    pub statement_timeout: Option<Duration>,
    /// When SQLite's commits reach the disk.
    pub sqlite_sync: SqliteSync,
}

/// When a SQLite commit is on disk (`PRAGMA synchronous`; the servers have their own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// Every commit survives a crash of Moon; the last ones may be lost to a power failure
    /// or an OS crash (WAL `synchronous = NORMAL`, what PocketBase and TrailBase use).
    #[default]
    Normal,
    /// Every acknowledged commit also survives a power failure: one `fsync` per commit
    /// (per group of creates).
    Full,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
            sqlite_sync: SqliteSync::Normal,
        }
    }
}

/// Connections to a PostgreSQL or MySQL server unless told otherwise.
pub const SERVER_CONNECTIONS: u32 = 8;

/// SQLite reader connections unless told otherwise: two per core, at least 4 and at most 8.
/// Each is a thread running SQLite on its own (a third reader on a core only adds a thread
/// switch), and each keeps its own page cache of up to 2 MB: eight readers on a 2-core
/// machine held 16 MB of copies of the same pages for no more requests per second than four
/// (docs/benchmarks.md).
#[must_use]
pub fn sqlite_readers(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(4, 8)
}

/// Why the database could not be opened; the URL in it has its password hidden.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL '{0}': use sqlite://, postgres:// or mysql://")]
    UnsupportedScheme(String),
    #[error("cannot open database '{url}': {reason}")]
    Open { url: String, reason: String },
}

/// An open database: where writes go, where reads go, and which engine it is.
#[derive(Debug, Clone)]
pub struct SqlDatabase {
    pub(crate) writer: DatabaseConnection,
    pub(crate) reader: DatabaseConnection,
    pub(crate) backend: Backend,
    /// Poked after every commit that logged a change, so the feed reads it at once.
    pub(crate) feed: std::sync::Arc<tokio::sync::Notify>,
    /// Record creates, committed in groups.
    pub(crate) creates: crate::group_commit::GroupCommit,
    /// SQLite's counts, kept until the log moves.
    pub(crate) totals: std::sync::Arc<crate::totals::Totals>,
}

impl SqlDatabase {
    /// How the pools are used now: SQLite's writer and readers, or the one server pool.
    #[must_use]
    pub fn pool_use(&self) -> Vec<moon_domain::ports::PoolUse> {
        fn of<DB: sqlx::Database>(
            pool: &'static str,
            p: &sqlx::Pool<DB>,
        ) -> moon_domain::ports::PoolUse {
            moon_domain::ports::PoolUse {
                pool,
                open: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            }
        }
        match self.backend {
            Backend::Sqlite => vec![
                of("writer", self.writer.get_sqlite_connection_pool()),
                of("reader", self.reader.get_sqlite_connection_pool()),
            ],
            Backend::Postgres => vec![of("main", self.writer.get_postgres_connection_pool())],
            Backend::MySql => vec![of("main", self.writer.get_mysql_connection_pool())],
        }
    }

    /// Connects to `url` and makes sure Moon's system tables exist.
    ///
    /// # Errors
    /// [`ConnectError`] naming the (redacted) URL and what went wrong.
    pub async fn connect(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        let backend =
            Backend::from_url(url).ok_or_else(|| ConnectError::UnsupportedScheme(redact(url)))?;
        let open_error = |reason: String| ConnectError::Open {
            url: redact(url),
            reason,
        };
        let db = match backend {
            Backend::Sqlite => connect_sqlite(url, options).await,
            _ => connect_server(url, backend, options).await,
        }
        .map_err(open_error)?;
        metadata::ensure_tables(&db)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        crate::changes::ensure(&db)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        Ok(db)
    }

    /// Notified after every local commit that logged a change (and, through the PostgreSQL
    /// listener, after other instances' ones).
    #[must_use]
    pub fn feed_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.feed)
    }

    /// The engine behind this database.
    #[must_use]
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(self) {
        let _ = self.writer.close().await;
        if self.backend == Backend::Sqlite {
            let _ = self.reader.close().await;
        }
    }
}

/// PostgreSQL or MySQL: one probe connection first, so an unreachable server or a bad
/// credential is reported as such (a pool only says it timed out), then the pool.
/// How long a server connection may sit idle before the pool pings it on checkout.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

async fn connect_server(
    url: &str,
    backend: Backend,
    options: PoolOptions,
) -> Result<SqlDatabase, String> {
    let probe = async {
        match backend {
            Backend::Postgres => sqlx::PgConnection::connect(url).await?.close().await,
            _ => sqlx::MySqlConnection::connect(url).await?.close().await,
        }
    };
    match tokio::time::timeout(options.acquire_timeout, probe).await {
        Err(_) => return Err(format!("no answer within {:?}", options.acquire_timeout)),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(())) => {}
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    // A connection in use within the last second is handed out as it is; one idle longer
    // (which a server restart, a proxy or a firewall may have dropped) is pinged first.
    // sqlx's default pings before every use: a round trip per query, as long as a get.
    opts.max_connections(options.max_connections.unwrap_or(SERVER_CONNECTIONS).max(1))
        .min_connections(1)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .acquire_timeout(options.acquire_timeout)
        .connect_timeout(options.acquire_timeout)
        .sqlx_logging(false);
    if let Some(limit) = options.statement_timeout {
        opts.map_sqlx_postgres_pool_opts(move |pool| {
            let setup = time_limit::postgres(limit);
            pool.after_connect(move |conn, meta| setup(conn, meta))
        });
        opts.map_sqlx_mysql_pool_opts(move |pool| {
            let setup = time_limit::mysql(limit);
            pool.after_connect(move |conn, meta| setup(conn, meta))
        });
    }
    let conn = sea_orm::Database::connect(opts)
        .await
        .map_err(|e| e.to_string())?;
    Ok(SqlDatabase {
        // Two groups in flight at once: one commits while the next gathers.
        creates: crate::group_commit::GroupCommit::server(conn.clone(), backend, 2),
        writer: conn.clone(),
        reader: conn,
        backend,
        feed: std::sync::Arc::default(),
        totals: std::sync::Arc::default(),
    })
}

async fn connect_sqlite(url: &str, options: PoolOptions) -> Result<SqlDatabase, String> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        // Creates are written by a connection of their own, which cannot share a private
        // in-memory database with the pools.
        return Err(
            "an in-memory SQLite database is not supported: name a file, \
                    such as sqlite://moon.db"
                .into(),
        );
    }
    let base = SqliteConnectOptions::from_str(url)
        .map_err(|e| e.to_string())?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match options.sqlite_sync {
            SqliteSync::Normal => SqliteSynchronous::Normal,
            SqliteSync::Full => SqliteSynchronous::Full,
        })
        .busy_timeout(options.acquire_timeout)
        .foreign_keys(false)
        // LIKE is case-sensitive on every engine (API.md §8); icontains lowers both sides.
        .pragma("case_sensitive_like", "ON")
        .collation(
            crate::query::DECIMAL_COLLATION,
            crate::query::compare_decimal_text,
        );
    if let Some(dir) = base.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // A file cannot drop a connection the way a server can: no ping before each use (it
    // was a round trip to the connection's thread, as costly as the query itself).
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(base.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut readers = SqlitePoolOptions::new()
        .max_connections(
            options
                .max_connections
                .unwrap_or_else(|| {
                    sqlite_readers(std::thread::available_parallelism().map_or(1, usize::from))
                })
                .max(1),
        )
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout);
    // Reads only: the writer's rebuilds of large tables may take longer than any one read.
    if let Some(limit) = options.statement_timeout {
        let setup = time_limit::sqlite(limit);
        readers = readers.after_connect(move |conn, meta| setup(conn, meta));
    }
    let path = base.get_filename().to_owned();
    let reader = readers
        .connect_with(base)
        .await
        .map_err(|e| e.to_string())?;
    let setup = crate::group_commit::SqliteWriterSetup {
        sync: options.sqlite_sync,
        busy_timeout: options.acquire_timeout,
    };
    let group_writer = crate::group_commit::SqliteWriter::open(&path, setup)?;
    crate::idle_memory::spawn(writer.clone());
    Ok(SqlDatabase {
        creates: crate::group_commit::GroupCommit::sqlite(writer.clone(), group_writer),
        writer: SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
        reader: SqlxSqliteConnector::from_sqlx_sqlite_pool(reader),
        backend: Backend::Sqlite,
        feed: std::sync::Arc::default(),
        totals: std::sync::Arc::default(),
    })
}

/// `url` with any password replaced by `***`, for messages and logs.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let slash = if rest.contains('/') { "/" } else { "" };
    if userinfo.contains(':') {
        format!("{scheme}://{user}:***@{host}{slash}{tail}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests;
