//! `CollectionRepository` over SQL: tables and their metadata change together. SQLite and
//! PostgreSQL do it in one transaction; MySQL, whose DDL commits implicitly, records its
//! intent first and is repaired at start-up (see `reconcile`). Changes go in place when the
//! engine can (`in_place`), else by rebuild.

use async_trait::async_trait;
use moon_domain::ports::CollectionRepository;
use moon_domain::{Collection, CollectionName, RepoError, SchemaPlan};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use sea_query::{Alias, Table};

use crate::connect::SqlDatabase;
use crate::dialect::Backend;
use crate::error::classify;
use crate::rebuild::{OLD_TABLE, REBUILD_TABLE, copy_rows, rebuild_in_transaction};
use crate::startup::ChangeLock;
use crate::{failpoint, in_place, indexes, metadata, reconcile, table};

/// Collections (DDL + metadata) on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlCollectionRepository {
    db: SqlDatabase,
}

impl SqlCollectionRepository {
    #[must_use]
    pub const fn new(db: SqlDatabase) -> Self {
        Self { db }
    }

    async fn begin(&self) -> Result<DatabaseTransaction, RepoError> {
        self.db.writer.begin().await.map_err(|e| classify(&e))
    }

    /// A schema change's transaction (SQLite, PostgreSQL), holding PostgreSQL's database-wide
    /// change lock: one change at a time across instances.
    async fn begin_change(&self) -> Result<DatabaseTransaction, RepoError> {
        let txn = self.begin().await?;
        if self.db.backend == Backend::Postgres {
            crate::startup::lock_in_transaction(&txn).await?;
        }
        Ok(txn)
    }

    /// MySQL: the database-wide change lock, then whatever a crashed instance's change left
    /// (with the lock held, no other change is running, so any mark or intent is orphaned).
    async fn lock_mysql(&self) -> Result<ChangeLock, RepoError> {
        let lock = ChangeLock::mysql(self.db.writer.get_mysql_connection_pool()).await?;
        if let Err(e) = reconcile::recover_interrupted(&self.db).await {
            lock.release().await;
            return Err(e);
        }
        Ok(lock)
    }

    async fn run(&self, stmt: &impl sea_orm::StatementBuilder) -> Result<(), RepoError> {
        self.db
            .writer
            .execute(stmt)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    /// MySQL, under the change lock: see [`Self::alter_mysql_locked`].
    async fn alter_mysql(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError> {
        let lock = self.lock_mysql().await?;
        let done = self.alter_mysql_locked(current, plan, dry_run).await;
        lock.release().await;
        done
    }

    /// MySQL, a change it makes in place: mark the collection changing, record the intent,
    /// run the one atomic `ALTER TABLE`, then write the metadata and forget the intent (a
    /// crash in between is finished or undone by what the table's columns show).
    async fn alter_mysql_in_place(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        alters: Vec<String>,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError> {
        if dry_run {
            return Ok(alters);
        }
        crate::change_marks::mark_changing(&self.db.writer, current).await?;
        let altered = async {
            metadata::record_intent(&self.db.writer, &plan.next).await?;
            failpoint::hit("mysql_before_alter");
            for alter in &alters {
                self.db
                    .writer
                    .execute_unprepared(alter)
                    .await
                    .map_err(|e| classify(&e))?;
            }
            Ok::<(), RepoError>(())
        }
        .await;
        if let Err(e) = altered {
            metadata::clear_intent(&self.db.writer, &current.name).await?;
            crate::change_marks::unmark_changing(&self.db.writer, current).await?;
            return Err(e);
        }
        failpoint::hit("mysql_after_alter");
        let txn = self.begin().await?;
        metadata::update(&txn, &plan.next).await?;
        metadata::clear_intent(&txn, &current.name).await?;
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(alters)
    }

    /// MySQL: build and fill the new table, record the intent, swap atomically with
    /// `RENAME TABLE`, then write the metadata and forget the intent.
    async fn alter_mysql_locked(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError> {
        let backend = self.db.backend;
        if let Some(alters) = in_place::statements(backend, current, plan) {
            return self
                .alter_mysql_in_place(current, plan, alters, dry_run)
                .await;
        }
        let name = current.name.as_str();
        self.run(
            &Table::drop()
                .table(Alias::new(REBUILD_TABLE))
                .if_exists()
                .to_owned(),
        )
        .await?;
        let create = table::create_statement(backend, REBUILD_TABLE, &plan.next);
        self.run(&create).await?;
        // From here no write validated against `current` lands in the table being copied.
        crate::change_marks::mark_changing(&self.db.writer, current).await?;
        let filled = async {
            let txn = self.begin().await?;
            let copied = copy_rows(&txn, backend, current, plan).await?;
            txn.commit().await.map_err(|e| classify(&e))?;
            Ok::<u64, RepoError>(copied)
        }
        .await;
        let swap = format!("RENAME TABLE `{name}` TO `{OLD_TABLE}`, `{REBUILD_TABLE}` TO `{name}`");
        let statements = vec![
            backend.db_backend().build(&create).to_string(),
            format!("-- copy rows from `{name}`, converting changed columns"),
            swap.clone(),
            format!("DROP TABLE `{OLD_TABLE}`"),
        ];
        let copied = match filled {
            Ok(copied) => copied,
            Err(e) => {
                crate::change_marks::unmark_changing(&self.db.writer, current).await?;
                self.run(
                    &Table::drop()
                        .table(Alias::new(REBUILD_TABLE))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
                return Err(e);
            }
        };
        if dry_run {
            crate::change_marks::unmark_changing(&self.db.writer, current).await?;
            self.run(&Table::drop().table(Alias::new(REBUILD_TABLE)).to_owned())
                .await?;
            tracing::debug!(collection = name, copied, "dry run rebuilt and discarded");
            return Ok(statements);
        }
        metadata::record_intent(&self.db.writer, &plan.next).await?;
        failpoint::hit("mysql_before_swap");
        self.db
            .writer
            .execute_unprepared(&swap)
            .await
            .map_err(|e| classify(&e))?;
        failpoint::hit("mysql_after_swap");
        let txn = self.begin().await?;
        metadata::update(&txn, &plan.next).await?;
        metadata::clear_intent(&txn, &current.name).await?;
        txn.commit().await.map_err(|e| classify(&e))?;
        self.run(
            &Table::drop()
                .table(Alias::new(OLD_TABLE))
                .if_exists()
                .to_owned(),
        )
        .await?;
        Ok(statements)
    }
}

#[async_trait]
impl CollectionRepository for SqlCollectionRepository {
    async fn load_all(&self) -> Result<Vec<Collection>, RepoError> {
        reconcile::repair(&self.db).await?;
        metadata::load_all(&self.db).await
    }

    async fn load_current(&self) -> Result<Vec<Collection>, RepoError> {
        metadata::load_all(&self.db).await
    }

    async fn schema_epoch(&self) -> Result<i64, RepoError> {
        crate::epochs::read(&self.db, crate::epochs::Epoch::Schema).await
    }

    async fn create(&self, collection: &Collection) -> Result<u64, RepoError> {
        let stmt = table::create_statement(self.db.backend, collection.name.as_str(), collection);
        if self.db.backend == Backend::MySql {
            let lock = self.lock_mysql().await?;
            // Metadata first: a crash before the table exists leaves metadata that start-up
            // finds without a table and drops.
            let done = async {
                let version = metadata::insert(&self.db.writer, collection).await?;
                if let Err(e) = self.run(&stmt).await {
                    metadata::delete(&self.db.writer, &collection.name).await?;
                    return Err(e);
                }
                Ok(version)
            }
            .await;
            lock.release().await;
            return done;
        }
        let txn = self.begin_change().await?;
        txn.execute(&stmt).await.map_err(|e| classify(&e))?;
        for index in &collection.indexes {
            let sql =
                indexes::create_sql(self.db.backend, collection, index, collection.name.as_str());
            txn.execute_unprepared(&sql)
                .await
                .map_err(|e| classify(&e))?;
        }
        let version = metadata::insert(&txn, collection).await?;
        txn.commit().await.map_err(|e| classify(&e))?;
        Ok(version)
    }

    async fn alter(
        &self,
        current: &Collection,
        plan: &SchemaPlan,
        dry_run: bool,
    ) -> Result<Vec<String>, RepoError> {
        if self.db.backend == Backend::MySql {
            return self.alter_mysql(current, plan, dry_run).await;
        }
        let txn = self.begin_change().await?;
        let backend = self.db.backend;
        let statements = match in_place::alter_in_transaction(&txn, backend, current, plan).await? {
            Some(statements) => statements,
            None => rebuild_in_transaction(&txn, backend, current, plan).await?,
        };
        metadata::update(&txn, &plan.next).await?;
        if dry_run {
            txn.rollback().await.map_err(|e| classify(&e))?;
        } else {
            txn.commit().await.map_err(|e| classify(&e))?;
        }
        Ok(statements)
    }

    async fn destroy(&self, name: &CollectionName) -> Result<(), RepoError> {
        let drop = Table::drop().table(Alias::new(name.as_str())).to_owned();
        if self.db.backend == Backend::MySql {
            let lock = self.lock_mysql().await?;
            // Table first: a crash after it leaves metadata without a table, dropped at start-up.
            let done = async {
                self.run(&drop).await?;
                metadata::delete(&self.db.writer, name).await
            }
            .await;
            lock.release().await;
            return done;
        }
        let txn = self.begin_change().await?;
        txn.execute(&drop).await.map_err(|e| classify(&e))?;
        metadata::delete(&txn, name).await?;
        txn.commit().await.map_err(|e| classify(&e))
    }
}
