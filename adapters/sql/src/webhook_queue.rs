//! The webhook queue as an operator sees it: events per unfinished status, counted through
//! an index on `(status, next_attempt_at)` that the workers' claims use too.

use moon_domain::{EventStatus, RepoError};
use sea_orm::ConnectionTrait;
use sea_query::{Alias, Expr, ExprTrait, Func, Index, Query};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::classify;

const EVENTS: &str = "moon_webhook_events";
const UNFINISHED: [EventStatus; 4] = [
    EventStatus::Pending,
    EventStatus::Processing,
    EventStatus::Failed,
    EventStatus::Dead,
];

/// Creates the status index when missing.
///
/// # Errors
/// [`RepoError`] when the database refuses.
pub async fn ensure_status_index(db: &SqlDatabase) -> Result<(), RepoError> {
    let index = Index::create()
        .name("ix_moon_webhook_events_status")
        .table(Alias::new(EVENTS))
        .col(Alias::new("status"))
        .col(Alias::new("next_attempt_at"))
        .if_not_exists()
        .to_owned();
    crate::system_table::ensure_index(&db.writer, &index).await
}

/// Events per unfinished status; statuses with none are reported as 0.
///
/// # Errors
/// [`RepoError`] when the database fails.
pub async fn depth(db: &SqlDatabase) -> Result<Vec<(EventStatus, u64)>, RepoError> {
    let select = Query::select()
        .column(Alias::new("status"))
        .expr(Func::count(Expr::col(Alias::new("id"))))
        .from(Alias::new(EVENTS))
        .and_where(Expr::col(Alias::new("status")).is_in(UNFINISHED.map(EventStatus::as_str)))
        .group_by_col(Alias::new("status"))
        .to_owned();
    let rows = db
        .reader
        .query_all(&select)
        .await
        .map_err(|e| classify(&e))?;
    let mut counts: Vec<(EventStatus, u64)> = UNFINISHED.iter().map(|s| (*s, 0)).collect();
    for row in rows {
        let status = get::<String>(&row, 0)?.unwrap_or_default();
        let count = get::<i64>(&row, 1)?.unwrap_or(0);
        if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == status) {
            slot.1 = u64::try_from(count).unwrap_or(0);
        }
    }
    Ok(counts)
}
