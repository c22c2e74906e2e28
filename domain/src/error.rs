//! The domain's errors: precise field errors from validation, and what repositories report.

use serde::Serialize;

/// What kind of rule a field broke; decides the API error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorKind {
    /// A field the collection does not have (`UNKNOWN_FIELD`).
    Unknown,
    /// A query parameter the route does not take (`UNKNOWN_PARAMETER`).
    UnknownParameter,
    /// Any other broken rule (`VALIDATION_ERROR`).
    Invalid,
}

/// One precise problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    #[serde(skip)]
    pub kind: FieldErrorKind,
    pub message: String,
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: FieldErrorKind::Invalid,
            message: message.into(),
        }
    }

    pub fn unknown(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: FieldErrorKind::Unknown,
            message: message.into(),
        }
    }

    pub fn unknown_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: FieldErrorKind::UnknownParameter,
            message: message.into(),
        }
    }
}

/// Why a list or aggregate query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{}: {}", .0.field, .0.message)]
    Field(FieldError),
    #[error("limit may be at most {max}")]
    PageSizeExceeded { max: u32 },
}

/// What a repository can report, whatever the engine behind it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// A unique constraint was violated; names the field when the engine tells.
    #[error("duplicate value{}", .field.as_ref().map(|f| format!(" for '{f}'")).unwrap_or_default())]
    Duplicate { field: Option<String> },
    /// Stored data does not fit a requested change (e.g. a type change rows cannot take).
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// The database could not be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The table or a column the statement names is not (or no longer) there, or has
    /// another type: another process changed the schema since this one loaded it.
    #[error("the schema changed meanwhile: {0}")]
    SchemaChanged(String),
    /// The table a collection would be created as exists already (made by another process).
    #[error("the table exists already")]
    TableExists,
    /// The engine rolled the work back (deadlock, serialization failure); running it again
    /// usually succeeds. Repositories retry it a few times before it reaches a caller.
    #[error("transient database conflict: {0}")]
    Transient(String),
    /// Anything else; the message is for the log, never for the client.
    #[error("{0}")]
    Internal(String),
}
