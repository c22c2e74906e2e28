//! The real differences between SQLite, PostgreSQL and MySQL/MariaDB: column types, how a
//! typed value is bound, and how a stored one is read back.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use moon_domain::FieldType;
use moon_domain::Value;
use moon_domain::value::DecimalValue;
use sea_orm::{DbBackend, QueryResult};
use sea_query::{ColumnType, StringLen, Value as SqlValue};
use serde_json::Value as Json;

use crate::error::internal;
use moon_domain::RepoError;
use moon_domain::field_type::DECIMAL_PRECISION;

/// The engine behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A datetime as SQLite stores it: TEXT of one fixed width (`2024-01-02T03:04:05.000000Z`,
/// years 1–9999 only), so text order is time order. RFC 3339 with microseconds, written and
/// read by chrono's RFC 3339 code rather than a format string, which it interprets anew on
/// every call (a fifth of a 20-record page's decoding).
fn sqlite_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Backend {
    /// The engine a connection URL names by its scheme.
    #[must_use]
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s)?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }

    /// The engine's name, for logs and health.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    #[must_use]
    pub const fn db_backend(self) -> DbBackend {
        match self {
            Self::Sqlite => DbBackend::Sqlite,
            Self::Postgres => DbBackend::Postgres,
            Self::MySql => DbBackend::MySql,
        }
    }

    /// The SQL column type of an API type (API.md §2).
    #[must_use]
    pub fn column_type(self, ty: FieldType) -> ColumnType {
        match (self, ty) {
            // MySQL's TEXT holds 65,535 bytes; strings may be as long as a body allows.
            (Self::MySql, FieldType::String) => ColumnType::custom("LONGTEXT"),
            (_, FieldType::String) => ColumnType::Text,
            (_, FieldType::Integer) => ColumnType::BigInteger,
            (Self::Sqlite, FieldType::Decimal { .. }) => ColumnType::Text,
            (_, FieldType::Decimal { scale }) => {
                ColumnType::Decimal(Some((DECIMAL_PRECISION, scale)))
            }
            (Self::Sqlite, FieldType::Boolean) => ColumnType::Integer,
            (_, FieldType::Boolean) => ColumnType::Boolean,
            (Self::Sqlite, FieldType::Datetime) => ColumnType::Text,
            (Self::Postgres, FieldType::Datetime) => ColumnType::TimestampWithTimeZone,
            (Self::MySql, FieldType::Datetime) => ColumnType::custom("DATETIME(6)"),
            (Self::Sqlite, FieldType::Json) => ColumnType::Text,
            (Self::Postgres, FieldType::Json) => ColumnType::JsonBinary,
            (Self::MySql, FieldType::Json) => ColumnType::Json,
        }
    }

    /// The column type of a record id (a 26-character ULID). VARCHAR, not CHAR: PostgreSQL
    /// compares `char(n)` with a text parameter by casting the column, which skips its index.
    #[must_use]
    pub const fn id_type(self) -> ColumnType {
        ColumnType::String(StringLen::N(26))
    }

    /// The column type of a short indexed name (metadata keys).
    #[must_use]
    pub const fn name_type(self) -> ColumnType {
        ColumnType::String(StringLen::N(63))
    }

    /// `value` as a bound parameter for a column of type `ty` (nulls are typed, as
    /// PostgreSQL needs).
    #[must_use]
    pub fn bind(self, value: &Value, ty: FieldType) -> SqlValue {
        match value {
            Value::Null => self.typed_null(ty),
            Value::Text(s) => SqlValue::String(Some(s.clone())),
            Value::Integer(i) => SqlValue::BigInt(Some(*i)),
            Value::Decimal(d) => match self {
                Self::Sqlite => SqlValue::String(Some(d.to_string())),
                _ => SqlValue::Decimal(Some(*d)),
            },
            Value::Bool(b) => SqlValue::Bool(Some(*b)),
            Value::DateTime(dt) => self.bind_datetime(dt),
            Value::Json(j) => match self {
                Self::Sqlite => SqlValue::String(Some(j.to_string())),
                _ => SqlValue::Json(Some(Box::new(j.clone()))),
            },
        }
    }

    /// A datetime as a bound parameter.
    #[must_use]
    pub fn bind_datetime(self, dt: &DateTime<Utc>) -> SqlValue {
        match self {
            Self::Sqlite => SqlValue::String(Some(sqlite_datetime(dt))),
            Self::Postgres => SqlValue::ChronoDateTimeUtc(Some(*dt)),
            Self::MySql => SqlValue::ChronoDateTime(Some(dt.naive_utc())),
        }
    }

    fn typed_null(self, ty: FieldType) -> SqlValue {
        match (self, ty) {
            (_, FieldType::String) => SqlValue::String(None),
            (_, FieldType::Integer) => SqlValue::BigInt(None),
            (Self::Sqlite, FieldType::Decimal { .. } | FieldType::Datetime | FieldType::Json) => {
                SqlValue::String(None)
            }
            (_, FieldType::Decimal { .. }) => SqlValue::Decimal(None),
            (_, FieldType::Boolean) => SqlValue::Bool(None),
            (Self::Postgres, FieldType::Datetime) => SqlValue::ChronoDateTimeUtc(None),
            (_, FieldType::Datetime) => SqlValue::ChronoDateTime(None),
            (_, FieldType::Json) => SqlValue::Json(None),
        }
    }

    /// Reads column `index` of `row` as a value of type `ty`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when the stored value does not decode as that type.
    pub fn decode(
        self,
        row: &QueryResult,
        index: usize,
        ty: FieldType,
    ) -> Result<Value, RepoError> {
        let value = match ty {
            FieldType::String => get::<String>(row, index)?.map(Value::Text),
            FieldType::Integer => get::<i64>(row, index)?.map(Value::Integer),
            FieldType::Decimal { scale } => {
                let decimal = match self {
                    Self::Sqlite => get::<String>(row, index)?
                        .map(|s| s.parse::<DecimalValue>().map_err(internal))
                        .transpose()?,
                    _ => get::<DecimalValue>(row, index)?,
                };
                decimal.map(|mut d| {
                    d.rescale(scale);
                    Value::Decimal(d)
                })
            }
            FieldType::Boolean => get::<bool>(row, index)?.map(Value::Bool),
            FieldType::Datetime => self.decode_datetime(row, index)?.map(Value::DateTime),
            FieldType::Json => {
                let json = match self {
                    Self::Postgres => get::<Json>(row, index)?,
                    _ => get::<String>(row, index)?
                        .map(|s| serde_json::from_str::<Json>(&s).map_err(internal))
                        .transpose()?,
                };
                json.map(|j| Value::Json(moon_domain::value::canonical_json(j)))
            }
        };
        Ok(value.unwrap_or(Value::Null))
    }

    /// Reads column `index` of `row` as a datetime.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when it does not decode.
    pub fn decode_datetime(
        self,
        row: &QueryResult,
        index: usize,
    ) -> Result<Option<DateTime<Utc>>, RepoError> {
        match self {
            Self::Sqlite => get::<String>(row, index)?
                .map(|s| {
                    DateTime::parse_from_rfc3339(&s)
                        .map(|d| d.to_utc())
                        .map_err(internal)
                })
                .transpose(),
            Self::Postgres => get::<DateTime<Utc>>(row, index),
            Self::MySql => Ok(get::<NaiveDateTime>(row, index)?.map(|n| n.and_utc())),
        }
    }
}

/// Reads a nullable column by index.
///
/// # Errors
/// [`RepoError::Internal`] when the driver cannot decode it as `T`.
pub fn get<T: sea_orm::TryGetable>(
    row: &QueryResult,
    index: usize,
) -> Result<Option<T>, RepoError> {
    row.try_get_by_index::<Option<T>>(index).map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_come_from_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/moon.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("mariadb://root@h/db"),
            Some(Backend::MySql)
        );
        assert_eq!(Backend::from_url("MYSQL://root@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("redis://h"), None);
        assert_eq!(Backend::from_url("no scheme"), None);
    }

    #[test]
    fn sqlite_keeps_decimals_and_datetimes_as_exact_text() {
        let d = moon_domain::value::parse_decimal("-0.01", 2).unwrap_or_default();
        assert_eq!(
            Backend::Sqlite.bind(&Value::Decimal(d), FieldType::Decimal { scale: 2 }),
            SqlValue::String(Some("-0.01".into()))
        );
        let dt =
            moon_domain::value::parse_datetime("2024-01-02T03:04:05+01:00").unwrap_or_default();
        assert_eq!(
            Backend::Sqlite.bind_datetime(&dt),
            SqlValue::String(Some("2024-01-02T02:04:05.000000Z".into()))
        );
        assert_eq!(
            Backend::Postgres.bind(&Value::Null, FieldType::Integer),
            SqlValue::BigInt(None)
        );
    }

    #[test]
    fn sqlite_datetimes_keep_the_fixed_width_text_of_earlier_releases() {
        for text in [
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999Z",
            "2024-02-29T12:00:00.5+05:30",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let dt = moon_domain::value::parse_datetime(text).unwrap_or_default();
            let stored = sqlite_datetime(&dt);
            // The form rows written before are in, and the one their text order relies on.
            assert_eq!(stored, dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            let read = DateTime::parse_from_rfc3339(&stored).map(|d| d.to_utc());
            assert_eq!(read, Ok(dt), "{text}");
        }
    }
}
