//! `LoginFailureLog` over SQL: one row per locked-out key (IP and username) with its failures
//! and when their window began, counted by one atomic upsert, so every instance over the
//! database sees the same lockouts.

use async_trait::async_trait;
use moon_domain::RepoError;
use moon_domain::ports::LoginFailureLog;
use sea_orm::ConnectionTrait;
use sea_query::{ColumnDef, Expr, ExprTrait, OnConflict, Query, Table};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::classify;
use crate::system_table::{ident as col, varchar};

const TABLE: &str = "moon_login_failures";

/// Failed logins, shared by every instance.
#[derive(Debug, Clone)]
pub struct SqlLoginFailureLog {
    db: SqlDatabase,
}

impl SqlLoginFailureLog {
    /// The log, creating its table when missing.
    ///
    /// # Errors
    /// [`RepoError`] when the table cannot be created.
    pub async fn open(db: SqlDatabase) -> Result<Self, RepoError> {
        let stmt = Table::create()
            .table(col(TABLE))
            .if_not_exists()
            .col(varchar("lock_key", 255).not_null().primary_key())
            .col(ColumnDef::new(col("failures")).integer().not_null())
            .col(ColumnDef::new(col("since")).big_integer().not_null())
            .to_owned();
        db.writer.execute(&stmt).await.map_err(|e| classify(&e))?;
        Ok(Self { db })
    }

    async fn run(&self, stmt: &impl sea_orm::StatementBuilder) -> Result<u64, RepoError> {
        let done = self
            .db
            .writer
            .execute(stmt)
            .await
            .map_err(|e| classify(&e))?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl LoginFailureLog for SqlLoginFailureLog {
    async fn failures(
        &self,
        key: &str,
        window_start: i64,
    ) -> Result<Option<(u32, i64)>, RepoError> {
        let select = Query::select()
            .columns([col("failures"), col("since")])
            .from(col(TABLE))
            .and_where(Expr::col(col("lock_key")).eq(key))
            .and_where(Expr::col(col("since")).gte(window_start))
            .to_owned();
        let row = self
            .db
            .writer
            .query_one(&select)
            .await
            .map_err(|e| classify(&e))?;
        row.map(|row| {
            let failures = get::<i32>(&row, 0)?.unwrap_or(0);
            let since = get::<i64>(&row, 1)?.unwrap_or(0);
            Ok((u32::try_from(failures).unwrap_or(0), since))
        })
        .transpose()
    }

    async fn record_failure(&self, key: &str, at: i64, window_start: i64) -> Result<(), RepoError> {
        let stale = || Expr::col((col(TABLE), col("since"))).lt(window_start);
        // `failures` first: MySQL assigns left to right, and its test reads the old `since`.
        let restart_or_count =
            Expr::case(stale(), 1).finally(Expr::col((col(TABLE), col("failures"))).add(1));
        let restart_or_keep =
            Expr::case(stale(), at).finally(Expr::col((col(TABLE), col("since"))));
        let upsert = Query::insert()
            .into_table(col(TABLE))
            .columns([col("lock_key"), col("failures"), col("since")])
            .values_panic([key.into(), 1_i32.into(), at.into()])
            .on_conflict(
                OnConflict::column(col("lock_key"))
                    .value(col("failures"), restart_or_count)
                    .value(col("since"), restart_or_keep)
                    .to_owned(),
            )
            .to_owned();
        self.run(&upsert).await.map(|_| ())
    }

    async fn forget(&self, key: &str) -> Result<(), RepoError> {
        let delete = Query::delete()
            .from_table(col(TABLE))
            .and_where(Expr::col(col("lock_key")).eq(key))
            .to_owned();
        self.run(&delete).await.map(|_| ())
    }

    async fn sweep(&self, window_start: i64) -> Result<u64, RepoError> {
        let delete = Query::delete()
            .from_table(col(TABLE))
            .and_where(Expr::col(col("since")).lt(window_start))
            .to_owned();
        self.run(&delete).await
    }
}
