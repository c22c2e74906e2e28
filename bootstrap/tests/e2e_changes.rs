//! End to end, the change feed (API.md §10) on every engine: a subscriber that drops its
//! connection in the middle of 1,000 writes made through two instances (one on SQLite) and
//! resumes with `Last-Event-ID` on the other receives exactly those writes, in commit order,
//! each as acknowledged; filters restrict what is sent; a position past the retention gets
//! `reset`; a logged-out token's stream ends.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Moon;
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// One Server-Sent Event.
#[derive(Debug, Clone)]
struct Event {
    id: u64,
    name: String,
    data: Json,
}

/// An open `:changes` stream, parsed as it arrives.
struct Stream {
    res: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(moon: &Moon, query: &str, last_event_id: Option<u64>, token: &str) -> Self {
        let mut request = moon
            .http
            .get(format!("{}/orders:changes{query}", moon.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let res = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        assert_eq!(res.status().as_u16(), 200, "subscribe {query}");
        let media = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(media, "text/event-stream");
        Self {
            res,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended or `wait` passed without one.
    async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut name, mut data) = (None, String::new(), Json::Null);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        v.trim().clone_into(&mut name);
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = serde_json::from_str(v.trim())
                            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {v}"));
                    }
                }
                match id {
                    Some(id) => return Some(Event { id, name, data }),
                    None => continue, // a heartbeat comment
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}

/// What the writers were told: every acknowledged change as (event, record id, version),
/// and the record bodies acknowledged by creates and updates.
#[derive(Default)]
struct Acknowledged {
    changes: Vec<(String, String, i64)>,
    records: HashMap<(String, i64), Json>,
}

fn version_of(res: &reqwest::Response) -> i64 {
    res.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.trim_matches('"').split_once('.'))
        .and_then(|(v, _)| v.parse().ok())
        .unwrap_or_else(|| panic!("no ETag with a version"))
}

async fn send(moon: &Moon, path: &str, body: &Json) -> reqwest::Response {
    moon.http
        .post(format!("{}{path}", moon.base))
        .bearer_auth(&moon.token)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// 500 acknowledged record changes through `moon`: 200 creates, 100 updates, 20 destroys
/// and 36 atomic batches of 5 creates, four writers at once.
async fn write_500(moon: Arc<Moon>, tag: &'static str, seen: Arc<Mutex<Acknowledged>>) {
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (moon, seen) = (Arc::clone(&moon), Arc::clone(&seen));
        writers.push(tokio::spawn(async move {
            let note = |event: &str, id: &str, version: i64, record: Option<Json>| {
                let mut seen = seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                seen.changes
                    .push((event.to_owned(), id.to_owned(), version));
                if let Some(record) = record {
                    seen.records.insert((id.to_owned(), version), record);
                }
            };
            for n in 0..50 {
                let body = json!({"data": {"title": format!("{tag}-{writer}-{n}"), "qty": n}});
                let res = send(&moon, "/orders:create", &body).await;
                assert_eq!(res.status().as_u16(), 201);
                let record: Json = res.json().await.unwrap_or_default();
                let id = record["data"]["id"].as_str().unwrap_or_default().to_owned();
                note("create", &id, 1, Some(record["data"].clone()));
                if n % 2 == 0 {
                    let body = json!({"id": id, "data": {"qty": n + 1000}});
                    let res = send(&moon, "/orders:update", &body).await;
                    assert_eq!(res.status().as_u16(), 200);
                    let version = version_of(&res);
                    let record: Json = res.json().await.unwrap_or_default();
                    note("update", &id, version, Some(record["data"].clone()));
                    if n % 10 == 0 {
                        let res = send(&moon, "/orders:destroy", &json!({"id": id})).await;
                        assert_eq!(res.status().as_u16(), 200);
                        note("destroy", &id, version, None);
                    }
                }
            }
            for b in 0..9 {
                let items: Vec<Json> = (0..5)
                    .map(|i| json!({"title": format!("{tag}-{writer}-batch-{b}-{i}"), "qty": i}))
                    .collect();
                let res = send(&moon, "/orders:create?atomic=true", &json!({"data": items})).await;
                assert_eq!(res.status().as_u16(), 201);
                let created: Json = res.json().await.unwrap_or_default();
                for record in created["data"].as_array().into_iter().flatten() {
                    let id = record["id"].as_str().unwrap_or_default();
                    note("create", id, 1, Some(record.clone()));
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap_or_else(|e| panic!("writer: {e}"));
    }
}

async fn create_orders(moon: &Moon) {
    let schema = json!({"name": "orders", "columns": [
        {"name": "title", "type": "string"},
        {"name": "qty", "type": "integer", "nullable": true}
    ]});
    let (status, body) = moon.post("/collections:create", &schema).await;
    assert_eq!(status, 201, "{body}");
}

/// Reads record events from `stream` until `want` in all (or 60 s), checking order.
async fn collect(stream: &mut Stream, into: &mut Vec<Event>, want: usize) {
    let started = Instant::now();
    while into.iter().filter(|e| e.name != "schema").count() < want {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {} events",
            into.len()
        );
        let Some(event) = stream.next(Duration::from_secs(10)).await else {
            panic!("the stream ended after {} events", into.len());
        };
        if let Some(last) = into.last() {
            assert!(event.id > last.id, "{} after {}", event.id, last.id);
        }
        into.push(event);
    }
}

async fn feed_survives_a_reconnect_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let instances = if engine == Engine::Sqlite { 1 } else { 2 };
    let (moons, _dirs): (Vec<Arc<Moon>>, Vec<tempfile::TempDir>) =
        common::start_together(&db.url, instances, &[])
            .into_iter()
            .map(|(m, d)| (Arc::new(m), d))
            .unzip();
    let (a, b) = (&moons[0], &moons[moons.len() - 1]);
    create_orders(a).await;
    common::served_within(b, "/orders:schema", |s, _| s == 200).await;

    let mut stream = Stream::open(a, "?after=0", None, &a.token).await;
    let seen = Arc::new(Mutex::new(Acknowledged::default()));
    let writes: Vec<_> = [(a, "a"), (b, "b")]
        .into_iter()
        .map(|(m, tag)| tokio::spawn(write_500(Arc::clone(m), tag, Arc::clone(&seen))))
        .collect();
    let mut events = Vec::new();
    collect(&mut stream, &mut events, 300).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let last = events.last().map_or(0, |e| e.id);
    // Resumed on the other instance (on SQLite, the same one).
    let mut stream = Stream::open(b, "", Some(last), &b.token).await;
    for w in writes {
        w.await.unwrap_or_else(|e| panic!("writes: {e}"));
    }
    collect(&mut stream, &mut events, 1000).await;
    // Nothing more than the 1,000 follows.
    let extra = stream.next(Duration::from_millis(500)).await;
    assert!(extra.is_none(), "{engine:?}: an extra event {extra:?}");

    let seen = std::mem::take(
        &mut *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    assert_eq!(seen.changes.len(), 1000, "{engine:?}");
    let records: Vec<&Event> = events.iter().filter(|e| e.name != "schema").collect();
    assert_eq!(records.len(), 1000, "{engine:?}");
    assert_eq!(
        events[0].name, "schema",
        "{engine:?}: the collection's creation first"
    );
    let received: HashSet<(String, String, i64)> = records
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.data["id"].as_str().unwrap_or_default().to_owned(),
                e.data["version"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let expected: HashSet<(String, String, i64)> = seen.changes.iter().cloned().collect();
    assert_eq!(received.len(), 1000, "{engine:?}: a change twice");
    assert_eq!(received, expected, "{engine:?}");
    // Each record's changes in commit order, each body exactly as acknowledged.
    let mut stage: HashMap<String, &str> = HashMap::new();
    for e in &records {
        let id = e.data["id"].as_str().unwrap_or_default();
        let before = stage.insert(id.to_owned(), e.name.as_str());
        let in_order = matches!(
            (before, e.name.as_str()),
            (None, "create") | (Some("create"), "update") | (Some("update"), "destroy")
        );
        assert!(in_order, "{engine:?}: {id}: {} after {before:?}", e.name);
        assert_eq!(e.data["collection"], "orders");
        if e.name == "destroy" {
            assert_eq!(e.data["record"], Json::Null);
        } else {
            let version = e.data["version"].as_i64().unwrap_or(-1);
            let acknowledged = seen.records.get(&(id.to_owned(), version));
            assert_eq!(
                Some(&e.data["record"]),
                acknowledged,
                "{engine:?}: {id} v{version}"
            );
        }
    }
    drop(stream);
    drop(moons);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_feed_gets_exactly_the_1000_writes_in_order_on_every_engine() {
    for engine in Engine::configured() {
        feed_survives_a_reconnect_on(engine).await;
    }
}

/// Filters over HTTP, the credential rules, and a reset once the retention swept a position.
async fn feed_rules_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = [
        ("MOON_RATE_LIMIT_USER", "0"),
        ("MOON_CHANGES_RETENTION", "2s"),
    ];
    let moon = Moon::start_with(dir.path(), Some(&db.url), &env);
    create_orders(&moon).await;

    // No credential: 401 before any stream; an unknown collection: 404; a bad position: 400.
    let url = format!("{}/orders:changes", moon.base);
    let anonymous = moon
        .http
        .get(&url)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(anonymous.ok(), Some(401), "{engine:?}");
    let (status, body) = moon.get("/nope:changes").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("COLLECTION_NOT_FOUND"))
    );
    let (status, _) = moon.get("/orders:changes?after=soon").await;
    assert_eq!(status, 400, "{engine:?}");
    let (status, _) = moon.get("/orders:changes?sort=qty").await;
    assert_eq!(status, 400, "{engine:?}");

    // A user's token in the URL (as a browser's EventSource sends it), with a filter.
    let user = json!({"username": "ada", "password": "Lovelace1815", "role": "user"});
    assert_eq!(moon.post("/users:create", &user).await.0, 201);
    let pair: Json = moon
        .http
        .post(format!("{}/auth:login", moon.base))
        .json(&json!({"username": "ada", "password": "Lovelace1815"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let token = pair["access_token"].as_str().unwrap_or_default().to_owned();
    let query = format!("?access_token={token}&qty[gte]=5");
    let mut stream = Stream::open(&moon, &query, None, "").await;
    for qty in [1, 7, 3, 9] {
        let body = json!({"data": {"title": format!("q{qty}"), "qty": qty}});
        assert_eq!(
            send(&moon, "/orders:create", &body).await.status().as_u16(),
            201
        );
    }
    let mut got = Vec::new();
    while got.len() < 2 {
        let event = stream
            .next(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{engine:?}: filtered events missing"));
        got.push(event.data["record"]["qty"].as_i64().unwrap_or(-1));
    }
    assert_eq!(got, [7, 9], "{engine:?}");
    // Logging out ends the stream within a couple of seconds.
    let out = json!({"refresh_token": pair["refresh_token"]});
    let res = moon
        .http
        .post(format!("{}/auth:logout", moon.base))
        .bearer_auth(&token)
        .json(&out)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(res.ok(), Some(200), "{engine:?}");
    let started = Instant::now();
    while stream.next(Duration::from_secs(5)).await.is_some() {}
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{engine:?}: stream kept going"
    );

    // Past the retention (2 s, swept every second), an old position is a reset.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let body = json!({"data": {"title": "late", "qty": 1}});
    assert_eq!(
        send(&moon, "/orders:create", &body).await.status().as_u16(),
        201
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut stream = Stream::open(&moon, "?after=1", None, &moon.token).await;
    let first = stream.next(Duration::from_secs(5)).await;
    assert_eq!(
        first.as_ref().map(|e| e.name.as_str()),
        Some("reset"),
        "{engine:?}: {first:?}"
    );
    drop(stream);
    drop(moon);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_filter_check_their_credential_and_reset_past_the_retention_on_every_engine() {
    for engine in Engine::configured() {
        feed_rules_on(engine).await;
    }
}
