//! Outbound webhook subscriptions and their deliveries (API.md §10) in two tables; a lease
//! column lets exactly one instance deliver for a subscription at a time.

use async_trait::async_trait;
use moon_domain::ports::SubscriptionRepository;
use moon_domain::{Attempt, Delivery, DeliveryStatus, RepoError, WebhookSubscription};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait};
use sea_query::{Alias, Cond, Expr, ExprTrait, Order, Query};

use crate::connect::SqlDatabase;
use crate::dialect::Backend;
use crate::error::{classify, internal};

mod rows;

use rows::{DELIVERY_COLUMNS, SUB_COLUMNS, delivery, millis, names, subscription};

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
    /// Runs a write on the writer; the rows it changed.
    async fn run(&self, stmt: &impl sea_orm::StatementBuilder) -> Result<u64, RepoError> {
        self.db
            .writer
            .execute(stmt)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| classify(&e))
    }

    /// Runs a read on the reader pool.
    async fn rows(
        &self,
        stmt: &impl sea_orm::StatementBuilder,
    ) -> Result<Vec<QueryResult>, RepoError> {
        self.db
            .reader
            .query_all(stmt)
            .await
            .map_err(|e| classify(&e))
    }

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
        self.run(&stmt).await?;
        Ok(())
    }
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
        self.run(&stmt).await?;
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
        Ok(self.run(&stmt).await? > 0)
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
        self.rows(&stmt)
            .await?
            .first()
            .map(subscription)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<WebhookSubscription>, RepoError> {
        let stmt = Query::select()
            .columns(SUB_COLUMNS.map(a))
            .from(a(SUBSCRIPTIONS))
            .order_by(a("name"), Order::Asc)
            .to_owned();
        let rows = self.rows(&stmt).await?;
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
        Ok(self.run(&stmt).await? > 0)
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
        let rows = self.rows(&stmt).await?;
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
        self.run(&stmt).await?;
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
        self.run(&stmt).await?;
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
        let rows = self.rows(&stmt).await?;
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
        Ok(self.run(&stmt).await? > 0)
    }

    async fn rewind(&self, name: &str, after: u64) -> Result<bool, RepoError> {
        let stmt = Query::update()
            .table(a(SUBSCRIPTIONS))
            .value(a("cursor_seq"), i64::try_from(after).unwrap_or(i64::MAX))
            .and_where(Expr::col(a("name")).eq(name))
            .to_owned();
        Ok(self.run(&stmt).await? > 0)
    }
}
