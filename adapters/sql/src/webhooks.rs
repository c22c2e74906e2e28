//! `WebhookRepository` over SQL: endpoints as JSON rows in `moon_webhooks`, events in
//! `moon_webhook_events` (unique per webhook and event key), claimed with a lease by a
//! conditional update so several processes never take the same event.

use async_trait::async_trait;
use moon_domain::ports::WebhookRepository;
use moon_domain::{Collection, EventStatus, NewRecord, RepoError, WebhookEndpoint, WebhookEvent};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait};
use sea_query::{ColumnDef, Cond, Expr, ExprTrait, Index, Order, Query, Table};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::{classify, internal};
use crate::system_table::{ident as a, varchar};
use crate::webhook_config::{decode_endpoint, encode_endpoint};
use crate::writes;

const ENDPOINTS: &str = "moon_webhooks";
const EVENTS: &str = "moon_webhook_events";
const EVENT_COLUMNS: [&str; 10] = [
    "id",
    "webhook",
    "event_key",
    "body",
    "status",
    "attempts",
    "last_error",
    "received_at",
    "record_id",
    "lease_token",
];

/// Webhook endpoints and events on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlWebhookRepository {
    db: SqlDatabase,
}

impl SqlWebhookRepository {
    /// The repository, creating its tables when missing.
    ///
    /// # Errors
    /// [`RepoError`] when a table cannot be created.
    pub async fn open(db: SqlDatabase) -> Result<Self, RepoError> {
        let datetime = db.backend.column_type(moon_domain::FieldType::Datetime);
        let endpoints = Table::create()
            .table(a(ENDPOINTS))
            .if_not_exists()
            .col(varchar("name", 63).not_null().primary_key())
            .col(ColumnDef::new(a("config")).text().not_null())
            .to_owned();
        let events = Table::create()
            .table(a(EVENTS))
            .if_not_exists()
            .col(varchar("id", 26).not_null().primary_key())
            .col(varchar("webhook", 63).not_null())
            .col(varchar("event_key", 191).null())
            .col(ColumnDef::new(a("body")).text().not_null())
            .col(varchar("status", 16).not_null())
            .col(ColumnDef::new(a("attempts")).integer().not_null())
            .col(ColumnDef::new(a("last_error")).text().null())
            .col(ColumnDef::new_with_type(a("received_at"), datetime).not_null())
            .col(
                ColumnDef::new(a("next_attempt_at"))
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(a("lease_until")).big_integer().not_null())
            .col(varchar("record_id", 26).null())
            .col(varchar("lease_token", 26).null())
            .to_owned();
        for stmt in [&endpoints, &events] {
            db.writer.execute(stmt).await.map_err(|e| classify(&e))?;
        }
        let unique = Index::create()
            .name("ux_moon_webhook_events_key")
            .table(a(EVENTS))
            .col(a("webhook"))
            .col(a("event_key"))
            .unique()
            .if_not_exists()
            .to_owned();
        crate::system_table::ensure_index(&db.writer, &unique).await?;
        crate::webhook_queue::ensure_status_index(&db).await?;
        Ok(Self { db })
    }

    fn event_from(&self, row: &QueryResult) -> Result<WebhookEvent, RepoError> {
        let status = get::<String>(row, 4)?.unwrap_or_default();
        Ok(WebhookEvent {
            id: get::<String>(row, 0)?.unwrap_or_default(),
            webhook: get::<String>(row, 1)?.unwrap_or_default(),
            event_key: get::<String>(row, 2)?,
            body: get::<String>(row, 3)?.unwrap_or_default(),
            status: EventStatus::parse(&status)
                .ok_or_else(|| internal(format!("unknown event status '{status}'")))?,
            attempts: get::<i32>(row, 5)?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            last_error: get::<String>(row, 6)?,
            received_at: self.db.backend.decode_datetime(row, 7)?.unwrap_or_default(),
            record_id: get::<String>(row, 8)?,
            lease: get::<String>(row, 9)?,
        })
    }

    async fn select_events(
        &self,
        cond: Cond,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError> {
        let mut select = Query::select();
        select
            .columns(EVENT_COLUMNS.iter().map(|c| a(c)))
            .from(a(EVENTS))
            .cond_where(cond);
        if let Some(after) = after {
            select.and_where(Expr::col(a("id")).gt(after));
        }
        select.order_by(a("id"), Order::Asc).limit(u64::from(limit));
        let rows = self
            .db
            .writer
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter().map(|r| self.event_from(r)).collect()
    }
}

#[async_trait]
impl WebhookRepository for SqlWebhookRepository {
    async fn endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError> {
        let select = Query::select()
            .columns([a("name"), a("config")])
            .from(a(ENDPOINTS))
            .order_by(a("name"), Order::Asc)
            .to_owned();
        let rows = self
            .db
            .writer
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))?;
        rows.iter()
            .map(|r| {
                decode_endpoint(
                    &get::<String>(r, 0)?.unwrap_or_default(),
                    &get::<String>(r, 1)?.unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn save_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        insert: bool,
    ) -> Result<(), RepoError> {
        let config = encode_endpoint(endpoint);
        if insert {
            let stmt = Query::insert()
                .into_table(a(ENDPOINTS))
                .columns([a("name"), a("config")])
                .values_panic([endpoint.name.as_str().into(), config.into()])
                .to_owned();
            self.db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?;
        } else {
            let stmt = Query::update()
                .table(a(ENDPOINTS))
                .value(a("config"), config)
                .and_where(Expr::col(a("name")).eq(endpoint.name.as_str()))
                .to_owned();
            self.db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(())
    }

    async fn delete_endpoint(&self, name: &str) -> Result<bool, RepoError> {
        let stmt = Query::delete()
            .from_table(a(ENDPOINTS))
            .and_where(Expr::col(a("name")).eq(name))
            .to_owned();
        Ok(self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected()
            > 0)
    }

    async fn insert_event(&self, event: &WebhookEvent) -> Result<Result<(), String>, RepoError> {
        let b = self.db.backend;
        let stmt = Query::insert()
            .into_table(a(EVENTS))
            .columns(
                [
                    "id",
                    "webhook",
                    "event_key",
                    "body",
                    "status",
                    "attempts",
                    "received_at",
                    "next_attempt_at",
                    "lease_until",
                ]
                .map(a),
            )
            .values([
                event.id.clone().into(),
                event.webhook.clone().into(),
                event.event_key.clone().into(),
                event.body.clone().into(),
                event.status.as_str().into(),
                0_i32.into(),
                Expr::val(b.bind_datetime(&event.received_at)),
                0_i64.into(),
                0_i64.into(),
            ])
            .map_err(internal)?
            .to_owned();
        match self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))
        {
            Ok(_) => Ok(Ok(())),
            Err(RepoError::Duplicate { .. }) => {
                let cond = Cond::all()
                    .add(Expr::col(a("webhook")).eq(event.webhook.as_str()))
                    .add(Expr::col(a("event_key")).eq(event.event_key.clone().unwrap_or_default()));
                let first = self.select_events(cond, None, 1).await?;
                Ok(Err(first.first().map(|e| e.id.clone()).unwrap_or_default()))
            }
            Err(e) => Err(e),
        }
    }

    async fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError> {
        let due = || {
            Cond::any()
                .add(
                    Cond::all()
                        .add(Expr::col(a("status")).is_in(["pending", "failed"]))
                        .add(Expr::col(a("next_attempt_at")).lte(now)),
                )
                .add(
                    Cond::all()
                        .add(Expr::col(a("status")).eq("processing"))
                        .add(Expr::col(a("lease_until")).lt(now)),
                )
        };
        let candidates = self.select_events(due(), None, limit).await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for mut event in candidates {
            let lease = ulid::Ulid::new().to_string();
            let stmt = Query::update()
                .table(a(EVENTS))
                .value(a("status"), "processing")
                .value(a("lease_until"), lease_until)
                .value(a("lease_token"), lease.as_str())
                .and_where(Expr::col(a("id")).eq(event.id.as_str()))
                .cond_where(due())
                .to_owned();
            if self
                .db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?
                .rows_affected()
                == 1
            {
                event.status = EventStatus::Processing;
                event.lease = Some(lease);
                claimed.push(event);
            }
        }
        Ok(claimed)
    }

    async fn complete(
        &self,
        event: &WebhookEvent,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError> {
        let txn = self.db.writer.begin().await.map_err(|e| classify(&e))?;
        let stmt = Query::update()
            .table(a(EVENTS))
            .value(a("status"), "done")
            // A success is an attempt too: a first-time success has 1 (API.md §7).
            .value(a("attempts"), Expr::col(a("attempts")).add(1))
            .value(a("record_id"), record.id.to_string())
            .value(a("last_error"), None::<String>)
            .value(a("lease_token"), None::<String>)
            .and_where(Expr::col(a("id")).eq(event.id.as_str()))
            .and_where(Expr::col(a("status")).eq("processing"))
            .and_where(Expr::col(a("lease_token")).eq(event.lease.clone().unwrap_or_default()))
            .to_owned();
        // The claim first: a worker whose claim was taken over writes nothing.
        let claimed = txn
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected()
            == 1;
        if !claimed {
            let _ = txn.rollback().await;
            return Err(internal(format!(
                "event {} is no longer claimed by this worker",
                event.id
            )));
        }
        writes::insert(&txn, self.db.backend, collection, record).await?;
        txn.commit().await.map_err(|e| classify(&e))?;
        self.db.feed.notify_one();
        Ok(())
    }

    async fn fail(
        &self,
        event: &WebhookEvent,
        error: &str,
        dead: bool,
        next_attempt_at: i64,
    ) -> Result<(), RepoError> {
        let stmt = Query::update()
            .table(a(EVENTS))
            .value(a("status"), if dead { "dead" } else { "failed" })
            .value(a("attempts"), Expr::col(a("attempts")).add(1))
            .value(a("last_error"), error)
            .value(a("next_attempt_at"), next_attempt_at)
            .value(a("lease_token"), None::<String>)
            .and_where(Expr::col(a("id")).eq(event.id.as_str()))
            .and_where(Expr::col(a("lease_token")).eq(event.lease.clone().unwrap_or_default()))
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn release_claims(&self) -> Result<u64, RepoError> {
        let stmt = Query::update()
            .table(a(EVENTS))
            .value(a("status"), "pending")
            .value(a("lease_token"), None::<String>)
            .value(a("next_attempt_at"), 0_i64)
            .and_where(Expr::col(a("status")).eq("processing"))
            .to_owned();
        Ok(self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected())
    }

    async fn events(
        &self,
        webhook: Option<&str>,
        status: Option<EventStatus>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, RepoError> {
        let mut cond = Cond::all();
        if let Some(webhook) = webhook {
            cond = cond.add(Expr::col(a("webhook")).eq(webhook));
        }
        if let Some(status) = status {
            cond = cond.add(Expr::col(a("status")).eq(status.as_str()));
        }
        self.select_events(cond, after, limit).await
    }

    async fn event(&self, id: &str) -> Result<Option<WebhookEvent>, RepoError> {
        Ok(self
            .select_events(Cond::all().add(Expr::col(a("id")).eq(id)), None, 1)
            .await?
            .into_iter()
            .next())
    }

    async fn queue_depth(&self) -> Result<Vec<(EventStatus, u64)>, RepoError> {
        crate::webhook_queue::depth(&self.db).await
    }

    async fn requeue(&self, id: &str) -> Result<(), RepoError> {
        let stmt = Query::update()
            .table(a(EVENTS))
            .value(a("status"), "pending")
            .value(a("attempts"), 0_i32)
            .value(a("next_attempt_at"), 0_i64)
            .value(a("lease_until"), 0_i64)
            .value(a("lease_token"), None::<String>)
            .and_where(Expr::col(a("id")).eq(id))
            .to_owned();
        self.db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }
}
