//! The SQL contract story on every configured engine: a real SQLite file always, and
//! PostgreSQL / MySQL when `MOON_TEST_POSTGRES_URL` / `MOON_TEST_MYSQL_URL` are set.

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::contract::story;
use moon_tests::engines::{Engine, TestDatabase};

async fn open(url: &str) -> SqlDatabase {
    SqlDatabase::connect(url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"))
}

async fn run(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let url = test_db.url.clone();
    let db = open(&url).await;
    story(db.clone(), async || open(&url).await).await;
    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn sqlite_keeps_the_contract() {
    run(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_keeps_the_contract() {
    if Engine::configured().contains(&Engine::Postgres) {
        run(Engine::Postgres).await;
    } else {
        eprintln!(
            "PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): contract not run on it"
        );
    }
}

#[tokio::test]
async fn mysql_keeps_the_contract() {
    if Engine::configured().contains(&Engine::MySql) {
        run(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): contract not run on it");
    }
}
