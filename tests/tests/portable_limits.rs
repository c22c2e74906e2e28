//! The portable limits of API.md §2 on every engine: each edge input is either a 400 naming
//! the field, the same on all three, or accepted and read back byte for byte.

use std::sync::Arc;

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, on_every_engine, post, post_raw, sql_app};
use salvo::Service;
use serde_json::{Value as Json, json};

async fn setup(engine: Engine) -> (TestDatabase, SqlDatabase, Arc<Service>) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = Arc::new(sql_app(&db, vec![]).await);
    let created = post(
        &app,
        "/collections:create",
        &json!({"name": "edges", "columns": [
            {"name": "sku", "type": "string", "unique": true},
            {"name": "body", "type": "string"},
            {"name": "doc", "type": "json"}
        ]}),
    )
    .await;
    assert_eq!(created.status, 201, "{engine:?} {:?}", created.body);
    (test_db, db, app)
}

/// Creates `data` raw (the text is sent as is), then reads it back by get and by list:
/// every field must come back with exactly the bytes of the acknowledged answer.
async fn accepted_and_read_back(app: &Service, engine: Engine, data: &str) {
    // `sku` is unique: each record gets its own unless the case is about it.
    let data = if data.contains(r#""sku""#) {
        data.to_owned()
    } else {
        data.replacen('{', &format!(r#"{{"sku":"{}","#, ulid::Ulid::new()), 1)
    };
    let made = post_raw(app, "/edges:create", &format!(r#"{{"data":{data}}}"#)).await;
    assert_eq!(made.status, 201, "{engine:?} {data:.80}: {:?}", made.body);
    let acked = &made.body["data"];
    let id = acked["id"].as_str().unwrap_or_default();
    let one = get(app, &format!("/edges:get?id={id}")).await;
    assert_eq!(one.status, 200, "{engine:?}: {:?}", one.body);
    let listed = get(app, &format!("/edges:list?id={id}")).await;
    assert_eq!(listed.status, 200, "{engine:?}: {:?}", listed.body);
    for read in [&one.body["data"], &listed.body["data"][0]] {
        for field in ["sku", "body", "doc"] {
            assert_eq!(
                serde_json::to_string(&read[field]).ok(),
                serde_json::to_string(&acked[field]).ok(),
                "{engine:?} {field} of {data:.80}"
            );
        }
    }
}

/// The request is a 400 `VALIDATION_ERROR` whose `details.field` is `field`.
fn refused(answer: &moon_tests::Answer, field: &str, engine: Engine, what: &str) {
    assert_eq!(
        (
            answer.status,
            answer.code(),
            answer.body["details"]["field"].as_str()
        ),
        (400, "VALIDATION_ERROR", Some(field)),
        "{engine:?} {what}: {:?}",
        answer.body
    );
}

/// `containers` objects nested in one another around a string.
fn nested_objects(containers: usize) -> Json {
    (0..containers).fold(json!("deep"), |inner, _| json!({ "k": inner }))
}

async fn values_on(engine: Engine) {
    let (test_db, db, app) = setup(engine).await;

    // Accepted everywhere, and read back byte for byte.
    let huge_text = "x".repeat(100_000);
    let longest_unique = "é".repeat(512);
    for data in [
        r#"{"doc":{"max":1.7976931348623157e308,"tiny":5e-324,"neg":-0.0,"big":1e18}}"#.to_owned(),
        r#"{"doc":[12345678901234567890123, 0.1, -2.5e-7, 1e300]}"#.to_owned(),
        format!(r#"{{"body":"{huge_text}"}}"#),
        format!(r#"{{"sku":"{longest_unique}"}}"#),
        json!({"doc": (0..30).fold(json!(1), |inner, _| json!([inner]))}).to_string(),
        json!({"doc": {"emoji": "😀", "ctl": "\u{1}\t"}, "body": "tab\there"}).to_string(),
    ] {
        accepted_and_read_back(&app, engine, &data).await;
    }

    // Refused the same way everywhere, naming the field, and nothing stored.
    let before = get(&app, "/edges:count").await.body["value"].clone();
    let deep_ok = (0..31).fold(json!(1), |inner, _| json!([inner]));
    let too_deep = json!([deep_ok.clone()]);
    let cases = [
        (
            json!({"doc": {"a": "x\u{0}y"}}),
            "doc",
            "NUL in a json string",
        ),
        (json!({"doc": {"a\u{0}": 1}}), "doc", "NUL in a json key"),
        (json!({"body": "a\u{0}"}), "body", "NUL in a string"),
        (
            json!({"sku": "é".repeat(513)}),
            "sku",
            "a unique string of 513 characters",
        ),
        (json!({"doc": too_deep}), "doc", "32 nested arrays"),
        (
            json!({"doc": nested_objects(32)}),
            "doc",
            "32 nested objects",
        ),
    ];
    for (data, field, what) in cases {
        let answer = post(&app, "/edges:create", &json!({"data": data})).await;
        refused(&answer, field, engine, what);
    }
    accepted_and_read_back(&app, engine, &json!({"doc": deep_ok}).to_string()).await;
    let after = get(&app, "/edges:count").await.body["value"].clone();
    assert_eq!(
        after.as_i64(),
        before.as_i64().map(|n| n + 1),
        "{engine:?}: refused writes stored nothing"
    );

    // Search terms and `in` lists are bounded alike.
    let term = "a".repeat(257);
    for key in [
        "q",
        "body[like]",
        "body[contains]",
        "body[icontains]",
        "body[startswith]",
        "body[endswith]",
    ] {
        let answer = get(&app, &format!("/edges:list?{key}={term}")).await;
        refused(&answer, key, engine, "a 257-character search term");
        let fine = get(&app, &format!("/edges:list?{key}={}", "a".repeat(256))).await;
        assert_eq!(fine.status, 200, "{engine:?} {key}: {:?}", fine.body);
    }
    let many: Vec<String> = (0..101).map(|i| format!("v{i}")).collect();
    let answer = get(&app, &format!("/edges:list?sku[in]={}", many.join(","))).await;
    refused(&answer, "sku[in]", engine, "an in list of 101 values");
    let answer = get(
        &app,
        &format!("/edges:list?sku[in]={}", many[..100].join(",")),
    )
    .await;
    assert_eq!(answer.status, 200, "{engine:?}: {:?}", answer.body);
    let answer = get(&app, "/edges:list?body=a%00b").await;
    refused(&answer, "body", engine, "NUL in a filter value");

    // Concurrent inserts of one unique value: one wins, the others are told why (no 5xx,
    // even where the engine answers with a deadlock).
    let racers = (0..16).map(|_| {
        let app = app.clone();
        async move {
            post(&app, "/edges:create", &json!({"data": {"sku": "same"}}))
                .await
                .status
        }
    });
    let mut statuses = futures_util::future::join_all(racers).await;
    statuses.sort_unstable();
    assert_eq!(statuses[0], 201, "{engine:?}: {statuses:?}");
    assert!(
        statuses[1..].iter().all(|s| *s == 409),
        "{engine:?}: {statuses:?}"
    );
    db.close().await;
    test_db.drop_database().await;
}

async fn names_on(engine: Engine) {
    let (test_db, db, app) = setup(engine).await;
    for name in [
        "pg_user",
        "pg_shadow",
        "sqlite_master",
        "sqlite_foo",
        "metrics",
        "subscriptions",
    ] {
        let answer = post(
            &app,
            "/collections:create",
            &json!({"name": name, "columns": [{"name": "title", "type": "string"}]}),
        )
        .await;
        refused(&answer, "name", engine, name);
        let read = get(&app, &format!("/{name}:list")).await;
        assert_ne!(
            read.status, 200,
            "{engine:?}: {name} is never served: {:?}",
            read.body
        );
    }
    for column in ["xmin", "ctid", "cmax", "tableoid", "oid", "rowid"] {
        let answer = post(
            &app,
            "/collections:create",
            &json!({"name": "hidden", "columns": [{"name": column, "type": "string"}]}),
        )
        .await;
        refused(&answer, "columns[0].name", engine, column);
        let added = post(
            &app,
            "/collections:update",
            &json!({"name": "edges", "add_columns": [{"name": column, "type": "string"}]}),
        )
        .await;
        assert_eq!(
            added.status, 400,
            "{engine:?} add {column}: {:?}",
            added.body
        );
    }
    // 32 unique columns fit every engine; a 33rd is refused on create and on update.
    let uniques = |n: usize| -> Vec<Json> {
        (0..n)
            .map(|i| json!({"name": format!("u{i:02}"), "type": "string", "unique": true}))
            .collect()
    };
    let ok = post(
        &app,
        "/collections:create",
        &json!({"name": "wide", "columns": uniques(32)}),
    )
    .await;
    assert_eq!(ok.status, 201, "{engine:?}: {:?}", ok.body);
    let made = post(
        &app,
        "/wide:create",
        &json!({"data": {"u00": "a", "u31": "b"}}),
    )
    .await;
    assert_eq!(made.status, 201, "{engine:?}: {:?}", made.body);
    let over = post(
        &app,
        "/collections:create",
        &json!({"name": "wider", "columns": uniques(33)}),
    )
    .await;
    refused(&over, "columns", engine, "33 unique columns");
    let add = post(
        &app,
        "/collections:update",
        &json!({"name": "wide", "add_columns": [{"name": "extra", "type": "integer", "unique": true}]}),
    )
    .await;
    refused(&add, "columns", engine, "a 33rd unique column");
    db.close().await;
    test_db.drop_database().await;
}

on_every_engine! {
    edge_values_are_refused_alike_or_read_back_exactly => values_on,
    names_engines_keep_are_refused_alike => names_on,
}
