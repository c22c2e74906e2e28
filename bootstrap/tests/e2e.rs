//! End to end: the built `moon` binary on a free port, driven over real HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// A running Moon process; killed when dropped.
struct Moon {
    child: Child,
    base: String,
    http: reqwest::Client,
    /// The admin's access token (logged in at start).
    token: String,
    /// Everything Moon wrote to stderr so far.
    logs: std::sync::Arc<std::sync::Mutex<String>>,
}

/// The first admin every test instance is started with.
const ADMIN: (&str, &str) = ("admin", "Admin12345");

impl Moon {
    /// Starts Moon on a free port with its data in `data_dir` (SQLite) or at `url`.
    fn start(data_dir: &Path, url: Option<&str>) -> Self {
        Self::start_with(data_dir, url, &[])
    }

    /// Starts Moon with extra environment variables.
    fn start_with(data_dir: &Path, url: Option<&str>, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_moon"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("MOON_LOG", "info")
            .env("MOON_ADMIN_USERNAME", ADMIN.0)
            .env("MOON_ADMIN_PASSWORD", ADMIN.1)
            .env_remove("MOON_DATABASE_URL")
            .env_remove("MOON_PREFIX")
            .envs(env.iter().copied());
        if let Some(url) = url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moon: {e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let (tx, rx) = mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, address)) = line.split_once("Moon listening on ") {
                    let _ = tx.send(address.trim().to_owned());
                }
                if let Ok(mut all) = sink.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("moon did not start listening"));
        let mut moon = Self {
            child,
            base,
            http: reqwest::Client::new(),
            token: String::new(),
            logs,
        };
        moon.token = moon.login(ADMIN.0, ADMIN.1);
        moon
    }

    /// Logs in (blocking, at start-up) and returns the access token.
    fn login(&self, username: &str, password: &str) -> String {
        let url = format!("{}/auth:login", self.base);
        let body = json!({"username": username, "password": password}).to_string();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .ok()?;
                let json: Json = res.json().await.ok()?;
                json["access_token"].as_str().map(str::to_owned)
            })
        });
        handle
            .join()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("cannot log in as {username}"))
    }

    async fn get(&self, path: &str) -> (u16, Json) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        read(res).await
    }

    async fn post(&self, path: &str, body: &Json) -> (u16, Json) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        read(res).await
    }

    /// Sends SIGTERM, waits, and returns the exit status with everything logged.
    fn stop_and_keep_logs(self) -> (std::process::ExitStatus, String) {
        let logs = std::sync::Arc::clone(&self.logs);
        let status = self.stop();
        std::thread::sleep(Duration::from_millis(100));
        let text = logs.lock().map(|l| l.clone()).unwrap_or_default();
        (status, text)
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM failed");
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moon did not stop within 5 s of SIGTERM");
    }
}

impl Drop for Moon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn read(res: reqwest::Response) -> (u16, Json) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

fn schema() -> Json {
    json!({"name": "products", "columns": [
        {"name": "title", "type": "string", "nullable": false, "unique": true},
        {"name": "price", "type": "decimal"},
        {"name": "stock", "type": "integer"},
        {"name": "on_sale", "type": "boolean"},
        {"name": "released", "type": "datetime"},
        {"name": "specs", "type": "json"}
    ]})
}

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
/// it, and checks the collection ends in one consistent state: `expect_new` says which.
async fn crash_during_mysql_alter(failpoint: &str, expect_new: bool) {
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
    let change = json!({"name": "products", "rename_columns": [{"old_name": "stock", "new_name": "quantity"}]});
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
async fn a_crash_after_the_mysql_table_swap_is_finished_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_after_swap", true).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): crash test not run");
    }
}

#[tokio::test]
async fn a_crash_before_the_mysql_table_swap_is_rolled_back_at_start_up() {
    if Engine::configured().contains(&Engine::MySql) {
        crash_during_mysql_alter("mysql_before_swap", false).await;
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

#[tokio::test]
async fn logs_never_carry_passwords_tokens_or_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start_with(
        dir.path(),
        None,
        &[
            ("MOON_LOG", "debug"),
            ("MOON_JWT_SECRET", "jwt-secret-that-must-not-leak"),
        ],
    );
    let mut secrets = vec![
        ADMIN.1.to_owned(),
        moon.token.clone(),
        "jwt-secret-that-must-not-leak".to_owned(),
    ];
    let (status, login) = moon
        .post(
            "/auth:login",
            &json!({"username": "admin", "password": ADMIN.1}),
        )
        .await;
    assert_eq!(status, 200);
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    secrets.push(
        login["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let (_, renewed) = moon
        .post("/auth:refresh", &json!({"refresh_token": refresh}))
        .await;
    secrets.push(refresh.clone());
    secrets.push(
        renewed["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let (status, _) = moon
        .post("/auth:refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 401, "reuse");
    let (_, created) = moon
        .post(
            "/apikeys:create",
            &json!({"name": "scanner", "role": "readonly"}),
        )
        .await;
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    secrets.push(key.clone());
    let res = moon
        .http
        .get(format!("{}/collections:list", moon.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = moon
        .post(
            "/users:create",
            &json!({"username": "ada", "password": "Lovelace1815"}),
        )
        .await;
    assert_eq!(status, 201);
    secrets.push("Lovelace1815".to_owned());
    let (status, body) = moon
        .post(
            "/auth:login",
            &json!({"username": "ada", "password": "WrongPass99"}),
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        !body.to_string().contains("WrongPass99"),
        "not in error bodies either"
    );
    secrets.push("WrongPass99".to_owned());
    let status = moon.stop_and_keep_logs();
    let logs = status.1;
    assert!(
        logs.contains("request"),
        "debug logs were captured:\n{logs}"
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs"
        );
    }
}

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
        .find(|p| {
            p.ends_with(":create")
                && !p.starts_with("/collections")
                && !p.starts_with("/users")
                && !p.starts_with("/apikeys")
        })
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

fn hook_signature(secret: &str, body: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn kill_9_while_events_are_processed_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    let payments = json!({"name": "payments", "columns": [{"name": "amount", "type": "integer", "nullable": false}, {"name": "ref_no", "type": "string", "unique": true}]});
    assert_eq!(moon.post("/collections:create", &payments).await.0, 201);
    let hook = json!({"name": "shop", "collection": "payments", "secret": "s3cret", "event_id": "/id",
        "signature": {"scheme": "github"}, "mapping": {"amount": "/amount", "ref_no": "/id"}});
    assert_eq!(moon.post("/webhooks:create", &hook).await.0, 201);
    let total = 400;
    for i in 0..total {
        let body = json!({"id": format!("evt-{i}"), "amount": i}).to_string();
        let res = moon
            .http
            .post(format!("{}/hooks/shop", moon.base))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                format!("sha256={}", hook_signature("s3cret", &body)),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = res.status().as_u16();
        assert_eq!(status, 202, "{}", res.text().await.unwrap_or_default());
    }
    // Pull the plug while the workers are busy.
    let pid = moon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    drop(moon);

    let moon = Moon::start(dir.path(), None);
    let mut done = 0;
    for _ in 0..100 {
        let (_, count) = moon.get("/payments:count").await;
        done = count["value"].as_i64().unwrap_or(0);
        if done >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done, total, "every accepted event became a record");
    let (_, pending) = moon.get("/webhooks:events?name=shop&status=pending").await;
    assert_eq!(pending["events"], json!([]));
    let (_, distinct) = moon
        .get("/payments:count?ref_no%5Bstartswith%5D=evt-")
        .await;
    assert_eq!(
        distinct["value"].as_i64(),
        Some(total),
        "exactly once: one record per event id"
    );
}
