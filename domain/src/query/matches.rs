//! A list query's filters and search tested on one record in memory, with the semantics the
//! SQL adapter gives them (API.md §8): the change feed sends only the changes `:list` would.

use std::cmp::Ordering;

use serde_json::{Map, Value as Json};

use crate::collection::Collection;
use crate::field_type::FieldType;
use crate::value::Value;

use super::model::{Field, Filter, FilterOp, ListQuery, SystemField};

/// Whether `record` (its wire JSON) passes every filter and the search of `query`, read with
/// `collection`'s column types. A field missing from the record is null.
#[must_use]
pub fn matches(query: &ListQuery, collection: &Collection, record: &Map<String, Json>) -> bool {
    query
        .filters
        .iter()
        .all(|f| passes(f, &value_of(record, &f.field)))
        && query
            .search
            .as_deref()
            .is_none_or(|term| searched(collection, record, term))
}

fn value_of(record: &Map<String, Json>, field: &Field) -> Value {
    let ty = match field {
        Field::System(SystemField::Id) => FieldType::String,
        Field::System(_) => FieldType::Datetime,
        Field::Column(_, ty) => *ty,
    };
    record
        .get(field.name())
        .and_then(|json| Value::from_json(json.clone(), ty).ok())
        .unwrap_or(Value::Null)
}

fn passes(filter: &Filter, value: &Value) -> bool {
    let first = filter.values.first();
    let compare =
        |want: fn(Ordering) -> bool| first.and_then(|v| order(value, v)).is_some_and(want);
    match filter.op {
        FilterOp::Null => matches!(value, Value::Null),
        FilterOp::NotNull => !matches!(value, Value::Null),
        FilterOp::Eq => compare(Ordering::is_eq),
        FilterOp::Ne => compare(Ordering::is_ne),
        FilterOp::Gt => compare(Ordering::is_gt),
        FilterOp::Gte => compare(Ordering::is_ge),
        FilterOp::Lt => compare(Ordering::is_lt),
        FilterOp::Lte => compare(Ordering::is_le),
        FilterOp::In => filter
            .values
            .iter()
            .any(|v| order(value, v).is_some_and(Ordering::is_eq)),
        FilterOp::Like => text_test(value, first, like),
        FilterOp::Contains => text_test(value, first, |t, p| t.contains(p)),
        FilterOp::IContains => text_test(value, first, |t, p| {
            t.to_ascii_lowercase().contains(&p.to_ascii_lowercase())
        }),
        FilterOp::StartsWith => text_test(value, first, |t, p| t.starts_with(p)),
        FilterOp::EndsWith => text_test(value, first, |t, p| t.ends_with(p)),
    }
}

/// SQL's comparison of two non-null values of one type; `None` when either is null.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Text(a), Value::Text(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Integer(a), Value::Integer(b)) => Some(a.cmp(b)),
        (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn text_test(value: &Value, pattern: Option<&Value>, test: impl Fn(&str, &str) -> bool) -> bool {
    match (value, pattern) {
        (Value::Text(text), Some(Value::Text(pattern))) => test(text, pattern),
        _ => false,
    }
}

/// `q`: any string column contains the term, ignoring ASCII case.
fn searched(collection: &Collection, record: &Map<String, Json>, term: &str) -> bool {
    let term = term.to_ascii_lowercase();
    collection
        .columns
        .iter()
        .filter(|c| c.field_type == FieldType::String)
        .any(|c| {
            record
                .get(c.name.as_str())
                .and_then(Json::as_str)
                .is_some_and(|t| t.to_ascii_lowercase().contains(&term))
        })
}

/// SQL `LIKE`, case-sensitive: `%` any run, `_` one character, `\` escapes the next one.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Any,
        One,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy match with one backtrack point: the last `%` seen (linear for most patterns).
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                t += 1;
                p += 1;
            }
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;
    use crate::query::{QueryLimits, parse_list_query};
    use serde_json::json;

    fn collection() -> Collection {
        let column = |name: &str, field_type| Column {
            name: crate::ColumnName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            field_type,
            nullable: true,
            unique: false,
        };
        Collection {
            name: crate::CollectionName::parse("orders").unwrap_or_else(|e| panic!("{e}")),
            columns: vec![
                column("title", FieldType::String),
                column("qty", FieldType::Integer),
                column("price", FieldType::Decimal { scale: 2 }),
                column("paid", FieldType::Boolean),
            ],
            indexes: Vec::new(),
            version: 1,
        }
    }

    fn check(params: &[(&str, &str)], record: &Json) -> bool {
        let collection = collection();
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let query = parse_list_query(&collection, &params, QueryLimits::default())
            .unwrap_or_else(|e| panic!("{params:?}: {e}"));
        let record = record
            .as_object()
            .unwrap_or_else(|| panic!("not an object"));
        matches(&query, &collection, record)
    }

    #[test]
    fn filters_follow_the_sql_semantics() {
        let r = json!({"id": "01J", "title": "Blue Mug", "qty": 3, "price": "9.50", "paid": true,
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"});
        assert!(check(&[], &r));
        assert!(check(&[("qty[gte]", "3"), ("paid", "true")], &r));
        assert!(!check(&[("qty[gt]", "3")], &r));
        assert!(check(&[("price[lt]", "10")], &r));
        assert!(!check(&[("price[eq]", "9.49")], &r));
        assert!(check(&[("title[like]", "Blue%")], &r));
        assert!(check(&[("title[like]", "B_ue M%g")], &r));
        assert!(
            !check(&[("title[like]", "blue%")], &r),
            "like is case-sensitive"
        );
        assert!(check(&[("title[icontains]", "MUG")], &r));
        assert!(!check(&[("title[contains]", "MUG")], &r));
        assert!(check(&[("title[startswith]", "Blue")], &r));
        assert!(check(&[("title[endswith]", "Mug")], &r));
        assert!(check(&[("qty[in]", "1,3")], &r));
        assert!(check(&[("q", "blue")], &r));
        assert!(!check(&[("q", "red")], &r));
        assert!(check(&[("created_at[lt]", "2026-12-02T00:00:00Z")], &r));
    }

    #[test]
    fn nulls_match_only_null_tests() {
        let r = json!({"id": "01J", "title": null, "qty": null});
        assert!(!check(&[("qty[ne]", "3")], &r));
        assert!(!check(&[("qty[lt]", "3")], &r));
        assert!(check(&[("qty[null]", "")], &r));
        assert!(!check(&[("title[notnull]", "")], &r));
        assert!(check(&[("price[null]", "")], &r), "a missing field is null");
    }

    #[test]
    fn like_handles_wildcards_and_escapes() {
        assert!(like("abc", "a%c"));
        assert!(like("ac", "a%c"));
        assert!(like("a%c", "a\\%c"));
        assert!(!like("abc", "a\\%c"));
        assert!(like("aXbXc", "%X%c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
    }
}
