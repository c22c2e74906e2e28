//! Batch writes over HTTP on every configured engine: atomic batches write all or nothing,
//! best-effort ones report each item, and oversized ones are refused.

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, post, sql_app};
use salvo::Service;
use serde_json::{Value as Json, json};

async fn setup(engine: Engine) -> (TestDatabase, SqlDatabase, Service) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app(&db, vec![]).await;
    let created = post(
        &app,
        "/collections:create",
        &json!({"name": "items", "columns": [
            {"name": "sku", "type": "string", "nullable": false, "unique": true},
            {"name": "qty", "type": "integer"}
        ]}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    (test_db, db, app)
}

async fn count(app: &Service) -> i64 {
    get(app, "/items:count").await.body["value"]
        .as_i64()
        .unwrap_or(-1)
}

fn ids(body: &Json) -> Vec<String> {
    body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

async fn batches_on(engine: Engine) {
    let (test_db, db, app) = setup(engine).await;

    // Atomic: a failure at item k writes nothing, and names k.
    let dup = post(
        &app,
        "/items:create?atomic=true",
        &json!([{"sku": "a"}, {"sku": "b"}, {"sku": "a"}]),
    )
    .await;
    assert_eq!(
        (dup.status, dup.code()),
        (409, "DUPLICATE_VALUE"),
        "{engine:?} {:?}",
        dup.body
    );
    assert_eq!(dup.body["details"]["index"], 2);
    let bad = post(
        &app,
        "/items:create?atomic=true",
        &json!({"data": [{"sku": "a"}, {"sku": "b", "qty": "x"}]}),
    )
    .await;
    assert_eq!((bad.status, bad.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(
        (
            bad.body["details"]["index"].as_u64(),
            bad.body["details"]["field"].as_str()
        ),
        (Some(1), Some("qty"))
    );
    assert_eq!(
        count(&app).await,
        0,
        "{engine:?}: a failed atomic batch writes nothing"
    );

    let ok = post(
        &app,
        "/items:create?atomic=true",
        &json!([{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}, {"sku": "c"}]),
    )
    .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    let made = ids(&ok.body);
    assert_eq!(made.len(), 3);
    assert_eq!(ok.body["data"][2]["qty"], 0);

    // Best effort: each item on its own.
    let mixed = post(
        &app,
        "/items:create",
        &json!([{"sku": "d"}, {"sku": "e", "qty": 1.5}, {"sku": "a"}, {"sku": "f"}]),
    )
    .await;
    assert_eq!(mixed.status, 207, "{:?}", mixed.body);
    let statuses: Vec<_> = mixed.body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [
            json!("created"),
            json!("failed"),
            json!("failed"),
            json!("created")
        ]
    );
    assert_eq!(mixed.body["results"][2]["error_code"], "DUPLICATE_VALUE");
    assert_eq!(mixed.body["results"][1]["error_code"], "VALIDATION_ERROR");
    assert_eq!(
        mixed.body["summary"],
        json!({"total": 4, "succeeded": 2, "failed": 2})
    );
    assert_eq!(count(&app).await, 5);

    // Updates: flat items; unknown ids are not_found (best effort) or a 404 with nothing written (atomic).
    let missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let updates = post(
        &app,
        "/items:update",
        &json!([{"id": made[0], "qty": 10}, {"id": missing, "qty": 1}, {"id": made[1], "qty": "x"}]),
    )
    .await;
    assert_eq!(updates.status, 207, "{:?}", updates.body);
    let statuses: Vec<_> = updates.body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("updated"), json!("not_found"), json!("failed")]
    );
    assert_eq!(updates.body["results"][0]["data"]["qty"], 10);
    assert_eq!(updates.body["results"][1]["id"], missing);
    let atomic = post(
        &app,
        "/items:update?atomic=true",
        &json!({"data": [{"id": made[1], "qty": 20}, {"id": missing, "qty": 1}]}),
    )
    .await;
    assert_eq!(
        (atomic.status, atomic.code()),
        (404, "RECORD_NOT_FOUND"),
        "{:?}",
        atomic.body
    );
    assert_eq!(atomic.body["details"]["index"], 1);
    let untouched = get(&app, &format!("/items:get?id={}", made[1])).await;
    assert_eq!(
        untouched.body["data"]["qty"], 2,
        "{engine:?}: the rolled-back item kept its value"
    );

    // Destroys: ids.
    let gone = post(&app, "/items:destroy", &json!([made[2], missing])).await;
    let statuses: Vec<_> = gone.body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        (gone.status, statuses),
        (207, vec![json!("deleted"), json!("not_found")])
    );
    let atomic = post(
        &app,
        "/items:destroy?atomic=true",
        &json!({"data": [made[0], made[1]]}),
    )
    .await;
    assert_eq!(atomic.status, 200, "{:?}", atomic.body);
    assert_eq!(atomic.body["data"], json!([made[0], made[1]]));
    assert_eq!(count(&app).await, 2);

    // Size limits: 50 items pass, 51 are refused whole.
    let fifty: Vec<Json> = (0..50)
        .map(|i| json!({"sku": format!("bulk-{i}")}))
        .collect();
    assert_eq!(
        post(&app, "/items:create?atomic=true", &Json::Array(fifty))
            .await
            .status,
        201
    );
    let many: Vec<Json> = (0..51)
        .map(|i| json!({"sku": format!("more-{i}")}))
        .collect();
    let too_many = post(&app, "/items:create", &Json::Array(many)).await;
    assert_eq!(
        (too_many.status, too_many.code()),
        (413, "PAYLOAD_TOO_LARGE")
    );
    assert_eq!(count(&app).await, 52);
    let empty = post(&app, "/items:create", &json!([])).await;
    assert_eq!(empty.status, 400);

    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn batches_on_sqlite() {
    batches_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn batches_on_postgres() {
    if Engine::configured().contains(&Engine::Postgres) {
        batches_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured: not run");
    }
}

#[tokio::test]
async fn batches_on_mysql() {
    if Engine::configured().contains(&Engine::MySql) {
        batches_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured: not run");
    }
}
