//! Differential test: random collections, values and schema changes (proptest strategies,
//! fixed seed, `CASES` scenarios) replayed on every configured engine side by side. A model
//! applies the type rules of API.md §2 to predict each answer; every engine must give the
//! predicted status, acknowledge the predicted values, and read every record back with
//! exactly those bytes after every step.

use std::sync::Arc;

use moon_domain::{FieldType, Value};
use moon_sql::{PoolOptions, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{get, post, sql_app};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use salvo::Service;
use serde_json::{Map, Value as Json, json};

/// Scenarios per run (each a new collection of 1–4 columns and up to 14 steps).
const CASES: usize = 48;
/// The generator's seed: the same scenarios on every run.
const SEED: [u8; 32] = *b"moon differential test seed 0001";

/// Requests sent to each engine: record writes accepted, refused; schema requests
/// accepted, refused.
static TALLY: [std::sync::atomic::AtomicUsize; 4] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; 4];

/// Candidate values, one per type, and which to send.
#[derive(Debug, Clone)]
struct Candidates {
    string: String,
    integer: i64,
    decimal: String,
    boolean: bool,
    datetime: String,
    json: Json,
    /// Send null instead.
    null: bool,
    /// Send the candidate of this type (by index) whatever the column's type.
    wrong: Option<usize>,
}

impl Candidates {
    fn for_type(&self, ty: FieldType) -> Json {
        if self.null {
            return Json::Null;
        }
        let index = self.wrong.unwrap_or(match ty {
            FieldType::String => 0,
            FieldType::Integer => 1,
            FieldType::Decimal { .. } => 2,
            FieldType::Boolean => 3,
            FieldType::Datetime => 4,
            FieldType::Json => 5,
        });
        match index {
            0 => json!(self.string),
            1 => json!(self.integer),
            2 => json!(self.decimal),
            3 => json!(self.boolean),
            4 => json!(self.datetime),
            _ => self.json.clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Create(Vec<(usize, Candidates)>),
    Update(usize, Vec<(usize, Candidates)>),
    Destroy(usize),
    Modify(usize, FieldType),
    Rename(usize),
    Add(FieldType),
    Remove(usize),
}

#[derive(Debug, Clone)]
struct Scenario {
    columns: Vec<FieldType>,
    steps: Vec<Step>,
}

fn field_type() -> impl Strategy<Value = FieldType> {
    prop_oneof![
        Just(FieldType::String),
        Just(FieldType::Integer),
        Just(FieldType::Boolean),
        Just(FieldType::Datetime),
        Just(FieldType::Json),
        (0_u32..=6).prop_map(|scale| FieldType::Decimal { scale }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    let pool = [
        "",
        "12",
        "-7",
        "0",
        "true",
        "false",
        "1.50",
        "99.125",
        r#"{"a":1}"#,
        "[1,2]",
        "2024-01-02T03:04:05Z",
        "1999-12-31T23:59:59.999999Z",
        "héllo",
        "😀 ok",
        "a'b\"c\\d",
        "  12",
        "1e5",
        "null",
    ];
    prop_oneof![
        proptest::sample::select(pool.to_vec()).prop_map(str::to_owned),
        proptest::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..12)
            .prop_map(String::from_iter),
        (1_usize..4000).prop_map(|n| "long".repeat(n / 4 + 1)),
    ]
}

fn decimal_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        0_u64..10_000_000_000_000,
        proptest::collection::vec(0_u8..10, 0..8),
    )
        .prop_map(|(negative, int, frac)| {
            let sign = if negative { "-" } else { "" };
            let frac: String = frac.iter().map(|d| char::from(b'0' + d)).collect();
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        })
}

fn datetime_text() -> impl Strategy<Value = String> {
    // Years 0001–9999, microseconds, in UTC or with an offset.
    (
        -62_135_596_800_000_000_i64..253_402_300_799_999_999,
        -50_400_i32..50_400,
        any::<bool>(),
    )
        .prop_map(|(micros, offset, utc)| {
            let dt = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let fixed = chrono::FixedOffset::east_opt(offset / 60 * 60).unwrap_or_else(|| {
                chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())
            });
            if utc {
                moon_domain::value::format_datetime(&dt)
            } else {
                dt.with_timezone(&fixed)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            }
        })
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        text().prop_map(Json::String),
    ];
    let tree = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::vec((text(), inner), 0..4)
                .prop_map(|pairs| Json::Object(pairs.into_iter().collect())),
        ]
    });
    // Only objects and arrays are json values of a column.
    prop_oneof![
        proptest::collection::vec(tree.clone(), 0..4).prop_map(Json::Array),
        proptest::collection::vec((text(), tree), 0..4)
            .prop_map(|pairs| Json::Object(pairs.into_iter().collect())),
    ]
}

fn candidates() -> impl Strategy<Value = Candidates> {
    (
        text(),
        prop_oneof![
            any::<i64>(),
            -1000_i64..1000,
            Just(i64::MAX),
            Just(i64::MIN)
        ],
        decimal_text(),
        any::<bool>(),
        datetime_text(),
        json_value(),
        proptest::bool::weighted(0.1),
        proptest::option::weighted(0.15, 0_usize..6),
    )
        .prop_map(
            |(string, integer, decimal, boolean, datetime, json, null, wrong)| Candidates {
                string,
                integer,
                decimal,
                boolean,
                datetime,
                json,
                null,
                wrong,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    let values = || proptest::collection::vec((0_usize..8, candidates()), 0..4);
    prop_oneof![
        4 => values().prop_map(Step::Create),
        2 => (0_usize..32, values()).prop_map(|(r, v)| Step::Update(r, v)),
        1 => (0_usize..32).prop_map(Step::Destroy),
        3 => (0_usize..8, field_type()).prop_map(|(c, t)| Step::Modify(c, t)),
        1 => (0_usize..8).prop_map(Step::Rename),
        1 => field_type().prop_map(Step::Add),
        1 => (0_usize..8).prop_map(Step::Remove),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(field_type(), 1..5),
        proptest::collection::vec(step(), 1..15),
    )
        .prop_map(|(columns, steps)| Scenario { columns, steps })
}

fn column_json(name: &str, ty: FieldType) -> Json {
    let mut col = json!({"name": name, "type": ty.wire_name(), "nullable": true});
    if let Some(scale) = ty.scale() {
        col["scale"] = json!(scale);
    }
    col
}

/// The canonical JSON of `json` as a value of `ty`, or why it is refused.
fn typed(json: &Json, ty: FieldType) -> Result<Json, String> {
    Value::from_json(json.clone(), ty).map(|v| serde_json::to_value(&v).unwrap_or(Json::Null))
}

/// What the engines should hold: the columns and each record's values by column.
struct Model {
    columns: Vec<(String, FieldType)>,
    records: Vec<Map<String, Json>>,
    fresh: usize,
}

impl Model {
    fn fresh_name(&mut self) -> String {
        self.fresh += 1;
        format!("col_{}", self.fresh)
    }

    /// The data a write sends, and the values it should store (`None`: refused).
    fn write(
        &self,
        values: &[(usize, Candidates)],
    ) -> (Map<String, Json>, Option<Map<String, Json>>) {
        let mut data = Map::new();
        for (slot, c) in values {
            let (name, ty) = &self.columns[slot % self.columns.len()];
            data.insert(name.clone(), c.for_type(*ty));
        }
        let stored: Option<Map<String, Json>> = data
            .iter()
            .map(|(name, json)| {
                let ty = self
                    .columns
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| *t);
                ty.ok_or_else(String::new)
                    .and_then(|ty| typed(json, ty))
                    .map(|v| (name.clone(), v))
            })
            .collect::<Result<_, _>>()
            .ok();
        (data, stored)
    }
}

/// One engine under test: its app and the ids of the model's records, in order.
struct Target {
    engine: Engine,
    app: Arc<Service>,
    ids: Vec<String>,
}

fn bytes(json: &Json) -> String {
    serde_json::to_string(json).unwrap_or_default()
}

/// Sends one request to every engine; each must answer `expected` (and 2xx only if expected).
async fn send_all(
    targets: &[Target],
    path: &str,
    body: &Json,
    expected: u16,
    what: &str,
) -> Vec<Json> {
    let kind = if path.starts_with("/collections") {
        2
    } else {
        0
    };
    TALLY[kind + usize::from(expected >= 400)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bodies = Vec::new();
    for t in targets {
        let answer = post(&t.app, path, body).await;
        assert_eq!(
            answer.status, expected,
            "{:?} {what}: {path} {body:.300} → {:?}",
            t.engine, answer.body
        );
        bodies.push(answer.body);
    }
    bodies
}

/// Every record on every engine reads back as the model holds it.
async fn check_all(targets: &[Target], model: &Model, collection: &str, what: &str) {
    for t in targets {
        let page = get(&t.app, &format!("/{collection}:list?limit=200")).await;
        assert_eq!(page.status, 200, "{:?} {what}: {:?}", t.engine, page.body);
        let rows = page.body["data"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            rows.len(),
            model.records.len(),
            "{:?} {what}: record count",
            t.engine
        );
        for (id, want) in t.ids.iter().zip(&model.records) {
            let row = rows
                .iter()
                .find(|r| r["id"] == json!(id))
                .unwrap_or_else(|| panic!("{:?} {what}: record {id} missing", t.engine));
            for (name, _) in &model.columns {
                assert_eq!(
                    bytes(&row[name]),
                    bytes(&want[name]),
                    "{:?} {what}: {name} of {id}",
                    t.engine
                );
            }
        }
    }
}

async fn run(targets: &mut [Target], scenario: &Scenario, case: usize) {
    let collection = format!("diff_{case}");
    let mut model = Model {
        columns: Vec::new(),
        records: Vec::new(),
        fresh: 0,
    };
    for ty in &scenario.columns {
        let name = model.fresh_name();
        model.columns.push((name, *ty));
    }
    let columns: Vec<Json> = model
        .columns
        .iter()
        .map(|(n, t)| column_json(n, *t))
        .collect();
    send_all(
        targets,
        "/collections:create",
        &json!({"name": collection, "columns": columns}),
        201,
        "create",
    )
    .await;
    for (i, step) in scenario.steps.iter().enumerate() {
        let what = format!("case {case} step {i} {step:?}");
        let path = |action: &str| format!("/{collection}:{action}");
        match step {
            Step::Create(values) => {
                let (data, stored) = model.write(values);
                let status = if stored.is_some() { 201 } else { 400 };
                let acks = send_all(
                    targets,
                    &path("create"),
                    &json!({ "data": data }),
                    status,
                    &what,
                )
                .await;
                if let Some(stored) = stored {
                    let full: Map<String, Json> = model
                        .columns
                        .iter()
                        .map(|(n, t)| {
                            let v = stored.get(n).cloned().unwrap_or_else(|| {
                                serde_json::to_value(Value::type_default(*t)).unwrap_or(Json::Null)
                            });
                            (n.clone(), v)
                        })
                        .collect();
                    for (t, ack) in targets.iter_mut().zip(&acks) {
                        for (n, v) in &full {
                            assert_eq!(
                                bytes(&ack["data"][n]),
                                bytes(v),
                                "{:?} {what}: ack of {n}",
                                t.engine
                            );
                        }
                        t.ids
                            .push(ack["data"]["id"].as_str().unwrap_or_default().to_owned());
                    }
                    model.records.push(full);
                }
            }
            Step::Update(record, values) if !model.records.is_empty() => {
                let k = record % model.records.len();
                let (data, stored) = model.write(values);
                // An update must name at least one field.
                let stored = stored.filter(|_| !data.is_empty());
                let status = if stored.is_some() { 200 } else { 400 };
                for t in targets.iter() {
                    let body = json!({"id": t.ids[k], "data": data});
                    send_all(
                        std::slice::from_ref(t),
                        &path("update"),
                        &body,
                        status,
                        &what,
                    )
                    .await;
                }
                if let Some(stored) = stored {
                    model.records[k].extend(stored);
                }
            }
            Step::Destroy(record) if !model.records.is_empty() => {
                let k = record % model.records.len();
                for t in targets.iter_mut() {
                    let body = json!({"id": t.ids.remove(k)});
                    send_all(std::slice::from_ref(t), &path("destroy"), &body, 200, &what).await;
                }
                model.records.remove(k);
            }
            Step::Modify(column, to) => {
                let c = column % model.columns.len();
                let (name, from) = model.columns[c].clone();
                let converted: Result<Vec<Json>, String> = model
                    .records
                    .iter()
                    .map(|r| {
                        Value::from_json(r[&name].clone(), from)
                            .and_then(|v| v.convert(*to))
                            .map(|v| serde_json::to_value(&v).unwrap_or(Json::Null))
                    })
                    .collect();
                let body = json!({"name": collection, "modify_columns": [column_json(&name, *to)]});
                let status = if converted.is_ok() { 200 } else { 400 };
                send_all(targets, "/collections:update", &body, status, &what).await;
                if let Ok(values) = converted {
                    for (r, v) in model.records.iter_mut().zip(values) {
                        r.insert(name.clone(), v);
                    }
                    model.columns[c].1 = *to;
                }
            }
            Step::Rename(column) => {
                let c = column % model.columns.len();
                let old = model.columns[c].0.clone();
                let new = model.fresh_name();
                let body = json!({"name": collection, "rename_columns": [{"old_name": old, "new_name": new}]});
                send_all(targets, "/collections:update", &body, 200, &what).await;
                for r in &mut model.records {
                    let v = r.remove(&old).unwrap_or(Json::Null);
                    r.insert(new.clone(), v);
                }
                model.columns[c].0 = new;
            }
            Step::Add(ty) => {
                let name = model.fresh_name();
                let body = json!({"name": collection, "add_columns": [column_json(&name, *ty)]});
                send_all(targets, "/collections:update", &body, 200, &what).await;
                let default = serde_json::to_value(Value::type_default(*ty)).unwrap_or(Json::Null);
                for r in &mut model.records {
                    r.insert(name.clone(), default.clone());
                }
                model.columns.push((name, *ty));
            }
            Step::Remove(column) => {
                let c = column % model.columns.len();
                let name = model.columns[c].0.clone();
                let body = json!({"name": collection, "remove_columns": [name]});
                let status = if model.columns.len() > 1 { 200 } else { 400 };
                send_all(targets, "/collections:update", &body, status, &what).await;
                if status == 200 {
                    model.columns.remove(c);
                    for r in &mut model.records {
                        r.remove(&name);
                    }
                }
            }
            Step::Update(..) | Step::Destroy(_) => continue,
        }
        check_all(targets, &model, &collection, &what).await;
    }
    send_all(
        targets,
        "/collections:destroy",
        &json!({"name": collection}),
        200,
        "destroy",
    )
    .await;
    for t in targets.iter_mut() {
        t.ids.clear();
    }
}

#[tokio::test]
async fn every_engine_stores_and_converts_exactly_what_was_acknowledged() {
    let mut databases = Vec::new();
    let mut targets = Vec::new();
    for engine in Engine::configured() {
        let test_db = TestDatabase::create(engine).await;
        let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        targets.push(Target {
            engine,
            app: Arc::new(sql_app(&db, vec![]).await),
            ids: Vec::new(),
        });
        databases.push((test_db, db));
    }
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = scenario();
    let mut steps = 0;
    for case in 0..CASES {
        let scenario = strategy
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("generator: {e}"))
            .current();
        steps += scenario.steps.len();
        run(&mut targets, &scenario, case).await;
    }
    let tally: Vec<usize> = TALLY
        .iter()
        .map(|t| t.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    eprintln!(
        "differential: {CASES} scenarios, {steps} steps on {:?}: record writes {} accepted, {} refused; schema requests {} accepted, {} refused",
        targets.iter().map(|t| t.engine).collect::<Vec<_>>(),
        tally[0],
        tally[1],
        tally[2],
        tally[3]
    );
    assert!(
        tally[0] > 100 && tally[1] > 20 && tally[2] > 100 && tally[3] > 10,
        "the generator covers both outcomes: {tally:?}"
    );
    for (test_db, db) in databases {
        db.close().await;
        test_db.drop_database().await;
    }
}
