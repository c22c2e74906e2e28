//! The events table's rows: the columns every read lists, a row to a `WebhookEvent`, and
//! the one select every event query goes through.

use moon_domain::{EventStatus, RepoError, WebhookEvent};
use sea_orm::{ConnectionTrait, QueryResult};
use sea_query::{Cond, Expr, ExprTrait, Order, Query};

use super::{EVENTS, SqlWebhookRepository};
use crate::dialect::get;
use crate::error::{classify, internal};
use crate::system_table::ident as a;

pub(super) const EVENT_COLUMNS: [&str; 10] = [
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

impl SqlWebhookRepository {
    pub(super) fn event_from(&self, row: &QueryResult) -> Result<WebhookEvent, RepoError> {
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

    pub(super) async fn select_events(
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
