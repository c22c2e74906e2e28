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
mod tests;
