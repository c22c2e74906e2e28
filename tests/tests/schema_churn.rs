//! Schema churn on every engine: writers and readers run while another client changes
//! column types back and forth, adds, renames and removes columns. No answer is a 5xx, and
//! every acknowledged value reads back as acknowledged (converted by the type rules of each
//! later change). Also: a collection destroyed and created again with other types works at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use moon_domain::{FieldType, Value};
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{Answer, get, on_every_engine, post, sql_app};
use salvo::Service;
use serde_json::{Map, Value as Json, json};

const WRITERS: usize = 8;
const READERS: usize = 4;
/// Columns the writers fill, whose types the changer flips.
const TYPED: [&str; 5] = ["val", "flag", "price", "doc", "seen"];

/// The schema changes, run twice: every pair is a conversion the written values can take.
fn changes() -> Vec<Json> {
    let modify = |name: &str, ty: &str, scale: Option<u32>| {
        let mut col = json!({"name": name, "type": ty});
        if let Some(s) = scale {
            col["scale"] = json!(s);
        }
        json!({"modify_columns": [col]})
    };
    let round = vec![
        modify("val", "string", None),
        modify("val", "integer", None),
        modify("flag", "string", None),
        modify("flag", "boolean", None),
        modify("price", "decimal", Some(4)),
        modify("price", "decimal", Some(2)),
        modify("doc", "string", None),
        modify("doc", "json", None),
        modify("seen", "string", None),
        modify("seen", "datetime", None),
        json!({"add_columns": [{"name": "extra_a", "type": "string"}]}),
        json!({"rename_columns": [{"old_name": "extra_a", "new_name": "extra_b"}]}),
        json!({"remove_columns": ["extra_b"]}),
    ];
    round.iter().chain(&round).cloned().collect()
}

/// The types of the collection's columns, as `collections:get` says.
async fn shape(app: &Service) -> HashMap<String, FieldType> {
    let answer = get(app, "/collections:get?name=churn").await;
    answer.body["collection"]["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let scale = c["scale"].as_u64().and_then(|s| u32::try_from(s).ok());
            let ty = FieldType::from_wire(c["type"].as_str()?, scale)?;
            Some((c["name"].as_str()?.to_owned(), ty))
        })
        .collect()
}

/// A value for column `name` of type `ty`, from seed `n`, in a form every change converts
/// back and forth without loss.
fn value_for(name: &str, ty: FieldType, n: u64) -> Json {
    let stamp = format!(
        "2024-0{}-1{}T0{}:1{}:2{}.{:06}Z",
        1 + n % 9,
        n % 10,
        n % 10,
        n % 7,
        n % 9,
        n % 999_999
    );
    let stamp = moon_domain::value::parse_datetime(&stamp)
        .map(|d| moon_domain::value::format_datetime(&d))
        .unwrap_or(stamp);
    match (name, ty) {
        ("val", FieldType::Integer) => json!(n * 7919),
        ("val", _) => json!((n * 7919).to_string()),
        ("flag", FieldType::Boolean) => json!(n.is_multiple_of(2)),
        ("flag", _) => json!(n.is_multiple_of(2).to_string()),
        ("price", FieldType::Decimal { scale: 4 }) => {
            json!(format!("{}.{:02}00", n % 10_000, n % 100))
        }
        ("price", _) => json!(format!("{}.{:02}", n % 10_000, n % 100)),
        ("doc", FieldType::Json) => json!({"n": n, "tags": ["a", n % 3]}),
        ("doc", _) => json!(json!({"n": n, "tags": ["a", n % 3]}).to_string()),
        _ => json!(stamp),
    }
}

/// The type an acknowledged value was written as, from its JSON form.
fn written_type(name: &str, ack: &Json) -> FieldType {
    match (name, ack) {
        ("val", Json::Number(_)) => FieldType::Integer,
        ("flag", Json::Bool(_)) => FieldType::Boolean,
        ("doc", Json::Object(_) | Json::Array(_)) => FieldType::Json,
        ("price", Json::String(s)) => FieldType::Decimal {
            scale: u32::try_from(s.split_once('.').map_or(0, |(_, f)| f.len())).unwrap_or(2),
        },
        _ => FieldType::String,
    }
}

/// What an acknowledged value must read back as once its column has type `now`.
fn expected(name: &str, ack: &Json, now: FieldType) -> Json {
    let typed = Value::from_json(ack.clone(), written_type(name, ack))
        .and_then(|v| v.convert(now))
        .unwrap_or_else(|e| panic!("{name}: acknowledged {ack} cannot become {now}: {e}"));
    serde_json::to_value(&typed).unwrap_or(Json::Null)
}

#[derive(Default)]
struct Outcome {
    /// Acknowledged records by id: the data of the last acknowledged write.
    acked: HashMap<String, Map<String, Json>>,
    failures: Vec<String>,
    writes: u64,
}

fn is_server_error(answer: &Answer) -> bool {
    answer.status >= 500
}

async fn writer(app: Arc<Service>, index: u64, stop: Arc<AtomicBool>) -> Outcome {
    let mut out = Outcome::default();
    let mut types = shape(&app).await;
    let mut own: Vec<String> = Vec::new();
    let mut n = index * 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let action = n % 10;
        for _attempt in 0..6 {
            let fields: Map<String, Json> = TYPED
                .iter()
                .filter_map(|c| {
                    types
                        .get(*c)
                        .map(|ty| ((*c).to_owned(), value_for(c, *ty, n)))
                })
                .collect();
            let (path, body) = match (action, own.last()) {
                (0, Some(id)) => ("/churn:destroy", json!({"id": id})),
                (1..=2, Some(id)) => ("/churn:update", json!({"id": id, "data": fields})),
                _ => {
                    let mut data = fields;
                    data.insert("owner".into(), json!(format!("w{index}-{n}")));
                    ("/churn:create", json!({"data": data}))
                }
            };
            let answer = post(&app, path, &body).await;
            if is_server_error(&answer) {
                out.failures
                    .push(format!("{path} {} {:?}", answer.status, answer.body));
                break;
            }
            match answer.status {
                200 | 201 if path == "/churn:destroy" => {
                    if let Some(id) = own.pop() {
                        out.acked.remove(&id);
                    }
                }
                200 | 201 => {
                    let data = answer.body["data"].as_object().cloned().unwrap_or_default();
                    let id = data["id"].as_str().unwrap_or_default().to_owned();
                    if path == "/churn:create" {
                        own.push(id.clone());
                    }
                    out.acked.insert(id, data);
                }
                // Validated against a type that changed meanwhile: learn it and try again.
                400 | 409 => {
                    types = shape(&app).await;
                    continue;
                }
                _ => out
                    .failures
                    .push(format!("{path} {} {:?}", answer.status, answer.body)),
            }
            out.writes += 1;
            break;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    out
}

async fn reader(app: Arc<Service>, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut failures = Vec::new();
    let mut n = 0_u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let path = match n % 3 {
            0 => "/churn:list?limit=50&sort=-created_at".to_owned(),
            1 => "/churn:list?limit=20&sort=val,-price".to_owned(),
            _ => "/churn:count".to_owned(),
        };
        let listed = get(&app, &path).await;
        if is_server_error(&listed) {
            failures.push(format!("{path} {} {:?}", listed.status, listed.body));
        }
        if let Some(id) = listed.body["data"][0]["id"].as_str() {
            let one = get(&app, &format!("/churn:get?id={id}")).await;
            if is_server_error(&one) {
                failures.push(format!("get {} {:?}", one.status, one.body));
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    failures
}

/// Every record, page by page.
async fn all_records(app: &Service) -> HashMap<String, Map<String, Json>> {
    let mut records = HashMap::new();
    let mut after = String::new();
    loop {
        let page = get(app, &format!("/churn:list?limit=200&count=none{after}")).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for r in page.body["data"].as_array().into_iter().flatten() {
            let map = r.as_object().cloned().unwrap_or_default();
            records.insert(r["id"].as_str().unwrap_or_default().to_owned(), map);
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return records,
        }
    }
}

async fn churn_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = Arc::new(sql_app(&db, vec![]).await);
    let created = post(
        &app,
        "/collections:create",
        &json!({"name": "churn", "columns": [
            {"name": "owner", "type": "string", "nullable": false, "unique": true},
            {"name": "val", "type": "integer"},
            {"name": "flag", "type": "boolean"},
            {"name": "price", "type": "decimal", "scale": 2},
            {"name": "doc", "type": "json"},
            {"name": "seen", "type": "datetime"}
        ]}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|i| tokio::spawn(writer(app.clone(), i + 1, stop.clone())))
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| tokio::spawn(reader(app.clone(), stop.clone())))
        .collect();
    let mut change_failures = Vec::new();
    let plan = changes();
    for change in &plan {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let mut body = change.clone();
        body["name"] = json!("churn");
        let answer = post(&app, "/collections:update", &body).await;
        if answer.status != 200 {
            change_failures.push(format!("{change} → {} {:?}", answer.status, answer.body));
        }
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    stop.store(true, Ordering::Relaxed);

    let mut acked = HashMap::new();
    let mut failures = Vec::new();
    let mut writes = 0;
    for w in writers {
        let out = w.await.unwrap_or_else(|e| panic!("writer: {e}"));
        acked.extend(out.acked);
        failures.extend(out.failures);
        writes += out.writes;
    }
    for r in readers {
        failures.extend(r.await.unwrap_or_else(|e| panic!("reader: {e}")));
    }
    assert!(
        change_failures.is_empty(),
        "{engine:?}: schema changes failed: {change_failures:#?}"
    );
    assert!(
        failures.is_empty(),
        "{engine:?}: {} failed requests, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(writes > 200, "{engine:?}: only {writes} writes were made");

    let now = shape(&app).await;
    let stored = all_records(&app).await;
    let mut wrong = Vec::new();
    for (id, ack) in &acked {
        let Some(row) = stored.get(id) else {
            wrong.push(format!("{id}: acknowledged but missing"));
            continue;
        };
        for column in TYPED {
            let want = expected(column, &ack[column], now[column]);
            // Byte for byte, not only equal as JSON values.
            if serde_json::to_string(&row[column]).ok() != serde_json::to_string(&want).ok() {
                wrong.push(format!(
                    "{id}.{column}: acknowledged {} → expected {want}, read {}",
                    ack[column], row[column]
                ));
            }
        }
        if row["owner"] != ack["owner"] {
            wrong.push(format!("{id}.owner: {} ≠ {}", row["owner"], ack["owner"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{engine:?}: {} wrong values, first: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(8)]
    );
    assert_eq!(stored.len(), acked.len(), "{engine:?}: unacknowledged rows");
    eprintln!(
        "{engine:?}: {writes} writes, {} records, {} schema changes, 0 failures",
        acked.len(),
        plan.len()
    );
    db.close().await;
    test_db.drop_database().await;
}

/// Drop and create again under the same name with other types, with every pooled
/// connection warmed on the old shape first.
async fn recreate_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = Arc::new(sql_app(&db, vec![]).await);
    let shapes = [
        ("integer", json!(12_345_678), "boolean", json!(true)),
        ("string", json!("12345678"), "string", json!("N")),
        (
            "json",
            json!({"k": [1, 2]}),
            "datetime",
            json!("2024-05-06T07:08:09Z"),
        ),
        ("decimal", json!("1.50"), "json", json!([1, "x"])),
        ("boolean", json!(false), "integer", json!(-4)),
    ];
    for (a_type, a_value, b_type, b_value) in shapes {
        let created = post(
            &app,
            "/collections:create",
            &json!({"name": "things", "columns": [
                {"name": "aaa", "type": a_type}, {"name": "bbb", "type": b_type}
            ]}),
        )
        .await;
        assert_eq!(created.status, 201, "{engine:?} {:?}", created.body);
        let data = json!({"aaa": a_value, "bbb": b_value});
        // Several concurrent rounds so every pooled connection prepares these statements.
        let rounds = (0..8).map(|_| {
            let app = app.clone();
            let data = data.clone();
            async move {
                let made = post(&app, "/things:create", &json!({"data": data})).await;
                assert_eq!(made.status, 201, "{engine:?} {:?}", made.body);
                let id = made.body["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let one = get(&app, &format!("/things:get?id={id}")).await;
                assert_eq!(one.status, 200, "{engine:?} {:?}", one.body);
                assert_eq!(one.body["data"]["aaa"], data["aaa"], "{engine:?}");
                assert_eq!(one.body["data"]["bbb"], data["bbb"], "{engine:?}");
                let updated = post(
                    &app,
                    "/things:update",
                    &json!({"id": id, "data": {"aaa": data["aaa"]}}),
                )
                .await;
                assert_eq!(updated.status, 200, "{engine:?} {:?}", updated.body);
                let listed = get(&app, "/things:list?limit=5").await;
                assert_eq!(listed.status, 200, "{engine:?} {:?}", listed.body);
                assert_eq!(listed.body["data"][0]["aaa"], data["aaa"], "{engine:?}");
            }
        });
        futures_util::future::join_all(rounds).await;
        let destroyed = post(&app, "/collections:destroy", &json!({"name": "things"})).await;
        assert_eq!(destroyed.status, 200, "{engine:?} {:?}", destroyed.body);
    }
    db.close().await;
    test_db.drop_database().await;
}

on_every_engine! {
    writes_survive_schema_churn => churn_on,
    a_recreated_collection_works_at_once => recreate_on,
}
