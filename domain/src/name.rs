//! Validated collection and column names: once parsed, a name is safe to quote into SQL.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// SQL words reserved for both collections and columns (API.md §8), lowercase.
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "exists",
    "false",
    "from",
    "group",
    "having",
    "in",
    "index",
    "insert",
    "into",
    "is",
    "join",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "set",
    "table",
    "then",
    "true",
    "union",
    "unique",
    "update",
    "values",
    "when",
    "where",
    "with",
];

/// Resource names the API itself uses, which no collection may take.
const RESERVED_COLLECTIONS: &[&str] = &[
    "collections",
    "auth",
    "users",
    "apikeys",
    "webhooks",
    "hooks",
    "doc",
    "docs",
    "health",
    "openapi",
    "subscriptions",
    "metrics",
];

/// Prefixes of names the engines keep for themselves (PostgreSQL's catalogues, SQLite's
/// schema tables) or Moon keeps for its system tables.
const RESERVED_COLLECTION_PREFIXES: &[&str] = &["moon", "pg_", "sqlite_"];

/// Columns an engine adds to every table by itself (PostgreSQL system columns, SQLite's
/// row id aliases): a user column of that name is refused, or would shadow them.
const HIDDEN_COLUMNS: &[&str] = &[
    "xmin", "xmax", "cmin", "cmax", "ctid", "tableoid", "oid", "rowid", "_rowid_",
];

/// The names every record carries, which no user column may take.
pub const SYSTEM_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must be between {min} and {max} characters")]
    Length { min: usize, max: usize },
    #[error("must start with a letter and contain only {allowed}")]
    Characters { allowed: &'static str },
    #[error("'{0}' is a reserved name")]
    Reserved(String),
}

/// A collection (table) name: 2–63 chars, `^[a-zA-Z][a-zA-Z0-9_]*$`, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionName(String);

impl CollectionName {
    /// Parses a raw name, lowercasing it.
    ///
    /// # Errors
    /// A [`NameError`] when the length, characters or a reserved word rule is broken.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        check_length(raw, 2)?;
        let mut chars = raw.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_with_letter || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(NameError::Characters {
                allowed: "letters, digits and '_'",
            });
        }
        let lower = raw.to_ascii_lowercase();
        if RESERVED_COLLECTION_PREFIXES
            .iter()
            .any(|p| lower.starts_with(p))
            || RESERVED_COLLECTIONS.contains(&lower.as_str())
            || KEYWORDS.contains(&lower.as_str())
        {
            return Err(NameError::Reserved(lower));
        }
        Ok(Self(lower))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user column name: 3–63 chars, `^[a-z][a-z0-9_]*$`, not normalised.
/// Shared (`Arc<str>`) so records can carry it without copying the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnName(Arc<str>);

impl ColumnName {
    /// Parses a raw column name exactly as given.
    ///
    /// # Errors
    /// A [`NameError`] when the length, characters or a reserved word rule is broken.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        check_length(raw, 3)?;
        let mut chars = raw.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !starts_with_letter
            || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(NameError::Characters {
                allowed: "lowercase letters, digits and '_'",
            });
        }
        if raw == "pkid"
            || SYSTEM_FIELDS.contains(&raw)
            || HIDDEN_COLUMNS.contains(&raw)
            || KEYWORDS.contains(&raw)
        {
            return Err(NameError::Reserved(raw.to_owned()));
        }
        Ok(Self(Arc::from(raw)))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_length(raw: &str, min: usize) -> Result<(), NameError> {
    const MAX: usize = 63;
    if (min..=MAX).contains(&raw.len()) {
        Ok(())
    } else {
        Err(NameError::Length { min, max: MAX })
    }
}

macro_rules! name_traits {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}
name_traits!(CollectionName);
name_traits!(ColumnName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_are_lowercased_and_checked() {
        assert_eq!(
            CollectionName::parse("Products").map(|n| n.0),
            Ok("products".into())
        );
        assert!(CollectionName::parse("a").is_err());
        assert!(CollectionName::parse(&"a".repeat(64)).is_err());
        assert!(CollectionName::parse(&"a".repeat(63)).is_ok());
        assert!(CollectionName::parse("1abc").is_err());
        assert!(CollectionName::parse("ab-c").is_err());
        assert!(CollectionName::parse("_ab").is_err());
    }

    #[test]
    fn reserved_collection_names_are_refused() {
        for raw in [
            "users",
            "Collections",
            "moon_x",
            "MoonShot",
            "select",
            "ORDER",
            "docs",
            "pg_shadow",
            "PG_USER",
            "sqlite_master",
            "sqlite_foo",
            "metrics",
            "subscriptions",
        ] {
            assert!(
                matches!(CollectionName::parse(raw), Err(NameError::Reserved(_))),
                "{raw}"
            );
        }
        for raw in ["name", "status", "orders", "count", "pgx", "sqlitefan"] {
            assert!(CollectionName::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn column_names_follow_the_rules() {
        assert!(ColumnName::parse("title").is_ok());
        assert!(ColumnName::parse("ab").is_err());
        assert!(ColumnName::parse("Title").is_err());
        assert!(ColumnName::parse("_secret").is_err());
        assert!(ColumnName::parse("with space").is_err());
        for raw in [
            "pkid",
            "created_at",
            "updated_at",
            "select",
            "unique",
            "xmin",
            "ctid",
            "cmax",
            "tableoid",
            "oid",
            "rowid",
        ] {
            assert!(
                matches!(ColumnName::parse(raw), Err(NameError::Reserved(_))),
                "{raw}"
            );
        }
        for raw in ["name", "type", "status", "key", "value", "date", "count"] {
            assert!(ColumnName::parse(raw).is_ok(), "{raw}");
        }
    }
}
