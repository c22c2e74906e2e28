//! An event's lease: claimed by a conditional update (so several processes never take the
//! same one), completed with its record in one transaction, failed, released, requeued.

use moon_domain::{Collection, EventStatus, NewRecord, RepoError, WebhookEvent};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_query::{Cond, Expr, ExprTrait, Query};

use super::{EVENTS, SqlWebhookRepository};
use crate::error::{classify, internal};
use crate::system_table::ident as a;
use crate::writes;

impl SqlWebhookRepository {
    /// Claims up to `limit` due events (pending or failed and due, or processing with an
    /// expired lease) until `lease_until`.
    pub(super) async fn claim_due(
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

    /// Marks a claimed event done and writes its record, in one transaction.
    pub(super) async fn complete_claimed(
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

    /// Records a failed attempt of a claimed event, dead or to retry at `next_attempt_at`.
    pub(super) async fn fail_claimed(
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

    /// Returns every claimed event to pending (at start-up, or shutdown).
    pub(super) async fn release_all_claims(&self) -> Result<u64, RepoError> {
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

    /// Puts an event back to pending with no attempts, to run again.
    pub(super) async fn requeue_event(&self, id: &str) -> Result<(), RepoError> {
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
