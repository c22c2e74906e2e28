//! DB-free contract of `/collections:*`: the real router and use cases over mocks.

use moon_domain::{FieldError, RepoError};
use moon_tests::{Doubles, get, post, post_raw};
use serde_json::json;

fn products_body() -> serde_json::Value {
    json!({"name": "Products", "columns": [
        {"name": "title", "type": "string", "nullable": false, "unique": true},
        {"name": "price", "type": "decimal", "scale": 4},
        {"name": "stock", "type": "integer"}
    ]})
}

#[tokio::test]
async fn create_stores_the_schema_and_answers_201() {
    let mut doubles = Doubles::default();
    doubles
        .collections
        .expect_create()
        .withf(|c| c.name.as_str() == "products" && c.columns.len() == 3 && c.version == 1)
        .times(1)
        .returning(|_| Ok(7));
    let app = doubles.service();
    let created = post(&app, "/collections:create", &products_body()).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["collection"]["name"], "products");
    assert_eq!(
        created.body["collection"]["columns"][1],
        json!({"name": "price", "type": "decimal", "scale": 4, "nullable": true, "unique": false})
    );
    assert!(
        created.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let fetched = get(&app, "/collections:get?name=products").await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["collection"], created.body["collection"]);
}

#[tokio::test]
async fn a_duplicate_collection_is_409_and_never_reaches_the_database() {
    let mut doubles = Doubles::with_products();
    doubles.collections.expect_create().times(0);
    let app = doubles.service();
    let answer = post(&app, "/collections:create", &products_body()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "DUPLICATE_COLLECTION")
    );
}

#[tokio::test]
async fn bad_schemas_are_400_naming_the_field() {
    let cases = [
        (
            json!({"name": "users", "columns": [{"name": "title", "type": "string"}]}),
            "VALIDATION_ERROR",
            "name",
        ),
        (
            json!({"name": "x", "columns": [{"name": "title", "type": "string"}]}),
            "VALIDATION_ERROR",
            "name",
        ),
        (
            json!({"name": "select", "columns": [{"name": "title", "type": "string"}]}),
            "VALIDATION_ERROR",
            "name",
        ),
        (
            json!({"name": "items", "columns": [{"name": "Title", "type": "string"}]}),
            "VALIDATION_ERROR",
            "columns[0].name",
        ),
        (
            json!({"name": "items", "columns": [{"name": "created_at", "type": "string"}]}),
            "VALIDATION_ERROR",
            "columns[0].name",
        ),
        (
            json!({"name": "items", "columns": [{"name": "title", "type": "text"}]}),
            "VALIDATION_ERROR",
            "columns[0].type",
        ),
        (
            json!({"name": "items", "columns": [{"name": "title", "type": "string", "default": "x"}]}),
            "UNKNOWN_FIELD",
            "columns[0].default",
        ),
        (
            json!({"name": "items", "columns": [{"name": "title", "type": "string", "scale": 2}]}),
            "VALIDATION_ERROR",
            "columns[0].scale",
        ),
        (
            json!({"name": "items", "columns": [{"name": "price", "type": "decimal", "scale": 11}]}),
            "VALIDATION_ERROR",
            "columns[0].scale",
        ),
        (
            json!({"name": "items", "columns": [{"name": "title", "type": "string", "nullable": "yes"}]}),
            "VALIDATION_ERROR",
            "columns[0].nullable",
        ),
        (
            json!({"name": "items", "columns": []}),
            "VALIDATION_ERROR",
            "columns",
        ),
        (
            json!({"name": "items", "columns": [{"name": "title", "type": "string"}, {"name": "title", "type": "json"}]}),
            "VALIDATION_ERROR",
            "columns[1].name",
        ),
        (
            json!({"name": "items", "colums": []}),
            "UNKNOWN_FIELD",
            "colums",
        ),
        (
            json!({"columns": [{"name": "title", "type": "string"}]}),
            "VALIDATION_ERROR",
            "name",
        ),
    ];
    for (body, code, field) in cases {
        let mut doubles = Doubles::default();
        doubles.collections.expect_create().times(0);
        let app = doubles.service();
        let answer = post(&app, "/collections:create", &body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, code),
            "{body} → {:?}",
            answer.body
        );
        assert_eq!(
            answer.body["details"]["field"], field,
            "{body} → {:?}",
            answer.body
        );
    }
}

#[tokio::test]
async fn malformed_json_is_invalid_json() {
    let app = Doubles::default().service();
    for raw in ["{", "", "not json", "{\"name\": }"] {
        let answer = post_raw(&app, "/collections:create", raw).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "INVALID_JSON"),
            "{raw:?}"
        );
    }
    let array = post_raw(&app, "/collections:create", "[]").await;
    assert_eq!((array.status, array.code()), (400, "VALIDATION_ERROR"));
}

#[tokio::test]
async fn limits_on_collections_and_columns_hold() {
    let mut doubles = Doubles::with_products();
    doubles.limits.max_collections = 1;
    doubles.limits.max_columns = 2;
    let app = doubles.service();
    let full = post(
        &app,
        "/collections:create",
        &json!({"name": "items", "columns": [{"name": "title", "type": "string"}]}),
    )
    .await;
    assert_eq!((full.status, full.code()), (400, "MAX_COLLECTIONS_REACHED"));
    let wide = post(
        &app,
        "/collections:update",
        &json!({"name": "products", "add_columns": [{"name": "colour", "type": "string"}]}),
    )
    .await;
    assert_eq!((wide.status, wide.code()), (400, "MAX_COLUMNS_REACHED"));
}

#[tokio::test]
async fn a_failed_create_leaves_the_registry_unchanged() {
    let mut doubles = Doubles::default();
    doubles
        .collections
        .expect_create()
        .returning(|_| Err(RepoError::Internal("disk full at /secret/path".into())));
    let app = doubles.service();
    let answer = post(&app, "/collections:create", &products_body()).await;
    assert_eq!((answer.status, answer.code()), (500, "INTERNAL_ERROR"));
    assert!(
        !answer.body.to_string().contains("secret"),
        "500s hide internals"
    );
    assert_eq!(
        get(&app, "/collections:get?name=products").await.status,
        404
    );
}

#[tokio::test]
async fn list_counts_records_per_collection() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_count().returning(|_, _| Ok(42));
    let app = doubles.service();
    let answer = get(&app, "/collections:list").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"collections": [{"name": "products", "records": 42}], "count": 1})
    );
}

#[tokio::test]
async fn get_needs_a_known_valid_name() {
    let app = Doubles::with_products().service();
    let missing = get(&app, "/collections:get?name=orders").await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "COLLECTION_NOT_FOUND")
    );
    let absent = get(&app, "/collections:get").await;
    assert_eq!((absent.status, absent.code()), (400, "VALIDATION_ERROR"));
    let bad = get(&app, "/collections:get?name=bad-name").await;
    assert_eq!((bad.status, bad.code()), (400, "VALIDATION_ERROR"));
    let extra = get(&app, "/collections:get?name=products&x=1").await;
    assert_eq!((extra.status, extra.code()), (400, "UNKNOWN_PARAMETER"));
    let upper = get(&app, "/collections:get?name=PRODUCTS").await;
    assert_eq!(upper.status, 200);
}

#[tokio::test]
async fn update_applies_the_plan_and_swaps_the_registry_after_commit() {
    let mut doubles = Doubles::with_products();
    doubles
        .collections
        .expect_alter()
        .withf(|current, plan, dry_run| {
            current.version == 1
                && plan.next.version == 2
                && !dry_run
                && plan
                    .next
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    == ["name", "price", "colour"]
        })
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    let app = doubles.service();
    let answer = post(
        &app,
        "/collections:update",
        &json!({
            "name": "products",
            "rename_columns": [{"old_name": "title", "new_name": "name"}],
            "add_columns": [{"name": "colour", "type": "string"}],
            "remove_columns": ["stock"]
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let names: Vec<_> = answer.body["collection"]["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("name"), json!("price"), json!("colour")]);
    let fetched = get(&app, "/collections:get?name=products").await;
    assert_eq!(fetched.body["collection"], answer.body["collection"]);
}

#[tokio::test]
async fn a_failed_update_leaves_the_registry_as_before() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_count().returning(|_, _| Ok(3));
    doubles.collections.expect_alter().returning(|_, _, _| {
        Err(RepoError::Invalid(FieldError::invalid(
            "title",
            "existing value cannot become integer",
        )))
    });
    let app = doubles.service();
    let before = get(&app, "/collections:get?name=products").await;
    let answer = post(
        &app,
        "/collections:update",
        &json!({"name": "products", "modify_columns": [{"name": "title", "type": "integer", "nullable": false}]}),
    )
    .await;
    assert_eq!((answer.status, answer.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(answer.body["details"]["field"], "title");
    assert_eq!(
        get(&app, "/collections:get?name=products").await.body,
        before.body
    );
}

#[tokio::test]
async fn adding_a_required_column_to_a_non_empty_collection_is_refused_up_front() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_count().returning(|_, _| Ok(1));
    doubles.collections.expect_alter().times(0);
    let app = doubles.service();
    let answer = post(
        &app,
        "/collections:update",
        &json!({"name": "products", "add_columns": [{"name": "sku", "type": "string", "nullable": false}]}),
    )
    .await;
    assert_eq!((answer.status, answer.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(answer.body["details"]["field"], "sku");
}

#[tokio::test]
async fn bad_updates_are_400_and_change_nothing() {
    let cases = [
        (
            json!({"name": "products", "remove_columns": ["nope"]}),
            "remove_columns[0]",
        ),
        (
            json!({"name": "products", "rename_columns": [{"old_name": "title", "new_name": "stock"}]}),
            "rename_columns[0].new_name",
        ),
        (
            json!({"name": "products", "modify_columns": [{"name": "nope", "type": "string"}]}),
            "modify_columns[0].name",
        ),
        (
            json!({"name": "products", "add_columns": [{"name": "title", "type": "string"}]}),
            "add_columns[0].name",
        ),
        (
            json!({"name": "products", "drop_columns": ["title"]}),
            "drop_columns",
        ),
        (json!({"name": "products"}), "name"),
    ];
    for (body, field) in cases {
        let mut doubles = Doubles::with_products();
        doubles.collections.expect_alter().times(0);
        let app = doubles.service();
        let answer = post(&app, "/collections:update", &body).await;
        assert_eq!(answer.status, 400, "{body} → {:?}", answer.body);
        assert_eq!(
            answer.body["details"]["field"], field,
            "{body} → {:?}",
            answer.body
        );
    }
}

#[tokio::test]
async fn a_dry_run_reports_and_keeps_the_schema() {
    let mut doubles = Doubles::with_products();
    doubles
        .collections
        .expect_alter()
        .withf(|_, _, dry_run| *dry_run)
        .returning(|_, _, _| Ok(vec!["CREATE TABLE ...".into()]));
    let app = doubles.service();
    let before = get(&app, "/collections:get?name=products").await;
    let answer = post(
        &app,
        "/collections:update?dry_run=true",
        &json!({"name": "products", "add_columns": [{"name": "colour", "type": "string"}]}),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"statements": ["CREATE TABLE ..."], "problems": []})
    );
    assert_eq!(
        get(&app, "/collections:get?name=products").await.body,
        before.body
    );
}

#[tokio::test]
async fn destroy_drops_the_collection() {
    let mut doubles = Doubles::with_products();
    doubles
        .collections
        .expect_destroy()
        .withf(|name| name.as_str() == "products")
        .times(1)
        .returning(|_| Ok(()));
    let app = doubles.service();
    let answer = post(&app, "/collections:destroy", &json!({"name": "products"})).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["message"].is_string());
    assert_eq!(
        get(&app, "/collections:get?name=products").await.status,
        404
    );
    let again = post(&app, "/collections:destroy", &json!({"name": "products"})).await;
    assert_eq!((again.status, again.code()), (404, "COLLECTION_NOT_FOUND"));
}
