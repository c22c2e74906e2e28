//! The SQL contract story on a real SQLite file (and on PostgreSQL / MySQL when
//! `MOON_TEST_POSTGRES_URL` / `MOON_TEST_MYSQL_URL` are set).

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::contract::story;

async fn open(url: &str) -> SqlDatabase {
    SqlDatabase::connect(url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"))
}

#[tokio::test]
async fn sqlite_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let db = open(&url).await;
    story(db.clone(), async || open(&url).await).await;
    db.close().await;
}
