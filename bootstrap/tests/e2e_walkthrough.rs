//! End to end: the walkthrough on every engine, errors over the wire, --help and start-up failures.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Moon, read, schema};
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// The walkthrough on one engine, in a fresh database dropped afterwards.
async fn walkthrough_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let url = (engine != Engine::Sqlite).then(|| test_db.url.clone());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    walkthrough(dir.path(), url.as_deref()).await;
    test_db.drop_database().await;
}

#[tokio::test]
async fn the_walkthrough_works_on_sqlite() {
    walkthrough_on(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_walkthrough_works_on_postgres() {
    if Engine::configured().contains(&Engine::Postgres) {
        walkthrough_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run on it");
    }
}

#[tokio::test]
async fn the_walkthrough_works_on_mysql() {
    if Engine::configured().contains(&Engine::MySql) {
        walkthrough_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run on it");
    }
}

/// Every route of the core, over real HTTP, with a restart in the middle.
async fn walkthrough(dir: &Path, url: Option<&str>) {
    let moon = Moon::start(dir, url);

    let (status, health) = moon.get("/health").await;
    assert_eq!(
        (
            status,
            health["status"].as_str(),
            health["database"].as_str()
        ),
        (200, Some("ok"), Some("ok"))
    );

    let (status, created) = moon.post("/collections:create", &schema()).await;
    assert_eq!(status, 201, "{created}");

    let (status, record) = moon
        .post(
            "/products:create",
            &json!({"data": {"title": "Lamp", "price": "99999999999999999.99", "stock": 3, "on_sale": true,
                             "released": "2024-03-01T10:30:00.123456+02:00", "specs": {"watts": 40, "tags": ["desk"]}}}),
        )
        .await;
    assert_eq!(status, 201, "{record}");
    let data = &record["data"];
    assert_eq!(data["price"], "99999999999999999.99");
    assert_eq!(data["released"], "2024-03-01T08:30:00.123456Z");
    assert_eq!(data["specs"], json!({"watts": 40, "tags": ["desk"]}));
    assert_eq!(
        data["specs"].to_string(),
        r#"{"tags":["desk"],"watts":40}"#,
        "same bytes on every engine"
    );
    let id = data["id"].as_str().unwrap_or_default().to_owned();

    let (status, cheap) = moon
        .post(
            "/products:create",
            &json!({"data": {"title": "Pen", "price": "-0.01"}}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(cheap["data"]["price"], "-0.01");
    assert_eq!(cheap["data"]["stock"], 0);
    assert_eq!(cheap["data"]["specs"], json!({}));
    assert_eq!(cheap["data"]["released"], Json::Null);

    let (status, dup) = moon
        .post("/products:create", &json!({"data": {"title": "Pen"}}))
        .await;
    assert_eq!(
        (status, dup["code"].as_str()),
        (409, Some("DUPLICATE_VALUE"))
    );

    let (status, list) = moon.get("/products:list?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(
        (list["total"].as_u64(), list["limit"].as_u64()),
        (Some(2), Some(1))
    );
    let cursor = list["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, rest) = moon.get(&format!("/products:list?after={cursor}")).await;
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["next_cursor"], Json::Null);
    assert_ne!(rest["data"][0]["id"], list["data"][0]["id"]);

    let (status, updated) = moon
        .post(
            "/products:update",
            &json!({"id": id, "data": {"stock": 2, "price": "10.5"}}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["data"]["stock"].as_i64(),
            updated["data"]["price"].as_str()
        ),
        (Some(2), Some("10.50"))
    );
    assert_eq!(updated["data"]["title"], "Lamp");

    let (status, bad) = moon
        .post(
            "/products:update",
            &json!({"id": id, "data": {"stock": "2"}}),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    // A type change the rows cannot take fails and changes nothing.
    let (status, refused) = moon
        .post("/collections:update", &json!({"name": "products", "modify_columns": [{"name": "title", "type": "integer", "nullable": false}]}))
        .await;
    assert_eq!(
        (status, refused["details"]["field"].as_str()),
        (400, Some("title")),
        "{refused}"
    );
    let (_, still) = moon.get(&format!("/products:get?id={id}")).await;
    assert_eq!(still["data"]["title"], "Lamp");

    let (status, altered) = moon
        .post(
            "/collections:update",
            &json!({"name": "products", "rename_columns": [{"old_name": "stock", "new_name": "quantity"}],
                    "add_columns": [{"name": "colour", "type": "string"}], "remove_columns": ["on_sale"]}),
        )
        .await;
    assert_eq!(status, 200, "{altered}");

    let status = moon.stop();
    assert!(status.success(), "SIGTERM ends moon cleanly: {status}");

    let moon = Moon::start(dir, url);
    let (status, got) = moon.get(&format!("/products:get?id={id}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["quantity"], 2);
    assert_eq!(got["data"]["colour"], "");
    assert_eq!(got["data"]["price"], "10.50");
    assert!(got["data"].get("on_sale").is_none());
    let (_, collections) = moon.get("/collections:list").await;
    assert_eq!(
        collections,
        json!({"collections": [{"name": "products", "records": 2}], "count": 1})
    );

    let (status, _) = moon.post("/products:destroy", &json!({"id": id})).await;
    assert_eq!(status, 200);
    let (status, gone) = moon.get(&format!("/products:get?id={id}")).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("RECORD_NOT_FOUND"))
    );
    let (status, _) = moon
        .post("/collections:destroy", &json!({"name": "products"}))
        .await;
    assert_eq!(status, 200);
    let (status, missing) = moon.get("/products:list").await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("COLLECTION_NOT_FOUND"))
    );
}

#[tokio::test]
async fn errors_are_json_over_the_wire() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    let (status, body) = moon.get("/nothing/here").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let res = moon
        .http
        .post(format!("{}/collections:create", moon.base))
        .bearer_auth(&moon.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = read(res).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_JSON")));
    let res = moon
        .http
        .delete(format!("{}/collections:list", moon.base))
        .bearer_auth(&moon.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD, OPTIONS")
    );
    let (status, body) = read(res).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}

#[test]
fn help_documents_the_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_moon"))
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--database-url",
        "--listen",
        "--prefix",
        "--data-dir",
        "MOON_DATABASE_URL",
        "6006",
    ] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
}

#[test]
fn a_bad_database_url_fails_start_up_with_one_clear_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_moon"))
        .args([
            "--database-url",
            "oracle://scott:tiger@db/x",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unsupported database URL"), "{text}");
    assert!(!text.contains("tiger"), "the password is redacted: {text}");
}

/// Kills Moon (abort, as a power cut) at `failpoint` during a MySQL schema change, restarts
/// it, and checks the collection ends in one consistent state: `expect_new` says which. The
/// change renames `stock`; with `rebuild` it also converts a column, so the table is rebuilt
/// and swapped instead of altered in place.
async fn crash_during_mysql_alter(failpoint: &str, rebuild: bool, expect_new: bool) {
    let test_db = TestDatabase::create(Engine::MySql).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = test_db.url.clone();
    let moon = Moon::start_with(dir.path(), Some(&url), &[("MOON_FAILPOINT", failpoint)]);
    let (status, _) = moon.post("/collections:create", &schema()).await;
    assert_eq!(status, 201);
    let (_, created) = moon
        .post(
            "/products:create",
            &json!({"data": {"title": "Lamp", "stock": 5}}),
        )
        .await;
    let id = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut change = json!({"name": "products", "rename_columns": [{"old_name": "stock", "new_name": "quantity"}]});
    if rebuild {
        change["modify_columns"] = json!([{"name": "on_sale", "type": "string"}]);
    } else {
        // In the same atomic ALTER: recovery compares the table's indexes too.
        change["add_indexes"] =
            json!([{"name": "by_quantity", "columns": ["quantity", "-created_at"]}]);
    }
    let crashed = moon
        .http
        .post(format!("{}/collections:update", moon.base))
        .bearer_auth(&moon.token)
        .json(&change)
        .send()
        .await;
    assert!(crashed.is_err(), "the failpoint aborts moon mid-change");
    drop(moon);

    let moon = Moon::start(dir.path(), Some(&url));
    let (_, schema) = moon.get("/collections:get?name=products").await;
    let names: Vec<_> = schema["collection"]["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].clone())
        .collect();
    let (status, record) = moon.get(&format!("/products:get?id={id}")).await;
    assert_eq!(status, 200, "{record}");
    let indexed = schema["collection"]["indexes"]
        .as_array()
        .is_some_and(|all| all.iter().any(|ix| ix["name"] == "by_quantity"));
    assert_eq!(indexed, expect_new && !rebuild, "{schema}");
    if expect_new {
        assert!(
            names.contains(&json!("quantity")) && !names.contains(&json!("stock")),
            "{names:?}"
        );
        assert_eq!(record["data"]["quantity"], 5);
    } else {
        assert!(
            names.contains(&json!("stock")) && !names.contains(&json!("quantity")),
            "{names:?}"
        );
        assert_eq!(record["data"]["stock"], 5);
    }
    // The collection keeps working, and the change can be made again.
    let (status, _) = moon
        .post("/products:create", &json!({"data": {"title": "Pen"}}))
        .await;
    assert_eq!(status, 201);
    drop(moon);
    test_db.drop_database().await;
}

#[tokio::test]
async fn a_crash_after_an_in_place_mysql_alter_is_finished_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_after_alter", false, true).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): crash test not run");
    }
}

#[tokio::test]
async fn a_crash_before_an_in_place_mysql_alter_is_rolled_back_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_before_alter", false, false).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): crash test not run");
    }
}

#[tokio::test]
async fn a_crash_after_the_mysql_table_swap_is_finished_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_after_swap", true, true).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): crash test not run");
    }
}

#[tokio::test]
async fn a_crash_before_the_mysql_table_swap_is_rolled_back_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_before_swap", true, false).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): crash test not run");
    }
}

#[test]
fn an_unreachable_database_fails_start_up_with_one_clear_redacted_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_moon"))
        .args([
            "--database-url",
            "postgres://moon:hunter2@127.0.0.1:1/app",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("MOON_DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("postgres://moon:***@127.0.0.1:1/app") && lines[0].contains("refused"),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
}
