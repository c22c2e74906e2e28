//! End to end: every header Moon answers with is in the OpenAPI document for that operation
//! and status, and every header the document says is required is there.

mod common;

use common::{Moon, schema};
use serde_json::{Value as Json, json};

/// The answer headers the document describes (the rest are HTTP's own).
const DESCRIBED: [&str; 7] = [
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "etag",
    "idempotent-replayed",
];

/// `value`, or what its `$ref` points to.
fn resolve<'a>(spec: &'a Json, value: &'a Json) -> &'a Json {
    match value["$ref"].as_str() {
        Some(pointer) => spec
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or(&Json::Null),
        None => value,
    }
}

/// The documented headers of `method path` answering `status`: name (lower case) → header.
fn documented(spec: &Json, method: &str, path: &str, status: u16) -> Vec<(String, Json)> {
    let answer = &spec["paths"][path][method]["responses"][status.to_string()];
    assert!(
        answer.is_object(),
        "{method} {path} answering {status} is not in the document"
    );
    resolve(spec, answer)["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, header)| (name.to_ascii_lowercase(), resolve(spec, header).clone()))
        .collect()
}

/// Sends one request and checks its answer's headers against the document.
struct Checker<'a> {
    moon: &'a Moon,
    spec: Json,
    checked: usize,
}

impl Checker<'_> {
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Json>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = format!("{}{path}", self.moon.base);
        let mut request = match body {
            Some(body) => self.moon.http.post(url).json(body),
            None => self.moon.http.get(url),
        };
        request = request.bearer_auth(&self.moon.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let res = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let route = path.split('?').next().unwrap_or(path);
        let status = res.status().as_u16();
        let described = documented(&self.spec, method, route, status);
        for name in DESCRIBED {
            if let Some(value) = res.headers().get(name) {
                let header = described
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, h)| h)
                    .unwrap_or_else(|| {
                        panic!("{method} {route} {status}: {name} is sent but not documented")
                    });
                let value = value.to_str().unwrap_or_default();
                if header["schema"]["type"] == "integer" {
                    assert!(
                        value.parse::<u64>().is_ok(),
                        "{route} {name}: {value} is no integer"
                    );
                }
                if let Some(allowed) = header["schema"]["enum"].as_array() {
                    assert!(allowed.contains(&json!(value)), "{route} {name}: {value}");
                }
                self.checked += 1;
            }
        }
        for (name, header) in &described {
            if header["required"] == true {
                assert!(
                    res.headers().contains_key(name.as_str()),
                    "{method} {route} {status}: the required {name} is missing"
                );
            }
        }
        res
    }
}

#[tokio::test]
async fn every_header_sent_is_documented_for_its_operation_and_status() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start_with(dir.path(), None, &[("MOON_RATE_LIMIT_USER", "40")]);
    assert_eq!(moon.post("/collections:create", &schema()).await.0, 201);
    let (_, spec) = moon.get("/openapi.json").await;
    let mut check = Checker {
        moon: &moon,
        spec,
        checked: 0,
    };
    let key = [("idempotency-key", "create-1")];
    let body = json!({"data": {"title": "lamp", "price": "12.50"}});
    let created: Json = check
        .send("post", "/products:create", Some(&body), &key)
        .await
        .json()
        .await
        .unwrap_or_default();
    let replay = check
        .send("post", "/products:create", Some(&body), &key)
        .await;
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let got = check
        .send("get", &format!("/products:get?id={id}"), None, &[])
        .await;
    let tag = got
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(!tag.is_empty(), "a record answer carries its ETag");
    let held = [("if-none-match", tag.as_str())];
    let unchanged = check
        .send("get", &format!("/products:get?id={id}"), None, &held)
        .await;
    assert_eq!(unchanged.status(), 304);
    let stale = [("if-match", "\"0.0\"")];
    let update = json!({"id": id, "data": {"price": "13.00"}});
    let refused = check
        .send("post", "/products:update", Some(&update), &stale)
        .await;
    assert_eq!(refused.status(), 412);
    check
        .send("post", "/products:update", Some(&update), &[])
        .await;
    check.send("get", "/products:list?limit=5", None, &[]).await;
    check
        .send(
            "get",
            "/products:get?id=01ARZ3NDEKTSV4RRFFQ69G5FAV",
            None,
            &[],
        )
        .await;
    check.send("get", "/health", None, &[]).await;
    let doc = check.send("get", "/openapi.json", None, &[]).await;
    let doc_tag = doc
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    check
        .send(
            "get",
            "/openapi.json",
            None,
            &[("if-none-match", doc_tag.as_str())],
        )
        .await;
    check.send("get", "/doc/llms.md", None, &[]).await;
    let new_collection = json!({"name": "notes", "columns": [{"name": "text", "type": "string"}]});
    let keyed = [("idempotency-key", "notes-1")];
    check
        .send("post", "/collections:create", Some(&new_collection), &keyed)
        .await;
    check
        .send("post", "/collections:create", Some(&new_collection), &keyed)
        .await;
    check
        .send("post", "/products:destroy", Some(&json!({"id": id})), &[])
        .await;
    // Spend the rest of the caller's limit: the 429 says when to come back.
    let mut limited = None;
    for _ in 0..60 {
        let res = check.send("get", "/products:count", None, &[]).await;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let limited = limited.unwrap_or_else(|| panic!("the limit of 40 was never reached"));
    assert!(limited.headers().contains_key("retry-after"));
    assert!(check.checked >= 60, "{} headers checked", check.checked);
}
