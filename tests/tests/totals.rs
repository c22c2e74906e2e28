//! `total` after every kind of write, on every engine (SQLite keeps counts until the change
//! log moves): a count asked twice, then after a create, an update moving a record out of
//! the filter, a destroy, a batch and a collection dropped and made again, is always exact.

use chrono::Utc;
use moon_domain::ports::{CollectionRepository, RecordRepository};
use moon_domain::query::{QueryLimits, parse_list_query};
use moon_domain::{BatchWrite, ListQuery, Value};
use moon_mock::fixtures::column_name;
use moon_sql::{PoolOptions, SqlCollectionRepository, SqlDatabase, SqlRecordRepository};
use moon_tests::contract::{item, items};
use moon_tests::engines::{Engine, TestDatabase};

fn qty_at_least(n: i64) -> ListQuery {
    let params = [("qty[gte]".to_owned(), n.to_string())];
    parse_list_query(&items(), &params, QueryLimits::default())
        .unwrap_or_else(|e| panic!("query: {e}"))
}

async fn run(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", test_db.url));
    let (collections, records) = (
        SqlCollectionRepository::new(db.clone()),
        SqlRecordRepository::new(db.clone()),
    );
    let schema = items();
    collections
        .create(&schema)
        .await
        .unwrap_or_else(|e| panic!("create collection: {e}"));
    let big = qty_at_least(10);
    let total = async |query: &ListQuery| {
        records
            .count(&schema, query)
            .await
            .unwrap_or_else(|e| panic!("{engine:?} count: {e}"))
    };
    for n in 1..=5 {
        let qty = if n % 2 == 0 { 20 } else { 1 };
        records
            .insert(&schema, &item(n, &format!("T-{n}"), qty, "1.00"))
            .await
            .unwrap_or_else(|e| panic!("insert: {e}"));
    }
    assert_eq!((total(&big).await, total(&big).await), (2, 2), "{engine:?}");
    assert_eq!(
        total(&qty_at_least(0)).await,
        5,
        "{engine:?}: another filter"
    );

    records
        .insert(&schema, &item(6, "T-6", 30, "1.00"))
        .await
        .unwrap_or_else(|e| panic!("insert: {e}"));
    assert_eq!(total(&big).await, 3, "{engine:?}: after a create");

    let moved = vec![(column_name("qty"), Value::Integer(0))];
    records
        .update(&schema, item(2, "", 0, "0").id, &moved, Utc::now(), None)
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    assert_eq!(total(&big).await, 2, "{engine:?}: after an update");

    records
        .delete(&schema, item(4, "", 0, "0").id, None)
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(total(&big).await, 1, "{engine:?}: after a destroy");

    let batch = vec![
        BatchWrite::Create(item(7, "T-7", 40, "1.00")),
        BatchWrite::Create(item(8, "T-8", 50, "1.00")),
    ];
    records
        .write_atomic(&schema, &batch)
        .await
        .unwrap_or_else(|e| panic!("batch: {}", e.index));
    assert_eq!(total(&big).await, 3, "{engine:?}: after a batch");

    collections
        .destroy(&schema.name)
        .await
        .unwrap_or_else(|e| panic!("destroy: {e}"));
    collections
        .create(&schema)
        .await
        .unwrap_or_else(|e| panic!("create again: {e}"));
    assert_eq!(total(&big).await, 0, "{engine:?}: made again, empty");
    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn sqlite_totals_follow_every_write() {
    run(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_totals_follow_every_write() {
    if Engine::configured().contains(&Engine::Postgres) {
        run(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run on it");
    }
}

#[tokio::test]
async fn mysql_totals_follow_every_write() {
    if Engine::configured().contains(&Engine::MySql) {
        run(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run on it");
    }
}
