//! Schema changes made in place on every engine: adding nullable columns of every type gives
//! the existing rows the type's default (the same values a rebuild writes, so the engines
//! agree), renames keep data and uniqueness, removals keep the rest, and the plan of
//! `dry_run` shows which path a change takes (`ALTER TABLE` on every engine, a rebuild for
//! conversions).

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, on_every_engine, post, sql_app};
use serde_json::{Value as Json, json};

fn statements(answer: &Json) -> String {
    answer["statements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn in_place_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app(&db, vec![]).await;
    let schema = json!({"name": "items", "columns": [
        {"name": "title", "type": "string", "nullable": false, "unique": true},
        {"name": "qty", "type": "integer"}]});
    assert_eq!(post(&app, "/collections:create", &schema).await.status, 201);
    let rows: Vec<Json> = (0..30)
        .map(|i| json!({"title": format!("item-{i}"), "qty": i}))
        .collect();
    assert_eq!(
        post(&app, "/items:create?atomic=true", &json!(rows))
            .await
            .status,
        201
    );

    let add = json!({"name": "items", "add_columns": [
        {"name": "note", "type": "string"}, {"name": "amount", "type": "decimal", "scale": 3},
        {"name": "flag", "type": "boolean"}, {"name": "seen", "type": "datetime"},
        {"name": "meta", "type": "json"}, {"name": "count_b", "type": "integer"}]});
    let plan = post(&app, "/collections:update?dry_run=true", &add).await;
    assert_eq!(plan.status, 200, "{engine:?} {:?}", plan.body);
    let planned = statements(&plan.body);
    assert!(!planned.contains("_moon_rebuild"), "{engine:?}: {planned}");
    assert_eq!(post(&app, "/collections:update", &add).await.status, 200);
    let first = get(&app, "/items:list?title=item-7").await;
    let record = &first.body["data"][0];
    assert_eq!(
        (
            &record["note"],
            &record["amount"],
            &record["flag"],
            &record["seen"],
            &record["meta"],
            &record["count_b"]
        ),
        (
            &json!(""),
            &json!("0.000"),
            &json!(false),
            &Json::Null,
            &json!({}),
            &json!(0)
        ),
        "{engine:?}: existing rows read the type defaults"
    );
    let id = record["id"].as_str().unwrap_or_default().to_owned();
    let tag = get(&app, &format!("/items:get?id={id}"))
        .await
        .header("etag")
        .map(str::to_owned);

    let rename = json!({"name": "items", "rename_columns": [
        {"old_name": "title", "new_name": "label"}, {"old_name": "note", "new_name": "remark"}]});
    let planned = statements(
        &post(&app, "/collections:update?dry_run=true", &rename)
            .await
            .body,
    );
    assert!(!planned.contains("_moon_rebuild"), "{engine:?}: {planned}");
    assert_eq!(post(&app, "/collections:update", &rename).await.status, 200);
    let renamed = get(&app, &format!("/items:get?id={id}")).await;
    assert_eq!(renamed.body["data"]["label"], "item-7", "{engine:?}");
    assert!(renamed.body["data"].get("title").is_none());
    assert_ne!(
        renamed.header("etag").map(str::to_owned),
        tag,
        "the schema version is in the ETag"
    );
    let clash = post(&app, "/items:create", &json!({"data": {"label": "item-3"}})).await;
    assert_eq!(
        (clash.status, clash.code()),
        (409, "DUPLICATE_VALUE"),
        "{engine:?}: the renamed column is still unique"
    );
    let fresh = post(
        &app,
        "/items:create",
        &json!({"data": {"label": "new", "remark": "hi"}}),
    )
    .await;
    assert_eq!(fresh.status, 201, "{engine:?} {:?}", fresh.body);
    assert_eq!(fresh.body["data"]["amount"], "0.000");

    let remove = json!({"name": "items", "remove_columns": ["remark", "count_b"]});
    let planned = statements(
        &post(&app, "/collections:update?dry_run=true", &remove)
            .await
            .body,
    );
    assert!(!planned.contains("_moon_rebuild"), "{engine:?}: {planned}");
    assert_eq!(post(&app, "/collections:update", &remove).await.status, 200);
    // Added again under the same name: the type default, not the removed column's data.
    let again = json!({"name": "items", "add_columns": [{"name": "remark", "type": "string"}]});
    assert_eq!(post(&app, "/collections:update", &again).await.status, 200);
    let back = get(&app, "/items:list?label=new").await;
    assert_eq!(back.body["data"][0]["remark"], "", "{engine:?}");
    assert_eq!(get(&app, "/items:count").await.body["value"], 31);
    let sum = get(&app, "/items:sum?field=qty").await;
    assert_eq!(sum.body["value"], json!(435), "{engine:?}: (0..30).sum()");

    // A unique column added to 31 records would give them all the same default: refused,
    // naming it, nothing changed; without `unique` it goes in, and can be made unique later.
    let unique = json!({"name": "items", "add_columns": [{"name": "code", "type": "string", "unique": true}]});
    let refused = post(&app, "/collections:update", &unique).await;
    assert_eq!(
        (refused.status, refused.body["details"]["field"].as_str()),
        (400, Some("code")),
        "{engine:?} {:?}",
        refused.body
    );
    let columns =
        get(&app, "/collections:get?name=items").await.body["collection"]["columns"].clone();
    assert!(
        !columns.to_string().contains("\"code\""),
        "{engine:?}: {columns}"
    );

    // A conversion still rebuilds, all or nothing.
    let retype = json!({"name": "items", "modify_columns": [{"name": "qty", "type": "string"}]});
    let planned = statements(
        &post(&app, "/collections:update?dry_run=true", &retype)
            .await
            .body,
    );
    assert!(planned.contains("_moon_rebuild"), "{engine:?}: {planned}");
    drop(app);
    test_db.drop_database().await;
}

on_every_engine! {
    nullable_adds_renames_and_removals_go_in_place => in_place_on,
}
