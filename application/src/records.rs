//! Record use cases: list, get, schema, create, update and destroy, each validated
//! against the registry before the repository sees it.

use std::sync::Arc;

use moon_domain::ports::{Clock, RecordRepository, SchemaRegistry};
use moon_domain::validation::{validate_create, validate_update};
use moon_domain::{Collection, Cursor, NewRecord, Page, Record, RecordId};
use serde_json::{Map, Value as Json};
use ulid::Ulid;

use crate::error::AppError;
use crate::gate::SchemaGate;
use crate::limits::Limits;

/// What `:list` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRequest {
    /// Page size; the configured default when `None`.
    pub limit: Option<u32>,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// Whether to count every matching record (`count=none` turns it off).
    pub with_total: bool,
}

/// One page of `:list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<Record>,
    /// The number of matching records, unless the request skipped counting.
    pub total: Option<u64>,
    pub next_cursor: Option<Cursor>,
    pub limit: u32,
}

/// Record use cases.
pub struct RecordService {
    registry: Arc<dyn SchemaRegistry>,
    records: Arc<dyn RecordRepository>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    gate: Arc<SchemaGate>,
}

impl RecordService {
    #[must_use]
    pub fn new(
        registry: Arc<dyn SchemaRegistry>,
        records: Arc<dyn RecordRepository>,
        clock: Arc<dyn Clock>,
        limits: Limits,
        gate: Arc<SchemaGate>,
    ) -> Self {
        Self {
            registry,
            records,
            clock,
            limits,
            gate,
        }
    }

    /// The collection called `name` (matched case-insensitively).
    ///
    /// # Errors
    /// [`AppError::CollectionNotFound`].
    pub fn collection(&self, name: &str) -> Result<Arc<Collection>, AppError> {
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.registry.get(&name.to_ascii_lowercase())
        } else {
            self.registry.get(name)
        };
        found.ok_or_else(|| AppError::CollectionNotFound(name.to_ascii_lowercase()))
    }

    /// One page of records in id order.
    ///
    /// # Errors
    /// A bad page size, or a database failure.
    pub async fn list(&self, name: &str, request: ListRequest) -> Result<ListPage, AppError> {
        let ListRequest {
            limit,
            after,
            with_total,
        } = request;
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let limit = limit.unwrap_or(self.limits.default_page_size);
        if limit == 0 {
            return Err(AppError::invalid("limit", "must be at least 1"));
        }
        if limit > self.limits.max_page_size {
            return Err(AppError::PageSizeExceeded {
                max: self.limits.max_page_size,
            });
        }
        let mut records = self
            .records
            .list(
                &collection,
                &Page {
                    limit: limit + 1,
                    after,
                },
            )
            .await?;
        let next_cursor = if records.len() > limit as usize {
            records.truncate(limit as usize);
            records.last().map(|r| Cursor { last_id: r.id })
        } else {
            None
        };
        let total = if with_total {
            Some(self.records.count(&collection).await?)
        } else {
            None
        };
        Ok(ListPage {
            records,
            total,
            next_cursor,
            limit,
        })
    }

    /// One record.
    ///
    /// # Errors
    /// A malformed id, or no such record.
    pub async fn get(&self, name: &str, id: &str) -> Result<Record, AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let id = parse_id(id)?;
        self.records
            .get(&collection, id)
            .await?
            .ok_or_else(|| AppError::RecordNotFound(id.to_string()))
    }

    /// The collection's schema and its record count, for `:schema`.
    ///
    /// # Errors
    /// Not found, or a database failure.
    pub async fn schema(&self, name: &str) -> Result<(Arc<Collection>, u64), AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let total = self.records.count(&collection).await?;
        Ok((collection, total))
    }

    /// Validates and inserts one record.
    ///
    /// # Errors
    /// Validation errors, a unique violation, or a database failure.
    pub async fn create(&self, name: &str, data: Map<String, Json>) -> Result<Record, AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let fields = validate_create(&collection, data)?;
        let record = NewRecord {
            id: RecordId::from_ulid(Ulid::new()),
            created_at: self.clock.now(),
            fields,
        };
        self.records.insert(&collection, &record).await?;
        Ok(record.into())
    }

    /// Validates and applies a partial update.
    ///
    /// # Errors
    /// A malformed id, validation errors, no such record, a unique violation, or a
    /// database failure.
    pub async fn update(
        &self,
        name: &str,
        id: &str,
        data: Map<String, Json>,
    ) -> Result<Record, AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let id = parse_id(id)?;
        if data.is_empty() {
            return Err(AppError::invalid(
                "data",
                "give at least one field to update",
            ));
        }
        let fields = validate_update(&collection, data)?;
        self.records
            .update(&collection, id, &fields, self.clock.now())
            .await?
            .ok_or_else(|| AppError::RecordNotFound(id.to_string()))
    }

    /// Deletes one record.
    ///
    /// # Errors
    /// A malformed id, no such record, or a database failure.
    pub async fn destroy(&self, name: &str, id: &str) -> Result<(), AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let id = parse_id(id)?;
        if self.records.delete(&collection, id).await? {
            Ok(())
        } else {
            Err(AppError::RecordNotFound(id.to_string()))
        }
    }
}

fn parse_id(raw: &str) -> Result<RecordId, AppError> {
    RecordId::parse(raw).map_err(AppError::InvalidId)
}
