//! The six API column types and their wire names.

use std::fmt;

/// Largest decimal scale a column may set (API.md §2).
pub const MAX_DECIMAL_SCALE: u32 = 10;
/// Scale of a decimal column that does not set one.
pub const DEFAULT_DECIMAL_SCALE: u32 = 2;
/// Total digits a decimal may hold: NUMERIC(19, scale).
pub const DECIMAL_PRECISION: u32 = 19;

/// The type of a user column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Integer,
    Decimal { scale: u32 },
    Boolean,
    Datetime,
    Json,
}

impl FieldType {
    /// Parses the wire name (`"string"`, `"decimal"`, ...); a decimal gets `scale`.
    #[must_use]
    pub fn from_wire(name: &str, scale: Option<u32>) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "decimal" => Self::Decimal {
                scale: scale.unwrap_or(DEFAULT_DECIMAL_SCALE),
            },
            "boolean" => Self::Boolean,
            "datetime" => Self::Datetime,
            "json" => Self::Json,
            _ => return None,
        })
    }

    /// The wire name of the type.
    #[must_use]
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Decimal { .. } => "decimal",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Json => "json",
        }
    }

    /// The scale of a decimal type.
    #[must_use]
    pub const fn scale(self) -> Option<u32> {
        match self {
            Self::Decimal { scale } => Some(scale),
            _ => None,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}
