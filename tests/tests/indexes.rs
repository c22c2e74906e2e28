//! Indexes declared through the API on every engine: created with the collection or later,
//! listed as declared, enforced when unique, present in the database's own catalogue (keyed
//! the way queries compare), renamed with their columns, kept by a rebuild and across a
//! restart, and refused with a 400 naming the field when they cannot be.

use moon_domain::ports::CollectionRepository;
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, on_every_engine, post, sql_app};
use salvo::Service;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value as Json, json};

/// The definitions of the table's indexes as the database itself reports them, one line
/// each (name and what it covers), from a connection of its own.
async fn catalogue(engine: Engine, url: &str, table: &str) -> Vec<String> {
    let conn = Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (sql, backend) = match engine {
        Engine::Sqlite => (
            format!(
                "SELECT name || ' ' || sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL"
            ),
            sea_orm::DbBackend::Sqlite,
        ),
        Engine::Postgres => (
            format!(
                "SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE tablename = '{table}'"
            ),
            sea_orm::DbBackend::Postgres,
        ),
        Engine::MySql => (
            format!(
                "SELECT CAST(CONCAT(index_name, ' ', non_unique, ' ', GROUP_CONCAT(column_name ORDER BY seq_in_index)) AS CHAR) \
                FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{table}' GROUP BY index_name, non_unique"
            ),
            sea_orm::DbBackend::MySql,
        ),
    };
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lines = rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect();
    let _ = conn.close().await;
    lines
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

fn indexes(answer: &Json) -> Vec<String> {
    answer["collection"]["indexes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ix| {
            format!(
                "{} {} {}",
                ix["name"].as_str().unwrap_or(""),
                ix["columns"],
                ix["unique"]
            )
        })
        .collect()
}

async fn update(app: &Service, body: Json) -> (u16, Json) {
    let answer = post(app, "/collections:update", &body).await;
    (answer.status, answer.body)
}

async fn indexes_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let url = test_db.url.clone();
    let db = SqlDatabase::connect(&url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app(&db, vec![]).await;
    let schema = json!({"name": "goods", "columns": [
        {"name": "brand", "type": "string"}, {"name": "price", "type": "decimal"},
        {"name": "sku", "type": "string"}, {"name": "specs", "type": "json"}],
        "indexes": [{"name": "by_brand_price", "columns": ["brand", "-price"]},
            {"name": "one_sku", "columns": ["brand", "sku"], "unique": true}]});
    let created = post(&app, "/collections:create", &schema).await;
    assert_eq!(created.status, 201, "{engine:?} {:?}", created.body);
    let declared = indexes(&created.body);
    assert_eq!(
        declared,
        [
            "by_brand_price [\"brand\",\"-price\"] false",
            "one_sku [\"brand\",\"sku\"] true"
        ],
        "{engine:?}"
    );
    let schema_answer = get(&app, "/goods:schema").await;
    assert_eq!(
        schema_answer.body["indexes"][0]["columns"],
        json!(["brand", "-price"])
    );
    let physical = catalogue(engine, &url, "goods").await;
    let (plain, unique) = match engine {
        Engine::MySql => ("moon_ix_by_brand_price", "moon_ix_one_sku"),
        _ => ("goods__by_brand_price", "goods__one_sku"),
    };
    assert!(
        has(&physical, plain) && has(&physical, unique),
        "{engine:?}: {physical:?}"
    );
    // Keyed as queries sort: decimals by the decimal collation, strings by code point, and a
    // plain index then by `id`, every list's last order (a unique one keeps its own keys).
    match engine {
        Engine::Sqlite => assert!(
            has(&physical, "\"price\" COLLATE moon_decimal DESC, \"id\")")
                && has(&physical, "(\"brand\", \"sku\")"),
            "{physical:?}"
        ),
        Engine::Postgres => assert!(
            has(&physical, "brand COLLATE \"C\"")
                && has(&physical, "price DESC, id)")
                && has(&physical, "\"C\", sku COLLATE \"C\")"),
            "{physical:?}"
        ),
        Engine::MySql => assert!(
            has(&physical, "moon_ix_one_sku 0 brand,sku")
                && has(&physical, "moon_ix_by_brand_price 1 brand,price,id"),
            "{physical:?}"
        ),
    }

    // Unique over both columns: the same pair twice is refused, one column alike is not.
    let record =
        |brand: &str, sku: &str| json!({"data": {"brand": brand, "sku": sku, "price": "1.50"}});
    assert_eq!(
        post(&app, "/goods:create", &record("acme", "a-1"))
            .await
            .status,
        201
    );
    assert_eq!(
        post(&app, "/goods:create", &record("acme", "a-2"))
            .await
            .status,
        201
    );
    let twice = post(&app, "/goods:create", &record("acme", "a-1")).await;
    assert_eq!(
        (twice.status, twice.code()),
        (409, "DUPLICATE_VALUE"),
        "{engine:?} {:?}",
        twice.body
    );
    let sorted = get(&app, "/goods:list?brand=acme&sort=-price,sku").await;
    assert_eq!(sorted.body["total"], 2, "{engine:?} {:?}", sorted.body);

    // Refused, naming the field, with nothing changed.
    let refusals = [
        (
            json!({"name": "goods", "add_indexes": [{"name": "by_specs", "columns": ["specs"]}]}),
            "add_indexes[0].columns[0]",
        ),
        (
            json!({"name": "goods", "add_indexes": [{"name": "by_nothing", "columns": ["nope"]}]}),
            "add_indexes[0].columns[0]",
        ),
        (
            json!({"name": "goods", "add_indexes": [{"name": "by_brand_price", "columns": ["sku"]}]}),
            "add_indexes[0].name",
        ),
        (
            json!({"name": "goods", "add_indexes": [{"name": "wide", "columns": ["id", "brand", "price", "sku", "created_at", "updated_at"]}]}),
            "add_indexes[0].columns",
        ),
        (
            json!({"name": "goods", "remove_indexes": ["nope_index"]}),
            "remove_indexes[0]",
        ),
        (
            json!({"name": "goods", "remove_columns": ["sku"]}),
            "remove_columns[0]",
        ),
        (
            json!({"name": "goods", "modify_columns": [{"name": "price", "type": "json"}]}),
            "modify_columns[0].type",
        ),
    ];
    for (body, field) in refusals {
        let (status, answer) = update(&app, body.clone()).await;
        assert_eq!(
            (status, answer["details"]["field"].as_str()),
            (400, Some(field)),
            "{engine:?} {body}: {answer}"
        );
    }
    let still = get(&app, "/collections:get?name=goods").await;
    assert_eq!(
        indexes(&still.body),
        declared,
        "{engine:?}: refusals changed nothing"
    );

    // A unique index over values that are already duplicated: refused, nothing changed.
    let dup = json!({"name": "goods", "add_indexes": [{"name": "one_brand", "columns": ["brand"], "unique": true}]});
    let (status, answer) = update(&app, dup).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("DUPLICATE_VALUE")),
        "{engine:?}: {answer}"
    );
    assert!(
        !has(&catalogue(engine, &url, "goods").await, "one_brand"),
        "{engine:?}"
    );

    // Renamed with its column; removed with it in one change; a rebuild keeps the rest.
    let (status, answer) = update(
        &app,
        json!({"name": "goods", "rename_columns": [{"old_name": "brand", "new_name": "maker"}]}),
    )
    .await;
    assert_eq!(status, 200, "{engine:?}: {answer}");
    assert_eq!(
        answer["collection"]["indexes"][0]["columns"],
        json!(["maker", "-price"])
    );
    let twice = post(
        &app,
        "/goods:create",
        &json!({"data": {"maker": "acme", "sku": "a-1"}}),
    )
    .await;
    assert_eq!(
        twice.status, 409,
        "{engine:?}: still unique after the rename"
    );
    let (status, answer) = update(
        &app,
        json!({"name": "goods", "remove_columns": ["sku"], "remove_indexes": ["one_sku"]}),
    )
    .await;
    assert_eq!(status, 200, "{engine:?}: {answer}");
    let (status, answer) = update(&app, json!({"name": "goods", "modify_columns": [{"name": "price", "type": "decimal", "scale": 3}],
        "add_indexes": [{"name": "newest", "columns": ["-created_at"]}]})).await;
    assert_eq!(status, 200, "{engine:?}: {answer}");
    let physical = catalogue(engine, &url, "goods").await;
    assert!(
        has(&physical, "by_brand_price") && has(&physical, "newest"),
        "{engine:?}: {physical:?}"
    );
    assert!(!has(&physical, "one_sku"), "{engine:?}: {physical:?}");

    // What a restart loads: the same indexes.
    drop(app);
    let loaded = moon_sql::SqlCollectionRepository::new(db.clone())
        .load_all()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = sql_app(&db, loaded).await;
    let reloaded = get(&again, "/collections:get?name=goods").await;
    assert_eq!(
        indexes(&reloaded.body),
        [
            "by_brand_price [\"maker\",\"-price\"] false",
            "newest [\"-created_at\"] false"
        ],
        "{engine:?}"
    );
    drop(again);
    db.close().await;
    test_db.drop_database().await;
}

on_every_engine! {
    declared_indexes_are_built_enforced_and_kept => indexes_on,
}
