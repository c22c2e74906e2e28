//! The application's one error enum; the HTTP adapter maps each variant to a status + code.

use moon_domain::{FieldError, QueryError, RepoError, SchemaError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// One or more precise field problems (the first decides the code).
    #[error("{}", .0.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    InvalidId(String),
    #[error("limit may be at most {max}")]
    PageSizeExceeded { max: u32 },
    #[error("collection '{0}' not found")]
    CollectionNotFound(String),
    #[error("record '{0}' not found")]
    RecordNotFound(String),
    #[error("collection '{0}' already exists")]
    DuplicateCollection(String),
    #[error("{}", duplicate_message(.field.as_deref()))]
    DuplicateValue { field: Option<String> },
    #[error("a batch may hold at most {max} items")]
    BatchTooLarge { max: usize },
    /// An atomic batch failed at item `index`; nothing was written.
    #[error("item {index}: {error}")]
    BatchItem { index: usize, error: Box<AppError> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the record changed since you read it (If-Match does not match)")]
    PreconditionFailed,
    #[error("the maximum of {max} collections is reached")]
    MaxCollections { max: usize },
    #[error("a collection may have at most {max} columns")]
    MaxColumns { max: usize },
    /// Moon is at capacity for this kind of work (password hashing); retry after a pause.
    #[error("the server is busy; retry in {retry_after} s")]
    Busy { retry_after: u64 },
    /// The schema changed (in another process) while the request ran; nothing was written.
    #[error("the collection's schema changed while this request ran; nothing was written, retry")]
    SchemaChanged(String),
    /// The database is unreachable or timed out; detail for the log only.
    #[error("database unavailable")]
    Unavailable(String),
    /// Anything unexpected; detail for the log only.
    #[error("internal error")]
    Internal(String),
}

fn duplicate_message(field: Option<&str>) -> String {
    match field {
        Some(f) => format!("a record with this '{f}' already exists"),
        None => "a record with this value already exists".to_owned(),
    }
}

impl AppError {
    /// A validation error about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::invalid(field, message)])
    }
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Duplicate { field } => Self::DuplicateValue { field },
            RepoError::Invalid(f) => Self::Validation(vec![f]),
            // Still conflicting after the repository's own retries: the client may retry.
            RepoError::Unavailable(m) | RepoError::Transient(m) => Self::Unavailable(m),
            RepoError::SchemaChanged(m) => Self::SchemaChanged(m),
            RepoError::TableExists => Self::Conflict("the collection exists already".to_owned()),
            RepoError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<SchemaError> for AppError {
    fn from(e: SchemaError) -> Self {
        match e {
            SchemaError::Field(f) => Self::Validation(vec![f]),
            SchemaError::TooManyColumns { max } => Self::MaxColumns { max },
        }
    }
}

impl From<QueryError> for AppError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Field(f) => Self::Validation(vec![f]),
            QueryError::PageSizeExceeded { max } => Self::PageSizeExceeded { max },
        }
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::Validation(errors)
    }
}
