//! Batch writes on `:create`, `:update` and `:destroy`: every item validated like a single
//! write; atomic batches in one transaction (all or nothing), best-effort ones item by item.

use moon_domain::validation::{validate_create, validate_update};
use moon_domain::{BatchFailure, BatchOutcome, BatchWrite, NewRecord, RecordId, Written};
use serde_json::Value as Json;
use ulid::Ulid;

use crate::error::AppError;
use crate::records::{RecordService, parse_id};

/// Which write a batch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    Create,
    Update,
    Destroy,
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchReport {
    /// An atomic batch committed: one outcome per item.
    Committed(Vec<BatchOutcome>),
    /// A best-effort batch: one result per item, in order.
    Items(Vec<Result<BatchOutcome, AppError>>),
}

impl RecordService {
    /// Runs a batch of `kind` over `items` (JSON as given).
    ///
    /// # Errors
    /// Too many or no items; for an atomic batch, the first failing item
    /// ([`AppError::BatchItem`]), with nothing written.
    pub async fn batch(
        &self,
        name: &str,
        kind: BatchKind,
        items: Vec<Json>,
        atomic: bool,
    ) -> Result<BatchReport, AppError> {
        if items.len() > self.limits.max_batch {
            return Err(AppError::BatchTooLarge {
                max: self.limits.max_batch,
            });
        }
        if items.is_empty() {
            return Err(AppError::invalid("data", "a batch needs at least one item"));
        }
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let now = self.clock.now();
        let writes: Vec<Result<BatchWrite, AppError>> = items
            .into_iter()
            .map(|item| match kind {
                BatchKind::Create => create_item(&collection, item, now),
                BatchKind::Update => update_item(&collection, item, now),
                BatchKind::Destroy => destroy_item(item),
            })
            .collect();
        if atomic {
            let mut valid = Vec::with_capacity(writes.len());
            for (index, write) in writes.into_iter().enumerate() {
                valid.push(write.map_err(|error| AppError::BatchItem {
                    index,
                    error: Box::new(error),
                })?);
            }
            return match self.records.write_atomic(&collection, &valid).await {
                Ok(outcomes) => Ok(BatchReport::Committed(outcomes)),
                Err(BatchFailure { index, error }) => {
                    let error = match error {
                        Some(e) => AppError::from(e),
                        None => AppError::RecordNotFound(
                            target(&valid[index])
                                .map(|id| id.to_string())
                                .unwrap_or_default(),
                        ),
                    };
                    Err(AppError::BatchItem {
                        index,
                        error: Box::new(error),
                    })
                }
            };
        }
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            results.push(match write {
                Ok(write) => self.write_one(&collection, write).await,
                Err(e) => Err(e),
            });
        }
        Ok(BatchReport::Items(results))
    }

    async fn write_one(
        &self,
        collection: &moon_domain::Collection,
        write: BatchWrite,
    ) -> Result<BatchOutcome, AppError> {
        match write {
            BatchWrite::Create(record) => {
                self.records.insert(collection, &record).await?;
                Ok(BatchOutcome::Created(record.into()))
            }
            BatchWrite::Update {
                id,
                fields,
                updated_at,
            } => match self
                .records
                .update(collection, id, &fields, updated_at, None)
                .await?
            {
                Written::Done(record) => Ok(BatchOutcome::Updated(record)),
                Written::Missing | Written::Stale => Err(AppError::RecordNotFound(id.to_string())),
            },
            BatchWrite::Delete(id) => match self.records.delete(collection, id, None).await? {
                Written::Done(()) => Ok(BatchOutcome::Deleted(id)),
                Written::Missing | Written::Stale => Err(AppError::RecordNotFound(id.to_string())),
            },
        }
    }
}

/// The record an update or delete item aims at.
fn target(write: &BatchWrite) -> Option<RecordId> {
    match write {
        BatchWrite::Create(_) => None,
        BatchWrite::Update { id, .. } | BatchWrite::Delete(id) => Some(*id),
    }
}

fn object(item: Json) -> Result<serde_json::Map<String, Json>, AppError> {
    match item {
        Json::Object(map) => Ok(map),
        _ => Err(AppError::invalid(
            "data",
            "each item must be an object of field values",
        )),
    }
}

fn create_item(
    collection: &moon_domain::Collection,
    item: Json,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BatchWrite, AppError> {
    let fields = validate_create(collection, object(item)?)?;
    Ok(BatchWrite::Create(NewRecord {
        id: RecordId::from_ulid(Ulid::new()),
        created_at: now,
        fields,
    }))
}

fn update_item(
    collection: &moon_domain::Collection,
    item: Json,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BatchWrite, AppError> {
    let mut map = object(item)?;
    let id = match map.remove("id") {
        Some(Json::String(id)) => parse_id(&id)?,
        _ => {
            return Err(AppError::invalid(
                "id",
                "each update item needs its record's \"id\"",
            ));
        }
    };
    if map.is_empty() {
        return Err(AppError::invalid(
            "data",
            "give at least one field to update",
        ));
    }
    let fields = validate_update(collection, map)?;
    Ok(BatchWrite::Update {
        id,
        fields,
        updated_at: now,
    })
}

fn destroy_item(item: Json) -> Result<BatchWrite, AppError> {
    let id = match item {
        Json::String(id) => id,
        Json::Object(mut map) if map.len() == 1 => match map.remove("id") {
            Some(Json::String(id)) => id,
            _ => return Err(AppError::invalid("id", "each item is a record id")),
        },
        _ => return Err(AppError::invalid("id", "each item is a record id")),
    };
    Ok(BatchWrite::Delete(parse_id(&id)?))
}
