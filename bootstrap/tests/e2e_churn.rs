//! End to end, what a load balancer makes of schema changes: three Moon instances over one
//! PostgreSQL or MariaDB database with writers on all three, while one instance adds, renames
//! and removes columns (in place) and retypes them (rebuilds) on a 30,000-row table, two others change other collections at the same moment, and a fourth
//! instance starts in the middle of a rebuild. Every acknowledged write must read back as acknowledged, no answer may
//! be a 5xx, and every change must be served everywhere within a second.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Moon, column, served_within};
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

const ROWS: i64 = 30_000;
const WRITERS_PER_INSTANCE: i64 = 2;

/// What one writer saw: its acknowledged records (id → `num`, `code` as last acknowledged),
/// how many writes were refused, and every answer that should not have happened.
#[derive(Default)]
struct Tally {
    acked: HashMap<String, (i64, i64)>,
    writes: usize,
    refused: usize,
    failures: Vec<String>,
}

/// Creates `{num, code}` records (sending `code` as a number or as a string, whichever the
/// column takes now) and updates its own earlier ones, until `stop`.
async fn writer(moon: Arc<Moon>, id: i64, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let (mut as_text, mut mine) = (false, Vec::<String>::new());
    let mut i: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let n = 10_000_000 + id * 1_000_000 + i;
        let update = i % 4 == 0 && !mine.is_empty();
        let (path, body) = if update {
            let target = mine[usize::try_from(i).unwrap_or(0) % mine.len()].clone();
            let body = json!({"id": target, "data": {"num": n}});
            ("/big:update", body)
        } else {
            let code = if as_text {
                json!(n.to_string())
            } else {
                json!(n)
            };
            ("/big:create", json!({"data": {"num": n, "code": code}}))
        };
        let (status, answer) = moon.post(path, &body).await;
        tally.writes += 1;
        match (status, answer["code"].as_str()) {
            (200 | 201, _) => {
                let record = answer["data"]["id"].as_str().unwrap_or_default().to_owned();
                if update {
                    if let Some(entry) = tally.acked.get_mut(&record) {
                        entry.0 = n;
                    }
                } else {
                    tally.acked.insert(record.clone(), (n, n));
                    mine.push(record);
                }
            }
            (409, Some("SCHEMA_CHANGED")) => tally.refused += 1,
            // `code` changed type under this writer: send it the other way from now on.
            (400, _) if !update => {
                tally.refused += 1;
                as_text = !as_text;
            }
            _ => tally.failures.push(format!("{path}: {status} {answer}")),
        }
    }
    tally
}

/// `POST /collections:{action}` on `moon`, which must succeed.
async fn change(moon: &Moon, action: &str, body: Json, engine: Engine) {
    let (status, answer) = moon.post(&format!("/collections:{action}"), &body).await;
    assert!(
        matches!(status, 200 | 201),
        "{engine:?} {action} {body}: {status} {answer}"
    );
}

/// The longest any of `moons` took to serve `big` as `check` wants it.
async fn worst_delay(moons: &[&Moon], name: &str, check: impl Fn(u16, &Json) -> bool) -> Duration {
    let mut worst = Duration::ZERO;
    for moon in moons {
        let took = served_within(moon, &format!("/collections:get?name={name}"), &check).await;
        worst = worst.max(took);
    }
    worst
}

async fn seed(a: &Moon, engine: Engine) {
    let schema = json!({"name": "big", "columns": [
        {"name": "num", "type": "integer"},
        {"name": "code", "type": "integer"},
        {"name": "note", "type": "string"}]});
    change(a, "create", schema, engine).await;
    for batch in 0..ROWS / 1000 {
        let rows: Vec<Json> = (0..1000)
            .map(|i| json!({"num": batch * 1000 + i, "code": batch * 1000 + i, "note": "seed"}))
            .collect();
        let (status, answer) = a.post("/big:create?atomic=true", &json!(rows)).await;
        assert_eq!(status, 201, "{engine:?}: {answer}");
    }
}

/// Every acknowledged record, read back through `moon`: the ones missing or different.
async fn lost_or_changed(moon: &Moon, acked: &HashMap<String, (i64, i64)>) -> Vec<String> {
    let ids: Vec<&String> = acked.keys().collect();
    let mut wrong = Vec::new();
    for chunk in ids.chunks(100) {
        let list: Vec<&str> = chunk.iter().map(|s| s.as_str()).collect();
        let path = format!(
            "/big:list?id[in]={}&fields=id,num,code&limit=200&count=none",
            list.join(",")
        );
        let (status, page) = moon.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let found: HashMap<&str, &Json> = page["data"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r["id"].as_str().unwrap_or_default(), r))
                    .collect()
            })
            .unwrap_or_default();
        for id in chunk {
            let (num, code) = acked[*id];
            match found.get(id.as_str()) {
                None => wrong.push(format!("{id}: lost")),
                Some(row) if row["num"] != num || row["code"] != code => {
                    wrong.push(format!("{id}: expected num {num} code {code}, read {row}"));
                }
                Some(_) => {}
            }
        }
    }
    wrong
}

async fn churn_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let (moons, dirs): (Vec<Moon>, Vec<tempfile::TempDir>) =
        common::start_together(&db.url, 3, &[("MOON_MAX_BATCH", "1000")])
            .into_iter()
            .unzip();
    let moons: Vec<Arc<Moon>> = moons.into_iter().map(Arc::new).collect();
    let (a, b, c) = (&moons[0], &moons[1], &moons[2]);
    seed(a, engine).await;
    served_within(b, "/collections:get?name=big", |s, _| s == 200).await;
    served_within(c, "/collections:get?name=big", |s, _| s == 200).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = moons
        .iter()
        .enumerate()
        .flat_map(|(m, moon)| {
            let stop = Arc::clone(&stop);
            (0..WRITERS_PER_INSTANCE)
                .map(move |w| {
                    let id = i64::try_from(m).unwrap_or(0) * WRITERS_PER_INSTANCE + w;
                    tokio::spawn(writer(Arc::clone(moon), id, Arc::clone(&stop)))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A fourth instance starts while A rebuilds the table: its start-up waits for the change
    // instead of "repairing" it half-way, and serves the new column once up.
    let others: [&Moon; 2] = [b, c];
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    let add = {
        let a = Arc::clone(a);
        tokio::spawn(async move {
            // With a conversion: a rebuild (the add alone would go in place, instantly).
            let body = json!({"name": "big", "add_columns": [{"name": "extra", "type": "string"}],
                "modify_columns": [{"name": "code", "type": "string"}]});
            a.post("/collections:update", &body).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let late_path = late_dir.path().to_owned();
    let url = db.url.clone();
    let late = tokio::task::spawn_blocking(move || {
        Moon::start_with(&late_path, Some(&url), &[("MOON_RATE_LIMIT_USER", "0")])
    });
    let (status, answer) = add.await.unwrap_or((0, Json::Null));
    assert_eq!(status, 200, "{engine:?} add during start-up: {answer}");
    let rebuild = started.elapsed();
    let late = late
        .await
        .unwrap_or_else(|e| panic!("{engine:?}: the late instance: {e}"));
    let (status, big) = late.get("/collections:get?name=big").await;
    assert!(
        status == 200 && column(&big, "extra").is_some(),
        "{engine:?}: the late instance serves the change: {big}"
    );
    worst = worst.max(worst_delay(&others, "big", |_, b| column(b, "extra").is_some()).await);

    let steps: [(Json, &str); 3] = [
        (
            json!({"name": "big", "rename_columns": [{"old_name": "extra", "new_name": "remark"}]}),
            "remark",
        ),
        (
            json!({"name": "big", "modify_columns": [{"name": "code", "type": "integer"}]}),
            "integer",
        ),
        (
            json!({"name": "big", "remove_columns": ["remark"]}),
            "removed",
        ),
    ];
    for (body, want) in steps {
        change(a, "update", body, engine).await;
        let check = move |_: u16, b: &Json| match want {
            "remark" => column(b, "remark").is_some(),
            "removed" => column(b, "remark").is_none(),
            kind => column(b, "code").is_some_and(|c| c["type"] == kind),
        };
        worst = worst.max(worst_delay(&others, "big", check).await);
    }

    // B and C change two other collections at the same moment: one after the other in the
    // database, both applied.
    for (moon, name) in [(b, "side_b"), (c, "side_c")] {
        let schema = json!({"name": name, "columns": [{"name": "qty", "type": "integer"}]});
        change(moon, "create", schema, engine).await;
        worst = worst.max(worst_delay(&[a], name, |s, _| s == 200).await);
    }
    let both: Vec<_> = [(b, "side_b"), (c, "side_c")]
        .into_iter()
        .map(|(moon, name)| {
            let moon = Arc::clone(moon);
            tokio::spawn(async move {
                let body =
                    json!({"name": name, "add_columns": [{"name": "more", "type": "string"}]});
                moon.post("/collections:update", &body).await
            })
        })
        .collect();
    for done in both {
        let (status, answer) = done.await.unwrap_or((0, Json::Null));
        assert_eq!(status, 200, "{engine:?}: simultaneous changes: {answer}");
    }
    for name in ["side_b", "side_c"] {
        worst = worst.max(worst_delay(&[a, b, c], name, |_, s| column(s, "more").is_some()).await);
        change(a, "destroy", json!({"name": name}), engine).await;
        worst = worst.max(worst_delay(&others, name, |s, _| s == 404).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let mut all = Tally::default();
    for w in writers {
        let t = w.await.unwrap_or_default();
        all.acked.extend(t.acked);
        all.writes += t.writes;
        all.refused += t.refused;
        all.failures.extend(t.failures);
    }
    assert!(
        all.failures.is_empty(),
        "{engine:?}: {} unexpected answers, first {:?}",
        all.failures.len(),
        all.failures.first()
    );
    let wrong = lost_or_changed(&late, &all.acked).await;
    let (_, count) = a.get("/big:list?limit=1").await;
    eprintln!(
        "{engine:?}: 3 instances + 1 started mid-rebuild; rebuild of {ROWS} rows with writers {rebuild:?}; {} writes on all three: {} acknowledged, {} refused, {} lost or changed; worst delay before every other instance served a change: {worst:?}; total rows {}",
        all.writes,
        all.acked.len(),
        all.refused,
        wrong.len(),
        count["total"]
    );
    assert!(
        wrong.is_empty(),
        "{engine:?}: {:?}",
        &wrong[..wrong.len().min(5)]
    );
    assert!(all.acked.len() > 50, "{engine:?}: the writers wrote");
    assert!(worst <= Duration::from_secs(1), "{engine:?}: {worst:?}");
    drop((late, moons, dirs, late_dir));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schema_changes_under_writers_on_three_postgres_instances() {
    if Engine::configured().contains(&Engine::Postgres) {
        churn_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schema_changes_under_writers_on_three_mysql_instances() {
    if Engine::configured().contains(&Engine::MySql) {
        churn_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run");
    }
}

/// Two MariaDB instances over one database, the first armed to abort at `failpoint`, a
/// collection `kept` with one record; `change` is sent to the doomed one, which dies before
/// answering, and the dead instance's mark then refuses writes through the other.
struct CutShort {
    db: TestDatabase,
    doomed: Moon,
    b: Moon,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn cut_short(failpoint: &str, change_body: &Json) -> Option<CutShort> {
    if !Engine::configured().contains(&Engine::MySql) {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run");
        return None;
    }
    let engine = Engine::MySql;
    let db = TestDatabase::create(engine).await;
    let dirs = (
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
    );
    let quiet = ("MOON_RATE_LIMIT_USER", "0");
    let doomed = Moon::start_with(
        dirs.0.path(),
        Some(&db.url),
        &[quiet, ("MOON_FAILPOINT", failpoint)],
    );
    let b = Moon::start_with(dirs.1.path(), Some(&db.url), &[quiet]);
    let schema = json!({"name": "kept", "columns": [{"name": "qty", "type": "integer"}]});
    change(&b, "create", schema, engine).await;
    assert_eq!(
        b.post("/kept:create", &json!({"data": {"qty": 1}})).await.0,
        201
    );
    served_within(&doomed, "/collections:get?name=kept", |s, _| s == 200).await;
    let cut = doomed
        .http
        .post(format!("{}/collections:update", doomed.base))
        .bearer_auth(&doomed.token)
        .json(change_body)
        .send()
        .await;
    assert!(cut.is_err(), "the instance died before answering");
    let (status, answer) = b.post("/kept:create", &json!({"data": {"qty": 2}})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("SCHEMA_CHANGED")),
        "{answer}"
    );
    Some(CutShort {
        db,
        doomed,
        b,
        _dirs: dirs,
    })
}

/// MariaDB: an instance killed in the middle of a table rebuild leaves its change marked; the
/// next change through a running instance finds it orphaned (it holds the change lock), undoes
/// it, and goes ahead, and writes through the running instance work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_cut_short_by_a_crash_is_recovered_by_the_next_one_on_another_instance() {
    // A unique column cannot be added in place: this change rebuilds the table.
    let add = json!({"name": "kept", "add_columns": [{"name": "note", "type": "string", "unique": true}]});
    let Some(CutShort {
        db,
        doomed,
        b,
        _dirs,
    }) = cut_short("mysql_before_swap", &add).await
    else {
        return;
    };
    let engine = Engine::MySql;
    change(&b, "update", add, engine).await;
    let (status, answer) = b
        .post(
            "/kept:create",
            &json!({"data": {"qty": 3, "note": "after"}}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (_, listed) = b.get("/kept:list?sort=qty").await;
    let qty: Vec<&Json> = listed["data"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["qty"]).collect())
        .unwrap_or_default();
    assert_eq!(qty, [&json!(1), &json!(3)], "{listed}");
    drop((doomed, b));
    db.drop_database().await;
}

/// MariaDB: an instance killed right after the one `ALTER TABLE` of an in-place change (its
/// metadata not written) leaves the table in the new shape; the next change through a
/// running instance finds the intent, sees the table's columns are the intent's, and
/// finishes it: the rename holds and its data with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_place_change_cut_short_by_a_crash_is_finished_by_the_next_one() {
    let rename =
        json!({"name": "kept", "rename_columns": [{"old_name": "qty", "new_name": "amount"}]});
    let Some(CutShort {
        db,
        doomed,
        b,
        _dirs,
    }) = cut_short("mysql_after_alter", &rename).await
    else {
        return;
    };
    let engine = Engine::MySql;
    // The next change recovers the crashed one first; it was planned against the schema
    // before the rename, so it is refused and b learns the finished schema.
    let add = json!({"name": "kept", "add_columns": [{"name": "note", "type": "string"}]});
    let (status, answer) = b.post("/collections:update", &add).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("SCHEMA_CHANGED")),
        "{answer}"
    );
    served_within(&b, "/collections:get?name=kept", |_, body| {
        column(body, "amount").is_some() && column(body, "qty").is_none()
    })
    .await;
    change(&b, "update", add, engine).await;
    let (status, answer) = b
        .post(
            "/kept:create",
            &json!({"data": {"amount": 3, "note": "after"}}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (_, listed) = b.get("/kept:list?sort=amount").await;
    let amounts: Vec<&Json> = listed["data"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["amount"]).collect())
        .unwrap_or_default();
    assert_eq!(amounts, [&json!(1), &json!(3)], "{listed}");
    drop((doomed, b));
    db.drop_database().await;
}
