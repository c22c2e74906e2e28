//! `IdempotencyStore` over SQL: one row per key, reserved by an insert (the primary key
//! makes concurrent retries race safely), completed with the answer, swept when expired.

use async_trait::async_trait;
use moon_domain::ports::IdempotencyStore;
use moon_domain::{IdempotencyKey, RepoError, Reservation, StoredAnswer};
use sea_orm::ConnectionTrait;
use sea_query::{ColumnDef, ColumnType, Expr, ExprTrait, Query, StringLen, Table};

use crate::connect::SqlDatabase;
use crate::dialect::get;
use crate::error::classify;
use crate::system_table::ident as col;

const TABLE: &str = "moon_idempotency";

/// Stored answers of idempotent writes.
#[derive(Debug, Clone)]
pub struct SqlIdempotencyStore {
    db: SqlDatabase,
}

impl SqlIdempotencyStore {
    /// The store, creating its table when missing.
    ///
    /// # Errors
    /// [`RepoError`] when the table cannot be created.
    pub async fn open(db: SqlDatabase) -> Result<Self, RepoError> {
        let stmt = Table::create()
            .table(col(TABLE))
            .if_not_exists()
            .col(
                ColumnDef::new_with_type(col("id"), ColumnType::String(StringLen::N(64)))
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new_with_type(col("request_hash"), ColumnType::String(StringLen::N(64)))
                    .not_null(),
            )
            .col(ColumnDef::new(col("status")).integer().not_null())
            .col(ColumnDef::new(col("body")).text().null())
            .col(
                ColumnDef::new_with_type(col("etag"), ColumnType::String(StringLen::N(100))).null(),
            )
            .col(ColumnDef::new(col("expires_at")).big_integer().not_null())
            .to_owned();
        db.writer.execute(&stmt).await.map_err(|e| classify(&e))?;
        Ok(Self { db })
    }

    async fn existing(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<(String, i32, Option<String>, Option<String>, i64)>, RepoError> {
        let select = Query::select()
            .columns([
                col("request_hash"),
                col("status"),
                col("body"),
                col("etag"),
                col("expires_at"),
            ])
            .from(col(TABLE))
            .and_where(Expr::col(col("id")).eq(key.0.as_str()))
            .to_owned();
        let row = self
            .db
            .writer
            .query_one(&select)
            .await
            .map_err(|e| classify(&e))?;
        row.map(|row| {
            Ok((
                get::<String>(&row, 0)?.unwrap_or_default(),
                get::<i32>(&row, 1)?.unwrap_or(0),
                get::<String>(&row, 2)?,
                get::<String>(&row, 3)?,
                get::<i64>(&row, 4)?.unwrap_or(0),
            ))
        })
        .transpose()
    }
}

#[async_trait]
impl IdempotencyStore for SqlIdempotencyStore {
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Reservation, RepoError> {
        for _ in 0..3 {
            let insert = Query::insert()
                .into_table(col(TABLE))
                .columns([
                    col("id"),
                    col("request_hash"),
                    col("status"),
                    col("expires_at"),
                ])
                .values_panic([
                    key.0.as_str().into(),
                    request_hash.into(),
                    0_i32.into(),
                    expires_at.into(),
                ])
                .to_owned();
            match self
                .db
                .writer
                .execute(&insert)
                .await
                .map_err(|e| classify(&e))
            {
                Ok(_) => return Ok(Reservation::Fresh),
                Err(RepoError::Duplicate { .. }) => {}
                Err(e) => return Err(e),
            }
            let Some((hash, status, body, etag, expires)) = self.existing(key).await? else {
                continue;
            };
            if expires <= now {
                let stale = Query::delete()
                    .from_table(col(TABLE))
                    .and_where(Expr::col(col("id")).eq(key.0.as_str()))
                    .and_where(Expr::col(col("expires_at")).lte(now))
                    .to_owned();
                self.db
                    .writer
                    .execute(&stale)
                    .await
                    .map_err(|e| classify(&e))?;
                continue;
            }
            if hash != request_hash {
                return Ok(Reservation::Conflict { in_flight: false });
            }
            if status == 0 {
                return Ok(Reservation::Conflict { in_flight: true });
            }
            return Ok(Reservation::Replay(StoredAnswer {
                status: u16::try_from(status).unwrap_or(500),
                body: body.unwrap_or_default(),
                etag,
            }));
        }
        Ok(Reservation::Conflict { in_flight: true })
    }

    async fn complete(&self, key: &IdempotencyKey, answer: &StoredAnswer) -> Result<(), RepoError> {
        let update = Query::update()
            .table(col(TABLE))
            .value(col("status"), i32::from(answer.status))
            .value(col("body"), answer.body.as_str())
            .value(col("etag"), answer.etag.clone())
            .and_where(Expr::col(col("id")).eq(key.0.as_str()))
            .to_owned();
        self.db
            .writer
            .execute(&update)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), RepoError> {
        let delete = Query::delete()
            .from_table(col(TABLE))
            .and_where(Expr::col(col("id")).eq(key.0.as_str()))
            .and_where(Expr::col(col("status")).eq(0))
            .to_owned();
        self.db
            .writer
            .execute(&delete)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    async fn sweep(&self, now: i64) -> Result<u64, RepoError> {
        let delete = Query::delete()
            .from_table(col(TABLE))
            .and_where(Expr::col(col("expires_at")).lte(now))
            .to_owned();
        let result = self
            .db
            .writer
            .execute(&delete)
            .await
            .map_err(|e| classify(&e))?;
        Ok(result.rows_affected())
    }
}
