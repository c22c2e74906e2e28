//! DB-free contract of `/{collection}:*`: validation before the database, shapes, codes.

use moon_domain::{ListQuery, RecordId, RepoError, Value, Written};
use moon_mock::fixtures::{self, product};
use moon_tests::{Doubles, get, post};
use salvo::test::TestClient;
use serde_json::json;
use ulid::Ulid;

fn some_id() -> RecordId {
    RecordId::from_ulid(Ulid::from_parts(1_700_000_000_000, 42))
}

#[tokio::test]
async fn create_validates_types_then_inserts_once() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_insert()
        .withf(|_, record| {
            record.fields[0].1 == Value::Text("Pen".into())
                && serde_json::to_value(&record.fields[1].1).ok() == Some(json!("-0.01"))
                && record.fields[2].1 == Value::Integer(0)
                && record.created_at == fixtures::instant()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let app = doubles.service();
    let answer = post(
        &app,
        "/products:create",
        &json!({"data": {"title": "Pen", "price": "-0.01"}}),
    )
    .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["title"], "Pen");
    assert_eq!(data["price"], "-0.01");
    assert_eq!(data["stock"], 0);
    assert_eq!(data["created_at"], "2024-01-02T03:04:05Z");
    assert_eq!(data["updated_at"], data["created_at"]);
    assert!(
        data["id"]
            .as_str()
            .is_some_and(|id| RecordId::parse(id).is_ok())
    );
    assert!(data.get("pkid").is_none() && data.get("_version").is_none());
    assert_eq!(answer.header("etag"), Some("\"1.1\""));
}

#[tokio::test]
async fn invalid_records_are_400_and_never_written() {
    let cases = [
        (
            json!({"data": {"title": "Pen", "colour": "red"}}),
            "UNKNOWN_FIELD",
            "colour",
        ),
        (
            json!({"data": {"title": "Pen", "id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}}),
            "VALIDATION_ERROR",
            "id",
        ),
        (
            json!({"data": {"title": "Pen", "created_at": "2024-01-01T00:00:00Z"}}),
            "VALIDATION_ERROR",
            "created_at",
        ),
        (
            json!({"data": {"title": "Pen", "stock": "5"}}),
            "VALIDATION_ERROR",
            "stock",
        ),
        (
            json!({"data": {"title": "Pen", "stock": 5.0}}),
            "VALIDATION_ERROR",
            "stock",
        ),
        (
            json!({"data": {"title": "Pen", "price": 1.5}}),
            "VALIDATION_ERROR",
            "price",
        ),
        (
            json!({"data": {"title": "Pen", "price": "10.999"}}),
            "VALIDATION_ERROR",
            "price",
        ),
        (json!({"data": {"title": 5}}), "VALIDATION_ERROR", "title"),
        (
            json!({"data": {"title": null}}),
            "VALIDATION_ERROR",
            "title",
        ),
        (
            json!({"data": {"price": "1.00"}}),
            "VALIDATION_ERROR",
            "title",
        ),
        (json!({"data": "Pen"}), "VALIDATION_ERROR", "data"),
        (json!({}), "VALIDATION_ERROR", "data"),
        (
            json!({"data": {"title": "Pen"}, "extra": 1}),
            "UNKNOWN_FIELD",
            "extra",
        ),
    ];
    for (body, code, field) in cases {
        let mut doubles = Doubles::with_products();
        doubles.records.expect_insert().times(0);
        let app = doubles.service();
        let answer = post(&app, "/products:create", &body).await;
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
async fn a_unique_violation_is_409_naming_the_field() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_insert().returning(|_, _| {
        Err(RepoError::Duplicate {
            field: Some("title".into()),
        })
    });
    let app = doubles.service();
    let answer = post(&app, "/products:create", &json!({"data": {"title": "Pen"}})).await;
    assert_eq!((answer.status, answer.code()), (409, "DUPLICATE_VALUE"));
    assert_eq!(answer.body["details"]["field"], "title");
}

#[tokio::test]
async fn get_answers_the_record_with_an_etag_and_honours_if_none_match() {
    let id = some_id();
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_get()
        .withf(move |_, wanted| *wanted == id)
        .returning(move |_, _| Ok(Some(product(id, "Pen"))));
    let app = doubles.service();
    let answer = get(&app, &format!("/products:get?id={id}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"]["id"], id.to_string());
    assert_eq!(answer.body["data"]["price"], "0.00");
    let tag = answer.header("etag").unwrap_or_default().to_owned();
    assert_eq!(tag, "\"1.1\"");
    let res = TestClient::get(format!("{}/products:get?id={id}", moon_tests::BASE))
        .add_header("if-none-match", tag, true)
        .send(&app)
        .await;
    assert_eq!(res.status_code.map(|s| s.as_u16()), Some(304));
}

#[tokio::test]
async fn get_refuses_bad_ids_and_reports_missing_records() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_get().returning(|_, _| Ok(None));
    let app = doubles.service();
    let bad = get(&app, "/products:get?id=not-a-ulid").await;
    assert_eq!((bad.status, bad.code()), (400, "INVALID_ID"));
    let missing = get(&app, &format!("/products:get?id={}", some_id())).await;
    assert_eq!((missing.status, missing.code()), (404, "RECORD_NOT_FOUND"));
    let absent = get(&app, "/products:get").await;
    assert_eq!(absent.status, 400);
}

#[tokio::test]
async fn list_pages_by_id_with_a_cursor() {
    let mut doubles = Doubles::with_products();
    let ids: Vec<RecordId> = (0..3)
        .map(|i| RecordId::from_ulid(Ulid::from_parts(1_700_000_000_000 + i, 1)))
        .collect();
    let stored = ids.clone();
    doubles
        .records
        .expect_list()
        .withf(|_, query: &ListQuery| query.limit == 3 && query.after.is_none())
        .returning(move |_, _| Ok(stored.iter().map(|id| product(*id, "x")).collect()));
    doubles.records.expect_count().returning(|_, _| Ok(7));
    let app = doubles.service();
    let answer = get(&app, "/products:list?limit=2").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["limit"], 2);
    assert_eq!(answer.body["total"], 7);
    assert_eq!(answer.body["data"].as_array().map(Vec::len), Some(2));
    let cursor = answer.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!cursor.is_empty());
    assert_eq!(
        moon_domain::Cursor::decode(&cursor, &ListQuery::first(2)).map(|c| c.last_id),
        Ok(ids[1])
    );
}

#[tokio::test]
async fn list_defaults_to_15_and_says_when_there_is_no_next_page() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_list()
        .withf(|_, query: &ListQuery| query.limit == 16)
        .returning(|_, _| Ok(vec![product(some_id(), "x")]));
    doubles.records.expect_count().returning(|_, _| Ok(1));
    let app = doubles.service();
    let answer = get(&app, "/products:list").await;
    assert_eq!(answer.body["limit"], 15);
    assert_eq!(answer.body["next_cursor"], json!(null));
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let app = Doubles::with_products().service();
    for (query, code, name) in [
        ("limit=0", "VALIDATION_ERROR", "limit"),
        ("limit=-1", "VALIDATION_ERROR", "limit"),
        ("limit=abc", "VALIDATION_ERROR", "limit"),
        ("limit=201", "PAGE_SIZE_EXCEEDED", "limit"),
        ("after=garbage", "VALIDATION_ERROR", "after"),
    ] {
        let answer = get(&app, &format!("/products:list?{query}")).await;
        assert_eq!((answer.status, answer.code()), (400, code), "{query}");
        assert_eq!(answer.body["details"]["field"], name, "{query}");
    }
    let unknown = get(&app, "/products:list?bogus=1").await;
    assert_eq!((unknown.status, unknown.code()), (400, "UNKNOWN_PARAMETER"));
    assert_eq!(unknown.body["details"]["parameter"], "bogus");
}

#[tokio::test]
async fn schema_lists_system_and_user_fields_with_the_count() {
    let mut doubles = Doubles::with_products();
    doubles.records.expect_count().returning(|_, _| Ok(42));
    let app = doubles.service();
    let answer = get(&app, "/products:schema").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["collection"], "products");
    assert_eq!(answer.body["total"], 42);
    let names: Vec<_> = answer.body["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("id"),
            json!("title"),
            json!("price"),
            json!("stock"),
            json!("created_at"),
            json!("updated_at")
        ]
    );
    assert_eq!(
        answer.body["fields"][0],
        json!({"name": "id", "type": "string", "nullable": false, "unique": true, "readonly": true})
    );
    assert_eq!(answer.body["fields"][2]["scale"], 2);
}

#[tokio::test]
async fn update_writes_only_the_given_fields() {
    let id = some_id();
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_update()
        .withf(move |_, wanted, fields, at, expected| {
            *wanted == id
                && expected.is_none()
                && fields.len() == 1
                && fields[0].1 == Value::Integer(9)
                && *at == fixtures::instant()
        })
        .times(1)
        .returning(|_, id, _, _, _| {
            let mut record = product(id, "Pen");
            record.version = 2;
            record.fields[2].1 = Value::Integer(9);
            Ok(Written::Done(record))
        });
    let app = doubles.service();
    let answer = post(
        &app,
        "/products:update",
        &json!({"id": id.to_string(), "data": {"stock": 9}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["stock"], 9);
    assert_eq!(answer.body["data"]["title"], "Pen");
    assert_eq!(answer.header("etag"), Some("\"2.1\""));
}

#[tokio::test]
async fn bad_updates_are_refused_before_the_database() {
    let id = some_id().to_string();
    let cases = [
        (
            json!({"id": id, "data": {"updated_at": "2024-01-01T00:00:00Z"}}),
            400,
            "VALIDATION_ERROR",
        ),
        (json!({"id": id, "data": {"nope": 1}}), 400, "UNKNOWN_FIELD"),
        (json!({"id": id, "data": {}}), 400, "VALIDATION_ERROR"),
        (
            json!({"id": "bad", "data": {"stock": 1}}),
            400,
            "INVALID_ID",
        ),
        (json!({"data": {"stock": 1}}), 400, "VALIDATION_ERROR"),
    ];
    for (body, status, code) in cases {
        let mut doubles = Doubles::with_products();
        doubles.records.expect_update().times(0);
        let app = doubles.service();
        let answer = post(&app, "/products:update", &body).await;
        assert_eq!((answer.status, answer.code()), (status, code), "{body}");
    }
}

#[tokio::test]
async fn update_and_destroy_of_unknown_records_are_404() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_update()
        .returning(|_, _, _, _, _| Ok(Written::Missing));
    doubles
        .records
        .expect_delete()
        .returning(|_, _, _| Ok(Written::Missing));
    let app = doubles.service();
    let id = some_id().to_string();
    let update = post(
        &app,
        "/products:update",
        &json!({"id": id, "data": {"stock": 1}}),
    )
    .await;
    assert_eq!((update.status, update.code()), (404, "RECORD_NOT_FOUND"));
    let destroy = post(&app, "/products:destroy", &json!({"id": id})).await;
    assert_eq!((destroy.status, destroy.code()), (404, "RECORD_NOT_FOUND"));
}

#[tokio::test]
async fn destroy_deletes_the_record() {
    let id = some_id();
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_delete()
        .withf(move |_, wanted, expected| *wanted == id && expected.is_none())
        .times(1)
        .returning(|_, _, _| Ok(Written::Done(())));
    let app = doubles.service();
    let answer = post(&app, "/products:destroy", &json!({"id": id.to_string()})).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["message"].is_string());
}

#[tokio::test]
async fn count_none_skips_the_total() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_list()
        .returning(|_, _| Ok(vec![product(some_id(), "x")]));
    doubles.records.expect_count().times(0);
    let app = doubles.service();
    let answer = get(&app, "/products:list?count=none").await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.get("total").is_none(), "{:?}", answer.body);
    assert_eq!(answer.body["data"].as_array().map(Vec::len), Some(1));
    let bad = get(&app, "/products:list?count=some").await;
    assert_eq!((bad.status, bad.code()), (400, "VALIDATION_ERROR"));
}

#[tokio::test]
async fn if_match_reaches_the_write_and_a_stale_tag_is_412() {
    let id = some_id();
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_update()
        .withf(|_, _, _, _, expected| *expected == Some(3))
        .times(1)
        .returning(|_, _, _, _, _| Ok(Written::Stale));
    doubles
        .records
        .expect_delete()
        .withf(|_, _, expected| *expected == Some(-1))
        .times(1)
        .returning(|_, _, _| Ok(Written::Stale));
    let app = doubles.service();
    let res = salvo::test::TestClient::post(format!("{}/products:update", moon_tests::BASE))
        .add_header("if-match", "\"3.1\"", true)
        .json(&json!({"id": id.to_string(), "data": {"stock": 1}}))
        .send(&app)
        .await;
    assert_eq!(res.status_code.map(|s| s.as_u16()), Some(412));
    // A tag of another schema version never matches.
    let res = salvo::test::TestClient::post(format!("{}/products:destroy", moon_tests::BASE))
        .add_header("if-match", "\"3.7\"", true)
        .json(&json!({"id": id.to_string()}))
        .send(&app)
        .await;
    assert_eq!(res.status_code.map(|s| s.as_u16()), Some(412));
}

#[tokio::test]
async fn aggregates_answer_a_value_and_check_their_field() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_aggregate()
        .withf(|_, aggregate, query| {
            matches!(aggregate, moon_domain::Aggregate::Sum(f) if f.name() == "price")
                && query.filters.len() == 1
        })
        .times(1)
        .returning(|_, _, _| Ok(Value::Text("12.50".into())));
    let app = doubles.service();
    let sum = get(&app, "/products:sum?field=price&stock%5Bgt%5D=1").await;
    assert_eq!((sum.status, &sum.body), (200, &json!({"value": "12.50"})));
    let wrong_type = get(&app, "/products:sum?field=title").await;
    assert_eq!(
        (wrong_type.status, wrong_type.code()),
        (400, "VALIDATION_ERROR")
    );
    let no_field = get(&app, "/products:avg").await;
    assert_eq!(no_field.status, 400);
    let sorted = get(&app, "/products:count?sort=title").await;
    assert_eq!((sorted.status, sorted.code()), (400, "UNKNOWN_PARAMETER"));
}

#[tokio::test]
async fn fields_project_lists_and_gets() {
    let id = some_id();
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_list()
        .returning(move |_, _| Ok(vec![product(id, "Pen")]));
    doubles.records.expect_count().returning(|_, _| Ok(1));
    doubles
        .records
        .expect_get()
        .returning(move |_, _| Ok(Some(product(id, "Pen"))));
    let app = doubles.service();
    let list = get(&app, "/products:list?fields=title").await;
    assert_eq!(
        list.body["data"][0],
        json!({"id": id.to_string(), "title": "Pen"})
    );
    let one = get(
        &app,
        &format!("/products:get?id={id}&fields=price,created_at"),
    )
    .await;
    assert_eq!(
        one.body["data"],
        json!({"id": id.to_string(), "price": "0.00", "created_at": "2024-01-02T03:04:05Z"})
    );
    assert!(one.header("etag").is_none(), "a projection carries no ETag");
    let unknown = get(&app, "/products:list?fields=nope").await;
    assert_eq!(
        (unknown.status, unknown.body["details"]["field"].as_str()),
        (400, Some("fields"))
    );
}

#[tokio::test]
async fn filters_reach_the_repository_parsed() {
    let mut doubles = Doubles::with_products();
    doubles
        .records
        .expect_list()
        .withf(|_, query: &ListQuery| {
            query.filters.len() == 2
                && query.sorts.len() == 1
                && query.sorts[0].descending
                && query.search.as_deref() == Some("pen")
        })
        .times(1)
        .returning(|_, _| Ok(vec![]));
    doubles.records.expect_count().returning(|_, _| Ok(0));
    let app = doubles.service();
    let answer = get(
        &app,
        "/products:list?price%5Bgte%5D=1.5&title=Pen&sort=-price&q=pen",
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    for (query, code) in [
        ("price%5Blike%5D=1", "VALIDATION_ERROR"),
        ("stock%5Bgt%5D=abc", "VALIDATION_ERROR"),
        ("nope%5Beq%5D=1", "VALIDATION_ERROR"),
        ("atomic=true", "UNKNOWN_PARAMETER"),
    ] {
        let bad = get(&app, &format!("/products:list?{query}")).await;
        assert_eq!((bad.status, bad.code()), (400, code), "{query}");
    }
}
