//! End to end, outbound webhooks (API.md §10) on every engine, against a real receiver on a
//! local port: every change reaches it signed and in sequence order; a receiver that is down
//! gets everything once it is back (after 3 s answering 503, and after a minute refusing
//! connections while writes go on); Moon killed -9 in the middle of deliveries and started
//! again sends every change at least once, and the `Moon-Delivery` id lets the receiver drop
//! the repeats; private targets are refused unless allowed.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Moon;
use hmac::{Hmac, Mac};
use moon_tests::engines::{Engine, TestDatabase};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "whsec_test_1234";

/// One POST the receiver took: the delivery id, the body, and whether the signature held.
#[derive(Debug, Clone)]
struct Received {
    delivery: String,
    body: Json,
    signed: bool,
}

/// A webhook receiver on 127.0.0.1: answers 503 while `down`, closes every connection
/// unanswered while `gone`, answers 200 otherwise.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    gone: Arc<AtomicBool>,
}

fn signed(header: &str, body: &str) -> bool {
    let mut t = "";
    let mut v1 = "";
    for part in header.split(',') {
        if let Some(x) = part.strip_prefix("t=") {
            t = x;
        } else if let Some(x) = part.strip_prefix("v1=") {
            v1 = x;
        }
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    !t.is_empty() && hex == v1
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let got = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let gone = Arc::new(AtomicBool::new(false));
        let (sink, off, away) = (Arc::clone(&got), Arc::clone(&down), Arc::clone(&gone));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                if away.load(Ordering::SeqCst) {
                    continue;
                }
                let (sink, off, away) = (Arc::clone(&sink), Arc::clone(&off), Arc::clone(&away));
                tokio::spawn(async move {
                    let mut reader = BufReader::new(socket);
                    loop {
                        let (mut length, mut delivery, mut signature) =
                            (0, String::new(), String::new());
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let header = line.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            let (name, value) = header.split_once(':').unwrap_or((header, ""));
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap_or(0),
                                "moon-delivery" => value.trim().clone_into(&mut delivery),
                                "moon-signature" => value.trim().clone_into(&mut signature),
                                _ => {}
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        if away.load(Ordering::SeqCst) {
                            return;
                        }
                        let body = String::from_utf8_lossy(&body).into_owned();
                        let status = if off.load(Ordering::SeqCst) {
                            "503 Service Unavailable"
                        } else {
                            if let Ok(mut all) = sink.lock() {
                                all.push(Received {
                                    delivery,
                                    signed: signed(&signature, &body),
                                    body: serde_json::from_str(&body).unwrap_or(Json::Null),
                                });
                            }
                            "200 OK"
                        };
                        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                        if reader.get_mut().write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            got,
            down,
            gone,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Waits until the receiver holds changes for `want` distinct sequence numbers.
    async fn wait_for(&self, want: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            let seqs: HashSet<u64> = got.iter().filter_map(|r| r.body["seq"].as_u64()).collect();
            if seqs.len() >= want {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "only {} of {want} changes arrived",
                seqs.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn create(moon: &Moon, n: usize, tag: &str) {
    for i in 0..n {
        let body = json!({"data": {"title": format!("{tag}-{i}"), "qty": i}});
        let (status, answer) = moon.post("/orders:create", &body).await;
        assert_eq!(status, 201, "{answer}");
    }
}

/// Checks what arrived: signed, de-duplicated by delivery id into exactly `want` changes,
/// first arrivals in strictly increasing sequence order.
fn check(got: &[Received], want: usize, engine: Engine) {
    assert!(
        got.iter().all(|r| r.signed),
        "{engine:?}: an unsigned delivery"
    );
    let mut ids = HashSet::new();
    let mut seqs = Vec::new();
    for r in got {
        if ids.insert(r.delivery.clone()) {
            seqs.push(r.body["seq"].as_u64().unwrap_or(0));
        }
    }
    let distinct: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(distinct.len(), want, "{engine:?}: {seqs:?}");
    assert_eq!(
        seqs.len(),
        want,
        "{engine:?}: a change under two delivery ids"
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{engine:?}: out of order {seqs:?}"
    );
    assert!(
        got.iter()
            .all(|r| r.body["collection"] == "orders" && r.body["event"] == "create")
    );
}

fn kill_9(moon: &Moon) {
    let pid = moon.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
}

/// Moon on a fresh database of `engine`, with `orders` and a subscription `shop` sending
/// its creates to a new receiver.
struct Subscribed {
    db: TestDatabase,
    dir: tempfile::TempDir,
    moon: Moon,
    receiver: Receiver,
}

const ENV: [(&str, &str); 2] = [
    ("MOON_RATE_LIMIT_USER", "0"),
    ("MOON_SUBSCRIPTIONS_ALLOW_PRIVATE", "true"),
];

async fn subscribed(engine: Engine) -> Subscribed {
    let db = TestDatabase::create(engine).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start_with(dir.path(), Some(&db.url), &ENV);
    let schema = json!({"name": "orders", "columns": [
        {"name": "title", "type": "string"}, {"name": "qty", "type": "integer", "nullable": true}]});
    assert_eq!(moon.post("/collections:create", &schema).await.0, 201);
    let receiver = Receiver::start().await;
    let sub = json!({"name": "shop", "url": receiver.url, "collections": ["orders"],
        "events": ["create"], "secret": SECRET});
    let (status, made) = moon.post("/subscriptions:create", &sub).await;
    assert_eq!(status, 201, "{engine:?}: {made}");
    assert!(
        made["subscription"].get("secret").is_none(),
        "the secret is write-only"
    );
    Subscribed {
        db,
        dir,
        moon,
        receiver,
    }
}

async fn deliveries_on(engine: Engine) {
    let Subscribed {
        db,
        dir,
        moon,
        receiver,
    } = subscribed(engine).await;

    // Delivered, signed, in order.
    create(&moon, 50, "first").await;
    check(
        &receiver.wait_for(50, Duration::from_secs(20)).await,
        50,
        engine,
    );

    // A receiver that is down gets everything once it is back.
    receiver.down.store(true, Ordering::SeqCst);
    create(&moon, 10, "while-down").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    receiver.down.store(false, Ordering::SeqCst);
    check(
        &receiver.wait_for(60, Duration::from_secs(30)).await,
        60,
        engine,
    );
    let (status, listed) = moon
        .get("/subscriptions:deliveries?name=shop&status=delivered&limit=200")
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["deliveries"].as_array().map(Vec::len),
        Some(60),
        "{engine:?}"
    );

    // Killed -9 with deliveries queued, started again: every change still arrives.
    create(&moon, 40, "before-kill").await;
    kill_9(&moon);
    drop(moon);
    let moon = Moon::start_with(dir.path(), Some(&db.url), &ENV);
    create(&moon, 10, "after-restart").await;
    let got = receiver.wait_for(110, Duration::from_secs(60)).await;
    check(&got, 110, engine);

    // A replay by id sends that delivery again, under the same id.
    let first = got[0].delivery.clone();
    let (status, _) = moon
        .post("/subscriptions:replay", &json!({"id": first}))
        .await;
    assert_eq!(status, 202, "{engine:?}");
    let started = Instant::now();
    while receiver
        .received()
        .iter()
        .filter(|r| r.delivery == first)
        .count()
        < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{engine:?}: no replay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(moon);
    db.drop_database().await;
}

/// The receiver refuses every connection for a minute while a create a second goes on;
/// once it is back it gets all of them, in order, within the next retry (the backoff
/// doubles from 1 s, so the attempt after 63 s of failures comes 64 s later).
async fn a_minute_down_on(engine: Engine) {
    let Subscribed {
        db,
        dir: _dir,
        moon,
        receiver,
    } = subscribed(engine).await;
    create(&moon, 5, "before").await;
    check(
        &receiver.wait_for(5, Duration::from_secs(20)).await,
        5,
        engine,
    );
    receiver.gone.store(true, Ordering::SeqCst);
    let outage = Instant::now();
    let mut made = 0;
    while outage.elapsed() < Duration::from_secs(60) {
        create(&moon, 1, "while-gone").await;
        made += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        receiver.received().len(),
        5,
        "{engine:?}: nothing while gone"
    );
    receiver.gone.store(false, Ordering::SeqCst);
    let back = Instant::now();
    check(
        &receiver.wait_for(5 + made, Duration::from_secs(90)).await,
        5 + made,
        engine,
    );
    eprintln!(
        "{engine:?}: {made} changes made during a 60 s outage arrived {:.1} s after the receiver came back",
        back.elapsed().as_secs_f64()
    );
    drop(moon);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_minute_gets_everything_once_back_on_every_engine() {
    let runs: Vec<_> = Engine::configured()
        .into_iter()
        .map(|engine| tokio::spawn(a_minute_down_on(engine)))
        .collect();
    for run in runs {
        if let Err(e) = run.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_a_receiver_in_order_through_outages_and_kill_9_on_every_engine() {
    for engine in Engine::configured() {
        deliveries_on(engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_refuse_private_targets_and_bad_input_and_are_admin_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start(dir.path(), None);
    let schema = json!({"name": "orders", "columns": [{"name": "title", "type": "string"}]});
    assert_eq!(moon.post("/collections:create", &schema).await.0, 201);
    let with =
        |url: &str| json!({"name": "hook", "url": url, "collections": ["orders"], "secret": "s"});
    for private in [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "https://10.0.0.7/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.1.1/",
    ] {
        let (status, body) = moon.post("/subscriptions:create", &with(private)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{private}"
        );
    }
    for (bad, field) in [
        (
            json!({"name": "hook", "url": "ftp://example.com/", "collections": ["orders"], "secret": "s"}),
            "url",
        ),
        (
            json!({"name": "hook", "url": "https://example.com/", "collections": ["orders"], "secret": ""}),
            "secret",
        ),
        (
            json!({"name": "hook", "url": "https://example.com/", "collections": ["orders"], "secret": "s", "events": ["schema"]}),
            "events",
        ),
        (
            json!({"name": "Hook!", "url": "https://example.com/", "collections": ["orders"], "secret": "s"}),
            "name",
        ),
    ] {
        let (status, body) = moon.post("/subscriptions:create", &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.to_string().contains(field), "{bad}: {body}");
    }
    let unknown = json!({"name": "hook", "url": "https://example.com/", "collections": ["nope"], "secret": "s"});
    assert_eq!(moon.post("/subscriptions:create", &unknown).await.0, 404);
    let good = with("https://example.com/hook");
    assert_eq!(moon.post("/subscriptions:create", &good).await.0, 201);
    assert_eq!(moon.post("/subscriptions:create", &good).await.0, 409);
    let (status, found) = moon.get("/subscriptions:get?name=hook").await;
    assert_eq!(status, 200);
    assert!(!found.to_string().contains("\"secret\""), "{found}");
    let user = json!({"username": "ada", "password": "Lovelace1815", "role": "user"});
    assert_eq!(moon.post("/users:create", &user).await.0, 201);
    let token = moon.login("ada", "Lovelace1815");
    let res = moon
        .http
        .get(format!("{}/subscriptions:list", moon.base))
        .bearer_auth(token)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(res.ok(), Some(403));
    assert_eq!(
        moon.post("/subscriptions:destroy", &json!({"name": "hook"}))
            .await
            .0,
        200
    );
    assert_eq!(moon.get("/subscriptions:get?name=hook").await.0, 404);
}
