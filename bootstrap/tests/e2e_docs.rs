//! End to end: the OpenAPI document (validated independently), a client driven by it alone, and the /docs page in headless Chromium.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Moon, read, schema};
use serde_json::{Value as Json, json};

/// Validates an OpenAPI document with the independent `openapi-spec-validator` (PyPI);
/// CI installs it and sets `MOON_REQUIRE_OPENAPI_VALIDATOR=1` so it can never be skipped.
fn validate_openapi(spec: &Json, label: &str) {
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(file.path(), spec.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let available = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("MOON_REQUIRE_OPENAPI_VALIDATOR").is_err(),
            "openapi-spec-validator is required here: pip install openapi-spec-validator"
        );
        eprintln!("openapi-spec-validator not installed: {label} not validated");
        return;
    }
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{label}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_openapi_document_validates_as_the_schema_changes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    let (status, empty) = moon.get("/openapi.json").await;
    assert_eq!(status, 200);
    validate_openapi(&empty, "no collections");

    let (status, _) = moon.post("/collections:create", &schema()).await;
    assert_eq!(status, 201);
    let second = json!({"name": "order_lines", "columns": [
        {"name": "qty", "type": "integer", "nullable": false},
        {"name": "rate", "type": "decimal", "scale": 4},
        {"name": "whole", "type": "decimal", "scale": 0},
        {"name": "note", "type": "string", "unique": true}
    ]});
    assert_eq!(moon.post("/collections:create", &second).await.0, 201);
    let (_, several) = moon.get("/openapi.json").await;
    assert!(several["paths"]["/order_lines:sum"]["get"].is_object());
    validate_openapi(&several, "several collections of every type");

    let change = json!({"name": "products", "rename_columns": [{"old_name": "stock", "new_name": "quantity"}],
        "add_columns": [{"name": "colour", "type": "string"}], "remove_columns": ["specs"]});
    assert_eq!(moon.post("/collections:update", &change).await.0, 200);
    let (_, changed) = moon.get("/openapi.json").await;
    let props = &changed["components"]["schemas"]["Products"]["properties"];
    assert!(
        props.get("quantity").is_some()
            && props.get("colour").is_some()
            && props.get("specs").is_none()
    );
    validate_openapi(&changed, "after add/rename/remove");

    // Anonymous callers see the system routes only.
    let anonymous = moon
        .http
        .get(format!("{}/openapi.json", moon.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, public) = read(anonymous).await;
    assert!(public["paths"].get("/products:list").is_none());
    assert!(public["paths"].get("/auth:login").is_some());
}

/// A value for a property, made from its schema alone.
fn sample(schema: &Json) -> Json {
    let types: Vec<&str> = match &schema["type"] {
        Json::String(t) => vec![t.as_str()],
        Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
        _ => vec![],
    };
    let first = types
        .iter()
        .copied()
        .find(|t| *t != "null")
        .unwrap_or("null");
    match (first, schema["format"].as_str(), schema["pattern"].as_str()) {
        ("string", Some("date-time"), _) => json!("2024-05-06T07:08:09Z"),
        ("string", _, Some(pattern)) if pattern.contains("\\.") => json!("12.5"),
        ("string", _, Some(_)) => json!("12"),
        ("string", _, _) => json!(format!("sample-{}", ulid::Ulid::new())),
        ("integer", _, _) => json!(7),
        ("boolean", _, _) => json!(true),
        ("object", _, _) => json!({"k": "v"}),
        _ => Json::Null,
    }
}

#[tokio::test]
async fn a_client_driven_by_the_document_alone_creates_and_reads_a_record() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    assert_eq!(moon.post("/collections:create", &schema()).await.0, 201);
    let (_, spec) = moon.get("/openapi.json").await;
    // Everything below comes from the document: which path creates, what its body is, how
    // to read the record back.
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    let create_path = paths
        .keys()
        .find(|p| p.ends_with(":create") && paths[*p]["post"]["tags"][0] != "system")
        .cloned()
        .unwrap_or_default();
    let body_schema = &paths[&create_path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["oneOf"][0];
    let input_ref = body_schema["properties"]["data"]["$ref"]
        .as_str()
        .unwrap_or_default();
    let input = &spec["components"]["schemas"][input_ref.rsplit('/').next().unwrap_or_default()];
    let data: serde_json::Map<String, Json> = input["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, prop)| (name.clone(), sample(prop)))
        .collect();
    let (status, created) = moon.post(&create_path, &json!({ "data": data })).await;
    assert_eq!(status, 201, "{create_path}: {created}");
    let get_path = create_path.replace(":create", ":get");
    let id_param = paths[&get_path]["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["required"] == true)
        .and_then(|p| p["name"].as_str())
        .unwrap_or_default()
        .to_owned();
    let id = created["data"]["id"].as_str().unwrap_or_default();
    let (status, fetched) = moon.get(&format!("{get_path}?{id_param}={id}")).await;
    assert_eq!(status, 200);
    for (name, value) in &data {
        if value.is_string()
            && fetched["data"][name]
                .as_str()
                .is_some_and(|s| s.contains('.'))
        {
            continue; // decimals come back at the column's scale ("12.5" → "12.50")
        }
        if name == "released" {
            continue; // datetimes come back normalised
        }
        assert_eq!(&fetched["data"][name], value, "{name}");
    }
}

#[tokio::test]
async fn the_docs_page_renders_live_collections_and_try_it_out_works_in_chromium() {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    let ready = script_dir.join("node_modules/playwright-core").exists()
        && Path::new("/usr/bin/chromium").exists();
    if !ready {
        assert!(
            std::env::var("MOON_REQUIRE_BROWSER").is_err(),
            "Chromium and playwright-core are required here (.ci/run installs them)"
        );
        eprintln!("chromium or playwright-core missing: browser test not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    assert_eq!(moon.post("/collections:create", &schema()).await.0, 201);
    assert_eq!(
        moon.post(
            "/products:create",
            &json!({"data": {"title": "Lamp", "price": "9.99"}})
        )
        .await
        .0,
        201
    );
    let shot = dir.path().join("docs.png");
    let out = Command::new("node")
        .arg(script_dir.join("docs.mjs"))
        .env("MOON_URL", &moon.base)
        .env("MOON_TOKEN", &moon.token)
        .env("SCREENSHOT", &shot)
        .env("COLLECTION", "products")
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(
        out.status.success(),
        "browser run failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "a real screenshot was taken ({size} bytes)");
    if let Ok(keep) = std::env::var("MOON_KEEP_SCREENSHOT") {
        let _ = std::fs::copy(&shot, keep);
    }
}

/// A client generated from the live document (openapi-typescript + openapi-fetch, npm) is
/// type-checked against it and does a create, list, get, update and destroy round trip.
/// CI installs `tests/client` and sets `MOON_REQUIRE_GENERATED_CLIENT=1`.
#[tokio::test]
async fn a_client_generated_from_the_document_round_trips_a_record() {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/client");
    if !script_dir.join("node_modules/openapi-typescript").exists() {
        assert!(
            std::env::var("MOON_REQUIRE_GENERATED_CLIENT").is_err(),
            "tests/client needs its npm packages here (.ci/run installs them)"
        );
        eprintln!("tests/client not installed: generated-client test not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    let gadgets = json!({"name": "gadgets", "columns": [
        {"name": "name", "type": "string", "nullable": false},
        {"name": "price", "type": "decimal"},
        {"name": "qty", "type": "integer"}]});
    assert_eq!(moon.post("/collections:create", &gadgets).await.0, 201);
    let out = Command::new("node")
        .arg(script_dir.join("roundtrip.mjs"))
        .arg(&moon.base)
        .arg(&moon.token)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "generated client failed: {printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("create, list, get, update, destroy ok"),
        "{printed}"
    );
    let (_, left) = moon.get("/gadgets:list").await;
    let names: Vec<&str> = left["data"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Desk"], "the client's writes are on the server");
}
