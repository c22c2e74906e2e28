//! Inbound webhooks over HTTP on every configured engine: endpoint validation, signed
//! ingestion, de-duplication, processing into records, dead events and replay.

use hmac::{Hmac, Mac};
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{Answer, BASE, get, post, sql_app_parts};
use salvo::Service;
use salvo::test::{ResponseExt, TestClient};
use serde_json::{Value as Json, json};
use sha2::Sha256;

const SECRET: &str = "whsec_moon_test";

fn sign(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn deliver(app: &Service, hook: &str, body: &Json, headers: &[(&str, String)]) -> Answer {
    let mut request = TestClient::post(format!("{BASE}/hooks/{hook}")).raw_json(body.to_string());
    for (name, value) in headers {
        let name =
            salvo::http::HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        request = request.add_header(name, value.clone(), true);
    }
    let mut res = request.send(app).await;
    let status = res.status_code.map_or(200, |s| s.as_u16());
    let headers = res.headers().clone();
    let text = res.take_string().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Json::Null),
        headers,
    }
}

fn signed(body: &Json) -> Vec<(&'static str, String)> {
    vec![(
        "x-signature",
        format!("sha256={}", sign(SECRET, &[body.to_string().as_bytes()])),
    )]
}

async fn webhooks_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (app, hooks) = sql_app_parts(&db, vec![], None, moon_http::RateLimiter::new(0, 0)).await;
    let schema = json!({"name": "payments", "columns": [
        {"name": "amount", "type": "integer", "nullable": false},
        {"name": "currency", "type": "string"}
    ]});
    assert_eq!(post(&app, "/collections:create", &schema).await.status, 201);

    // Endpoints are validated against the live schema.
    let endpoint = json!({"name": "acme_pay", "collection": "payments", "secret": SECRET,
        "signature": {"scheme": "hmac-sha256", "header": "X-Signature", "prefix": "sha256="},
        "event_id": "/id", "mapping": {"amount": "/data/amount", "currency": "/data/currency"}});
    for (field, bad) in [
        ("mapping.colour", json!({"colour": "/x", "amount": "/a"})),
        ("mapping", json!({"currency": "/c"})),
        ("mapping.amount", json!({"amount": "no-slash"})),
    ] {
        let mut body = endpoint.clone();
        body["mapping"] = bad;
        let refused = post(&app, "/webhooks:create", &body).await;
        assert_eq!(
            (refused.status, refused.body["details"]["field"].as_str()),
            (400, Some(field)),
            "{engine:?} {:?}",
            refused.body
        );
    }
    let created = post(&app, "/webhooks:create", &endpoint).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(
        created.body["webhook"].get("secret").is_none(),
        "secrets are write-only"
    );
    assert_eq!(post(&app, "/webhooks:create", &endpoint).await.status, 409);

    // Bad or missing signatures store nothing.
    let event = json!({"id": "evt_1", "data": {"amount": 1250, "currency": "EUR"}});
    assert_eq!(deliver(&app, "acme_pay", &event, &[]).await.status, 401);
    assert_eq!(
        deliver(
            &app,
            "acme_pay",
            &event,
            &[(
                "x-signature",
                format!("sha256={}", sign("wrong", &[event.to_string().as_bytes()]))
            )]
        )
        .await
        .status,
        401
    );
    assert_eq!(
        get(&app, "/webhooks:events?name=acme_pay").await.body["events"],
        json!([])
    );
    assert_eq!(
        deliver(&app, "nobody", &event, &signed(&event))
            .await
            .code(),
        "NOT_FOUND"
    );

    // Stored before the answer; duplicates answered with the first id, stored once.
    let accepted = deliver(&app, "acme_pay", &event, &signed(&event)).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let id = accepted.body["id"].as_str().unwrap_or_default().to_owned();
    let again = deliver(&app, "acme_pay", &event, &signed(&event)).await;
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let events = get(&app, "/webhooks:events?name=acme_pay&status=pending").await;
    assert_eq!(events.body["events"].as_array().map(Vec::len), Some(1));

    // A worker turns it into exactly one record.
    assert_eq!(hooks.work_once(10).await, 1);
    let done = get(&app, "/webhooks:events?name=acme_pay&status=done").await;
    assert_eq!(
        done.body["events"][0]["attempts"], 1,
        "a first-time success is one attempt: {:?}",
        done.body
    );
    let record_id = done.body["events"][0]["record_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let record = get(&app, &format!("/payments:get?id={record_id}")).await;
    assert_eq!(
        (
            record.body["data"]["amount"].as_i64(),
            record.body["data"]["currency"].as_str()
        ),
        (Some(1250), Some("EUR"))
    );
    assert_eq!(hooks.work_once(10).await, 0, "nothing left");
    let replay_done = post(&app, "/webhooks:replay", &json!({"id": id})).await;
    assert_eq!((replay_done.status, replay_done.code()), (409, "CONFLICT"));

    // A mapping failure ends dead with a clear error, and is replayable once fixed.
    let odd = json!({"id": "evt_2", "data": {"total": 99, "currency": "USD"}});
    let odd_id = deliver(&app, "acme_pay", &odd, &signed(&odd)).await.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(hooks.work_once(10).await, 1);
    let dead = get(&app, "/webhooks:events?name=acme_pay&status=dead").await;
    assert_eq!(dead.body["events"][0]["id"], json!(odd_id));
    assert_eq!(dead.body["events"][0]["attempts"], 1, "{:?}", dead.body);
    assert!(
        dead.body["events"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("/data/amount")),
        "{:?}",
        dead.body
    );
    // A secret is never empty, nor does it take NUL (API.md §7): nothing changes.
    for secret in ["", "a\u{0}b"] {
        let emptied = post(
            &app,
            "/webhooks:update?name=acme_pay",
            &json!({ "secret": secret }),
        )
        .await;
        assert_eq!(
            (emptied.status, emptied.body["details"]["field"].as_str()),
            (400, Some("secret")),
            "{:?}",
            emptied.body
        );
    }
    let fixed = post(
        &app,
        "/webhooks:update?name=acme_pay",
        &json!({"mapping": {"amount": "/data/total", "currency": "/data/currency"}}),
    )
    .await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    assert_eq!(
        post(&app, "/webhooks:replay", &json!({"id": odd_id}))
            .await
            .status,
        202
    );
    assert_eq!(hooks.work_once(10).await, 1);
    assert_eq!(get(&app, "/payments:count").await.body["value"], 2);

    // A wrong type is dead too (the same validation as :create).
    let wrong = json!({"id": "evt_3", "data": {"total": "lots", "currency": "USD"}});
    deliver(&app, "acme_pay", &wrong, &signed(&wrong)).await;
    hooks.work_once(10).await;
    let dead = get(&app, "/webhooks:events?name=acme_pay&status=dead").await;
    assert!(
        dead.body["events"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("amount")),
        "{:?}",
        dead.body
    );
    assert_eq!(get(&app, "/payments:count").await.body["value"], 2);

    // GitHub and Stripe schemes.
    for (name, scheme) in [("gh_hook", "github"), ("stripe_hook", "stripe")] {
        let body = json!({"name": name, "collection": "payments", "secret": SECRET, "signature": {"scheme": scheme},
            "mapping": {"amount": "/amount"}});
        assert_eq!(post(&app, "/webhooks:create", &body).await.status, 201);
    }
    let push = json!({"amount": 7});
    let gh = vec![(
        "x-hub-signature-256",
        format!("sha256={}", sign(SECRET, &[push.to_string().as_bytes()])),
    )];
    assert_eq!(deliver(&app, "gh_hook", &push, &gh).await.status, 202);
    let t = chrono::Utc::now().timestamp();
    let v1 = sign(
        SECRET,
        &[t.to_string().as_bytes(), b".", push.to_string().as_bytes()],
    );
    assert_eq!(
        deliver(
            &app,
            "stripe_hook",
            &push,
            &[("stripe-signature", format!("t={t},v1={v1}"))]
        )
        .await
        .status,
        202
    );
    let stale = t - 600;
    let old = sign(
        SECRET,
        &[
            stale.to_string().as_bytes(),
            b".",
            push.to_string().as_bytes(),
        ],
    );
    assert_eq!(
        deliver(
            &app,
            "stripe_hook",
            &push,
            &[("stripe-signature", format!("t={stale},v1={old}"))]
        )
        .await
        .status,
        401
    );
    assert_eq!(hooks.work_once(10).await, 2);
    assert_eq!(get(&app, "/payments:count").await.body["value"], 4);
    assert_eq!(
        get(&app, "/webhooks:list").await.body["webhooks"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let first_page = get(&app, "/webhooks:list?limit=2").await;
    assert_eq!(
        first_page.body["webhooks"].as_array().map(Vec::len),
        Some(2)
    );
    let cursor = first_page.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rest = get(&app, &format!("/webhooks:list?limit=2&after={cursor}")).await;
    assert_eq!(rest.body["webhooks"].as_array().map(Vec::len), Some(1));

    // Idempotency-Key is not for /hooks (anonymous callers): two events under one key are
    // two events, never a replay.
    let mut ids = Vec::new();
    for n in [101, 102] {
        let event = json!({"id": format!("evt_{n}"), "data": {"amount": n, "currency": "EUR"}});
        let mut headers = signed(&event);
        headers.push(("idempotency-key", "same-key".to_owned()));
        let answer = deliver(&app, "acme_pay", &event, &headers).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        assert!(answer.header("idempotent-replayed").is_none());
        ids.push(answer.body["id"].clone());
    }
    assert_ne!(ids[0], ids[1]);

    db.close().await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn webhooks_on_sqlite() {
    webhooks_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn webhooks_on_postgres() {
    if Engine::configured().contains(&Engine::Postgres) {
        webhooks_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured: not run");
    }
}

#[tokio::test]
async fn webhooks_on_mysql() {
    if Engine::configured().contains(&Engine::MySql) {
        webhooks_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured: not run");
    }
}
