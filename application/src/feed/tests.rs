//! The feed over an in-memory log: replay then live, filters, reset past the retention, the
//! end after a drop, the credential check, and a slow reader cut off.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::{ChangeLog, SchemaRegistry, SystemClock};
use moon_domain::query::QueryLimits;
use moon_domain::{
    Change, ChangeKind, Collection, CollectionName, Column, ColumnName, FieldType, LogBounds,
    RepoError,
};
use tokio::sync::Notify;

use super::{ChangeFeed, FeedEnd, FeedItem, FeedTiming, Subscription};
use crate::InMemorySchemaRegistry;

#[derive(Default)]
struct MemoryLog {
    entries: Mutex<Vec<Change>>,
    swept_through: Mutex<u64>,
    reads: Mutex<u64>,
}

impl MemoryLog {
    fn push(&self, kind: ChangeKind, record: Option<&str>) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let seq = entries.last().map_or(0, |c| c.seq) + 1;
        entries.push(Change {
            seq,
            kind,
            collection: "orders".into(),
            record_id: Some(format!("r{seq}")),
            record: record.map(str::to_owned),
            version: 1,
            at: Utc::now(),
        });
        seq
    }

    fn reads(&self) -> u64 {
        *self.reads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ChangeLog for MemoryLog {
    async fn after(
        &self,
        collection: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        *self.reads.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(entries
            .iter()
            .filter(|c| c.seq > after && collection.is_none_or(|n| c.collection == n))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn bounds(&self) -> Result<LogBounds, RepoError> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(LogBounds {
            head: entries.last().map_or(0, |c| c.seq),
            swept_through: *self.swept_through.lock().unwrap_or_else(|e| e.into_inner()),
        })
    }

    async fn sequence(&self) -> Result<u64, RepoError> {
        Ok(0)
    }

    async fn sweep(&self, _before: DateTime<Utc>) -> Result<u64, RepoError> {
        Ok(0)
    }
}

fn orders() -> Collection {
    Collection {
        name: CollectionName::parse("orders").unwrap_or_else(|e| panic!("{e}")),
        columns: vec![Column {
            name: ColumnName::parse("qty").unwrap_or_else(|e| panic!("{e}")),
            field_type: FieldType::Integer,
            nullable: true,
            unique: false,
        }],
        indexes: Vec::new(),
        version: 1,
    }
}

struct Fixture {
    log: Arc<MemoryLog>,
    feed: Arc<ChangeFeed>,
    wake: Arc<Notify>,
}

fn fixture(recheck: Duration) -> Fixture {
    let log = Arc::new(MemoryLog::default());
    let registry: Arc<dyn SchemaRegistry> = Arc::new(InMemorySchemaRegistry::with([orders()]));
    let feed = ChangeFeed::new(
        log.clone(),
        registry,
        Arc::new(SystemClock),
        FeedTiming {
            poll: Duration::from_secs(3600),
            sequence_every: Duration::from_secs(3600),
            gather: Duration::ZERO,
            retention: Duration::from_secs(3600),
            recheck,
        },
        QueryLimits::default(),
    );
    let wake = Arc::new(Notify::new());
    feed.start(Arc::clone(&wake));
    Fixture { log, feed, wake }
}

/// The next item that is not a credential check, within a second.
async fn next_change(sub: &mut Subscription) -> Result<FeedItem, FeedEnd> {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(1), sub.next())
            .await
            .unwrap_or_else(|_| panic!("nothing within a second"))?;
        if item != FeedItem::Recheck {
            return Ok(item);
        }
    }
}

fn seq(item: &FeedItem) -> u64 {
    match item {
        FeedItem::Change(c) => c.seq,
        other => panic!("not a change: {other:?}"),
    }
}

const RECORD: &str = r#"{"id":"r","qty":7}"#;

#[tokio::test]
async fn a_subscriber_replays_then_follows_in_order() {
    let f = fixture(Duration::from_secs(60));
    for _ in 0..3 {
        f.log.push(ChangeKind::Create, Some(RECORD));
    }
    let mut sub = f
        .feed
        .subscribe("orders", &[], Some("1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        2
    );
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        3
    );
    for _ in 0..2 {
        f.log.push(ChangeKind::Update, Some(RECORD));
        f.wake.notify_one();
    }
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        4
    );
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        5
    );
    assert_eq!(sub.position(), 5);
}

#[tokio::test]
async fn filters_pick_creates_and_updates_but_never_hide_destroys() {
    let f = fixture(Duration::from_secs(60));
    f.log
        .push(ChangeKind::Create, Some(r#"{"id":"a","qty":1}"#));
    f.log
        .push(ChangeKind::Create, Some(r#"{"id":"b","qty":9}"#));
    f.log.push(ChangeKind::Destroy, None);
    let params = [("qty[gte]".to_owned(), "5".to_owned())];
    let mut sub = f
        .feed
        .subscribe("orders", &params, Some("0"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        2
    );
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        3
    );
    let bad = [("sort".to_owned(), "qty".to_owned())];
    assert!(f.feed.subscribe("orders", &bad, None).await.is_err());
    let unknown = [("colour".to_owned(), "red".to_owned())];
    assert!(f.feed.subscribe("orders", &unknown, None).await.is_err());
    assert!(f.feed.subscribe("orders", &[], Some("x")).await.is_err());
    assert!(f.feed.subscribe("nope", &[], None).await.is_err());
}

#[tokio::test]
async fn a_position_swept_away_or_beyond_the_head_is_a_reset() {
    let f = fixture(Duration::from_secs(60));
    for _ in 0..20 {
        f.log.push(ChangeKind::Create, Some(RECORD));
    }
    *f.log
        .swept_through
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = 10;
    for after in ["5", "21"] {
        let mut sub = f
            .feed
            .subscribe("orders", &[], Some(after))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let first = next_change(&mut sub).await;
        assert_eq!(first, Ok(FeedItem::Reset { head: 20 }), "after={after}");
    }
    let mut kept = f
        .feed
        .subscribe("orders", &[], Some("10"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seq(&next_change(&mut kept)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        11
    );
}

#[tokio::test]
async fn a_drop_is_the_last_event() {
    let f = fixture(Duration::from_secs(60));
    let mut sub = f
        .feed
        .subscribe("orders", &[], None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    f.log.push(ChangeKind::Schema, Some("drop"));
    f.wake.notify_one();
    assert_eq!(
        seq(&next_change(&mut sub)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))),
        1
    );
    assert_eq!(next_change(&mut sub).await, Err(FeedEnd::Dropped));
}

#[tokio::test]
async fn an_idle_subscriber_is_asked_to_check_its_credential() {
    let f = fixture(Duration::from_millis(50));
    let mut sub = f
        .feed
        .subscribe("orders", &[], None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let item = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
    assert_eq!(item.ok(), Some(Ok(FeedItem::Recheck)));
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_cut_off_and_closing_ends_the_rest() {
    let f = fixture(Duration::from_secs(60));
    let mut slow = f
        .feed
        .subscribe("orders", &[], None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // 300 fan-out batches, one entry each, none read by `slow`.
    for _ in 0..300 {
        let reads = f.log.reads();
        f.log.push(ChangeKind::Create, Some(RECORD));
        f.wake.notify_one();
        while f.log.reads() == reads {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut outcome = Ok(FeedItem::Recheck);
    for _ in 0..400 {
        outcome = next_change(&mut slow).await;
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome, Err(FeedEnd::TooSlow));
    drop(slow);
    let mut idle = f
        .feed
        .subscribe("orders", &[], None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    f.feed.close();
    let mut ended = false;
    for _ in 0..400 {
        if tokio::time::timeout(Duration::from_secs(1), idle.next())
            .await
            .is_ok_and(|r| r == Err(FeedEnd::Stopping))
        {
            ended = true;
            break;
        }
    }
    assert!(ended, "close ends every subscription");
    assert_eq!(f.feed.subscribers(), 1);
    drop(idle);
    assert_eq!(f.feed.subscribers(), 0);
}
