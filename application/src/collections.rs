//! Collection use cases: list, get, create, update (alter) and destroy schemas.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use moon_domain::ports::{CollectionRepository, RecordRepository, SchemaRegistry};
use moon_domain::{
    Collection, CollectionName, Column, FieldError, Index, ListQuery, RepoError, SchemaChange,
    check_columns, check_indexes,
};

use crate::error::AppError;
use crate::gate::SchemaGate;
use crate::limits::Limits;

/// One entry of `collections:list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionSummary {
    pub name: CollectionName,
    pub records: u64,
}

/// What `collections:update` did.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterOutcome {
    /// The change committed; the registry holds the new schema.
    Applied(Arc<Collection>),
    /// A dry run: the statements the change would run and the problems it would hit.
    DryRun {
        statements: Vec<String>,
        problems: Vec<FieldError>,
    },
}

/// Schema use cases. Changes are serialised by one lock, so two alters of the registry
/// never interleave; the registry is updated only after the database change committed.
pub struct CollectionService {
    registry: Arc<dyn SchemaRegistry>,
    collections: Arc<dyn CollectionRepository>,
    records: Arc<dyn RecordRepository>,
    limits: Limits,
    gate: Arc<SchemaGate>,
}

impl CollectionService {
    #[must_use]
    pub fn new(
        registry: Arc<dyn SchemaRegistry>,
        collections: Arc<dyn CollectionRepository>,
        records: Arc<dyn RecordRepository>,
        limits: Limits,
        gate: Arc<SchemaGate>,
    ) -> Self {
        Self {
            registry,
            collections,
            records,
            limits,
            gate,
        }
    }

    /// Every collection with its record count, sorted by name.
    ///
    /// # Errors
    /// [`AppError`] when a count fails.
    pub async fn list(&self) -> Result<Vec<CollectionSummary>, AppError> {
        let _gate = self.gate.record_op().await;
        let mut out = Vec::new();
        for collection in self.registry.list() {
            let records = self
                .records
                .count(&collection, &ListQuery::first(1))
                .await?;
            out.push(CollectionSummary {
                name: collection.name.clone(),
                records,
            });
        }
        Ok(out)
    }

    /// Every collection's schema, sorted by name (for the live documentation).
    #[must_use]
    pub fn schemas(&self) -> Vec<Arc<Collection>> {
        self.registry.list()
    }

    /// The schema of one collection.
    ///
    /// # Errors
    /// [`AppError::CollectionNotFound`].
    pub fn get(&self, name: &CollectionName) -> Result<Arc<Collection>, AppError> {
        self.registry
            .get(name.as_str())
            .ok_or_else(|| AppError::CollectionNotFound(name.to_string()))
    }

    /// Brings the registry up to the database when another process changed the schema:
    /// `seen` is the schema epoch last loaded (updated here). Returns whether anything
    /// changed. Record operations of this process wait while the registry is swapped.
    ///
    /// # Errors
    /// A database failure.
    pub async fn refresh_from_database(&self, seen: &AtomicI64) -> Result<bool, AppError> {
        let epoch = self.collections.schema_epoch().await?;
        if epoch == seen.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let _guard = self.gate.schema_change().await;
        let fresh = self.collections.load_current().await?;
        let mut changed = false;
        for stale in self.registry.list() {
            if !fresh.iter().any(|c| c.name == stale.name) {
                self.registry.remove(stale.name.as_str());
                changed = true;
            }
        }
        for collection in fresh {
            if self.registry.get(collection.name.as_str()).as_deref() != Some(&collection) {
                self.registry.put(collection);
                changed = true;
            }
        }
        seen.store(epoch, Ordering::SeqCst);
        Ok(changed)
    }

    /// Creates a collection with `columns` and `indexes`.
    ///
    /// # Errors
    /// Duplicate name, too many collections or columns, bad columns or indexes, or a
    /// database failure.
    pub async fn create(
        &self,
        name: CollectionName,
        columns: Vec<Column>,
        indexes: Vec<Index>,
    ) -> Result<Arc<Collection>, AppError> {
        check_columns(&columns, self.limits.max_columns)?;
        check_indexes(&columns, &indexes, |i| format!("indexes[{i}]"))
            .map_err(|e| AppError::Validation(vec![e]))?;
        let _guard = self.gate.schema_change().await;
        if self.registry.get(name.as_str()).is_some() {
            return Err(AppError::DuplicateCollection(name.to_string()));
        }
        if self.registry.len() >= self.limits.max_collections {
            return Err(AppError::MaxCollections {
                max: self.limits.max_collections,
            });
        }
        let mut collection = Collection {
            name,
            columns,
            indexes,
            version: 1,
        };
        // Another process may have made it since this one's registry was loaded.
        collection.version = self
            .collections
            .create(&collection)
            .await
            .map_err(|e| match e {
                RepoError::TableExists | RepoError::Duplicate { .. } => {
                    AppError::DuplicateCollection(collection.name.to_string())
                }
                other => other.into(),
            })?;
        self.registry.put(collection.clone());
        Ok(Arc::new(collection))
    }

    /// Applies `change` to the collection, all or nothing; with `dry_run`, reports instead.
    ///
    /// # Errors
    /// Not found, a change that does not fit the schema or the stored rows, or a database
    /// failure; in every case table and registry are as before.
    pub async fn update(
        &self,
        name: &CollectionName,
        change: &SchemaChange,
        dry_run: bool,
    ) -> Result<AlterOutcome, AppError> {
        let _guard = self.gate.schema_change().await;
        let current = self.get(name)?;
        let plan = change.plan(&current, self.limits.max_columns)?;
        let mut problems = Vec::new();
        let required = plan.added_required().next();
        let unique = plan.added_unique_with_default().next();
        let records = if required.is_some() || unique.is_some() {
            self.records.count(&current, &ListQuery::first(1)).await?
        } else {
            0
        };
        let refusals = [
            (
                required,
                records > 0,
                "cannot add a required (non-nullable) column to a collection that has records; add it as nullable",
            ),
            (
                unique,
                records > 1,
                "cannot add a unique column to a collection with more than one record: each would get the same default value; add it without unique, fill it in, then make it unique with modify_columns",
            ),
        ];
        for (column, refused, why) in refusals {
            if let Some(column) = column.filter(|_| refused) {
                let problem = FieldError::invalid(column.name.as_str(), why);
                if !dry_run {
                    return Err(AppError::Validation(vec![problem]));
                }
                problems.push(problem);
            }
        }
        match self.collections.alter(&current, &plan, dry_run).await {
            Ok(statements) if dry_run => Ok(AlterOutcome::DryRun {
                statements,
                problems,
            }),
            Ok(_) => {
                self.registry.put(plan.next.clone());
                Ok(AlterOutcome::Applied(Arc::new(plan.next)))
            }
            Err(RepoError::Invalid(problem)) if dry_run => {
                problems.push(problem);
                Ok(AlterOutcome::DryRun {
                    statements: Vec::new(),
                    problems,
                })
            }
            Err(RepoError::Duplicate { field }) if dry_run => {
                let field = field.unwrap_or_default();
                problems.push(FieldError::invalid(
                    field,
                    "existing records hold duplicate values",
                ));
                Ok(AlterOutcome::DryRun {
                    statements: Vec::new(),
                    problems,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Drops a collection and all its records.
    ///
    /// # Errors
    /// Not found, or a database failure.
    pub async fn destroy(&self, name: &CollectionName) -> Result<(), AppError> {
        let _guard = self.gate.schema_change().await;
        self.get(name)?;
        self.collections.destroy(name).await?;
        self.registry.remove(name.as_str());
        Ok(())
    }
}
