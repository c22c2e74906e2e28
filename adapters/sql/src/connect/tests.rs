//! Unit tests of `connect`.

use sea_orm::ConnectionTrait;

use super::{PoolOptions, SqlDatabase, SqliteSync, redact, sqlite_readers};

#[tokio::test]
async fn sqlite_commits_as_synchronous_as_asked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (sync, pragma) in [(SqliteSync::Normal, 1), (SqliteSync::Full, 2)] {
        let url = format!("sqlite://{}/{pragma}.db", dir.path().display());
        let options = PoolOptions {
            sqlite_sync: sync,
            ..PoolOptions::default()
        };
        let db = SqlDatabase::connect(&url, options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for conn in [&db.writer, &db.reader] {
            let row = conn
                .query_one_raw(sea_orm::Statement::from_string(
                    conn.get_database_backend(),
                    "PRAGMA synchronous",
                ))
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("no answer to PRAGMA synchronous"));
            assert_eq!(
                row.try_get_by_index::<i64>(0).ok(),
                Some(pragma),
                "{sync:?}"
            );
        }
        db.close().await;
    }
}

#[test]
fn passwords_never_leave_the_url() {
    assert_eq!(
        redact("postgres://moon:s3cret@db:5432/app"),
        "postgres://moon:***@db:5432/app"
    );
    assert_eq!(
        redact("mysql://root@127.0.0.1/test"),
        "mysql://root@127.0.0.1/test"
    );
    assert_eq!(redact("sqlite://data/moon.db"), "sqlite://data/moon.db");
}

#[test]
fn sqlite_readers_are_two_per_core_within_four_to_eight() {
    let readers: Vec<u32> = [0, 1, 2, 3, 4, 16, usize::MAX]
        .into_iter()
        .map(sqlite_readers)
        .collect();
    assert_eq!(readers, [4, 4, 4, 6, 8, 8, 8]);
}

#[tokio::test]
async fn an_asked_reader_count_is_the_reader_pool_size() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}/readers.db", dir.path().display());
    let options = PoolOptions {
        max_connections: Some(3),
        ..PoolOptions::default()
    };
    let db = SqlDatabase::connect(&url, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let max: Vec<(&str, u32)> = db.pool_use().iter().map(|p| (p.pool, p.max)).collect();
    assert_eq!(max, [("writer", 1), ("reader", 3)]);
    db.close().await;
}
