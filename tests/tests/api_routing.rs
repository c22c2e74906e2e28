//! DB-free contract of the URL surface: routing, methods, prefixes, body limits, health.

use moon_domain::RepoError;
use moon_tests::{Doubles, get, post, post_raw, request};
use serde_json::json;

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = Doubles::with_products().service();
    for path in [
        "/",
        "/nope",
        "/collections:drop",
        "/users:list",
        "/a/b",
        "/products:list/extra",
    ] {
        let answer = get(&app, path).await;
        assert_eq!((answer.status, answer.code()), (404, "NOT_FOUND"), "{path}");
    }
}

#[tokio::test]
async fn a_missing_collection_wins_over_a_bad_action() {
    let app = Doubles::with_products().service();
    let missing = get(&app, "/orders:anything").await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "COLLECTION_NOT_FOUND")
    );
    let bad_action = get(&app, "/products:anything").await;
    assert_eq!((bad_action.status, bad_action.code()), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn collection_names_in_urls_ignore_case() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_count().returning(|_, _| Ok(0));
    let app = doubles.service();
    assert_eq!(get(&app, "/Products:schema").await.status, 200);
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_options_is_204() {
    let app = Doubles::with_products().service();
    for (method, path, allow) in [
        ("DELETE", "/products:list", "GET, HEAD, OPTIONS"),
        ("PUT", "/products:create", "POST, OPTIONS"),
        ("GET", "/products:create", "POST, OPTIONS"),
        ("POST", "/collections:list", "GET, HEAD, OPTIONS"),
        ("PATCH", "/health", "GET, HEAD, OPTIONS"),
    ] {
        let answer = request(&app, method, path).await;
        assert_eq!(
            (answer.status, answer.code()),
            (405, "METHOD_NOT_ALLOWED"),
            "{method} {path}"
        );
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
    let options = request(&app, "OPTIONS", "/products:create").await;
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("POST, OPTIONS"));
}

#[tokio::test]
async fn routes_sit_under_the_configured_prefix() {
    let mut doubles = Doubles::with_products();
    doubles.prefix = "/api/v1".into();
    doubles.health.expect_ping().returning(|| Ok(()));
    let app = doubles.service();
    assert_eq!(get(&app, "/api/v1/health").await.status, 200);
    assert_eq!(
        get(&app, "/api/v1/collections:get?name=products")
            .await
            .status,
        200
    );
    assert_eq!(get(&app, "/health").await.status, 404);
    assert_eq!(get(&app, "/api/v1x/health").await.status, 404);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut doubles = Doubles::with_products();
    doubles.max_body_bytes = 64;
    doubles.records.expect_insert().times(0);
    let app = doubles.service();
    let big = json!({"data": {"title": "x".repeat(100)}}).to_string();
    let answer = post_raw(&app, "/products:create", &big).await;
    assert_eq!((answer.status, answer.code()), (413, "PAYLOAD_TOO_LARGE"));
}

#[tokio::test]
async fn health_reports_the_database_and_always_answers_200() {
    let mut up = Doubles::default();
    up.health.expect_ping().returning(|| Ok(()));
    let answer = get(&up.service(), "/health").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        (
            answer.body["status"].as_str(),
            answer.body["database"].as_str()
        ),
        (Some("ok"), Some("ok"))
    );
    assert_eq!(answer.body["version"], "test");
    assert!(
        answer.body["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let mut down = Doubles::default();
    down.health
        .expect_ping()
        .returning(|| Err(RepoError::Unavailable("gone".into())));
    let answer = get(&down.service(), "/health").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "degraded");
    assert_eq!(answer.body["database"], "error");
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = Doubles::default().service();
    let answer = get(&app, "/nope").await;
    assert!(
        answer
            .header("x-request-id")
            .is_some_and(|id| !id.is_empty())
    );
    let created = post(&app, "/collections:destroy", &json!({"name": "ghosts"})).await;
    assert_eq!(created.code(), "COLLECTION_NOT_FOUND");
    assert!(created.header("x-request-id").is_some());
}

#[tokio::test]
async fn a_panic_in_a_handler_is_a_json_500_and_the_server_goes_on() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_count()
        .returning(|_, _| panic!("bug: secret detail"));
    let app = doubles.service();
    let answer = get(&app, "/products:schema").await;
    assert_eq!((answer.status, answer.code()), (500, "INTERNAL_ERROR"));
    assert!(
        !answer.body.to_string().contains("secret"),
        "the panic message stays in the log"
    );
    assert_eq!(
        get(&app, "/nope").await.status,
        404,
        "later requests are served"
    );
}

#[tokio::test]
async fn cors_answers_preflights_for_allowed_origins_only() {
    let mut doubles = Doubles::with_products();
    doubles.cors_origins = "https://app.example".into();
    let app = doubles.service();
    let preflight =
        salvo::test::TestClient::options(format!("{}/products:create", moon_tests::BASE))
            .add_header("origin", "https://app.example", true)
            .add_header("access-control-request-method", "POST", true)
            .send(&app)
            .await;
    assert_eq!(preflight.status_code.map(|s| s.as_u16()), Some(204));
    let header = |name: &str| {
        preflight
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    assert_eq!(
        header("access-control-allow-methods").as_deref(),
        Some("POST, OPTIONS")
    );
    assert!(header("access-control-allow-headers").is_some_and(|h| h.contains("Authorization")));
    let foreign = salvo::test::TestClient::options(format!("{}/products:create", moon_tests::BASE))
        .add_header("origin", "https://evil.example", true)
        .send(&app)
        .await;
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn internal_tables_are_never_collections() {
    let app = Doubles::with_products().service();
    for path in [
        "/moon_users:list",
        "/moon_collections:list",
        "/moon_apikeys:get?id=x",
    ] {
        let answer = get(&app, path).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "COLLECTION_NOT_FOUND"),
            "{path}"
        );
    }
}
