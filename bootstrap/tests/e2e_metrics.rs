//! End to end: `GET /metrics` parses with Prometheus' own Python client (`prometheus_client`,
//! PyPI), its counters and histograms move with the requests sent, on every engine; it is
//! for admins unless `metrics_public` opens it.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::Moon;
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};

/// Turns the exposition into `[name, labels, value]` samples with `prometheus_client`'s
/// parser; CI installs it and sets `MOON_REQUIRE_PROMETHEUS_PARSER=1` so it is never skipped.
const PARSE: &str = r"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
";

fn parse(text: &str) -> Option<Vec<(String, Json, f64)>> {
    let available = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("MOON_REQUIRE_PROMETHEUS_PARSER").is_err(),
            "prometheus_client is required here: pip install prometheus_client"
        );
        eprintln!("prometheus_client not installed: /metrics not parsed");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "the parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<(String, Json, f64)> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    Some(samples)
}

/// The value of sample `name` whose labels include `labels` (0 when absent).
fn value(samples: &[(String, Json, f64)], name: &str, labels: &Json) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .as_object()
                    .is_some_and(|want| want.iter().all(|(k, v)| l.get(k) == Some(v)))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(moon: &Moon, bearer: &str) -> (u16, String, String) {
    let res = moon
        .http
        .get(format!("{}/metrics", moon.base))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, res.text().await.unwrap_or_default())
}

async fn metrics_on(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = (engine != Engine::Sqlite).then_some(db.url.as_str());
    let moon = Moon::start_with(dir.path(), url, &[("MOON_RATE_LIMIT_USER", "0")]);
    assert_eq!(scrape(&moon, "").await.0, 401, "{engine:?}: anonymous");
    let reader = json!({"username": "reader", "password": "Reader12345", "role": "user"});
    let (status, made) = moon.post("/users:create", &reader).await;
    assert_eq!(status, 201, "{made}");
    let user = moon.login("reader", "Reader12345");
    assert_eq!(
        scrape(&moon, &user).await.0,
        403,
        "{engine:?}: not an admin"
    );

    let (status, kind, before) = scrape(&moon, &moon.token).await;
    assert_eq!(status, 200, "{engine:?}: {before}");
    assert!(kind.starts_with("text/plain"), "{engine:?}: {kind}");
    let Some(before) = parse(&before) else { return };
    let schema = json!({"name": "things", "columns": [{"name": "num", "type": "integer"}]});
    let (status, made) = moon.post("/collections:create", &schema).await;
    assert_eq!(status, 201, "{made}");
    for n in 0..5 {
        let (status, _) = moon
            .post("/things:create", &json!({"data": {"num": n}}))
            .await;
        assert_eq!(status, 201);
    }
    for _ in 0..3 {
        assert_eq!(moon.get("/health").await.0, 200);
    }
    assert_eq!(moon.get("/things:get?id=nope").await.0, 400);
    assert_eq!(moon.get("/nothing_here:list").await.0, 404);
    let (_, _, after) = scrape(&moon, &moon.token).await;
    let after = parse(&after).unwrap_or_default();
    let moved =
        |name: &str, labels: Json| value(&after, name, &labels) - value(&before, name, &labels);
    let created = json!({"route": "records:create", "method": "POST", "status": "201"});
    assert_eq!(
        moved("moon_http_requests_total", created),
        5.0,
        "{engine:?}"
    );
    let health = json!({"route": "health", "method": "GET", "status": "200"});
    assert_eq!(moved("moon_http_requests_total", health), 3.0, "{engine:?}");
    let refused = json!({"route": "records:get", "status": "400"});
    assert_eq!(
        moved("moon_http_requests_total", refused),
        1.0,
        "{engine:?}"
    );
    let unknown = json!({"route": "records:list", "status": "404"});
    assert_eq!(
        moved("moon_http_requests_total", unknown),
        1.0,
        "{engine:?}"
    );
    let timed = json!({"route": "records:create"});
    assert_eq!(
        moved("moon_http_request_duration_seconds_count", timed.clone()),
        5.0
    );
    let inf = json!({"route": "records:create", "le": "+Inf"});
    assert_eq!(moved("moon_http_request_duration_seconds_bucket", inf), 5.0);
    assert!(moved("moon_http_request_duration_seconds_sum", timed) > 0.0);
    assert_eq!(
        value(&after, "moon_collections", &json!({})),
        1.0,
        "{engine:?}"
    );
    let max = value(&after, "moon_db_pool_connections", &json!({"state": "max"}));
    assert!(max >= 1.0, "{engine:?}: pool size reported");
    let pending = value(&after, "moon_webhook_events", &json!({"status": "pending"}));
    assert!(pending.abs() < f64::EPSILON, "{engine:?}: no events queued");
    let resident = value(&after, "moon_process_resident_memory_bytes", &json!({}));
    assert!(resident > 1_000_000.0, "{engine:?}: {resident}");
    drop(moon);

    let open = Moon::start_with(dir.path(), url, &[("MOON_METRICS_PUBLIC", "true")]);
    let (status, _, text) = scrape(&open, "").await;
    assert_eq!(status, 200, "{engine:?}: metrics_public opens it");
    assert!(parse(&text).is_some_and(|s| !s.is_empty()));
    drop(open);
    db.drop_database().await;
}

#[tokio::test]
async fn metrics_parse_and_move_with_the_requests_on_every_engine() {
    for engine in Engine::configured() {
        metrics_on(engine).await;
    }
}
