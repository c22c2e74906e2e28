//! One subscriber's place in the change feed: replays from the log what the fan-out did not
//! bring, then follows the fan-out, testing each change against the subscriber's filters.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moon_domain::ports::{ChangeLog, SchemaRegistry};
use moon_domain::query::matches;
use moon_domain::{Change, ChangeKind, Collection, ListQuery, SchemaAction};
use serde_json::{Map, Value as Json};
use tokio::sync::{broadcast, watch};

use super::{Batch, FeedEnd, FeedItem, PAGE};

/// One subscriber's place in the feed.
pub struct Subscription {
    pub(super) log: Arc<dyn ChangeLog>,
    pub(super) registry: Arc<dyn SchemaRegistry>,
    pub(super) collection: Arc<Collection>,
    pub(super) query: ListQuery,
    pub(super) live: broadcast::Receiver<Arc<Batch>>,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) pending: VecDeque<FeedItem>,
    /// Every entry up to here has been sent or passed over.
    pub(super) position: u64,
    /// Replaying from the log until at least this number (entries up to it may predate the
    /// fan-out).
    pub(super) replay_to: Option<u64>,
    pub(super) recheck: Duration,
    pub(super) next_check: Instant,
    /// The collection's drop was the last thing sent.
    pub(super) dropped: bool,
}

impl Subscription {
    /// The position a subscriber resumes after (the last event's id).
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// The next item: a matching change, a reset, or a moment to check the credential.
    ///
    /// # Errors
    /// [`FeedEnd`] when the subscription is over.
    pub async fn next(&mut self) -> Result<FeedItem, FeedEnd> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(item);
            }
            if self.dropped {
                return Err(FeedEnd::Dropped);
            }
            if Instant::now() >= self.next_check {
                self.next_check = Instant::now() + self.recheck;
                return Ok(FeedItem::Recheck);
            }
            if let Some(until) = self.replay_to {
                self.replay(until).await?;
                continue;
            }
            let deadline = tokio::time::Instant::from_std(self.next_check);
            let batch = tokio::select! {
                received = self.live.recv() => match received {
                    Ok(batch) => batch,
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(FeedEnd::TooSlow),
                    Err(broadcast::error::RecvError::Closed) => return Err(FeedEnd::Stopping),
                },
                () = tokio::time::sleep_until(deadline) => continue,
                _ = self.stop.changed() => return Err(FeedEnd::Stopping),
            };
            if batch.from > self.position {
                // Entries between our place and this batch were sent before we listened.
                self.replay_to = Some(batch.to);
                continue;
            }
            let position = self.position;
            for change in batch.entries.iter().filter(|c| c.seq > position) {
                self.offer(change);
            }
            self.position = self.position.max(batch.to);
        }
    }

    /// Reads this collection's entries after our place from the log, up to `until` at least.
    async fn replay(&mut self, until: u64) -> Result<(), FeedEnd> {
        let page = self
            .log
            .after(Some(self.collection.name.as_str()), self.position, PAGE)
            .await
            .map_err(|e| FeedEnd::Failed(e.to_string()))?;
        let exhausted = page.len() < PAGE as usize;
        for change in page {
            let change = Arc::new(change);
            self.position = change.seq;
            self.offer(&change);
        }
        if exhausted {
            self.position = self.position.max(until);
            self.replay_to = None;
        }
        Ok(())
    }

    /// Queues `change` if it is this collection's and matches the filters.
    fn offer(&mut self, change: &Arc<Change>) {
        if change.collection != self.collection.name.as_str() {
            return;
        }
        match change.kind {
            ChangeKind::Schema => {
                // A drop is the last event (a new namesake is another collection: subscribe
                // again); after other changes, filters are read with the new types.
                if change.record.as_deref() == Some(SchemaAction::Drop.name()) {
                    self.dropped = true;
                } else if let Some(current) = self.registry.get(self.collection.name.as_str()) {
                    self.collection = current;
                }
                self.pending.push_back(FeedItem::Change(Arc::clone(change)));
            }
            // A destroyed record cannot be tested; subscribers drop ids they do not hold.
            ChangeKind::Destroy => self.pending.push_back(FeedItem::Change(Arc::clone(change))),
            ChangeKind::Create | ChangeKind::Update => {
                let wanted = change
                    .record
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<Map<String, Json>>(r).ok())
                    .is_some_and(|record| matches(&self.query, &self.collection, &record));
                if wanted {
                    self.pending.push_back(FeedItem::Change(Arc::clone(change)));
                }
            }
        }
    }
}
