//! Outbound webhook subscriptions and their deliveries (API.md §10) in two tables; a lease
//! column lets exactly one instance deliver for a subscription at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moon_domain::ports::SubscriptionRepository;
use moon_domain::{Attempt, ChangeKind, Delivery, DeliveryStatus, RepoError, WebhookSubscription};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait};
use sea_query::{Alias, Cond, Expr, ExprTrait, Order, Query};

use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::{classify, internal};

const SUBSCRIPTIONS: &str = "moon_subscriptions";
const DELIVERIES: &str = "moon_deliveries";

fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// Subscriptions on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlSubscriptionRepository {
    db: SqlDatabase,
}

impl SqlSubscriptionRepository {
    /// Opens the repository, creating its tables when missing.
    ///
    /// # Errors
    /// [`RepoError`] when the database refuses.
    pub async fn open(db: SqlDatabase) -> Result<Self, RepoError> {
        let (text, key, big) = match db.backend {
            Backend::MySql => ("LONGTEXT", "VARCHAR(64)", "BIGINT"),
            Backend::Postgres => ("TEXT", "TEXT", "BIGINT"),
            Backend::Sqlite => ("TEXT", "TEXT", "INTEGER"),
        };
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {SUBSCRIPTIONS} (name {key} NOT NULL PRIMARY KEY, \
                 url {text} NOT NULL, collections {text} NOT NULL, events {text} NOT NULL, \
                 secret {text} NOT NULL, created_at {big} NOT NULL, cursor_seq {big} NOT NULL, \
                 lease_owner {key} NULL, lease_until {big} NOT NULL)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {DELIVERIES} (id {key} NOT NULL PRIMARY KEY, \
                 subscription {key} NOT NULL, seq {big} NOT NULL, event {key} NOT NULL, \
                 payload {text} NOT NULL, status {key} NOT NULL, attempts {big} NOT NULL, \
                 next_attempt_at {big} NOT NULL, last_error {text} NULL, created_at {big} NOT NULL)"
            ),
        ];
        for sql in &statements {
            db.writer
                .execute_unprepared(sql)
                .await
                .map_err(|e| classify(&e))?;
        }
        let index = match db.backend {
            Backend::MySql => {
                "CREATE INDEX moon_deliveries_queue ON moon_deliveries (subscription, status, seq)"
            }
            _ => {
                "CREATE INDEX IF NOT EXISTS moon_deliveries_queue ON moon_deliveries (subscription, status, seq)"
            }
        };
        // MySQL has no IF NOT EXISTS for indexes: a second start finds it made.
        if let Err(e) = db.writer.execute_unprepared(index).await
            && db.backend != Backend::MySql
        {
            return Err(classify(&e));
        }
        Ok(Self { db })
    }

    /// Frees every lease (SQLite: this process is the only one, and a crashed one's leases
    /// would otherwise hold delivery up until they end).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    pub async fn release_leases(&self) -> Result<(), RepoError> {
        let stmt = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("lease_owner"), Option::<String>::None)
            .value(a("lease_until"), 0_i64)
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }
}

const SUB_COLUMNS: [&str; 7] = [
    "name",
    "url",
    "collections",
    "events",
    "secret",
    "created_at",
    "cursor_seq",
];
const DELIVERY_COLUMNS: [&str; 10] = [
    "id",
    "subscription",
    "seq",
    "event",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
];

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn text(row: &QueryResult, i: usize) -> Result<String, RepoError> {
    Ok(get::<String>(row, i)?.unwrap_or_default())
}

fn number(row: &QueryResult, i: usize) -> Result<i64, RepoError> {
    Ok(get::<i64>(row, i)?.unwrap_or_default())
}

fn subscription(row: &QueryResult) -> Result<WebhookSubscription, RepoError> {
    let collections: Vec<String> = serde_json::from_str(&text(row, 2)?).map_err(internal)?;
    let events: Vec<String> = serde_json::from_str(&text(row, 3)?).map_err(internal)?;
    Ok(WebhookSubscription {
        name: text(row, 0)?,
        url: text(row, 1)?,
        collections,
        events: events.iter().filter_map(|e| ChangeKind::parse(e)).collect(),
        secret: text(row, 4)?,
        created_at: from_millis(number(row, 5)?),
        cursor: u64::try_from(number(row, 6)?).unwrap_or(0),
    })
}

fn delivery(row: &QueryResult) -> Result<Delivery, RepoError> {
    let event = text(row, 3)?;
    let status = text(row, 5)?;
    Ok(Delivery {
        id: text(row, 0)?,
        subscription: text(row, 1)?,
        seq: u64::try_from(number(row, 2)?).unwrap_or(0),
        event: ChangeKind::parse(&event).ok_or_else(|| internal(format!("event '{event}'")))?,
        payload: text(row, 4)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| internal(format!("status '{status}'")))?,
        attempts: u32::try_from(number(row, 6)?).unwrap_or(0),
        next_attempt_at: number(row, 7)?,
        last_error: get::<String>(row, 8)?,
        created_at: from_millis(number(row, 9)?),
    })
}

fn names(kinds: &[ChangeKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    serde_json::to_string(&names).unwrap_or_default()
}

#[async_trait]
impl SubscriptionRepository for SqlSubscriptionRepository {
    async fn create(&self, s: &WebhookSubscription) -> Result<(), RepoError> {
        let mut columns: Vec<Alias> = SUB_COLUMNS.iter().map(|c| a(c)).collect();
        columns.push(a("lease_until"));
        let stmt = Query::insert()
            .into_table(a(SUBSCRIPTIONS))
            .columns(columns)
            .values_panic([
                s.name.clone().into(),
                s.url.clone().into(),
                serde_json::to_string(&s.collections)
                    .unwrap_or_default()
                    .into(),
                names(&s.events).into(),
                s.secret.clone().into(),
                millis(s.created_at).into(),
                i64::try_from(s.cursor).unwrap_or(i64::MAX).into(),
                0_i64.into(),
            ])
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn update(&self, s: &WebhookSubscription) -> Result<bool, RepoError> {
        let stmt = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("url"), s.url.clone())
            .value(
                a("collections"),
                serde_json::to_string(&s.collections).unwrap_or_default(),
            )
            .value(a("events"), names(&s.events))
            .value(a("secret"), s.secret.clone())
            .and_where(Expr::col(a("name")).eq(s.name.as_str()))
            .to_owned();
        let done = self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete(&self, name: &str) -> Result<bool, RepoError> {
        let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
        let deliveries = Query::delete()
            .from_table(a(DELIVERIES))
            .and_where(Expr::col(a("subscription")).eq(name))
            .to_owned();
        txn.execute(&deliveries).await.map_err(|e| classify(&e))?;
        let stmt = Query::delete()
            .from_table(a(SUBSCRIPTIONS))
            .and_where(Expr::col(a("name")).eq(name))
            .to_owned();
        let done = txn.execute(&stmt).await.map_err(|e| classify(&e))?;
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn get(&self, name: &str) -> Result<Option<WebhookSubscription>, RepoError> {
        let stmt = Query::select()
            .columns(SUB_COLUMNS.map(a))
            .from(a(SUBSCRIPTIONS))
            .and_where(Expr::col(a("name")).eq(name))
            .to_owned();
        let row = self
            .db
            .reader
            .query_one(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        row.as_ref().map(subscription).transpose()
    }

    async fn list(&self) -> Result<Vec<WebhookSubscription>, RepoError> {
        let stmt = Query::select()
            .columns(SUB_COLUMNS.map(a))
            .from(a(SUBSCRIPTIONS))
            .order_by(a("name"), Order::Asc)
            .to_owned();
        let rows = self
            .db
            .reader
            .query_all(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter().map(subscription).collect()
    }

    async fn lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, RepoError> {
        let stmt = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("lease_owner"), owner)
            .value(a("lease_until"), until_ms)
            .and_where(Expr::col(a("name")).eq(name))
            .cond_where(
                Cond::any()
                    .add(Expr::col(a("lease_owner")).is_null())
                    .add(Expr::col(a("lease_owner")).eq(owner))
                    .add(Expr::col(a("lease_until")).lt(now_ms)),
            )
            .to_owned();
        let done = self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn enqueue(
        &self,
        name: &str,
        from: u64,
        to: u64,
        deliveries: &[Delivery],
    ) -> Result<bool, RepoError> {
        let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
        let advance = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("cursor_seq"), i64::try_from(to).unwrap_or(i64::MAX))
            .and_where(Expr::col(a("name")).eq(name))
            .and_where(Expr::col(a("cursor_seq")).eq(i64::try_from(from).unwrap_or(i64::MAX)))
            .to_owned();
        let moved = txn.execute(&advance).await.map_err(|e| classify(&e))?;
        if moved.rows_affected() == 0 {
            let _ = txn.rollback().await;
            return Ok(false);
        }
        if !deliveries.is_empty() {
            let mut insert = Query::insert();
            insert
                .into_table(a(DELIVERIES))
                .columns(DELIVERY_COLUMNS.map(a));
            for d in deliveries {
                insert
                    .values([
                        d.id.clone().into(),
                        d.subscription.clone().into(),
                        i64::try_from(d.seq).unwrap_or(i64::MAX).into(),
                        d.event.name().into(),
                        d.payload.clone().into(),
                        d.status.as_str().into(),
                        i64::from(d.attempts).into(),
                        d.next_attempt_at.into(),
                        d.last_error.clone().into(),
                        millis(d.created_at).into(),
                    ])
                    .map_err(internal)?;
            }
            txn.execute(&insert).await.map_err(|e| classify(&e))?;
        }
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(true)
    }

    async fn pending(&self, name: &str, limit: u32) -> Result<Vec<Delivery>, RepoError> {
        let stmt = Query::select()
            .columns(DELIVERY_COLUMNS.map(a))
            .from(a(DELIVERIES))
            .and_where(Expr::col(a("subscription")).eq(name))
            .and_where(Expr::col(a("status")).eq(DeliveryStatus::Pending.as_str()))
            .order_by(a("seq"), Order::Asc)
            .limit(u64::from(limit))
            .to_owned();
        let rows = self
            .db
            .reader
            .query_all(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter().map(delivery).collect()
    }

    async fn delivered(&self, ids: &[String]) -> Result<(), RepoError> {
        if ids.is_empty() {
            return Ok(());
        }
        let stmt = Query::update()
            .table(a(DELIVERIES))
            .value(a("status"), DeliveryStatus::Delivered.as_str())
            .value(a("attempts"), Expr::col(a("attempts")).add(1))
            .value(a("last_error"), Option::<String>::None)
            .and_where(Expr::col(a("id")).is_in(ids.iter().cloned()))
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn record(&self, id: &str, attempt: &Attempt) -> Result<(), RepoError> {
        let mut stmt = Query::update();
        stmt.table(a(DELIVERIES))
            .value(a("attempts"), Expr::col(a("attempts")).add(1))
            .and_where(Expr::col(a("id")).eq(id));
        match attempt {
            Attempt::Delivered => {
                stmt.value(a("status"), DeliveryStatus::Delivered.as_str())
                    .value(a("last_error"), Option::<String>::None);
            }
            Attempt::Retry { at, error } => {
                stmt.value(a("next_attempt_at"), *at)
                    .value(a("last_error"), error.clone());
            }
            Attempt::Dead { error } => {
                stmt.value(a("status"), DeliveryStatus::Dead.as_str())
                    .value(a("last_error"), error.clone());
            }
        }
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn deliveries(
        &self,
        name: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, RepoError> {
        let mut stmt = Query::select();
        stmt.columns(DELIVERY_COLUMNS.map(a))
            .from(a(DELIVERIES))
            .order_by(a("seq"), Order::Desc)
            .limit(u64::from(limit));
        if let Some(name) = name {
            stmt.and_where(Expr::col(a("subscription")).eq(name));
        }
        if let Some(status) = status {
            stmt.and_where(Expr::col(a("status")).eq(status.as_str()));
        }
        let rows = self
            .db
            .reader
            .query_all(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter().map(delivery).collect()
    }

    async fn replay(&self, id: &str, now_ms: i64) -> Result<bool, RepoError> {
        let stmt = Query::update()
            .table(a(DELIVERIES))
            .value(a("status"), DeliveryStatus::Pending.as_str())
            .value(a("attempts"), 0_i64)
            .value(a("next_attempt_at"), now_ms)
            .and_where(Expr::col(a("id")).eq(id))
            .to_owned();
        let done = self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn rewind(&self, name: &str, after: u64) -> Result<bool, RepoError> {
        let stmt = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("cursor_seq"), i64::try_from(after).unwrap_or(i64::MAX))
            .and_where(Expr::col(a("name")).eq(name))
            .to_owned();
        let done = self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(done.rows_affected() > 0)
    }
}
