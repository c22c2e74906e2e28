//! The outbound webhook worker of one process: for each subscription it holds the lease on,
//! it turns new change log entries into durable deliveries and sends them one at a time in
//! sequence order, signed, retrying with backoff until 2xx or `dead` (API.md §10). A delivery
//! is marked done only after its 2xx, so a crash sends it again: at least once, with the same
//! `Moon-Delivery` id for the receiver to drop repeats.

use std::sync::Arc;
use std::time::Duration;

use moon_domain::ports::{ChangeLog, Clock, DeliveryTransport, SubscriptionRepository};
use moon_domain::{Attempt, Delivery, DeliveryStatus, WebhookSubscription};
use tokio::sync::{Notify, Semaphore, watch};

use crate::signature::hmac_hex;

/// Retries and leases.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    /// Attempts before `dead` (API.md: 10).
    pub max_attempts: u32,
    /// The first retry's wait, doubled each time up to `max_backoff` (1 s to 10 min).
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a lease lasts without renewal (another instance takes over after it).
    pub lease: Duration,
    /// How often subscriptions are looked at when nothing wakes the worker.
    pub poll: Duration,
    /// Subscriptions served at once.
    pub workers: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
            lease: Duration::from_secs(15),
            poll: Duration::from_millis(250),
            workers: 4,
        }
    }
}

/// Deliveries sent per subscription before the others get their turn (and marked done in
/// one statement).
const TURN: usize = 100;

/// The worker.
pub struct Deliverer {
    repo: Arc<dyn SubscriptionRepository>,
    log: Arc<dyn ChangeLog>,
    transport: Arc<dyn DeliveryTransport>,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
    /// This process, in leases.
    owner: String,
}

impl Deliverer {
    #[must_use]
    pub fn new(
        repo: Arc<dyn SubscriptionRepository>,
        log: Arc<dyn ChangeLog>,
        transport: Arc<dyn DeliveryTransport>,
        clock: Arc<dyn Clock>,
        policy: DeliveryPolicy,
    ) -> Arc<Self> {
        Arc::new(Self {
            repo,
            log,
            transport,
            clock,
            policy,
            owner: ulid::Ulid::new().to_string(),
        })
    }

    /// Runs until `stop`: woken by `wake` (the change log advanced) or every `poll`.
    pub fn start(
        self: &Arc<Self>,
        wake: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(me.policy.workers.max(1)));
            // The list is read again at most every `poll`: with no subscriptions, a busy log
            // costs nothing but this check.
            let mut listed: Option<(std::time::Instant, Vec<WebhookSubscription>)> = None;
            loop {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(me.policy.poll) => {}
                    _ = stop.changed() => return,
                }
                let stale = listed
                    .as_ref()
                    .is_none_or(|(at, _)| at.elapsed() >= me.policy.poll);
                if stale {
                    match me.repo.list().await {
                        Ok(list) => listed = Some((std::time::Instant::now(), list)),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the subscriptions");
                            continue;
                        }
                    }
                }
                let subscriptions = listed.as_ref().map(|(_, l)| l.clone()).unwrap_or_default();
                let mut turns = tokio::task::JoinSet::new();
                for subscription in subscriptions {
                    let (me, slots) = (Arc::clone(&me), Arc::clone(&slots));
                    turns.spawn(async move {
                        let Ok(_slot) = slots.acquire().await else {
                            return;
                        };
                        if let Err(e) = me.serve(&subscription).await {
                            tracing::warn!(error = %e, subscription = %subscription.name, "delivery pass failed");
                        }
                    });
                }
                while turns.join_next().await.is_some() {}
            }
        })
    }

    /// One turn for one subscription: take the lease, queue what is new, send what is due.
    async fn serve(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), moon_domain::RepoError> {
        let now = self.clock.now().timestamp_millis();
        let until = now + i64::try_from(self.policy.lease.as_millis()).unwrap_or(i64::MAX);
        if !self
            .repo
            .lease(&subscription.name, &self.owner, now, until)
            .await?
        {
            return Ok(());
        }
        // The listed copy's place in the log may be old (the list is cached): read it now.
        let Some(subscription) = self.repo.get(&subscription.name).await? else {
            return Ok(());
        };
        let subscription = &subscription;
        self.queue(subscription).await?;
        let batch = self
            .repo
            .pending(&subscription.name, u32::try_from(TURN).unwrap_or(u32::MAX))
            .await?;
        let mut done = Vec::with_capacity(batch.len());
        for delivery in &batch {
            // Order per subscription: nothing overtakes a delivery waiting for its retry.
            if delivery.next_attempt_at > self.clock.now().timestamp_millis() {
                break;
            }
            match self.send(subscription, delivery).await {
                Attempt::Delivered => done.push(delivery.id.clone()),
                attempt @ Attempt::Retry { .. } => {
                    self.repo.record(&delivery.id, &attempt).await?;
                    break;
                }
                attempt @ Attempt::Dead { .. } => self.repo.record(&delivery.id, &attempt).await?,
            }
        }
        // Marked only after their 2xx: a crash before this sends them again (at least once).
        self.repo.delivered(&done).await
    }

    /// Turns the log entries after the subscription's cursor into deliveries.
    async fn queue(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<(), moon_domain::RepoError> {
        let mut from = subscription.cursor;
        loop {
            let page = self.log.after(None, from, 500).await?;
            let Some(to) = page.last().map(|c| c.seq) else {
                return Ok(());
            };
            let now = self.clock.now();
            let deliveries: Vec<Delivery> = page
                .iter()
                .filter(|c| subscription.wants(c))
                .map(|c| Delivery {
                    id: ulid::Ulid::new().to_string(),
                    subscription: subscription.name.clone(),
                    seq: c.seq,
                    event: c.kind,
                    payload: c.delivery_json(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now.timestamp_millis(),
                    last_error: None,
                    created_at: now,
                })
                .collect();
            let full = page.len() == 500;
            if !self
                .repo
                .enqueue(&subscription.name, from, to, &deliveries)
                .await?
            {
                return Ok(()); // moved meanwhile (a replay): the next turn reads it
            }
            from = to;
            if !full {
                return Ok(());
            }
        }
    }

    async fn send(&self, subscription: &WebhookSubscription, delivery: &Delivery) -> Attempt {
        let t = self.clock.now().timestamp();
        let signature = hmac_hex(
            &subscription.secret,
            &[t.to_string().as_bytes(), b".", delivery.payload.as_bytes()],
        );
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("moon-signature", format!("t={t},v1={signature}")),
            ("moon-delivery", delivery.id.clone()),
            ("user-agent", "moon-webhooks".to_owned()),
        ];
        let error = match self
            .transport
            .post(&subscription.url, &headers, &delivery.payload)
            .await
        {
            Ok(status) if (200..300).contains(&status) => return Attempt::Delivered,
            Ok(status) => format!("answered {status}"),
            Err(e) => e,
        };
        let attempts = delivery.attempts + 1;
        if attempts >= self.policy.max_attempts {
            return Attempt::Dead { error };
        }
        let wait = self
            .policy
            .first_backoff
            .saturating_mul(1 << (attempts - 1).min(20))
            .min(self.policy.max_backoff);
        Attempt::Retry {
            at: self.clock.now().timestamp_millis()
                + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
            error,
        }
    }
}

#[cfg(test)]
mod tests;
