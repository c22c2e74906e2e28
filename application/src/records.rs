//! Record use cases: list, get, schema, create, update and destroy, each validated
//! against the registry before the repository sees it.

use std::sync::Arc;

use moon_domain::ports::{Clock, RecordRepository, SchemaRegistry};
use moon_domain::query::{parse_aggregate, parse_fields, parse_list_query};
use moon_domain::validation::{validate_create, validate_update};
use moon_domain::{
    Collection, Cursor, Field, ListQuery, NewRecord, Record, RecordId, Value, Written,
};
use serde_json::{Map, Value as Json};
use ulid::Ulid;

use crate::error::AppError;
use crate::gate::SchemaGate;
use crate::limits::Limits;

/// One page of `:list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<Record>,
    /// The number of matching records, unless the request skipped counting.
    pub total: Option<u64>,
    /// The wire form of the cursor to the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    pub limit: u32,
    /// The projection asked for (`fields=`), if any.
    pub fields: Option<Vec<Field>>,
}

/// Query parameters as given: name and value, in order.
pub type Params = [(String, String)];

/// Record use cases.
pub struct RecordService {
    registry: Arc<dyn SchemaRegistry>,
    pub(crate) records: Arc<dyn RecordRepository>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    pub(crate) gate: Arc<SchemaGate>,
}

impl RecordService {
    /// The limits requests are held to (the OpenAPI document states them).
    #[must_use]
    pub const fn limits(&self) -> Limits {
        self.limits
    }

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
    pub async fn list(&self, name: &str, params: &Params) -> Result<ListPage, AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let query = parse_list_query(&collection, params, self.limits.query())?;
        let limit = query.limit;
        let mut fetch = query.clone();
        fetch.limit = limit + 1;
        let (mut records, total) = if query.with_total {
            let (records, total) = self.records.list_counted(&collection, &fetch).await?;
            (records, Some(total))
        } else {
            (self.records.list(&collection, &fetch).await?, None)
        };
        let next_cursor = if records.len() > limit as usize {
            records.truncate(limit as usize);
            records.last().map(|last| {
                let values = query
                    .sorts
                    .iter()
                    .map(|s| last.value_of(&s.field))
                    .collect();
                Cursor {
                    values,
                    last_id: last.id,
                }
                .encode(&query)
            })
        } else {
            None
        };
        Ok(ListPage {
            records,
            total,
            next_cursor,
            limit,
            fields: query.fields,
        })
    }

    /// `:count`, `:sum`, `:avg`, `:min` or `:max` (`action`) over the matching records.
    ///
    /// # Errors
    /// A bad parameter or field, or a database failure.
    pub async fn aggregate(
        &self,
        name: &str,
        action: &str,
        params: &Params,
    ) -> Result<Value, AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let (aggregate, query) = parse_aggregate(&collection, action, params, self.limits.query())?;
        Ok(self
            .records
            .aggregate(&collection, &aggregate, &query)
            .await?)
    }

    /// Parses a `fields=` projection for `:get`.
    ///
    /// # Errors
    /// An unknown field.
    pub fn projection(&self, name: &str, raw: &str) -> Result<Vec<Field>, AppError> {
        let collection = self.collection(name)?;
        Ok(parse_fields(&collection, raw)?)
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
        let total = self
            .records
            .count(&collection, &ListQuery::first(1))
            .await?;
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
        if_match: Option<&str>,
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
        let expected = expected_version(if_match, &collection);
        match self
            .records
            .update(&collection, id, &fields, self.clock.now(), expected)
            .await?
        {
            Written::Done(record) => Ok(record),
            Written::Missing => Err(AppError::RecordNotFound(id.to_string())),
            Written::Stale => Err(AppError::PreconditionFailed),
        }
    }

    /// Deletes one record (only at the `If-Match` version, when given).
    ///
    /// # Errors
    /// A malformed id, no such record, a stale `If-Match`, or a database failure.
    pub async fn destroy(
        &self,
        name: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), AppError> {
        let _gate = self.gate.record_op().await;
        let collection = self.collection(name)?;
        let id = parse_id(id)?;
        let expected = expected_version(if_match, &collection);
        match self.records.delete(&collection, id, expected).await? {
            Written::Done(()) => Ok(()),
            Written::Missing => Err(AppError::RecordNotFound(id.to_string())),
            Written::Stale => Err(AppError::PreconditionFailed),
        }
    }
}

/// The record version an `If-Match` header demands: `None` for no header or `*` (any
/// existing record); `-1` (never matches) for a tag of another schema version or garbage.
fn expected_version(if_match: Option<&str>, collection: &Collection) -> Option<i64> {
    let header = if_match?.trim();
    if header == "*" {
        return None;
    }
    let mut wanted = -1;
    for tag in header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
    {
        if let Some((version, schema)) = tag.split_once('.')
            && schema.parse::<u64>().is_ok_and(|s| s == collection.version)
            && let Ok(version) = version.parse::<i64>()
        {
            wanted = version;
        }
    }
    Some(wanted)
}

pub(crate) fn parse_id(raw: &str) -> Result<RecordId, AppError> {
    RecordId::parse(raw).map_err(AppError::InvalidId)
}
