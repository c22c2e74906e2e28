//! `WebhookRepository` over SQL: endpoints as JSON rows in `moon_webhooks`, events in
//! `moon_webhook_events` (unique per webhook and event key), claimed with a lease by a
//! conditional update so several processes never take the same event.

mod leases;
mod rows;

use async_trait::async_trait;
use moon_domain::ports::WebhookRepository;
use moon_domain::{Collection, EventStatus, NewRecord, RepoError, WebhookEndpoint, WebhookEvent};
use sea_orm::ConnectionTrait;
use sea_query::{ColumnDef, Cond, Expr, ExprTrait, Index, Order, Query, Table};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::{classify, internal};
use crate::system_table::{ident as a, varchar};
use crate::webhook_config::{decode_endpoint, encode_endpoint};

const ENDPOINTS: &str = "moon_webhooks";
const EVENTS: &str = "moon_webhook_events";

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
                .values([endpoint.name.as_str().into(), config.into()])
                .map_err(internal)?
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
        self.claim_due(now, lease_until, limit).await
    }

    async fn complete(
        &self,
        event: &WebhookEvent,
        collection: &Collection,
        record: &NewRecord,
    ) -> Result<(), RepoError> {
        self.complete_claimed(event, collection, record).await
    }

    async fn fail(
        &self,
        event: &WebhookEvent,
        error: &str,
        dead: bool,
        next_attempt_at: i64,
    ) -> Result<(), RepoError> {
        self.fail_claimed(event, error, dead, next_attempt_at).await
    }

    async fn release_claims(&self) -> Result<u64, RepoError> {
        self.release_all_claims().await
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
        self.requeue_event(id).await
    }
}
