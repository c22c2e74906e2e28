//! The portable limits of API.md §2: what all three engines can hold and read back, checked
//! here, before SQL, so that every engine gives the same 400 for the same input.

use serde_json::Value as Json;

use crate::collection::Column;
use crate::value::Value;

/// `unique` columns per collection (MariaDB allows 64 indexes per table, system ones included).
pub const MAX_UNIQUE_COLUMNS: usize = 32;
/// Characters of a value in a `unique` string column (PostgreSQL's btree entries hold about
/// 2,700 bytes: 512 characters of up to 4 bytes fit).
pub const MAX_UNIQUE_STRING_CHARS: usize = 512;
/// Levels of a json value, counting the value itself as level 1 and the members of an array
/// or object one level below it (an empty array or object counts as holding a level): so at
/// most 31 nested arrays or objects, which is all MariaDB's `JSON_VALID` takes.
pub const MAX_JSON_DEPTH: usize = 32;
/// Characters of a search term (`q`, `like`, `contains`, `icontains`, `startswith`,
/// `endswith`); SQLite refuses LIKE patterns over 50,000 bytes and long terms cost
/// pattern × text on every row.
pub const MAX_SEARCH_TERM_CHARS: usize = 256;
/// Values of an `in` list.
pub const MAX_IN_VALUES: usize = 100;

/// What keeps a json value from being stored and read back alike everywhere: a NUL in a
/// string or key (PostgreSQL's JSONB refuses it), or nesting past [`MAX_JSON_DEPTH`].
#[must_use]
pub fn json_problem(json: &Json) -> Option<String> {
    fn walk(json: &Json, level: usize) -> Option<String> {
        let nested = |level: usize| {
            (level >= MAX_JSON_DEPTH).then(|| {
                format!(
                    "json may nest at most {} arrays or objects",
                    MAX_JSON_DEPTH - 1
                )
            })
        };
        match json {
            Json::String(s) if s.contains('\0') => Some(NUL.to_owned()),
            Json::Array(items) => {
                nested(level).or_else(|| items.iter().find_map(|item| walk(item, level + 1)))
            }
            Json::Object(map) => nested(level).or_else(|| {
                map.iter().find_map(|(key, value)| {
                    if key.contains('\0') {
                        Some(NUL.to_owned())
                    } else {
                        walk(value, level + 1)
                    }
                })
            }),
            _ => None,
        }
    }
    walk(json, 1)
}

const NUL: &str = "json strings and keys may not contain NUL characters";

/// What keeps `value` from going into `column` on every engine beyond its type: a `unique`
/// string longer than [`MAX_UNIQUE_STRING_CHARS`].
///
/// # Errors
/// A message naming the limit.
pub fn check_for_column(column: &Column, value: &Value) -> Result<(), String> {
    match value {
        Value::Text(s) if column.unique && s.chars().count() > MAX_UNIQUE_STRING_CHARS => Err(
            format!("a unique string may hold at most {MAX_UNIQUE_STRING_CHARS} characters"),
        ),
        _ => Ok(()),
    }
}

/// A search term's problem: too long.
#[must_use]
pub fn search_term_problem(term: &str) -> Option<String> {
    (term.chars().count() > MAX_SEARCH_TERM_CHARS)
        .then(|| format!("a search term may hold at most {MAX_SEARCH_TERM_CHARS} characters"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(containers: usize) -> Json {
        (0..containers).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn json_nests_31_containers_and_no_more() {
        assert_eq!(json_problem(&nested(31)), None);
        assert!(json_problem(&nested(32)).is_some());
        let empty = (0..31).fold(json!([]), |inner, _| json!([inner]));
        assert!(
            json_problem(&empty).is_some(),
            "32 empty arrays are 32 containers"
        );
        let objects = (0..31).fold(json!({}), |inner, _| json!({ "k": inner }));
        assert!(json_problem(&objects).is_some());
        assert_eq!(json_problem(&json!({"k": nested(30)})), None);
    }

    #[test]
    fn nul_is_refused_in_json_strings_and_keys() {
        assert!(json_problem(&json!({"a": ["x\u{0}y"]})).is_some());
        assert!(json_problem(&json!({"a\u{0}": 1})).is_some());
        assert_eq!(json_problem(&json!({"a": "fine"})), None);
    }

    #[test]
    fn unique_strings_and_search_terms_are_bounded_in_characters() {
        let column = Column {
            name: crate::ColumnName::parse("sku").unwrap_or_else(|e| panic!("{e}")),
            field_type: crate::FieldType::String,
            nullable: true,
            unique: true,
        };
        let long = Value::Text("é".repeat(MAX_UNIQUE_STRING_CHARS));
        assert!(check_for_column(&column, &long).is_ok());
        let longer = Value::Text("é".repeat(MAX_UNIQUE_STRING_CHARS + 1));
        assert!(check_for_column(&column, &longer).is_err());
        let plain = Column {
            unique: false,
            ..column
        };
        assert!(check_for_column(&plain, &longer).is_ok());
        assert_eq!(search_term_problem(&"x".repeat(256)), None);
        assert!(search_term_problem(&"x".repeat(257)).is_some());
    }
}
