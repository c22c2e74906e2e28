//! The HTTP error: one status + machine code + message (+ details) per failure, mapped
//! once from the application's errors; 500s hide their cause (it goes to the log).

use moon_application::AppError;
use moon_domain::{FieldError, FieldErrorKind};
use salvo::http::StatusCode;
use serde::Serialize;
use serde_json::{Value as Json, json};

/// A failed request, ready to be written as API.md §1's error body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Box<Json>>,
    /// The `Allow` header, for 405.
    pub allow: Option<&'static str>,
    /// The `Retry-After` header (seconds), for 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Json>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            allow: None,
            retry_after: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: Json) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// A 400 `VALIDATION_ERROR` about one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
            .with_details(json!({ "field": field }))
    }

    /// A 400 `UNKNOWN_FIELD` naming the key.
    pub fn unknown_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UNKNOWN_FIELD", message)
            .with_details(json!({ "field": field }))
    }

    /// A 400 `UNKNOWN_PARAMETER` naming the query parameter.
    pub fn unknown_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "UNKNOWN_PARAMETER",
            format!("unknown query parameter '{name}'"),
        )
        .with_details(json!({ "parameter": name }))
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!("rate limit exceeded; retry in {retry_after} s"),
        );
        error.retry_after = Some(retry_after);
        error
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route")
    }

    pub fn payload_too_large(max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than {max} bytes"),
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("method not allowed here; use {allow}"),
        );
        error.allow = Some(allow);
        error
    }

    /// The JSON body of this error.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            error: &self.message,
            code: self.code,
            details: self.details.as_deref(),
        })
        .unwrap_or_default()
    }
}

fn validation(errors: &[FieldError]) -> ApiError {
    let Some(first) = errors.first() else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "invalid request",
        );
    };
    let code = match first.kind {
        FieldErrorKind::Unknown => "UNKNOWN_FIELD",
        FieldErrorKind::UnknownParameter => "UNKNOWN_PARAMETER",
        FieldErrorKind::Invalid => "VALIDATION_ERROR",
    };
    let message = if errors.len() == 1 {
        format!("{}: {}", first.field, first.message)
    } else {
        format!(
            "{}: {} (and {} more)",
            first.field,
            first.message,
            errors.len() - 1
        )
    };
    let details = if first.kind == FieldErrorKind::UnknownParameter {
        json!({ "field": first.field, "parameter": first.field, "errors": errors })
    } else {
        json!({ "field": first.field, "errors": errors })
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, message).with_details(details)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        match e {
            AppError::Validation(errors) => validation(&errors),
            AppError::InvalidId(_) => Self::new(StatusCode::BAD_REQUEST, "INVALID_ID", message)
                .with_details(json!({ "field": "id" })),
            AppError::PageSizeExceeded { max } => {
                Self::new(StatusCode::BAD_REQUEST, "PAGE_SIZE_EXCEEDED", message)
                    .with_details(json!({ "field": "limit", "max": max }))
            }
            AppError::CollectionNotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "COLLECTION_NOT_FOUND", message)
            }
            AppError::RecordNotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "RECORD_NOT_FOUND", message)
            }
            AppError::DuplicateCollection(_) => {
                Self::new(StatusCode::CONFLICT, "DUPLICATE_COLLECTION", message)
            }
            AppError::DuplicateValue { field } => {
                Self::new(StatusCode::CONFLICT, "DUPLICATE_VALUE", message)
                    .with_details(json!({ "field": field }))
            }
            AppError::BatchTooLarge { max } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", message)
                    .with_details(json!({ "max_items": max }))
            }
            AppError::BatchItem { index, error } => {
                let mut inner = Self::from(*error);
                inner.message = format!("item {index}: {}", inner.message);
                let mut details =
                    inner
                        .details
                        .take()
                        .map_or_else(serde_json::Map::new, |d| match *d {
                            Json::Object(map) => map,
                            _ => serde_json::Map::new(),
                        });
                details.insert("index".into(), index.into());
                inner.with_details(Json::Object(details))
            }
            AppError::Unauthorized(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            }
            AppError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message),
            AppError::RateLimited { retry_after } => {
                let mut error = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMIT_EXCEEDED",
                    message,
                );
                error.retry_after = Some(retry_after);
                error
            }
            AppError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message),
            AppError::Conflict(_) => Self::new(StatusCode::CONFLICT, "CONFLICT", message),
            AppError::PreconditionFailed => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION_FAILED",
                message,
            ),
            AppError::MaxCollections { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "MAX_COLLECTIONS_REACHED", message)
            }
            AppError::MaxColumns { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "MAX_COLUMNS_REACHED", message)
            }
            AppError::SchemaChanged(detail) => {
                tracing::info!(%detail, "write raced a schema change");
                Self::new(StatusCode::CONFLICT, "SCHEMA_CHANGED", message)
            }
            AppError::Busy { retry_after } => {
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    message,
                );
                error.retry_after = Some(retry_after);
                error
            }
            AppError::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "the database is unavailable; try again",
                );
                error.retry_after = Some(1);
                error
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "internal error",
                )
            }
        }
    }
}
