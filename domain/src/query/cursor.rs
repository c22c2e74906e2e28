//! The keyset cursor: the sort-key values and id of the last row of a page, bound to the
//! query it came from by a checksum, so it cannot continue another query or be edited.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

use crate::record::RecordId;
use crate::value::Value;

use super::model::{ListQuery, Sort};

/// Where a page ended: the values of the sort keys and the id of its last record.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// One value per sort key of the query, in order.
    pub values: Vec<Value>,
    pub last_id: RecordId,
}

/// Why a cursor was refused (always the client's fault: a 400).
const INVALID: &str = "invalid cursor: pass next_cursor from a previous page of this same query";

impl Cursor {
    /// The wire form, bound to `query`'s filters, sort and search.
    #[must_use]
    pub fn encode(&self, query: &ListQuery) -> String {
        let mut payload: Vec<Json> = Vec::with_capacity(self.values.len() + 2);
        payload.push(Json::String(self.last_id.to_string()));
        payload.extend(
            self.values
                .iter()
                .map(|v| serde_json::to_value(v).unwrap_or(Json::Null)),
        );
        let body = Json::Array(payload).to_string();
        let sum = checksum(&shape(query), &body);
        URL_SAFE_NO_PAD.encode(format!("{sum:016x}{body}"))
    }

    /// Reads a cursor made by [`Cursor::encode`] for the same `query`.
    ///
    /// # Errors
    /// A message when the text is not such a cursor, was edited, or belongs to another query.
    pub fn decode(text: &str, query: &ListQuery) -> Result<Self, String> {
        let invalid = || INVALID.to_owned();
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let (sum, body) = raw.split_at_checked(16).ok_or_else(invalid)?;
        let sum = u64::from_str_radix(sum, 16).map_err(|_| invalid())?;
        if sum != checksum(&shape(query), body) {
            return Err(invalid());
        }
        let Ok(Json::Array(mut items)) = serde_json::from_str::<Json>(body) else {
            return Err(invalid());
        };
        if items.len() != query.sorts.len() + 1 {
            return Err(invalid());
        }
        let values = items.split_off(1);
        let last_id = items
            .pop()
            .and_then(|id| id.as_str().and_then(|s| RecordId::parse(s).ok()))
            .ok_or_else(invalid)?;
        let values = values
            .into_iter()
            .zip(&query.sorts)
            .map(|(json, Sort { field, .. })| {
                Value::from_json(json, field.field_type()).map_err(|_| invalid())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { values, last_id })
    }
}

/// The parts of a query a cursor is bound to, in a canonical form.
fn shape(query: &ListQuery) -> String {
    let mut filters: Vec<String> = query
        .filters
        .iter()
        .map(|f| {
            let values: Vec<Json> = f
                .values
                .iter()
                .map(|v| serde_json::to_value(v).unwrap_or(Json::Null))
                .collect();
            format!(
                "{}[{}]={}",
                f.field.name(),
                f.op.name(),
                Json::Array(values)
            )
        })
        .collect();
    filters.sort();
    let sorts: Vec<String> = query
        .sorts
        .iter()
        .map(|s| format!("{}{}", if s.descending { "-" } else { "" }, s.field.name()))
        .collect();
    format!(
        "{}|{}|{}",
        filters.join("&"),
        sorts.join(","),
        query.search.as_deref().unwrap_or("")
    )
}

/// FNV-1a over both parts: stable across processes and versions.
fn checksum(shape: &str, body: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in shape.bytes().chain([0xff]).chain(body.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{Collection, Column};
    use crate::field_type::FieldType;
    use crate::name::{CollectionName, ColumnName};
    use crate::query::{Field, Filter, FilterOp};

    fn query(sorted_desc: bool) -> ListQuery {
        let collection = Collection {
            name: CollectionName::parse("items").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![Column {
                name: ColumnName::parse("price").unwrap_or_else(|e| panic!("{e}")),
                field_type: FieldType::Decimal { scale: 2 },
                nullable: true,
                unique: false,
            }],
            indexes: Vec::new(),
            version: 1,
        };
        let price = Field::resolve(&collection, "price")
            .unwrap_or(Field::System(crate::query::SystemField::Id));
        let mut q = ListQuery::first(10);
        q.sorts.push(Sort {
            field: price.clone(),
            descending: sorted_desc,
        });
        q.filters.push(Filter {
            field: price,
            op: FilterOp::NotNull,
            values: vec![],
        });
        q
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_query() {
        let id = RecordId::from_ulid(ulid::Ulid::from_parts(1, 2));
        let value = Value::from_json(serde_json::json!("9.50"), FieldType::Decimal { scale: 2 })
            .unwrap_or(Value::Null);
        let cursor = Cursor {
            values: vec![value],
            last_id: id,
        };
        let text = cursor.encode(&query(false));
        assert_eq!(Cursor::decode(&text, &query(false)), Ok(cursor.clone()));
        assert!(
            Cursor::decode(&text, &query(true)).is_err(),
            "another query"
        );
        let null_cursor = Cursor {
            values: vec![Value::Null],
            last_id: id,
        };
        let text = null_cursor.encode(&query(false));
        assert_eq!(Cursor::decode(&text, &query(false)), Ok(null_cursor));
    }

    #[test]
    fn tampered_cursors_are_refused() {
        let id = RecordId::from_ulid(ulid::Ulid::from_parts(1, 2));
        let text = Cursor {
            values: vec![Value::Null],
            last_id: id,
        }
        .encode(&query(false));
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&text).unwrap_or_default())
            .unwrap_or_default();
        let edited = URL_SAFE_NO_PAD.encode(raw.replace("null", "\"1.00\""));
        assert!(Cursor::decode(&edited, &query(false)).is_err());
        for garbage in [
            "",
            "x",
            "!!!",
            "c1abc",
            &URL_SAFE_NO_PAD.encode("0123456789abcdef[]"),
        ] {
            assert!(Cursor::decode(garbage, &query(false)).is_err(), "{garbage}");
        }
    }
}
