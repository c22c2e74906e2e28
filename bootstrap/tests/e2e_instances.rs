//! End to end, several Moon processes over one PostgreSQL or MariaDB database: three started
//! at the same moment on an empty database all come up with one admin and one JWT secret,
//! every schema change made through one is served by the others within a second, and a
//! logout, a password change and a key rotation on one take effect on the others as fast, and
//! login failures made on some lock the others too.

mod common;

use std::time::{Duration, Instant};

use common::{Moon, column, served_within};
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// `GET` (or `POST` with `post`) `path` on `moon` with `bearer`.
async fn call(moon: &Moon, post: Option<&Json>, path: &str, bearer: &str) -> (u16, Json) {
    let url = format!("{}{path}", moon.base);
    let request = match post {
        Some(body) => moon.http.post(url).json(body),
        None => moon.http.get(url),
    };
    let res = request
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    common::read(res).await
}

/// Waits until `bearer` is refused (401) by `moon`; the time it took.
async fn refused_within(moon: &Moon, bearer: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _) = call(moon, None, "/collections:list", bearer).await;
        if status == 401 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn login(moon: &Moon, username: &str, password: &str) -> Json {
    let body = json!({"username": username, "password": password});
    let (status, pair) = call(moon, Some(&body), "/auth:login", "").await;
    assert_eq!(status, 200, "{pair}");
    pair
}

fn access(pair: &Json) -> String {
    pair["access_token"].as_str().unwrap_or_default().to_owned()
}

/// A logout, a password change and a key rotation on `a`; the worst delay before `b`
/// refused what they ended.
async fn auth_changes_travel(a: &Moon, b: &Moon, engine: Engine) -> Duration {
    let ada = json!({"username": "ada", "password": "Lovelace1815", "role": "user"});
    assert_eq!(a.post("/users:create", &ada).await.0, 201, "{engine:?}");
    let mut worst = Duration::ZERO;
    let pair = login(a, "ada", "Lovelace1815").await;
    let token = access(&pair);
    assert_eq!(
        call(b, None, "/collections:list", &token).await.0,
        200,
        "{engine:?}"
    );
    let out = json!({"refresh_token": pair["refresh_token"]});
    assert_eq!(
        call(a, Some(&out), "/auth:logout", &token).await.0,
        200,
        "{engine:?}"
    );
    worst = worst.max(refused_within(b, &token).await);

    let other = access(&login(a, "ada", "Lovelace1815").await);
    let mine = access(&login(a, "ada", "Lovelace1815").await);
    assert_eq!(
        call(b, None, "/collections:list", &other).await.0,
        200,
        "{engine:?}"
    );
    let change = json!({"old_password": "Lovelace1815", "password": "Babbage1822"});
    let (status, answer) = call(a, Some(&change), "/auth:me", &mine).await;
    assert_eq!(status, 200, "{engine:?}: {answer}");
    worst = worst.max(refused_within(b, &other).await);

    let key = json!({"name": "importer", "role": "user"});
    let (status, made) = a.post("/apikeys:create", &key).await;
    assert_eq!(status, 201, "{engine:?}: {made}");
    let secret = made["key"].as_str().unwrap_or_default().to_owned();
    let id = made["apikey"]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        call(b, None, "/collections:list", &secret).await.0,
        200,
        "{engine:?}"
    );
    let rotate = json!({"action": "rotate"});
    let (status, rotated) = a.post(&format!("/apikeys:update?id={id}"), &rotate).await;
    assert_eq!(status, 200, "{engine:?}: {rotated}");
    worst = worst.max(refused_within(b, &secret).await);
    worst
}

async fn instances_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let moons = common::start_together(&db.url, 3, &[]);
    let (a, others) = (&moons[0].0, &moons[1..]);

    // One admin, one JWT secret: a token from one instance works on every other.
    let (status, users) = a.get("/users:list").await;
    assert_eq!(status, 200, "{engine:?}: {users}");
    let admins = users["users"]
        .as_array()
        .map(|u| u.iter().filter(|u| u["role"] == "admin").count());
    assert_eq!(admins, Some(1), "{engine:?}: {users}");
    for (other, _) in others {
        let res = other
            .http
            .get(format!("{}/auth:me", other.base))
            .bearer_auth(&a.token)
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(
            res.ok(),
            Some(200),
            "{engine:?}: A's token on another instance"
        );
    }

    // Every schema change through A is served by B and C within a second.
    let mut worst = Duration::ZERO;
    let steps: Vec<(Json, &str)> = vec![
        (
            json!({"create": {"name": "orders", "columns": [{"name": "qty", "type": "integer"}]}}),
            "create",
        ),
        (
            json!({"update": {"name": "orders", "add_columns": [{"name": "note", "type": "string"}]}}),
            "add",
        ),
        (
            json!({"update": {"name": "orders", "rename_columns": [{"old_name": "note", "new_name": "remark"}]}}),
            "rename",
        ),
        (
            json!({"update": {"name": "orders", "modify_columns": [{"name": "qty", "type": "string"}]}}),
            "type change",
        ),
        (json!({"destroy": {"name": "orders"}}), "destroy"),
    ];
    for (step, what) in steps {
        let (path, body) = match step.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => (format!("/collections:{k}"), v.clone()),
            None => unreachable!(),
        };
        let (status, answer) = a.post(&path, &body).await;
        assert!(matches!(status, 200 | 201), "{engine:?} {what}: {answer}");
        for (other, _) in others {
            let took = served_within(other, "/collections:get?name=orders", |s, b| match what {
                "create" => s == 200,
                "add" => column(b, "note").is_some(),
                "rename" => column(b, "remark").is_some() && column(b, "note").is_none(),
                "type change" => column(b, "qty").is_some_and(|c| c["type"] == "string"),
                _ => s == 404,
            })
            .await;
            worst = worst.max(took);
        }
    }
    eprintln!(
        "{engine:?}: 3 instances; worst delay before another instance served a change: {worst:?}"
    );
    assert!(worst <= Duration::from_secs(1), "{engine:?}: {worst:?}");
    // Racing another instance's change: refused precisely, never a 500.
    let b = &others[0].0;
    for round in 0..5 {
        let name = format!("race_{round}");
        let schema = json!({"name": name, "columns": [{"name": "qty", "type": "integer"}]});
        assert_eq!(a.post("/collections:create", &schema).await.0, 201);
        let (status, body) = b.post("/collections:create", &schema).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("DUPLICATE_COLLECTION")),
            "{engine:?}: {body}"
        );
        served_within(b, &format!("/collections:get?name={name}"), |s, _| s == 200).await;
        let rename =
            json!({"name": name, "rename_columns": [{"old_name": "qty", "new_name": "amount"}]});
        assert_eq!(a.post("/collections:update", &rename).await.0, 200);
        let (status, body) = b
            .post(&format!("/{name}:create"), &json!({"data": {"qty": 1}}))
            .await;
        assert!(
            matches!(
                (status, body["code"].as_str()),
                (400, Some("UNKNOWN_FIELD")) | (409, Some("SCHEMA_CHANGED"))
            ),
            "{engine:?} round {round}: {status} {body}"
        );
    }
    // Login lockouts are counted in the database: failures spread over A and C lock B too.
    for (i, moon) in [a, &others[1].0, a, &others[1].0, a]
        .into_iter()
        .enumerate()
    {
        let body = json!({"username": "admin", "password": "wrong"});
        let (status, _) = call(moon, Some(&body), "/auth:login", "").await;
        assert_eq!(status, 401, "{engine:?}: failure {i}");
    }
    let body = json!({"username": "admin", "password": common::ADMIN.1});
    let (status, answer) = call(&others[0].0, Some(&body), "/auth:login", "").await;
    assert_eq!(status, 429, "{engine:?}: locked on B as well: {answer}");
    let auth = auth_changes_travel(a, &others[0].0, engine).await;
    eprintln!(
        "{engine:?}: worst delay before a logout, password change or key rotation on one instance held on another: {auth:?}"
    );
    assert!(auth <= Duration::from_secs(1), "{engine:?}: {auth:?}");
    drop(moons);
    db.drop_database().await;
}

/// An instance that has not heard of a type change writes nothing against the old type: its
/// writes are `409 SCHEMA_CHANGED` (the database checks the schema version in the write).
async fn stale_writes_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let dir_a = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir_b = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let quiet = [("MOON_RATE_LIMIT_USER", "0")];
    let a = Moon::start_with(dir_a.path(), Some(&db.url), &quiet);
    let schema = json!({"name": "items", "columns": [{"name": "cnt", "type": "integer"}, {"name": "price", "type": "decimal"}]});
    assert_eq!(a.post("/collections:create", &schema).await.0, 201);
    let (_, made) = a
        .post(
            "/items:create",
            &json!({"data": {"cnt": 1, "price": "1.00"}}),
        )
        .await;
    let id = made["data"]["id"].as_str().unwrap_or_default().to_owned();
    let twin = json!({"name": "twin", "columns": [{"name": "cnt", "type": "integer"}]});
    assert_eq!(a.post("/collections:create", &twin).await.0, 201);
    // B loads the schema at start, then does not look again for a minute.
    let b = Moon::start_with(
        dir_b.path(),
        Some(&db.url),
        &[
            ("MOON_RATE_LIMIT_USER", "0"),
            ("MOON_INSTANCE_POLL_MS", "60000"),
            ("MOON_INSTANCE_LISTEN", "false"),
        ],
    );
    let change = json!({"name": "items", "modify_columns": [
        {"name": "cnt", "type": "boolean"}, {"name": "price", "type": "integer"}]});
    let (status, answer) = a.post("/collections:update", &change).await;
    assert_eq!(status, 200, "{engine:?}: {answer}");
    let writes = [
        (
            "/items:create",
            json!({"data": {"cnt": 7, "price": "1.50"}}),
        ),
        (
            "/items:update",
            json!({"id": id, "data": {"price": "2.50"}}),
        ),
        ("/items:destroy", json!({"id": id})),
        (
            "/items:create?atomic=true",
            json!([{"cnt": 7, "price": "1.50"}]),
        ),
    ];
    for (path, body) in writes {
        let (status, answer) = b.post(path, &body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("SCHEMA_CHANGED")),
            "{engine:?} {path}: {answer}"
        );
    }
    // A namesake made after a destroy is not the collection B knows: its version is new.
    assert_eq!(
        a.post("/collections:destroy", &json!({"name": "twin"}))
            .await
            .0,
        200
    );
    let twin = json!({"name": "twin", "columns": [{"name": "cnt", "type": "boolean"}]});
    assert_eq!(a.post("/collections:create", &twin).await.0, 201);
    let (status, answer) = b.post("/twin:create", &json!({"data": {"cnt": 7}})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("SCHEMA_CHANGED")),
        "{engine:?} write to a recreated namesake: {answer}"
    );
    let (_, listed) = a.get("/items:list").await;
    assert_eq!(
        listed["data"].as_array().map(Vec::len),
        Some(1),
        "{engine:?}: nothing written: {listed}"
    );
    assert_eq!(
        listed["data"][0]["price"], 1,
        "{engine:?}: the row as converted: {listed}"
    );
    assert_eq!(listed["data"][0]["cnt"], true, "{engine:?}: {listed}");
    drop((a, b));
    db.drop_database().await;
}

/// Writers on B while A rebuilds a 10,000-row table: every write is acknowledged and kept,
/// or refused with `409 SCHEMA_CHANGED`; none is lost, none is a 5xx.
async fn writes_during_a_rebuild_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let (dir_a, dir_b) = (tempfile::tempdir(), tempfile::tempdir());
    let (dir_a, dir_b) = (
        dir_a.unwrap_or_else(|e| panic!("{e}")),
        dir_b.unwrap_or_else(|e| panic!("{e}")),
    );
    let quiet = [("MOON_RATE_LIMIT_USER", "0")];
    let a = Moon::start_with(dir_a.path(), Some(&db.url), &quiet);
    let b = std::sync::Arc::new(Moon::start_with(dir_b.path(), Some(&db.url), &quiet));
    // `spare`, which no writer writes, is converted: the change rebuilds the table.
    let schema = json!({"name": "big", "columns": [{"name": "num", "type": "integer"},
        {"name": "note", "type": "string"}, {"name": "spare", "type": "integer"}]});
    assert_eq!(a.post("/collections:create", &schema).await.0, 201);
    for batch in 0..200 {
        let rows: Vec<Json> = (0..50)
            .map(|i| json!({"num": batch * 50 + i, "note": "seed"}))
            .collect();
        let (status, answer) = a.post("/big:create?atomic=true", &json!(rows)).await;
        assert_eq!(status, 201, "{engine:?}: {answer}");
    }
    served_within(&b, "/collections:get?name=big", |s, _| s == 200).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (b, stop) = (std::sync::Arc::clone(&b), std::sync::Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut acked, mut refused, mut failed) = (Vec::new(), 0, Vec::new());
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let body = json!({"data": {"num": 1_000_000 + w * 100_000 + i}});
                    let (status, answer) = b.post("/big:create", &body).await;
                    match (status, answer["code"].as_str()) {
                        (201, _) => {
                            acked.push(answer["data"]["id"].as_str().unwrap_or_default().to_owned())
                        }
                        (409, Some("SCHEMA_CHANGED")) | (400, _) => refused += 1,
                        _ => failed.push(format!("{status} {answer}")),
                    }
                }
                (acked, refused, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let add = json!({"name": "big", "add_columns": [{"name": "extra", "type": "string"}],
        "modify_columns": [{"name": "spare", "type": "string"}]});
    let started = Instant::now();
    let (status, answer) = a.post("/collections:update", &add).await;
    let rebuild = started.elapsed();
    assert_eq!(status, 200, "{engine:?}: {answer}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut acked, mut refused, mut failed) = (Vec::new(), 0, Vec::new());
    for w in writers {
        let (a_, r, f) = w.await.unwrap_or_default();
        acked.extend(a_);
        refused += r;
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "{engine:?}: {} failures, first {:?}",
        failed.len(),
        failed.first()
    );
    let mut missing = 0;
    for chunk in acked.chunks(100) {
        let (status, page) = a
            .get(&format!(
                "/big:list?id[in]={}&fields=id&limit=200&count=none",
                chunk.join(",")
            ))
            .await;
        assert_eq!(status, 200, "{engine:?}: {page}");
        missing += chunk.len() - page["data"].as_array().map_or(0, Vec::len);
    }
    eprintln!(
        "{engine:?}: rebuild of 10,000 rows took {rebuild:?}; writers on another instance: {} acknowledged, {refused} refused, {missing} lost",
        acked.len()
    );
    assert_eq!(missing, 0, "{engine:?}: acknowledged writes lost");
    assert!(!acked.is_empty(), "{engine:?}: the writers wrote");
    drop(a);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_on_another_instance_during_a_rebuild_are_never_lost() {
    for engine in [Engine::Postgres, Engine::MySql] {
        if Engine::configured().contains(&engine) {
            writes_during_a_rebuild_on(engine).await;
        } else {
            eprintln!("{engine:?} not configured: not run");
        }
    }
}

/// PostgreSQL tells other instances at once (`LISTEN/NOTIFY`): with polling slowed to a
/// minute, B still serves A's schema change and honours A's logout within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_hear_of_changes_through_notify() {
    if !Engine::configured().contains(&Engine::Postgres) {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run");
        return;
    }
    let db = TestDatabase::create(Engine::Postgres).await;
    let (dir_a, dir_b) = (tempfile::tempdir(), tempfile::tempdir());
    let (dir_a, dir_b) = (
        dir_a.unwrap_or_else(|e| panic!("{e}")),
        dir_b.unwrap_or_else(|e| panic!("{e}")),
    );
    let slow = [
        ("MOON_RATE_LIMIT_USER", "0"),
        ("MOON_INSTANCE_POLL_MS", "60000"),
    ];
    let a = Moon::start_with(dir_a.path(), Some(&db.url), &slow);
    let b = Moon::start_with(dir_b.path(), Some(&db.url), &slow);
    // Let B's listener subscribe (it starts with the process, before it listens on HTTP).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let schema = json!({"name": "heard", "columns": [{"name": "qty", "type": "integer"}]});
    assert_eq!(a.post("/collections:create", &schema).await.0, 201);
    let took = served_within(&b, "/collections:get?name=heard", |s, _| s == 200).await;
    let pair = login(&a, "admin", common::ADMIN.1).await;
    let token = access(&pair);
    assert_eq!(call(&b, None, "/collections:list", &token).await.0, 200);
    let out = json!({"refresh_token": pair["refresh_token"]});
    assert_eq!(call(&a, Some(&out), "/auth:logout", &token).await.0, 200);
    let ended = refused_within(&b, &token).await;
    eprintln!("Postgres NOTIFY: schema change served after {took:?}, logout held after {ended:?}");
    assert!(took < Duration::from_secs(1) && ended < Duration::from_secs(1));
    drop((a, b));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_instance_writes_nothing_against_an_old_schema() {
    for engine in [Engine::Postgres, Engine::MySql] {
        if Engine::configured().contains(&engine) {
            stale_writes_on(engine).await;
        } else {
            eprintln!("{engine:?} not configured: not run");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_postgres_instances_start_together_and_agree_on_the_schema() {
    if Engine::configured().contains(&Engine::Postgres) {
        instances_on(Engine::Postgres).await;
    } else {
        eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mysql_instances_start_together_and_agree_on_the_schema() {
    if Engine::configured().contains(&Engine::MySql) {
        instances_on(Engine::MySql).await;
    } else {
        eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run");
    }
}
