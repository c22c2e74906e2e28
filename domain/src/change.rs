//! The change log's entries (API.md §10): one per committed record write or schema change,
//! numbered by a strictly increasing sequence.

use chrono::{DateTime, Utc};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Create,
    Update,
    Destroy,
    /// The collection's schema was created, changed or dropped.
    Schema,
}

impl ChangeKind {
    /// The SSE `event:` name, also the stored form.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Destroy => "destroy",
            Self::Schema => "schema",
        }
    }

    /// The kind stored as `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "create" => Self::Create,
            "update" => Self::Update,
            "destroy" => Self::Destroy,
            "schema" => Self::Schema,
            _ => return None,
        })
    }
}

/// What a schema change did; kept as a schema entry's `record` and sent as its `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaAction {
    Create,
    Alter,
    Drop,
}

impl SchemaAction {
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Alter => "alter",
            Self::Drop => "drop",
        }
    }
}

/// A change about to be logged, in the transaction of the write it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange<'a> {
    pub kind: ChangeKind,
    pub collection: &'a str,
    /// The record's id (none for schema changes).
    pub record_id: Option<String>,
    /// The record as written, in its wire JSON (none for destroys); for schema changes the
    /// [`SchemaAction`]'s name.
    pub record: Option<String>,
    /// The record's version after the write, or the schema's version.
    pub version: i64,
    pub at: DateTime<Utc>,
}

/// A logged change, with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub kind: ChangeKind,
    pub collection: String,
    pub record_id: Option<String>,
    /// The record's wire JSON as written (a schema change: its [`SchemaAction`]'s name).
    pub record: Option<String>,
    pub version: i64,
    pub at: DateTime<Utc>,
}

/// Where a reader stands against the log's retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogBounds {
    /// The highest sequence number committed so far (0 for an empty log).
    pub head: u64,
    /// Every entry up to this number has been swept: a reader positioned before it may have
    /// missed some and must start over.
    pub swept_through: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            ChangeKind::Create,
            ChangeKind::Update,
            ChangeKind::Destroy,
            ChangeKind::Schema,
        ] {
            assert_eq!(ChangeKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("insert"), None);
    }
}
