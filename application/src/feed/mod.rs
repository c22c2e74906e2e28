//! The change feed (API.md §10): one pump per process numbers and reads the change log and
//! fans new entries out to subscribers; each subscriber replays what it missed from the log
//! itself, so a subscriber never depends on the fan-out having been gap-free.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moon_domain::ports::{ChangeLog, Clock, SchemaRegistry};
use moon_domain::query::{QueryLimits, parse_list_query};
use moon_domain::{Change, FieldError};
use tokio::sync::{Notify, broadcast, watch};

use crate::error::AppError;

mod subscription;

pub use subscription::Subscription;

/// Entries read from the log at a time.
pub(crate) const PAGE: u32 = 500;
/// Fan-out batches a subscriber may fall behind before it is cut off.
const LAG: usize = 256;
/// `:list` parameters that mean nothing on a feed.
const NOT_FOR_FEEDS: [&str; 4] = ["sort", "limit", "fields", "count"];

/// A run of consecutive log entries: every entry numbered in `(from, to]`, of every
/// collection, as the pump read them.
#[derive(Debug)]
pub struct Batch {
    pub from: u64,
    pub to: u64,
    pub entries: Vec<Arc<Change>>,
}

/// How often the pump looks without being woken, and how long entries are kept.
#[derive(Debug, Clone, Copy)]
pub struct FeedTiming {
    /// Reading the log when nothing woke the pump (other instances on MySQL).
    pub poll: Duration,
    /// Numbering entries a crashed instance left unnumbered.
    pub sequence_every: Duration,
    /// How long the pump waits after a wake-up for more commits to number and read at once.
    pub gather: Duration,
    pub retention: Duration,
    /// How often a subscriber's credential is checked again.
    pub recheck: Duration,
}

/// The feed of one process.
pub struct ChangeFeed {
    log: Arc<dyn ChangeLog>,
    registry: Arc<dyn SchemaRegistry>,
    clock: Arc<dyn Clock>,
    live: broadcast::Sender<Arc<Batch>>,
    stop: watch::Sender<bool>,
    /// Told after every pass that may have added entries (the outbound webhook worker).
    advanced: Arc<Notify>,
    timing: FeedTiming,
    limits: QueryLimits,
}

/// What a subscriber receives next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedItem {
    Change(Arc<Change>),
    /// The position asked for is no longer in the log (or was never in it): re-read the
    /// collection, then follow from `head`.
    Reset {
        head: u64,
    },
    /// Time to check the subscriber's credential again; nothing to send.
    Recheck,
}

/// Why a subscription ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEnd {
    /// The subscriber read too slowly and was cut off; it resumes from its last event.
    TooSlow,
    /// The collection was dropped (its `schema` event was the last one).
    Dropped,
    /// Moon is stopping.
    Stopping,
    /// The log could not be read.
    Failed(String),
}

impl ChangeFeed {
    #[must_use]
    pub fn new(
        log: Arc<dyn ChangeLog>,
        registry: Arc<dyn SchemaRegistry>,
        clock: Arc<dyn Clock>,
        timing: FeedTiming,
        limits: QueryLimits,
    ) -> Arc<Self> {
        Arc::new(Self {
            log,
            registry,
            clock,
            live: broadcast::channel(LAG).0,
            stop: watch::channel(false).0,
            advanced: Arc::default(),
            timing,
            limits,
        })
    }

    /// Ends every subscription and the pump.
    pub fn close(&self) {
        let _ = self.stop.send(true);
    }

    /// Notified whenever the log may have grown.
    #[must_use]
    pub fn advanced(&self) -> Arc<Notify> {
        Arc::clone(&self.advanced)
    }

    /// A receiver that sees `true` once the feed is closed.
    #[must_use]
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// How many subscriptions are open.
    #[must_use]
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }

    /// Runs the pump until [`close`](Self::close): woken by `wake` (a local commit or, on
    /// PostgreSQL, another instance's), or every `poll`.
    pub fn start(self: &Arc<Self>, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        let feed = Arc::clone(self);
        tokio::spawn(async move { feed.pump(wake).await })
    }

    async fn pump(&self, wake: Arc<Notify>) {
        let mut stop = self.stop.subscribe();
        let mut poll = tokio::time::interval(self.timing.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sequenced = Instant::now();
        let mut last_swept = Instant::now();
        let mut read_to: Option<u64> = None;
        loop {
            let woken = tokio::select! {
                () = wake.notified() => true,
                _ = poll.tick() => false,
                _ = stop.changed() => return,
            };
            if woken {
                // Commits come in bursts: one pass for all of them, a few ms late.
                tokio::time::sleep(self.timing.gather).await;
            }
            if woken || last_sequenced.elapsed() >= self.timing.sequence_every {
                last_sequenced = Instant::now();
                if let Err(e) = self.log.sequence().await {
                    tracing::warn!(error = %e, "cannot number the change log");
                }
                self.advanced.notify_one();
            }
            // Every minute, or twice per retention when it is shorter.
            if last_swept.elapsed() >= (self.timing.retention / 2).min(Duration::from_secs(60)) {
                last_swept = Instant::now();
                self.sweep().await;
            }
            if self.live.receiver_count() == 0 {
                read_to = None;
                continue;
            }
            if let Err(e) = self.fan_out(&mut read_to).await {
                tracing::warn!(error = %e, "cannot read the change log");
            }
        }
    }

    /// Reads every entry after `read_to` and sends it on; with no position yet, starts at
    /// the head (subscribers replay anything before it themselves).
    async fn fan_out(&self, read_to: &mut Option<u64>) -> Result<(), AppError> {
        let mut from = match *read_to {
            Some(at) => at,
            None => {
                // An empty batch at the head: subscribers behind it replay up to it.
                let head = self.log.bounds().await?.head;
                *read_to = Some(head);
                let _ = self.live.send(Arc::new(Batch {
                    from: head,
                    to: head,
                    entries: Vec::new(),
                }));
                head
            }
        };
        loop {
            let page = self.log.after(None, from, PAGE).await?;
            let Some(to) = page.last().map(|c| c.seq) else {
                return Ok(());
            };
            let full = page.len() == PAGE as usize;
            let _ = self.live.send(Arc::new(Batch {
                from,
                to,
                entries: page.into_iter().map(Arc::new).collect(),
            }));
            from = to;
            *read_to = Some(to);
            if !full {
                return Ok(());
            }
        }
    }

    async fn sweep(&self) {
        let before = self.clock.now()
            - chrono::Duration::from_std(self.timing.retention).unwrap_or(chrono::Duration::MAX);
        match self.log.sweep(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "change log swept"),
            Err(e) => tracing::warn!(error = %e, "cannot sweep the change log"),
        }
    }

    /// Opens a subscription to `name`'s changes after `after` (none: from now), restricted by
    /// `:list` filters in `params`.
    ///
    /// # Errors
    /// No such collection, a bad filter or position, or the log cannot be read.
    pub async fn subscribe(
        &self,
        name: &str,
        params: &[(String, String)],
        after: Option<&str>,
    ) -> Result<Subscription, AppError> {
        let lower = name.to_ascii_lowercase();
        let collection = self
            .registry
            .get(&lower)
            .ok_or(AppError::CollectionNotFound(lower))?;
        if let Some((key, _)) = params
            .iter()
            .find(|(k, _)| NOT_FOR_FEEDS.contains(&k.as_str()))
        {
            return Err(AppError::Validation(vec![FieldError::unknown_parameter(
                key.clone(),
                format!("'{key}' is a :list parameter; a feed takes only filters, q and after"),
            )]));
        }
        let query = parse_list_query(&collection, params, self.limits)?;
        let after = after
            .map(|raw| {
                raw.trim().parse::<u64>().map_err(|_| {
                    AppError::invalid("after", "a sequence number (the id of an event) is needed")
                })
            })
            .transpose()?;
        // Subscribed before anything is read: no batch sent from now on is missed.
        let live = self.live.subscribe();
        // What committed before this request is numbered now, so "from now" means after it.
        self.log.sequence().await?;
        let bounds = self.log.bounds().await?;
        let (position, reset) = match after {
            None => (bounds.head, false),
            Some(at) if at < bounds.swept_through || at > bounds.head => (bounds.head, true),
            Some(at) => (at, false),
        };
        let mut pending = VecDeque::new();
        if reset {
            pending.push_back(FeedItem::Reset { head: bounds.head });
        }
        Ok(Subscription {
            log: Arc::clone(&self.log),
            registry: Arc::clone(&self.registry),
            collection,
            query,
            live,
            stop: self.stop.subscribe(),
            pending,
            position,
            replay_to: (after.is_some() && !reset).then_some(bounds.head),
            recheck: self.timing.recheck,
            next_check: Instant::now() + self.timing.recheck,
            dropped: false,
        })
    }
}

#[cfg(test)]
mod tests;
