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

impl Change {
    /// The event's data (API.md §10): `{"collection","id","record","version","at"}`, plus
    /// `"action"` for schema changes. The record is the stored JSON, not re-encoded.
    #[must_use]
    pub fn data_json(&self) -> String {
        self.json(None)
    }

    /// What an outbound webhook POSTs: the data with `"seq"` and `"event"` first.
    #[must_use]
    pub fn delivery_json(&self) -> String {
        self.json(Some((self.seq, self.kind.name())))
    }

    fn json(&self, head: Option<(u64, &str)>) -> String {
        let text = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut out = String::with_capacity(96 + self.record.as_ref().map_or(0, String::len));
        out.push('{');
        if let Some((seq, event)) = head {
            out.push_str(&format!("\"seq\":{seq},\"event\":{},", text(event)));
        }
        let id = self.record_id.as_deref().map_or("null".to_owned(), text);
        out.push_str(&format!(
            "\"collection\":{},\"id\":{id},",
            text(&self.collection)
        ));
        let at = text(&crate::value::format_datetime(&self.at));
        match self.kind {
            ChangeKind::Schema => out.push_str(&format!(
                "\"record\":null,\"version\":{},\"at\":{at},\"action\":{}}}",
                self.version,
                text(self.record.as_deref().unwrap_or_default())
            )),
            _ => out.push_str(&format!(
                "\"record\":{},\"version\":{},\"at\":{at}}}",
                self.record.as_deref().unwrap_or("null"),
                self.version
            )),
        }
        out
    }
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

    #[test]
    fn events_carry_the_record_as_stored() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_764_612_000_123_456).unwrap_or_default();
        let change = Change {
            seq: 7,
            kind: ChangeKind::Update,
            collection: "orders".into(),
            record_id: Some("01J".into()),
            record: Some(r#"{"id":"01J","qty":3}"#.into()),
            version: 2,
            at,
        };
        let data: serde_json::Value = serde_json::from_str(&change.data_json()).unwrap_or_default();
        assert_eq!(data["record"]["qty"], 3);
        assert_eq!(data["version"], 2);
        assert_eq!(data["at"], "2025-12-01T18:00:00.123456Z");
        assert!(data.get("seq").is_none());
        let sent: serde_json::Value =
            serde_json::from_str(&change.delivery_json()).unwrap_or_default();
        assert_eq!(
            (sent["seq"].as_u64(), sent["event"].as_str()),
            (Some(7), Some("update"))
        );
        let dropped = Change {
            kind: ChangeKind::Schema,
            record_id: None,
            record: Some("drop".into()),
            ..change
        };
        let data: serde_json::Value =
            serde_json::from_str(&dropped.data_json()).unwrap_or_default();
        assert_eq!(
            (data["action"].as_str(), &data["id"]),
            (Some("drop"), &serde_json::Value::Null)
        );
    }
}
