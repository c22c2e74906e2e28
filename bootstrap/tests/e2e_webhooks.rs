//! End to end: webhook events survive kill -9 and are applied exactly once, by one instance
//! or shared by three over one database.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::Moon;
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::json;

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

/// POSTs event `i` to `moon`'s `/hooks/shop`; the status, or `None` when `moon` is gone.
async fn deliver(moon: &Moon, i: usize) -> Option<u16> {
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
        .ok()?;
    Some(res.status().as_u16())
}

/// Delivers event `i` to instance `first` and again to the next one (as senders retry),
/// moving on to the next instance whenever one is gone; the statuses.
async fn deliver_twice(moons: &[Arc<Moon>], first: usize, i: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut at = first;
    while statuses.len() < 2 && at < first + 2 * moons.len() {
        if let Some(status) = deliver(&moons[at % moons.len()], i).await {
            statuses.push(status);
        }
        at += 1;
    }
    statuses
}

/// Three instances over one database share the events: each delivered to one of them and
/// again to another, all three's workers claiming from one table, one instance killed with
/// -9 half-way while deliveries go on; every event still becomes exactly one record.
async fn shared_events_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let (moons, _dirs): (Vec<Moon>, Vec<tempfile::TempDir>) =
        common::start_together(&db.url, 3, &[]).into_iter().unzip();
    let moons: Vec<Arc<Moon>> = moons.into_iter().map(Arc::new).collect();
    let payments = json!({"name": "payments", "columns": [{"name": "amount", "type": "integer", "nullable": false}, {"name": "ref_no", "type": "string", "unique": true}]});
    assert_eq!(moons[0].post("/collections:create", &payments).await.0, 201);
    let hook = json!({"name": "shop", "collection": "payments", "secret": "s3cret", "event_id": "/id",
        "signature": {"scheme": "github"}, "mapping": {"amount": "/amount", "ref_no": "/id"}});
    assert_eq!(moons[0].post("/webhooks:create", &hook).await.0, 201);
    for moon in &moons[1..] {
        common::served_within(moon, "/collections:get?name=payments", |s, _| s == 200).await;
    }
    let total = 400;
    let (mut accepted, mut duplicates) = (0, 0);
    for chunk in (0..total).step_by(20) {
        if chunk == total / 2 {
            let pid = moons[2].child.id().to_string();
            let killed = Command::new("kill").args(["-9", &pid]).status();
            assert!(killed.is_ok_and(|s| s.success()));
        }
        let sends: Vec<_> = (chunk..chunk + 20)
            .map(|i| {
                let moons = moons.clone();
                tokio::spawn(async move { deliver_twice(&moons, i % 3, i).await })
            })
            .collect();
        for send in sends {
            let statuses = send.await.unwrap_or_default();
            accepted += statuses.iter().filter(|s| **s == 202).count();
            duplicates += statuses.iter().filter(|s| **s == 200).count();
        }
    }
    assert_eq!((accepted, duplicates), (total, total), "{engine:?}");
    let started = std::time::Instant::now();
    let mut done = 0;
    while started.elapsed() < Duration::from_secs(40) {
        let (_, count) = moons[0].get("/payments:count").await;
        done = count["value"].as_i64().unwrap_or(0);
        if done >= i64::try_from(total).unwrap_or(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "{engine:?}: {total} events delivered twice over 3 instances, one killed half-way: all applied {:?} after the last delivery",
        started.elapsed()
    );
    assert_eq!(done, 400, "{engine:?}: every event became one record");
    for status in ["pending", "processing", "failed", "dead"] {
        let (_, left) = moons[1]
            .get(&format!("/webhooks:events?name=shop&status={status}"))
            .await;
        assert_eq!(left["events"], json!([]), "{engine:?}: {status}");
    }
    drop(moons);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_apply_each_event_exactly_once() {
    for engine in [Engine::Postgres, Engine::MySql] {
        if Engine::configured().contains(&engine) {
            shared_events_on(engine).await;
        } else {
            eprintln!("{engine:?} not configured: not run");
        }
    }
}
