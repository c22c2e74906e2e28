//! Pointing Moon at a database that already has tables: they are adopted at start-up with
//! inferred types, on every configured engine; tables Moon cannot serve exactly are left alone.

use moon_domain::ports::{CollectionRepository, RecordRepository};
use moon_domain::{FieldType, ListQuery};
use moon_sql::{PoolOptions, SqlCollectionRepository, SqlDatabase, SqlRecordRepository};
use moon_tests::engines::{Engine, TestDatabase};
use sea_orm::ConnectionTrait;
use serde_json::json;

/// DDL and rows of a table another application made, per engine.
fn foreign_schema(engine: Engine) -> Vec<&'static str> {
    let (create, floaty) = match engine {
        Engine::Sqlite => (
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), \
             paid BOOLEAN, placed_at DATETIME, notes TEXT)",
            "CREATE TABLE readings (id INTEGER PRIMARY KEY, value REAL)",
        ),
        Engine::Postgres => (
            "CREATE TABLE orders (id SERIAL PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount NUMERIC(10,2), \
             paid BOOLEAN, placed_at TIMESTAMP, notes TEXT)",
            "CREATE TABLE readings (id SERIAL PRIMARY KEY, value DOUBLE PRECISION)",
        ),
        Engine::MySql => (
            "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), \
             paid TINYINT(1), placed_at DATETIME, notes TEXT)",
            "CREATE TABLE readings (id INT AUTO_INCREMENT PRIMARY KEY, value DOUBLE)",
        ),
    };
    let paid = if engine == Engine::Postgres {
        ("true", "false")
    } else {
        ("1", "0")
    };
    let rows: &'static str = Box::leak(
        format!(
            "INSERT INTO orders (customer, amount, paid, placed_at, notes) VALUES \
             ('ada', 19.99, {}, '2024-03-01 10:30:00', 'first'), ('bob', 5.00, {}, '2024-03-02 11:00:00', NULL)",
            paid.0, paid.1
        )
        .into_boxed_str(),
    );
    vec![
        create,
        rows,
        floaty,
        "INSERT INTO readings (value) VALUES (0.1)",
    ]
}

async fn adoption_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let open = || async {
        SqlDatabase::connect(&test_db.url, PoolOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // Another application's tables, made before Moon ever ran here (Moon's own system
    // tables exist from the connect, as they would after any first start).
    let db = open().await;
    let conn = sea_orm::Database::connect(test_db.url.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for sql in foreign_schema(engine) {
        conn.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let _ = conn.close().await;

    let collections = SqlCollectionRepository::new(db.clone());
    let loaded = collections
        .load_all()
        .await
        .unwrap_or_else(|e| panic!("load_all: {e}"));
    let names: Vec<_> = loaded.iter().map(|c| c.name.as_str().to_owned()).collect();
    assert_eq!(
        names,
        ["orders"],
        "orders adopted, readings (a float) left alone"
    );
    let orders = &loaded[0];
    let columns: Vec<_> = orders
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.field_type, c.nullable))
        .collect();
    assert_eq!(
        columns,
        [
            ("legacy_id", FieldType::Integer, false),
            ("customer", FieldType::String, false),
            ("amount", FieldType::Decimal { scale: 2 }, true),
            ("paid", FieldType::Boolean, true),
            ("placed_at", FieldType::Datetime, true),
            ("notes", FieldType::String, true),
        ]
    );
    let records = SqlRecordRepository::new(db.clone());
    let rows = records
        .list(orders, &ListQuery::first(10))
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    let rows: Vec<_> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    assert_eq!(rows.len(), 2);
    let ada = rows
        .iter()
        .find(|r| r["customer"] == "ada")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            &ada["amount"],
            &ada["paid"],
            &ada["placed_at"],
            &ada["notes"]
        ),
        (
            &json!("19.99"),
            &json!(true),
            &json!("2024-03-01T10:30:00Z"),
            &json!("first")
        )
    );
    let bob = rows
        .iter()
        .find(|r| r["customer"] == "bob")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&bob["amount"], &bob["paid"], &bob["notes"]),
        (&json!("5.00"), &json!(false), &json!(null))
    );

    // A restart serves the same, without adopting twice.
    db.close().await;
    let again = open().await;
    let reloaded = SqlCollectionRepository::new(again.clone())
        .load_all()
        .await
        .unwrap_or_default();
    assert_eq!(reloaded, loaded);
    again.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn sqlite_tables_without_metadata_are_adopted() {
    adoption_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_tables_without_metadata_are_adopted() {
    if Engine::configured().contains(&Engine::Postgres) {
        adoption_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run on it");
    }
}

#[tokio::test]
async fn mysql_tables_without_metadata_are_adopted() {
    if Engine::configured().contains(&Engine::MySql) {
        adoption_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run on it");
    }
}
