//! A record as a response shows it: whole, or projected to `fields` (plus `id`).

use moon_domain::{Field, Record, SystemField};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A record, optionally projected.
pub struct RecordView<'a> {
    pub record: &'a Record,
    pub fields: Option<&'a [Field]>,
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(fields) = self.fields else {
            return self.record.serialize(s);
        };
        let id = Field::System(SystemField::Id);
        let mut map = s.serialize_map(Some(fields.len() + 1))?;
        map.serialize_entry("id", &self.record.id.to_string())?;
        for field in fields.iter().filter(|f| **f != id) {
            map.serialize_entry(field.name(), &self.record.value_of(field))?;
        }
        map.end()
    }
}

/// A list of records, optionally projected.
pub struct RecordsView<'a> {
    pub records: &'a [Record],
    pub fields: Option<&'a [Field]>,
}

impl Serialize for RecordsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.records.iter().map(|record| RecordView {
            record,
            fields: self.fields,
        }))
    }
}
