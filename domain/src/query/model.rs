//! What a list query is made of, typed by the collection it runs on.

use crate::collection::Collection;
use crate::field_type::FieldType;
use crate::name::ColumnName;
use crate::value::Value;

use super::cursor::Cursor;

/// A system field every record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemField {
    Id,
    CreatedAt,
    UpdatedAt,
}

/// A field a query can name: a system field or a user column (with its type).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    System(SystemField),
    Column(ColumnName, FieldType),
}

impl Field {
    /// The field called `name` in `collection`, if any.
    #[must_use]
    pub fn resolve(collection: &Collection, name: &str) -> Option<Self> {
        match name {
            "id" => Some(Self::System(SystemField::Id)),
            "created_at" => Some(Self::System(SystemField::CreatedAt)),
            "updated_at" => Some(Self::System(SystemField::UpdatedAt)),
            _ => collection
                .column(name)
                .map(|c| Self::Column(c.name.clone(), c.field_type)),
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::System(SystemField::Id) => "id",
            Self::System(SystemField::CreatedAt) => "created_at",
            Self::System(SystemField::UpdatedAt) => "updated_at",
            Self::Column(name, _) => name.as_str(),
        }
    }

    /// The API type of the field (`id` is a string, the timestamps datetimes).
    #[must_use]
    pub const fn field_type(&self) -> FieldType {
        match self {
            Self::System(SystemField::Id) => FieldType::String,
            Self::System(_) => FieldType::Datetime,
            Self::Column(_, ty) => *ty,
        }
    }
}

/// A filter operator (API.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Contains,
    IContains,
    StartsWith,
    EndsWith,
    In,
    Null,
    NotNull,
}

impl FilterOp {
    /// The operator called `name` in `col[name]=`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "like" => Self::Like,
            "contains" => Self::Contains,
            "icontains" => Self::IContains,
            "startswith" => Self::StartsWith,
            "endswith" => Self::EndsWith,
            "in" => Self::In,
            "null" => Self::Null,
            "notnull" => Self::NotNull,
            _ => return None,
        })
    }

    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Like => "like",
            Self::Contains => "contains",
            Self::IContains => "icontains",
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
            Self::In => "in",
            Self::Null => "null",
            Self::NotNull => "notnull",
        }
    }

    /// Whether the operator applies to a field of type `ty` (API.md §8).
    #[must_use]
    pub const fn fits(self, ty: FieldType) -> bool {
        match ty {
            FieldType::String => true,
            FieldType::Integer | FieldType::Decimal { .. } | FieldType::Datetime => matches!(
                self,
                Self::Eq
                    | Self::Ne
                    | Self::Gt
                    | Self::Gte
                    | Self::Lt
                    | Self::Lte
                    | Self::In
                    | Self::Null
                    | Self::NotNull
            ),
            FieldType::Boolean => matches!(
                self,
                Self::Eq | Self::Ne | Self::In | Self::Null | Self::NotNull
            ),
            FieldType::Json => matches!(self, Self::Null | Self::NotNull),
        }
    }
}

/// One condition: `field op values` (`in` has several values, `null`/`notnull` none).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub op: FilterOp,
    pub values: Vec<Value>,
}

/// One sort key; `id` ascending always breaks ties after the given keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub field: Field,
    pub descending: bool,
}

/// A parsed `:list` (or aggregate) query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// ANDed conditions.
    pub filters: Vec<Filter>,
    /// The requested order (without the `id` tie-breaker).
    pub sorts: Vec<Sort>,
    /// `q`: a case-insensitive substring over the string columns.
    pub search: Option<String>,
    /// `fields`: the fields to return (besides `id`); `None` for all.
    pub fields: Option<Vec<Field>>,
    /// How many records to return.
    pub limit: u32,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// Whether to count every matching record.
    pub with_total: bool,
}

impl ListQuery {
    /// A query for the first `limit` records in id order, nothing else.
    #[must_use]
    pub const fn first(limit: u32) -> Self {
        Self {
            filters: Vec::new(),
            sorts: Vec::new(),
            search: None,
            fields: None,
            limit,
            after: None,
            with_total: true,
        }
    }
}

/// An aggregate over the matching records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum(Field),
    Avg(Field),
    Min(Field),
    Max(Field),
}
