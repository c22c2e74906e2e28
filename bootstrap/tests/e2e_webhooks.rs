//! End to end: webhook events survive kill -9 and are applied exactly once.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Moon;
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
