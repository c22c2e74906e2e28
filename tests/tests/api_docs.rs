//! DB-free contract of the live docs: the OpenAPI document follows the registry on the very
//! next request, is cached in between, and the reference pages carry ETags.

use moon_domain::RepoError;
use moon_tests::{Doubles, get, post};
use salvo::test::{ResponseExt, TestClient};
use serde_json::{Value as Json, json};

#[tokio::test]
async fn openapi_follows_the_schema_on_the_next_request() {
    let mut doubles = Doubles::with_products();
    doubles
        .collections
        .expect_alter()
        .returning(|_, _, _| Ok(vec![]));
    doubles.records.expect_count().returning(|_, _| Ok(0));
    let app = doubles.service();
    let spec = get(&app, "/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["openapi"], "3.1.0");
    let list = &spec.body["paths"]["/products:list"]["get"];
    // Filters are referenced parameters (`col[op]=value` as deepObject), defined once.
    let resolve = |p: &Json| -> Json {
        match p["$ref"].as_str() {
            Some(r) => spec
                .body
                .pointer(r.trim_start_matches('#'))
                .cloned()
                .unwrap_or(Json::Null),
            None => p.clone(),
        }
    };
    let params: Vec<Json> = list["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(resolve)
        .collect();
    let named = |name: &str| params.iter().find(|p| p["name"] == name).cloned();
    for expected in [
        "limit",
        "after",
        "sort",
        "q",
        "fields",
        "count",
        "price",
        "title",
        "created_at",
    ] {
        assert!(named(expected).is_some(), "{expected} in {params:?}");
    }
    let ops = |name: &str| -> Vec<String> {
        named(name)
            .and_then(|p| p["schema"]["properties"].as_object().cloned())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert!(ops("price").contains(&"gte".to_owned()));
    assert!(
        !ops("price").contains(&"like".to_owned()),
        "operators follow the column type"
    );
    assert!(ops("title").contains(&"icontains".to_owned()));
    assert!(ops("created_at").contains(&"lt".to_owned()));
    assert_eq!(
        named("price").map(|p| p["style"].clone()),
        Some(json!("deepObject"))
    );
    let schemas = &spec.body["components"]["schemas"];
    let price = &schemas["Products"]["properties"]["price"];
    assert_eq!(price["$ref"], "#/components/schemas/Decimal2OrNull");
    let decimal = &schemas["Decimal2OrNull"]["anyOf"];
    assert_eq!(decimal[1], json!({"type": "null"}));
    assert!(
        decimal[0]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("{1,17}"))
    );
    assert!(spec.body["paths"]["/health"]["get"].is_object());
    assert!(
        spec.body["paths"]["/auth:login"]["post"]["security"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let tag = spec.header("etag").unwrap_or_default().to_owned();
    assert_eq!(
        get(&app, "/openapi.json").await.header("etag"),
        Some(tag.as_str()),
        "unchanged schema, same document"
    );

    let renamed = post(&app, "/collections:update", &json!({"name": "products", "rename_columns": [{"old_name": "stock", "new_name": "quantity"}]})).await;
    assert_eq!(renamed.status, 200);
    let after = get(&app, "/openapi.json").await;
    assert_ne!(after.header("etag"), Some(tag.as_str()));
    let props = &after.body["components"]["schemas"]["Products"]["properties"];
    assert!(props.get("quantity").is_some() && props.get("stock").is_none());
    let md = TestClient::get(format!("{}/doc/llms.md", moon_tests::BASE))
        .send(&app)
        .await
        .take_string()
        .await
        .unwrap_or_default();
    assert!(
        md.contains("| quantity |") && !md.contains("| stock |"),
        "llms.md follows the schema too"
    );
}

#[tokio::test]
async fn reference_pages_carry_etags_and_answer_304() {
    let mut doubles = Doubles::with_products();
    doubles
        .collections
        .expect_create()
        .returning(|_| Err(RepoError::Internal("unused".into())));
    let app = doubles.service();
    for path in [
        "/doc/llms.md",
        "/doc/llms.txt",
        "/doc/llms.json",
        "/doc/",
        "/openapi.json",
    ] {
        let mut first = TestClient::get(format!("{}{path}", moon_tests::BASE))
            .send(&app)
            .await;
        assert_eq!(first.status_code.map(|s| s.as_u16()), Some(200), "{path}");
        let tag = first
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(!tag.is_empty(), "{path} has an ETag");
        assert_eq!(
            first
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-cache")
        );
        let text = first.take_string().await.unwrap_or_default();
        assert!(
            text.contains("products"),
            "{path} lists the live collections"
        );
        let again = TestClient::get(format!("{}{path}", moon_tests::BASE))
            .add_header("if-none-match", tag, true)
            .send(&app)
            .await;
        assert_eq!(again.status_code.map(|s| s.as_u16()), Some(304), "{path}");
    }
    let md = TestClient::get(format!("{}/doc/llms.md", moon_tests::BASE))
        .send(&app)
        .await
        .take_string()
        .await
        .unwrap_or_default();
    assert!(
        md.contains("curl") && md.contains("/products:create"),
        "copy-paste examples"
    );
    let redirect = TestClient::get(format!("{}/doc", moon_tests::BASE))
        .send(&app)
        .await;
    assert_eq!(redirect.status_code.map(|s| s.as_u16()), Some(301));
    assert_eq!(
        redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/doc/")
    );
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_by_moon() {
    let app = Doubles::default().service();
    let mut page = TestClient::get(format!("{}/docs", moon_tests::BASE))
        .send(&app)
        .await;
    assert_eq!(page.status_code.map(|s| s.as_u16()), Some(200));
    let html = page.take_string().await.unwrap_or_default();
    assert!(
        html.contains("/docs/assets/swagger-ui-bundle.js")
            && html.contains("/docs/assets/moon-docs.js")
    );
    assert!(
        !html.contains("<script>"),
        "no inline script: the page's policy forbids it"
    );
    let script = TestClient::get(format!("{}/docs/assets/moon-docs.js", moon_tests::BASE))
        .send(&app)
        .await
        .take_string()
        .await
        .unwrap_or_default();
    assert!(script.contains("/openapi.json"), "{script}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no asset from the internet"
    );
    let js = TestClient::get(format!(
        "{}/docs/assets/swagger-ui-bundle.js",
        moon_tests::BASE
    ))
    .send(&app)
    .await;
    assert_eq!(js.status_code.map(|s| s.as_u16()), Some(200));
    assert!(
        js.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/javascript"))
    );
}
