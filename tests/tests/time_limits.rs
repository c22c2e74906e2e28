//! Searches stay bounded on every engine: a substring search whose LIKE cost is pattern ×
//! text over megabyte rows is stopped at the statement time limit with a 503 (PostgreSQL,
//! MariaDB), or is a plain scan that answers at once (SQLite's `instr`); either way the next
//! request is served.

use std::time::{Duration, Instant};

use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, on_every_engine, post_raw, sql_app};

async fn slow_search_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let options = PoolOptions {
        statement_timeout: Some(Duration::from_millis(300)),
        ..PoolOptions::default()
    };
    let db = SqlDatabase::connect(&test_db.url, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app(&db, vec![]).await;
    let made = post_raw(
        &app,
        "/collections:create",
        r#"{"name":"texts","columns":[{"name":"body","type":"string"}]}"#,
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let text = "a".repeat(1_500_000);
    for _ in 0..6 {
        let row = post_raw(
            &app,
            "/texts:create",
            &format!(r#"{{"data":{{"body":"{text}"}}}}"#),
        )
        .await;
        assert_eq!(row.status, 201, "{engine:?} {:?}", row.body);
    }
    // The worst case of LIKE: a long run of 'a' against "aaa…ab", on every row.
    let term = format!("{}b", "a".repeat(255));
    let started = Instant::now();
    let slow = get(
        &app,
        &format!("/texts:list?body[contains]={term}&count=none"),
    )
    .await;
    let took = started.elapsed();
    if engine == Engine::Sqlite {
        assert_eq!(
            slow.status, 200,
            "{engine:?} after {took:?}: {:?}",
            slow.body
        );
        assert_eq!(slow.body["data"].as_array().map(Vec::len), Some(0));
    } else {
        assert_eq!(
            (slow.status, slow.code()),
            (503, "SERVICE_UNAVAILABLE"),
            "{engine:?} after {took:?}: {:?}",
            slow.body
        );
    }
    assert!(
        took < Duration::from_secs(5),
        "{engine:?}: answered after {took:?}"
    );
    let found = get(
        &app,
        &format!("/texts:list?q={}&count=none&fields=id", "A".repeat(256)),
    )
    .await;
    assert!(
        matches!(found.status, 200 | 503),
        "{engine:?}: {:?}",
        found.body
    );
    let next = get(&app, "/texts:count").await;
    assert_eq!(
        (next.status, next.body["value"].as_i64()),
        (200, Some(6)),
        "{engine:?}"
    );
    db.close().await;
    test_db.drop_database().await;
}

on_every_engine! {
    a_statement_past_its_time_limit_is_stopped => slow_search_on,
}
