//! Moon's configuration: defaults, then `moon.toml`, then `MOON_*` environment variables,
//! then command-line flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use moon_sql::SqliteSync;
use serde::{Deserialize, Serialize};

/// Every setting, after all sources are merged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://`, `postgres://` or `mysql://` URL; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// `host:port` to listen on.
    pub listen: String,
    /// A path every route sits under, e.g. `/api/v1`.
    pub prefix: String,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// Log filter (`info`, `debug`, `moon_sql=debug,info`...).
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Database connections (readers, on SQLite); `0`: the engine's default (SQLite two per
    /// core, 4 to 8; PostgreSQL and MySQL 8).
    pub pool_size: u32,
    /// Seconds a request waits for a database connection (and SQLite's busy timeout).
    pub db_timeout_secs: u64,
    pub max_collections: usize,
    pub max_columns: usize,
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub max_filters: usize,
    pub max_sort_fields: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    /// How often, in milliseconds, each instance looks for schema and auth changes made by
    /// other instances on the same PostgreSQL or MySQL database.
    pub instance_poll_ms: u64,
    /// PostgreSQL: also hear other instances' changes at once through `LISTEN/NOTIFY`
    /// (turn off behind a pooler that cannot LISTEN, such as PgBouncer in transaction mode).
    pub instance_listen: bool,
    /// Seconds any one SQL statement may run (`0` = no limit).
    pub statement_timeout_secs: u64,
    /// Seconds a whole request body may take to arrive (slower senders are cut off).
    pub body_timeout_secs: u64,
    /// Open connections at most (capped below the process's file-descriptor limit).
    pub max_connections: usize,
    /// Password hashes computed at once (`0` = one per core).
    pub hash_concurrency: usize,
    /// Logins and password changes that may wait for a hashing slot (more: `503`).
    pub hash_queue: usize,
    /// How long an `Idempotency-Key` answer is kept, in seconds.
    pub idempotency_ttl_secs: u64,
    /// Authentication on every non-public route; `false` only for benchmarks and trusted
    /// networks.
    pub auth: bool,
    /// The first admin, created when there are no users.
    pub admin_username: String,
    /// Its password; generated and printed once when empty.
    pub admin_password: String,
    /// The HS256 secret; generated once and kept in the database when empty.
    pub jwt_secret: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// Requests per minute per user (`0` = off).
    pub rate_limit_user: u32,
    /// Requests per minute per API key (`0` = off).
    pub rate_limit_apikey: u32,
    /// Failed logins per IP and username before a 15-minute lock (`0` = off).
    pub login_max_failures: u32,
    /// Browser origins allowed by CORS: `*` or a comma list; empty turns CORS off.
    pub cors_origins: String,
    /// Request headers allowed by CORS (empty: Authorization, Content-Type, ...).
    pub cors_headers: String,
    /// Whether CORS allows credentials.
    pub cors_credentials: bool,
    /// Whether anonymous callers see the collections in the docs.
    pub docs_public: bool,
    /// Whether `/metrics` is open to anyone (else admins only).
    pub metrics_public: bool,
    /// Webhook workers (each processes one event at a time).
    pub webhook_workers: usize,
    /// How long change log entries are kept: seconds, or a number with `s`, `m`, `h` or `d`.
    #[serde(deserialize_with = "text_or_number")]
    pub changes_retention: String,
    /// Outbound webhooks may target loopback, link-local and private addresses.
    pub subscriptions_allow_private: bool,
    /// When SQLite commits reach the disk: `normal` (survive a crash of Moon) or `full`
    /// (survive a power failure too).
    pub sqlite_synchronous: SqliteSync,
}

/// A setting given as text or as a bare number (`MOON_CHANGES_RETENTION=7200` reaches serde
/// as a number), kept as text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(t) => t,
        Raw::Number(n) => n.to_string(),
    })
}

/// Secrets stay out of any debug output.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &moon_sql::redact(&self.database_url))
            .field("listen", &self.listen)
            .field("prefix", &self.prefix)
            .field("auth", &self.auth)
            .field("admin_password", &"***")
            .field("jwt_secret", &"***")
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            listen: "127.0.0.1:6006".to_owned(),
            prefix: String::new(),
            data_dir: PathBuf::from("./data"),
            log: "info".to_owned(),
            log_format: "text".to_owned(),
            pool_size: 0,
            db_timeout_secs: 5,
            max_collections: 1000,
            max_columns: 100,
            default_page_size: 15,
            max_page_size: 200,
            max_filters: 20,
            max_sort_fields: 5,
            max_batch: 50,
            max_body_bytes: 2 * 1024 * 1024,
            instance_poll_ms: 250,
            instance_listen: true,
            statement_timeout_secs: 30,
            body_timeout_secs: 30,
            max_connections: 10_000,
            hash_concurrency: 0,
            hash_queue: 64,
            idempotency_ttl_secs: 24 * 60 * 60,
            auth: true,
            admin_username: "admin".to_owned(),
            admin_password: String::new(),
            jwt_secret: String::new(),
            access_ttl_secs: 3600,
            refresh_ttl_secs: 7 * 24 * 3600,
            rate_limit_user: 100,
            rate_limit_apikey: 1000,
            login_max_failures: 5,
            cors_origins: String::new(),
            cors_headers: String::new(),
            cors_credentials: false,
            docs_public: false,
            metrics_public: false,
            webhook_workers: 4,
            changes_retention: "24h".to_owned(),
            subscriptions_allow_private: false,
            sqlite_synchronous: SqliteSync::Normal,
        }
    }
}

/// Moon: a live, schema-on-the-fly REST backend over SQL.
///
/// Settings come from defaults, then `moon.toml` (or --config), then environment
/// variables (MOON_DATABASE_URL, MOON_LISTEN, MOON_PREFIX, MOON_DATA_DIR, MOON_LOG,
/// MOON_LOG_FORMAT, MOON_POOL_SIZE, MOON_MAX_BODY_BYTES, ...), then these flags.
#[derive(Debug, Parser, Serialize)]
#[command(name = "moon", version, about, long_about)]
pub struct Cli {
    /// Config file to read [default: moon.toml, if present]
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://path, postgres://... or mysql://... [env: MOON_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Address to listen on [env: MOON_LISTEN] [default: 127.0.0.1:6006]
    #[arg(long, value_name = "HOST:PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Path prefix for every route, e.g. /api/v1 [env: MOON_PREFIX]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Directory of the embedded SQLite database [env: MOON_DATA_DIR] [default: ./data]
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Log filter, e.g. info or debug [env: MOON_LOG] [default: info]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Log format: text or json [env: MOON_LOG_FORMAT] [default: text]
    #[arg(long, value_name = "FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// Database connections, readers on SQLite [env: MOON_POOL_SIZE] [default: 0, two per
    /// core (4 to 8) on SQLite, 8 on a server]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
}

impl Config {
    /// Merges every source; `cli` wins.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn load(cli: &Cli) -> Result<Self, String> {
        let file = cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("moon.toml"));
        if cli.config.is_some() && !file.exists() {
            return Err(format!("config file {} does not exist", file.display()));
        }
        let config: Self = Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("MOON_"))
            .merge(Serialized::globals(cli))
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.check()
    }

    fn check(self) -> Result<Self, String> {
        if self.listen.parse::<SocketAddr>().is_err() && !self.listen.contains(':') {
            return Err(format!("listen must be host:port, not '{}'", self.listen));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log_format must be text or json, not '{}'",
                self.log_format
            ));
        }
        if self.max_page_size == 0
            || self.default_page_size == 0
            || self.default_page_size > self.max_page_size
        {
            return Err(
                "page sizes must be at least 1 and default_page_size <= max_page_size".to_owned(),
            );
        }
        self.changes_retention()?;
        Ok(self)
    }

    /// `changes_retention` as a duration (at least one second).
    ///
    /// # Errors
    /// A message when it is not a number with an optional `s`, `m`, `h` or `d`.
    pub fn changes_retention(&self) -> Result<Duration, String> {
        let raw = self.changes_retention.trim();
        let (digits, unit) = match raw.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
            _ => (raw, 's'),
        };
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 0,
        };
        digits
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0 && scale > 0)
            .and_then(|n| n.checked_mul(scale))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                format!(
                    "changes_retention must be like 86400, 90m, 24h or 7d, not '{}'",
                    self.changes_retention
                )
            })
    }

    /// The database URL to open: the configured one, or SQLite in `data_dir`.
    #[must_use]
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("moon.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests;
