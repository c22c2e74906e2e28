//! A server that drops Moon's pooled connections (a restart, a proxy, an administrator's
//! `KILL`) costs no request: a connection idle past the pool's threshold is pinged before
//! use and replaced when the ping fails, though hot connections skip the ping (a request on
//! one the server has just ended is a 503, never a 500).

use std::time::Duration;

use moon_domain::RepoError;
use moon_domain::ports::{CollectionRepository, RecordRepository};
use moon_sql::{PoolOptions, SqlCollectionRepository, SqlDatabase, SqlRecordRepository};
use moon_tests::contract::{item, items};
use moon_tests::engines::{Engine, TestDatabase};
use sqlx::{Connection, Row};

/// Past the pool's one second of idleness after which a connection is pinged.
const IDLE_PAST_THRESHOLD: Duration = Duration::from_millis(1_500);

/// Ends every other session on the test database; returns how many it ended.
async fn end_other_sessions(engine: Engine, url: &str) -> usize {
    match engine {
        Engine::Postgres => {
            let mut admin = sqlx::PgConnection::connect(url)
                .await
                .unwrap_or_else(|e| panic!("admin connection: {e}"));
            let ended = sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("terminate: {e}"));
            ended.len()
        }
        _ => {
            let mut admin = sqlx::MySqlConnection::connect(url)
                .await
                .unwrap_or_else(|e| panic!("admin connection: {e}"));
            let ids = sqlx::query(
                "SELECT id FROM information_schema.processlist \
                 WHERE db = DATABASE() AND id <> CONNECTION_ID()",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("processlist: {e}"));
            for row in &ids {
                let id: i64 = row.try_get(0).unwrap_or_else(|e| panic!("id: {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("kill {id}: {e}"));
            }
            ids.len()
        }
    }
}

async fn run(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", test_db.url));
    let schema = items();
    SqlCollectionRepository::new(db.clone())
        .create(&schema)
        .await
        .unwrap_or_else(|e| panic!("create collection: {e}"));
    let records = SqlRecordRepository::new(db.clone());
    let first = item(1, "A-1", 1, "1.00");
    records
        .insert(&schema, &first)
        .await
        .unwrap_or_else(|e| panic!("first create: {e}"));

    let ended = end_other_sessions(engine, &test_db.url).await;
    assert!(ended > 0, "{engine:?}: Moon's pool had sessions to end");
    // A connection used within the last second is not pinged: the request on it fails, but
    // as the database being unavailable (a 503 to retry), never as an internal error.
    match records.get(&schema, first.id).await {
        Ok(_) | Err(RepoError::Unavailable(_)) => {}
        Err(e) => panic!("{engine:?}: a session the server ended is {e:?}, not unavailable"),
    }
    tokio::time::sleep(IDLE_PAST_THRESHOLD).await;

    let got = records
        .get(&schema, first.id)
        .await
        .unwrap_or_else(|e| panic!("{engine:?}: get after the server dropped the pool: {e}"));
    assert_eq!(got.map(|r| r.fields), Some(first.fields.clone()));
    let second = item(2, "A-2", 2, "2.00");
    records
        .insert(&schema, &second)
        .await
        .unwrap_or_else(|e| panic!("{engine:?}: create after the server dropped the pool: {e}"));
    let got = records
        .get(&schema, second.id)
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    assert_eq!(got.map(|r| r.fields), Some(second.fields));
    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replaces_connections_it_dropped() {
    if Engine::configured().contains(&Engine::Postgres) {
        run(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run on it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_replaces_connections_it_dropped() {
    if Engine::configured().contains(&Engine::MySql) {
        run(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run on it");
    }
}
