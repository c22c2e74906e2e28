//! Records: the server-made id, the system timestamps and the user field values.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use ulid::Ulid;

use crate::name::ColumnName;
use crate::value::{Value, format_datetime};

/// A record id: a ULID, server-made and immutable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(Ulid);

impl RecordId {
    #[must_use]
    pub const fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    #[must_use]
    pub const fn ulid(self) -> Ulid {
        self.0
    }

    /// Parses the canonical 26-character ULID form (case-insensitive).
    ///
    /// # Errors
    /// A message when `raw` is not a ULID.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Ulid::from_str(raw)
            .map(Self)
            .map_err(|_| format!("'{raw}' is not a valid record id (ULID)"))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a conditional write found: done, no such record, or a record whose version no
/// longer matched the caller's `If-Match` (nothing written).
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    Done(T),
    Missing,
    Stale,
}

/// A record to insert: every user column in collection order, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub id: RecordId,
    pub created_at: DateTime<Utc>,
    pub fields: Vec<(ColumnName, Value)>,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: RecordId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The row version: 1 on insert, +1 on every update.
    pub version: i64,
    pub fields: Vec<(ColumnName, Value)>,
}

impl From<NewRecord> for Record {
    fn from(new: NewRecord) -> Self {
        Self {
            id: new.id,
            created_at: new.created_at,
            updated_at: new.created_at,
            version: 1,
            fields: new.fields,
        }
    }
}

impl Record {
    /// The value of `field` in this record (`Null` for a column it does not have).
    #[must_use]
    pub fn value_of(&self, field: &crate::query::Field) -> Value {
        use crate::query::{Field, SystemField};
        match field {
            Field::System(SystemField::Id) => Value::Text(self.id.to_string()),
            Field::System(SystemField::CreatedAt) => Value::DateTime(self.created_at),
            Field::System(SystemField::UpdatedAt) => Value::DateTime(self.updated_at),
            Field::Column(name, _) => self
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map_or(Value::Null, |(_, v)| v.clone()),
        }
    }
}

/// The wire form: `id`, the user fields in column order, then the timestamps.
impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire(s, self.id, &self.fields, &self.created_at, &self.updated_at)
    }
}

/// The wire form of the record it will be once inserted (what the change log keeps).
impl Serialize for NewRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire(s, self.id, &self.fields, &self.created_at, &self.created_at)
    }
}

fn wire<S: Serializer>(
    s: S,
    id: RecordId,
    fields: &[(ColumnName, Value)],
    created_at: &DateTime<Utc>,
    updated_at: &DateTime<Utc>,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(fields.len() + 3))?;
    map.serialize_entry("id", &id.to_string())?;
    for (name, value) in fields {
        map.serialize_entry(name.as_str(), value)?;
    }
    map.serialize_entry("created_at", &format_datetime(created_at))?;
    map.serialize_entry("updated_at", &format_datetime(updated_at))?;
    map.end()
}
