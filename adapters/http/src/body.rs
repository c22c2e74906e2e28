//! Every request body is read once, before its handler: a JSON content type, a size limit by
//! route (small where callers are anonymous), and one deadline for the whole body, so a slow
//! or huge sender holds neither a connection nor memory for long. Handlers then read the
//! kept bytes.

use std::time::Duration;

use salvo::Request;
use salvo::http::{Method, ParseError, StatusCode};

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{AuthAction, Route};

/// The body limit of routes anyone may call without credentials (login and refresh carry
/// a few short strings).
pub const ANONYMOUS_BODY_BYTES: usize = 16 * 1024;
/// The longest request target answered (longer: `414`).
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names and values) answered (more: `431`).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses an oversized target or header block with a JSON answer.
///
/// # Errors
/// `414` or `431`.
pub fn check_head(req: &Request) -> Result<(), ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "VALIDATION_ERROR",
            format!("the request target may be at most {MAX_URI_BYTES} bytes"),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "VALIDATION_ERROR",
            format!("request headers may hold at most {MAX_HEADER_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Reads a POST body within `state`'s deadline and the route's limit, after checking that
/// it is declared JSON (or not declared at all).
///
/// # Errors
/// `415` for another content type, `413` over the limit, `400 INVALID_JSON` when it does
/// not arrive in time or cannot be read.
pub async fn prefetch(
    state: &AppState,
    req: &mut Request,
    route: Option<&Route<'_>>,
) -> Result<(), ApiError> {
    if req.method() != Method::POST {
        return Ok(());
    }
    if let Some(declared) = req.headers().get(salvo::http::header::CONTENT_TYPE)
        && !is_json(declared.to_str().unwrap_or(""))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as JSON (Content-Type: application/json)",
        ));
    }
    let limit = match route {
        Some(Route::Auth(AuthAction::Login | AuthAction::Refresh)) => {
            ANONYMOUS_BODY_BYTES.min(state.max_body_bytes)
        }
        _ => state.max_body_bytes,
    };
    match tokio::time::timeout(state.body_deadline, req.payload_with_max_size(limit)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(ParseError::PayloadTooLarge)) => Err(ApiError::payload_too_large(limit)),
        Ok(Err(e)) => Err(ApiError::invalid_json(format!(
            "cannot read the request body: {e}"
        ))),
        Err(_) => Err(ApiError::invalid_json(format!(
            "the request body did not arrive within {} s",
            secs(state.body_deadline)
        ))),
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

/// `application/json`, or any `+json` type, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_media_types_are_recognised() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
            "application/jsonx",
        ] {
            assert!(!is_json(no), "{no}");
        }
    }
}
