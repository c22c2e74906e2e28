//! Throw-away databases for the engine-generic tests: SQLite always; PostgreSQL and
//! MySQL/MariaDB when `MOON_TEST_POSTGRES_URL` / `MOON_TEST_MYSQL_URL` name a server.
//! Each test gets a fresh database, dropped afterwards. A configured server that cannot be
//! reached fails the test: it never passes by skipping.

use sqlx::Connection;

/// One engine the suite can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

impl Engine {
    /// The environment variable naming this engine's server, if it needs one.
    #[must_use]
    pub const fn env_var(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("MOON_TEST_POSTGRES_URL"),
            Self::MySql => Some("MOON_TEST_MYSQL_URL"),
        }
    }

    /// The engines this run covers: SQLite, plus every one whose URL is set.
    #[must_use]
    pub fn configured() -> Vec<Self> {
        [Self::Sqlite, Self::Postgres, Self::MySql]
            .into_iter()
            .filter(|e| {
                e.env_var()
                    .is_none_or(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()))
            })
            .collect()
    }
}

/// A fresh database on one engine; call [`TestDatabase::drop_database`] when done.
#[derive(Debug)]
pub struct TestDatabase {
    pub engine: Engine,
    /// The URL Moon should open.
    pub url: String,
    server_url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

impl TestDatabase {
    /// Creates a fresh database on `engine`.
    ///
    /// # Panics
    /// When the engine's server is configured but cannot be reached: a configured engine
    /// must run.
    pub async fn create(engine: Engine) -> Self {
        let name = format!("moon_test_{}", ulid::Ulid::new().to_string().to_lowercase());
        let Some(var) = engine.env_var() else {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{name}.db")).display()
            );
            return Self {
                engine,
                url,
                server_url: String::new(),
                name,
                _dir: Some(dir),
            };
        };
        let server_url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set"));
        let create = format!("CREATE DATABASE {name}");
        match engine {
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&server_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{var} is set but PostgreSQL cannot be reached: {e}")
                    });
                sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            _ => {
                let mut conn = sqlx::MySqlConnection::connect(&server_url)
                    .await
                    .unwrap_or_else(|e| panic!("{var} is set but MySQL cannot be reached: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let url = with_database(&server_url, &name);
        Self {
            engine,
            url,
            server_url,
            name,
            _dir: None,
        }
    }

    /// Drops the database (SQLite: its directory goes when this is dropped).
    pub async fn drop_database(self) {
        let statement = format!("DROP DATABASE IF EXISTS {}", self.name);
        match self.engine {
            Engine::Sqlite => {}
            Engine::Postgres => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&self.server_url).await {
                    let force = format!("{statement} WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(force))
                        .execute(&mut conn)
                        .await;
                }
            }
            Engine::MySql => {
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&self.server_url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                        .execute(&mut conn)
                        .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn urls_get_the_test_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306", "t1"),
            "mysql://root@127.0.0.1:3306/t1"
        );
        assert_eq!(
            with_database("mysql://root@h/x?ssl-mode=disabled", "t1"),
            "mysql://root@h/t1?ssl-mode=disabled"
        );
    }
}
