//! The delivery worker over an in-memory store and a scripted receiver: order, the backoff
//! schedule, `dead` after the last attempt, a waiting retry holding later deliveries back, the
//! signature, and a lease held by another instance.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::{ChangeLog, Clock, DeliveryTransport, SubscriptionRepository};
use moon_domain::{
    Attempt, Change, ChangeKind, Delivery, DeliveryStatus, LogBounds, RepoError,
    WebhookSubscription,
};

use super::{Deliverer, DeliveryPolicy};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Log(Vec<Change>);

#[async_trait]
impl ChangeLog for Log {
    async fn after(
        &self,
        _: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        Ok(self
            .0
            .iter()
            .filter(|c| c.seq > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn bounds(&self) -> Result<LogBounds, RepoError> {
        Ok(LogBounds::default())
    }
    async fn sequence(&self) -> Result<u64, RepoError> {
        Ok(0)
    }
    async fn sweep(&self, _: DateTime<Utc>) -> Result<u64, RepoError> {
        Ok(0)
    }
}

#[derive(Default)]
struct Store {
    subscription: Mutex<Option<WebhookSubscription>>,
    deliveries: Mutex<Vec<Delivery>>,
    leased_by_other: Mutex<bool>,
}

#[async_trait]
impl SubscriptionRepository for Store {
    async fn create(&self, s: &WebhookSubscription) -> Result<(), RepoError> {
        *lock(&self.subscription) = Some(s.clone());
        Ok(())
    }
    async fn update(&self, _: &WebhookSubscription) -> Result<bool, RepoError> {
        Ok(true)
    }
    async fn delete(&self, _: &str) -> Result<bool, RepoError> {
        Ok(true)
    }
    async fn get(&self, _: &str) -> Result<Option<WebhookSubscription>, RepoError> {
        Ok(lock(&self.subscription).clone())
    }
    async fn list(&self) -> Result<Vec<WebhookSubscription>, RepoError> {
        Ok(lock(&self.subscription).clone().into_iter().collect())
    }
    async fn lease(&self, _: &str, _: &str, _: i64, _: i64) -> Result<bool, RepoError> {
        Ok(!*lock(&self.leased_by_other))
    }
    async fn enqueue(
        &self,
        _: &str,
        from: u64,
        to: u64,
        new: &[Delivery],
    ) -> Result<bool, RepoError> {
        let mut sub = lock(&self.subscription);
        let Some(s) = sub.as_mut().filter(|s| s.cursor == from) else {
            return Ok(false);
        };
        s.cursor = to;
        lock(&self.deliveries).extend_from_slice(new);
        Ok(true)
    }
    async fn pending(&self, _: &str, limit: u32) -> Result<Vec<Delivery>, RepoError> {
        let mut all: Vec<Delivery> = lock(&self.deliveries)
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .cloned()
            .collect();
        all.sort_by_key(|d| d.seq);
        all.truncate(limit as usize);
        Ok(all)
    }
    async fn delivered(&self, ids: &[String]) -> Result<(), RepoError> {
        for d in lock(&self.deliveries)
            .iter_mut()
            .filter(|d| ids.contains(&d.id))
        {
            d.status = DeliveryStatus::Delivered;
            d.attempts += 1;
        }
        Ok(())
    }
    async fn record(&self, id: &str, attempt: &Attempt) -> Result<(), RepoError> {
        for d in lock(&self.deliveries).iter_mut().filter(|d| d.id == id) {
            d.attempts += 1;
            match attempt {
                Attempt::Delivered => d.status = DeliveryStatus::Delivered,
                Attempt::Retry { at, error } => {
                    d.next_attempt_at = *at;
                    d.last_error = Some(error.clone());
                }
                Attempt::Dead { error } => {
                    d.status = DeliveryStatus::Dead;
                    d.last_error = Some(error.clone());
                }
            }
        }
        Ok(())
    }
    async fn deliveries(
        &self,
        _: Option<&str>,
        _: Option<DeliveryStatus>,
        _: u32,
    ) -> Result<Vec<Delivery>, RepoError> {
        Ok(lock(&self.deliveries).clone())
    }
    async fn replay(&self, _: &str, _: i64) -> Result<bool, RepoError> {
        Ok(true)
    }
    async fn rewind(&self, _: &str, _: u64) -> Result<bool, RepoError> {
        Ok(true)
    }
}

/// A body and the headers it came with.
type Post = (String, Vec<(&'static str, String)>);

/// Answers with the scripted statuses in turn (200 once they run out), recording bodies.
#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<u16>>,
    got: Mutex<Vec<Post>>,
}

#[async_trait]
impl DeliveryTransport for Receiver {
    async fn post(
        &self,
        _: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String> {
        lock(&self.got).push((body.to_owned(), headers.to_vec()));
        Ok(lock(&self.script).pop_front().unwrap_or(200))
    }
}

/// A clock the test moves.
struct Manual(Mutex<DateTime<Utc>>);

impl Clock for Manual {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

struct Rig {
    store: Arc<Store>,
    receiver: Arc<Receiver>,
    clock: Arc<Manual>,
    worker: Arc<Deliverer>,
}

fn rig(changes: u64, statuses: &[u16]) -> Rig {
    let log = Log((1..=changes)
        .map(|seq| Change {
            seq,
            kind: ChangeKind::Create,
            collection: if seq % 2 == 0 { "other" } else { "orders" }.into(),
            record_id: Some(format!("r{seq}")),
            record: Some(format!("{{\"id\":\"r{seq}\"}}")),
            version: 1,
            at: Utc::now(),
        })
        .collect());
    let store = Arc::new(Store::default());
    *lock(&store.subscription) = Some(WebhookSubscription {
        name: "shop".into(),
        url: "https://example.com/hook".into(),
        collections: vec!["orders".into()],
        events: vec![ChangeKind::Create],
        secret: "s3cret".into(),
        created_at: Utc::now(),
        cursor: 0,
    });
    let receiver = Arc::new(Receiver::default());
    lock(&receiver.script).extend(statuses);
    let clock = Arc::new(Manual(Mutex::new(Utc::now())));
    let worker = Deliverer::new(
        store.clone(),
        Arc::new(log),
        receiver.clone(),
        clock.clone(),
        DeliveryPolicy::default(),
    );
    Rig {
        store,
        receiver,
        clock,
        worker,
    }
}

impl Rig {
    async fn pass(&self) {
        let subscription = lock(&self.store.subscription).clone();
        if let Some(s) = subscription {
            self.worker
                .serve(&s)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn later(&self, by: Duration) {
        *lock(&self.clock.0) += chrono::Duration::from_std(by).unwrap_or_default();
    }

    fn sent_seqs(&self) -> Vec<u64> {
        lock(&self.receiver.got)
            .iter()
            .filter_map(|(body, _)| serde_json::from_str::<serde_json::Value>(body).ok())
            .filter_map(|b| b["seq"].as_u64())
            .collect()
    }
}

#[tokio::test]
async fn matching_changes_go_out_in_order_signed() {
    let r = rig(6, &[]);
    r.pass().await;
    assert_eq!(
        r.sent_seqs(),
        [1, 3, 5],
        "only the subscription's collection"
    );
    let got = lock(&r.receiver.got).clone();
    let (body, headers) = &got[0];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    let signature = header("moon-signature").unwrap_or_default();
    let (t, v1) = signature
        .split_once(",v1=")
        .map(|(t, v)| (t.trim_start_matches("t="), v))
        .unwrap_or_default();
    let expected = crate::signature::hmac_hex("s3cret", &[t.as_bytes(), b".", body.as_bytes()]);
    assert_eq!(v1, expected);
    assert_eq!(header("moon-delivery").map(|d| d.len()), Some(26), "a ULID");
    assert!(
        lock(&r.store.deliveries)
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered)
    );
}

#[tokio::test]
async fn a_failing_delivery_holds_later_ones_back_and_backs_off() {
    let r = rig(5, &[503, 503]);
    r.pass().await;
    assert_eq!(r.sent_seqs(), [1], "seq 3 waits behind the retry of seq 1");
    r.pass().await;
    assert_eq!(r.sent_seqs(), [1], "not due yet (1 s)");
    r.later(Duration::from_millis(1_001));
    r.pass().await;
    assert_eq!(r.sent_seqs(), [1, 1], "second attempt fails: 2 s now");
    r.later(Duration::from_millis(1_500));
    r.pass().await;
    assert_eq!(r.sent_seqs(), [1, 1]);
    r.later(Duration::from_millis(600));
    r.pass().await;
    assert_eq!(r.sent_seqs(), [1, 1, 1, 3, 5], "recovered: all, in order");
}

#[tokio::test]
async fn ten_failures_make_a_delivery_dead_and_the_next_ones_go() {
    let r = rig(3, &[500; 10]);
    for _ in 0..10 {
        r.pass().await;
        r.later(Duration::from_secs(601));
    }
    let deliveries = lock(&r.store.deliveries).clone();
    let first = deliveries.iter().find(|d| d.seq == 1).cloned();
    assert_eq!(
        first.as_ref().map(|d| (d.status, d.attempts)),
        Some((DeliveryStatus::Dead, 10))
    );
    assert_eq!(
        first.and_then(|d| d.last_error).as_deref(),
        Some("answered 500")
    );
    r.pass().await;
    assert_eq!(r.sent_seqs().last(), Some(&3));
}

#[tokio::test]
async fn a_subscription_leased_by_another_instance_is_left_to_it() {
    let r = rig(3, &[]);
    *lock(&r.store.leased_by_other) = true;
    r.pass().await;
    assert!(r.sent_seqs().is_empty());
    assert!(lock(&r.store.deliveries).is_empty());
}
