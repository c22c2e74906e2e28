//! Reading a request: the JSON body as an object with only known keys, and query
//! parameters with only known names. Every problem is a precise 4xx, never a panic.

use salvo::Request;
use salvo::http::ParseError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use crate::error::ApiError;

/// Reads the body as JSON, refusing bodies over `max_bytes`.
///
/// # Errors
/// 413 when too large; `INVALID_JSON` when empty or not JSON.
pub async fn json_body(req: &mut Request, max_bytes: usize) -> Result<Json, ApiError> {
    let bytes = match req.payload_with_max_size(max_bytes).await {
        Ok(bytes) => bytes,
        Err(ParseError::PayloadTooLarge) => return Err(ApiError::payload_too_large(max_bytes)),
        Err(e) => {
            return Err(ApiError::invalid_json(format!(
                "cannot read the request body: {e}"
            )));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_json(
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_json(format!("the request body is not valid JSON: {e}")))
}

/// The raw body (kept by the request, so a later [`json_body`] reads the same bytes).
///
/// # Errors
/// 413 when too large; `INVALID_JSON` when it cannot be read.
pub async fn json_body_bytes(req: &mut Request, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
    match req.payload_with_max_size(max_bytes).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(ParseError::PayloadTooLarge) => Err(ApiError::payload_too_large(max_bytes)),
        Err(e) => Err(ApiError::invalid_json(format!(
            "cannot read the request body: {e}"
        ))),
    }
}

/// The body as an object with only `allowed` keys, or `None` when there is no usable body
/// (admin actions that also take their target as a query parameter).
///
/// # Errors
/// `UNKNOWN_FIELD` for a body with other keys.
pub async fn optional_object(
    req: &mut Request,
    max_bytes: usize,
    allowed: &[&str],
) -> Result<Option<Map<String, Json>>, ApiError> {
    match json_body(req, max_bytes).await {
        Ok(json) => object(json, allowed, "").map(Some),
        Err(_) => Ok(None),
    }
}

/// A JSON value that must be an object whose keys are all in `allowed`.
///
/// # Errors
/// `VALIDATION_ERROR` when not an object; `UNKNOWN_FIELD` naming the first unknown key
/// (`path` prefixes it, e.g. `columns[0].`).
pub fn object(json: Json, allowed: &[&str], path: &str) -> Result<Map<String, Json>, ApiError> {
    let Json::Object(map) = json else {
        let what = if path.is_empty() {
            "the request body"
        } else {
            path.trim_end_matches('.')
        };
        return Err(ApiError::invalid(
            if path.is_empty() { "body" } else { what },
            format!("{what} must be a JSON object"),
        ));
    };
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::unknown_field(
            &format!("{path}{key}"),
            format!(
                "unknown field '{path}{key}'; allowed: {}",
                allowed.join(", ")
            ),
        ));
    }
    Ok(map)
}

/// Takes `key` out of `map` as a `T`; `None` when absent or null.
///
/// # Errors
/// `VALIDATION_ERROR` naming the field when it has the wrong shape.
pub fn optional<T: DeserializeOwned>(
    map: &mut Map<String, Json>,
    key: &str,
    path: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match map.remove(key) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => serde_json::from_value(value).map(Some).map_err(|_| {
            ApiError::invalid(
                &format!("{path}{key}"),
                format!("{path}{key} must be {expected}"),
            )
        }),
    }
}

/// Takes the required `key` out of `map` as a `T`.
///
/// # Errors
/// `VALIDATION_ERROR` naming the field when missing or of the wrong shape.
pub fn required<T: DeserializeOwned>(
    map: &mut Map<String, Json>,
    key: &str,
    path: &str,
    expected: &str,
) -> Result<T, ApiError> {
    optional(map, key, path, expected)?.ok_or_else(|| {
        ApiError::invalid(&format!("{path}{key}"), format!("{path}{key} is required"))
    })
}

/// The query parameters, refusing any name not in `allowed`.
///
/// # Errors
/// `UNKNOWN_PARAMETER` naming the first unknown one.
pub fn query_params<'a>(req: &'a Request, allowed: &[&str]) -> Result<QueryParams<'a>, ApiError> {
    let queries = req.queries();
    if let Some(name) = queries.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::unknown_parameter(name));
    }
    Ok(QueryParams { req })
}

/// Checked query parameters.
#[derive(Debug, Clone, Copy)]
pub struct QueryParams<'a> {
    req: &'a Request,
}

impl QueryParams<'_> {
    /// The (first) value of `name`, if given.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.req.queries().get(name).map(String::as_str)
    }

    /// A `true`/`false` flag; absent is `false`.
    ///
    /// # Errors
    /// `VALIDATION_ERROR` for any other value.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true" | "") => Ok(true),
            Some(other) => Err(ApiError::invalid(
                name,
                format!("{name} must be true or false, not '{other}'"),
            )),
        }
    }
}

/// The `name` an admin action is about: the `?name=` query parameter or, failing that, the
/// body's `name`.
///
/// # Errors
/// `VALIDATION_ERROR` when neither gives one.
pub fn name_param(
    req: &Request,
    body: Option<&mut Map<String, Json>>,
    what: &str,
) -> Result<String, ApiError> {
    if let Some(name) = req.queries().get("name") {
        return Ok(name.clone());
    }
    body.and_then(|b| b.remove("name"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::invalid("name", format!("give the {what} as ?name=")))
}
