//! Idempotent and conditional writes over HTTP on every configured engine: replays,
//! conflicts, 20 concurrent retries writing one record, and an `If-Match` race with exactly
//! one winner.

use futures_util::future::join_all;
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{Answer, BASE, get, sql_app};
use salvo::Service;
use salvo::test::{ResponseExt, TestClient};
use serde_json::{Value as Json, json};

async fn send(app: &Service, path: &str, body: &Json, headers: &[(&str, &str)]) -> Answer {
    let mut request = TestClient::post(format!("{BASE}{path}")).json(body);
    for (name, value) in headers {
        let name =
            salvo::http::HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        request = request.add_header(name, (*value).to_owned(), true);
    }
    let mut res = request.send(app).await;
    let status = res.status_code.map_or(200, |s| s.as_u16());
    let headers = res.headers().clone();
    let text = res.take_string().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Json::Null);
    Answer {
        status,
        body,
        headers,
    }
}

async fn count(app: &Service) -> i64 {
    get(app, "/notes:count").await.body["value"]
        .as_i64()
        .unwrap_or(-1)
}

async fn idempotency_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app(&db, vec![]).await;
    let schema = json!({"name": "notes", "columns": [{"name": "text", "type": "string", "nullable": false}, {"name": "hits", "type": "integer"}]});
    assert_eq!(
        send(&app, "/collections:create", &schema, &[]).await.status,
        201
    );

    // Same key, same body: one write, the same answer replayed.
    let body = json!({"data": {"text": "hello"}});
    let first = send(&app, "/notes:create", &body, &[("idempotency-key", "k-1")]).await;
    assert_eq!(first.status, 201, "{engine:?} {:?}", first.body);
    let again = send(&app, "/notes:create", &body, &[("idempotency-key", "k-1")]).await;
    assert_eq!(
        (again.status, &again.body),
        (201, &first.body),
        "{engine:?}"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app).await, 1);

    // Same key, another body: refused, nothing written.
    let other = send(
        &app,
        "/notes:create",
        &json!({"data": {"text": "bye"}}),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!((other.status, other.code()), (409, "IDEMPOTENCY_CONFLICT"));
    assert_eq!(count(&app).await, 1);

    // 4xx answers are kept too; keys are per path.
    let invalid = json!({"data": {"hits": 1}});
    let refused = send(
        &app,
        "/notes:create",
        &invalid,
        &[("idempotency-key", "k-2")],
    )
    .await;
    let replayed = send(
        &app,
        "/notes:create",
        &invalid,
        &[("idempotency-key", "k-2")],
    )
    .await;
    assert_eq!((refused.status, replayed.status), (400, 400));
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let id = first.body["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let update = send(
        &app,
        "/notes:update",
        &json!({"id": id, "data": {"hits": 1}}),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(
        update.status, 200,
        "the same key on another path is another key"
    );
    let bad_key = send(
        &app,
        "/notes:create",
        &body,
        &[("idempotency-key", "has space")],
    )
    .await;
    assert_eq!(bad_key.status, 400);

    // 20 concurrent retries of one keyed create write exactly one record.
    let retry = json!({"data": {"text": "concurrent"}});
    let answers = join_all((0..20).map(|_| {
        send(
            &app,
            "/notes:create",
            &retry,
            &[("idempotency-key", "k-race")],
        )
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{engine:?} {statuses:?}"
    );
    assert!(statuses.contains(&201));
    let created = get(&app, "/notes:count?text=concurrent").await.body["value"].clone();
    assert_eq!(created, json!(1), "{engine:?}: one record for 20 retries");

    // Answers survive a restart (they live in the database).
    let restarted = sql_app(&db, vec![]).await;
    let registry_reloaded = get(&restarted, "/notes:count").await;
    assert_eq!(
        registry_reloaded.status, 404,
        "a fresh app knows no collections until loaded"
    );
    let loaded = moon_domain::ports::CollectionRepository::load_all(
        &moon_sql::SqlCollectionRepository::new(db.clone()),
    )
    .await
    .unwrap_or_default();
    let restarted = sql_app(&db, loaded).await;
    let replay = send(
        &restarted,
        "/notes:create",
        &body,
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!((replay.status, &replay.body), (201, &first.body));

    // Two updates racing with the same If-Match: exactly one wins.
    let current = get(&app, &format!("/notes:get?id={id}")).await;
    let tag = current.header("etag").unwrap_or_default().to_owned();
    let race = join_all((0..2).map(|i| {
        let tag = tag.clone();
        let id = id.clone();
        let app = &app;
        async move {
            send(
                app,
                "/notes:update",
                &json!({"id": id, "data": {"hits": 10 + i}}),
                &[("if-match", &tag)],
            )
            .await
        }
    }))
    .await;
    let mut statuses: Vec<u16> = race.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{engine:?}");
    let after = get(&app, &format!("/notes:get?id={id}")).await;
    assert_ne!(after.header("etag"), Some(tag.as_str()));

    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn idempotency_on_sqlite() {
    idempotency_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn idempotency_on_postgres() {
    if Engine::configured().contains(&Engine::Postgres) {
        idempotency_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured: not run");
    }
}

#[tokio::test]
async fn idempotency_on_mysql() {
    if Engine::configured().contains(&Engine::MySql) {
        idempotency_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured: not run");
    }
}
