//! Typed values: parsed strictly from JSON by column type, written back in the API's forms.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use rust_decimal::Decimal;

/// The exact decimal type values carry.
pub type DecimalValue = Decimal;
use serde::ser::{Serialize, Serializer};
use serde_json::Value as Json;

use crate::field_type::{DECIMAL_PRECISION, FieldType};

/// One field value, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    /// Always held at the column's scale.
    Decimal(Decimal),
    Bool(bool),
    /// Always whole microseconds, years 1–9999.
    DateTime(DateTime<Utc>),
    /// An object or an array.
    Json(Json),
}

impl Value {
    /// Parses a JSON value for a column of type `ty`. JSON `null` becomes [`Value::Null`];
    /// whether that is allowed is the caller's rule.
    ///
    /// # Errors
    /// A message saying what was expected, when the value has the wrong JSON type or does
    /// not fit the column type (never coerced).
    pub fn from_json(json: Json, ty: FieldType) -> Result<Self, String> {
        match (ty, json) {
            (_, Json::Null) => Ok(Self::Null),
            (FieldType::String, Json::String(s)) => parse_text(s),
            (FieldType::Integer, Json::Number(n)) => {
                n.as_i64().map(Self::Integer).ok_or_else(|| {
                    "expected an integer (a whole number within 64-bit range)".to_owned()
                })
            }
            (FieldType::Decimal { scale }, Json::String(s)) => {
                parse_decimal(&s, scale).map(Self::Decimal)
            }
            (FieldType::Boolean, Json::Bool(b)) => Ok(Self::Bool(b)),
            (FieldType::Datetime, Json::String(s)) => parse_datetime(&s).map(Self::DateTime),
            (FieldType::Json, json @ (Json::Object(_) | Json::Array(_))) => {
                match crate::portable::json_problem(&json) {
                    Some(problem) => Err(problem),
                    None => Ok(Self::Json(canonical_json(json))),
                }
            }
            (ty, _) => Err(expected(ty).to_owned()),
        }
    }

    /// The value a nullable column takes when a create omits it.
    #[must_use]
    pub fn type_default(ty: FieldType) -> Self {
        match ty {
            FieldType::String => Self::Text(String::new()),
            FieldType::Integer => Self::Integer(0),
            FieldType::Decimal { scale } => Self::Decimal(Decimal::new(0, scale)),
            FieldType::Boolean => Self::Bool(false),
            FieldType::Datetime => Self::Null,
            FieldType::Json => Self::Json(Json::Object(serde_json::Map::new())),
        }
    }

    #[must_use]
    pub const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Converts a stored value to another column type, as `collections:update` does for
    /// `modify_columns` (string `"12"` → integer 12).
    ///
    /// # Errors
    /// A message when this value cannot be represented in `to` without loss.
    pub fn convert(self, to: FieldType) -> Result<Self, String> {
        let text = match self {
            Self::Null => return Ok(Self::Null),
            Self::Text(s) => s,
            Self::Integer(i) => match to {
                FieldType::Integer => return Ok(self),
                FieldType::Decimal { scale } => {
                    return parse_decimal(&i.to_string(), scale).map(Self::Decimal);
                }
                FieldType::Boolean if i == 0 || i == 1 => return Ok(Self::Bool(i == 1)),
                _ => i.to_string(),
            },
            Self::Decimal(d) => match to {
                FieldType::Integer if d.fract().is_zero() => {
                    return i64::try_from(d.trunc())
                        .map(Self::Integer)
                        .map_err(|_| "out of integer range".to_owned());
                }
                FieldType::Decimal { .. } => d.normalize().to_string(),
                _ => d.to_string(),
            },
            Self::Bool(b) => match to {
                FieldType::Integer => return Ok(Self::Integer(i64::from(b))),
                _ => b.to_string(),
            },
            Self::DateTime(dt) => format_datetime(&dt),
            Self::Json(j) => j.to_string(),
        };
        match to {
            FieldType::String => parse_text(text),
            FieldType::Integer => text
                .parse::<i64>()
                .map(Self::Integer)
                .map_err(|_| format!("'{text}' is not an integer")),
            FieldType::Decimal { scale } => parse_decimal(&text, scale).map(Self::Decimal),
            FieldType::Boolean => match text.as_str() {
                "true" => Ok(Self::Bool(true)),
                "false" => Ok(Self::Bool(false)),
                _ => Err(format!("'{text}' is not a boolean")),
            },
            FieldType::Datetime => parse_datetime(&text).map(Self::DateTime),
            FieldType::Json => match serde_json::from_str::<Json>(&text) {
                Ok(j @ (Json::Object(_) | Json::Array(_))) => {
                    match crate::portable::json_problem(&j) {
                        Some(problem) => Err(problem),
                        None => Ok(Self::Json(canonical_json(j))),
                    }
                }
                _ => Err("not a JSON object or array".to_owned()),
            },
        }
    }
}

/// A JSON value with every object's keys sorted (recursively) and every whole-numbered float
/// within 64-bit range written as an integer, so that every engine returns the same bytes:
/// PostgreSQL's JSONB reorders keys its own way and keeps numbers as exact decimals (`1e18`
/// comes back as `1000000000000000000`, `-0.0` as `0`), the others keep them as given.
#[must_use]
pub fn canonical_json(mut json: Json) -> Json {
    canonicalize(&mut json);
    json
}

/// [`canonical_json`] in place: no map is rebuilt, and one already in key order is not sorted.
fn canonicalize(json: &mut Json) {
    match json {
        Json::Object(map) => {
            map.values_mut().for_each(canonicalize);
            let mut keys = map.keys();
            let sorted = keys.next().is_none_or(|first| {
                keys.try_fold(first, |previous, key| (previous <= key).then_some(key))
                    .is_some()
            });
            if !sorted {
                map.sort_keys();
            }
        }
        Json::Array(items) => items.iter_mut().for_each(canonicalize),
        Json::Number(n) if n.is_f64() => *n = canonical_number(n.clone()),
        _ => {}
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn canonical_number(n: serde_json::Number) -> serde_json::Number {
    // Bounds as floats: 2^63 and 2^64, both exact; a float below them converts exactly.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && (-I64_END..U64_END).contains(&f) => {
            if f < 0.0 {
                serde_json::Number::from(f as i64)
            } else {
                serde_json::Number::from(f as u64)
            }
        }
        _ => n,
    }
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "expected a string",
        FieldType::Integer => "expected an integer",
        FieldType::Decimal { .. } => "expected a decimal as a string, e.g. \"19.99\"",
        FieldType::Boolean => "expected true or false",
        FieldType::Datetime => "expected an RFC 3339 datetime string",
        FieldType::Json => "expected a JSON object or array",
    }
}

fn parse_text(s: String) -> Result<Value, String> {
    if s.contains('\0') {
        Err("strings may not contain NUL characters".to_owned())
    } else {
        Ok(Value::Text(s))
    }
}

/// Parses an exact decimal: optional `-`, digits, optionally `.` and digits; no exponent.
/// At most `scale` fractional digits (never rounded) and `19 - scale` integer digits.
/// The result is held at exactly `scale`, and `-0` is `0`.
///
/// # Errors
/// A message saying which rule the text broke.
pub fn parse_decimal(text: &str, scale: u32) -> Result<Decimal, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((int_part, frac_part)) if !frac_part.is_empty() => (int_part, frac_part),
        Some(_) => ("", ""), // "12." is malformed
        None => (digits, ""),
    };
    let well_formed = !int_part.is_empty()
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(format!(
            "'{text}' is not a decimal (digits, optional '-' and '.')"
        ));
    }
    if frac_part.len() > scale as usize {
        return Err(format!("'{text}' has more than {scale} fractional digits"));
    }
    let significant = int_part.trim_start_matches('0');
    let max_int = (DECIMAL_PRECISION - scale) as usize;
    if significant.len() > max_int {
        return Err(format!("'{text}' has more than {max_int} integer digits"));
    }
    // At most 19 digits in all (checked above): the mantissa fits in a u64, read in one pass.
    let padding = scale as usize - frac_part.len();
    let mantissa = significant
        .bytes()
        .chain(frac_part.bytes())
        .chain(std::iter::repeat_n(b'0', padding))
        .fold(0_u64, |m, b| m * 10 + u64::from(b - b'0'));
    let mut d = Decimal::from_i128_with_scale(i128::from(mantissa), scale);
    if negative && mantissa != 0 {
        d.set_sign_negative(true);
    }
    Ok(d)
}

/// Parses an RFC 3339 datetime that carries an offset or `Z`; keeps whole microseconds.
///
/// # Errors
/// A message when the text is not RFC 3339 with an offset, or the year is outside 1–9999.
pub fn parse_datetime(text: &str) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map_err(|_| format!("'{text}' is not an RFC 3339 datetime with an offset or 'Z'"))?;
    let micros = parsed.timestamp_micros();
    let utc = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| format!("'{text}' is out of range"))?;
    if !(1..=9999).contains(&utc.year()) {
        return Err(format!("'{text}' is outside the years 0001–9999"));
    }
    Ok(utc)
}

/// The API form of a datetime: UTC, ending in `Z`, with only the sub-second digits needed.
#[must_use]
pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => s.serialize_none(),
            Self::Text(t) => s.serialize_str(t),
            Self::Integer(i) => s.serialize_i64(*i),
            Self::Decimal(d) => s.collect_str(d),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::DateTime(dt) => s.serialize_str(&format_datetime(dt)),
            Self::Json(j) => j.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEC2: FieldType = FieldType::Decimal { scale: 2 };

    fn dec(text: &str) -> Result<String, String> {
        Value::from_json(json!(text), DEC2).map(|v| serde_json::to_string(&v).unwrap_or_default())
    }

    /// The digit-by-digit parser agrees with `rust_decimal`'s own on every accepted text.
    #[test]
    fn the_decimal_parser_agrees_with_rust_decimal() {
        let ints = [
            "0",
            "7",
            "007",
            "12",
            "999999999",
            "1234567890123456789",
            "9999999999999999999",
        ];
        let fracs = ["", ".0", ".5", ".05", ".123", ".1234567890"];
        for scale in 0..=10_u32 {
            for int in ints {
                for frac in fracs {
                    for sign in ["", "-"] {
                        let text = format!("{sign}{int}{frac}");
                        let ours = parse_decimal(&text, scale);
                        let fits = frac.len().saturating_sub(1) <= scale as usize
                            && int.trim_start_matches('0').len() <= (19 - scale) as usize;
                        assert_eq!(ours.is_ok(), fits, "{text} at scale {scale}");
                        if let Ok(d) = ours {
                            let mut expected: Decimal = text.parse().unwrap_or_default();
                            expected.rescale(scale);
                            if expected.is_zero() {
                                expected.set_sign_positive(true);
                            }
                            assert_eq!(
                                (d, d.to_string()),
                                (expected, expected.to_string()),
                                "{text}"
                            );
                            assert_eq!(d.scale(), scale);
                        }
                    }
                }
            }
        }
        for bad in [
            "", "-", ".5", "5.", "1.2.3", "+1", "1e3", " 1", "--1", "1_0",
        ] {
            assert!(parse_decimal(bad, 4).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_round_trip_digit_for_digit() {
        assert_eq!(
            dec("99999999999999999.99"),
            Ok("\"99999999999999999.99\"".into())
        );
        assert_eq!(dec("-0.01"), Ok("\"-0.01\"".into()));
        assert_eq!(dec("0"), Ok("\"0.00\"".into()));
        assert_eq!(dec("-0"), Ok("\"0.00\"".into()));
        assert_eq!(dec("10.5"), Ok("\"10.50\"".into()));
    }

    #[test]
    fn malformed_or_oversized_decimals_are_rejected() {
        for bad in [
            "10.999",
            "1e5",
            ".5",
            "5.",
            "+1",
            "1.2.3",
            "",
            "-",
            "abc",
            "1 ",
            "999999999999999999.00",
        ] {
            assert!(dec(bad).is_err(), "{bad}");
        }
        assert!(
            Value::from_json(json!(1.5), DEC2).is_err(),
            "numbers are not decimals"
        );
        let scale10 = FieldType::Decimal { scale: 10 };
        assert!(Value::from_json(json!("123456789.0123456789"), scale10).is_ok());
        assert!(Value::from_json(json!("1234567890.0"), scale10).is_err());
    }

    #[test]
    fn integers_are_never_coerced() {
        assert_eq!(
            Value::from_json(json!(5), FieldType::Integer),
            Ok(Value::Integer(5))
        );
        assert!(Value::from_json(json!(5.0), FieldType::Integer).is_err());
        assert!(Value::from_json(json!("5"), FieldType::Integer).is_err());
        assert!(Value::from_json(json!(u64::MAX), FieldType::Integer).is_err());
        assert!(Value::from_json(json!(true), FieldType::Integer).is_err());
    }

    #[test]
    fn datetimes_become_utc_and_keep_microseconds() {
        let v = Value::from_json(
            json!("2024-03-01T10:30:00.1234567+02:00"),
            FieldType::Datetime,
        );
        let out = v.map(|v| serde_json::to_value(&v).unwrap_or_default());
        assert_eq!(out, Ok(json!("2024-03-01T08:30:00.123456Z")));
        let whole = Value::from_json(json!("2024-03-01T00:00:00-05:00"), FieldType::Datetime);
        let out = whole.map(|v| serde_json::to_value(&v).unwrap_or_default());
        assert_eq!(out, Ok(json!("2024-03-01T05:00:00Z")));
        assert!(Value::from_json(json!("2024-03-01T10:30:00"), FieldType::Datetime).is_err());
        assert!(Value::from_json(json!("2024-03-01"), FieldType::Datetime).is_err());
    }

    #[test]
    fn json_objects_come_back_with_sorted_keys() {
        let v = Value::from_json(json!({"b": 1, "a": [{"z": 0, "y": 1}]}), FieldType::Json);
        let text = v.map(|v| serde_json::to_string(&v).unwrap_or_default());
        assert_eq!(text, Ok(r#"{"a":[{"y":1,"z":0}],"b":1}"#.to_owned()));
    }

    #[test]
    fn json_numbers_take_the_form_every_engine_returns() {
        let text = |raw: &str| {
            let json: Json = serde_json::from_str(raw).unwrap_or_default();
            Value::from_json(json, FieldType::Json)
                .map(|v| serde_json::to_string(&v).unwrap_or_default())
        };
        assert_eq!(
            text("[1e18, -0.0, 5.0, 2.5]"),
            Ok("[1000000000000000000,0,5,2.5]".into())
        );
        assert_eq!(
            text("[1.7976931348623157e308, 1e19, 1.8446744073709552e19, -9.3e18]"),
            Ok(
                "[1.7976931348623157e+308,10000000000000000000,1.8446744073709552e+19,-9.3e+18]"
                    .into()
            )
        );
        // What PostgreSQL hands back for the largest float parses to that very float.
        let expanded = format!("[17976931348623157{}]", "0".repeat(292));
        assert_eq!(text(&expanded), Ok("[1.7976931348623157e+308]".into()));
    }

    #[test]
    fn strings_json_and_booleans_are_strict() {
        assert!(Value::from_json(json!("a\u{0}b"), FieldType::String).is_err());
        assert!(Value::from_json(json!(1), FieldType::String).is_err());
        assert!(Value::from_json(json!("x"), FieldType::Json).is_err());
        assert!(Value::from_json(json!([1, {"a": 2}]), FieldType::Json).is_ok());
        assert!(Value::from_json(json!(1), FieldType::Boolean).is_err());
        assert_eq!(
            Value::from_json(json!(null), FieldType::Boolean),
            Ok(Value::Null)
        );
    }

    #[test]
    fn conversions_succeed_only_without_loss() {
        let t = |s: &str| Value::Text(s.to_owned());
        assert_eq!(t("12").convert(FieldType::Integer), Ok(Value::Integer(12)));
        assert!(t("12a").convert(FieldType::Integer).is_err());
        assert_eq!(
            Value::Integer(7)
                .convert(DEC2)
                .map(|v| serde_json::to_value(&v).unwrap_or_default()),
            Ok(json!("7.00"))
        );
        let d = Value::from_json(json!("3.00"), DEC2).unwrap_or(Value::Null);
        assert_eq!(d.convert(FieldType::Integer), Ok(Value::Integer(3)));
        let d = Value::from_json(json!("3.10"), DEC2).unwrap_or(Value::Null);
        assert!(d.convert(FieldType::Integer).is_err());
        assert_eq!(Value::Integer(42).convert(FieldType::String), Ok(t("42")));
        assert_eq!(t("true").convert(FieldType::Boolean), Ok(Value::Bool(true)));
        assert!(t("{\"a\":1}").convert(FieldType::Json).is_ok());
        assert_eq!(Value::Null.convert(FieldType::Integer), Ok(Value::Null));
    }
}
