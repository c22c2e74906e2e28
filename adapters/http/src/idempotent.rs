//! `Idempotency-Key` at the edge: a keyed POST is reserved before it runs, its answer kept
//! (2xx and 4xx) or its key released (5xx); a repeat replays, a clash is a 409.

use moon_application::IdempotencyService;
use moon_domain::{IdempotencyKey, Reservation, StoredAnswer};
use salvo::Request;
use salvo::http::{Method, StatusCode};

use crate::AppState;
use crate::error::ApiError;
use crate::input::json_body_bytes;
use crate::reply::Reply;
use crate::routes::Route;

/// What to do with a request before running it.
pub enum Start {
    /// Not keyed: just run it.
    Plain,
    /// Keyed and reserved: run it, then [`finish`].
    Reserved(IdempotencyKey),
    /// Answered already: replay or conflict.
    Answered(Result<Reply, ApiError>),
}

/// Whether `route` takes `Idempotency-Key` (API.md §5): authenticated writes of
/// collections and records only, never `auth:*`, accounts, keys or `/hooks/*` (whose answers
/// hold tokens or keys, or whose callers are anonymous).
fn keyed_route(route: Option<&Route<'_>>) -> bool {
    matches!(route, Some(Route::Collections(_) | Route::Records { .. }))
}

/// Checks a request's `Idempotency-Key`, if any.
pub async fn start(
    state: &AppState,
    req: &mut Request,
    route: Option<&Route<'_>>,
    caller: Option<&str>,
) -> Start {
    let Some(service) = &state.idempotency else {
        return Start::Plain;
    };
    let Some(caller) = caller else {
        return Start::Plain;
    };
    if req.method() != Method::POST || !keyed_route(route) {
        return Start::Plain;
    }
    let Some(raw) = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return Start::Plain;
    };
    let path = req.uri().path().to_owned();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), ToString::to_string);
    let key = match raw
        .map_err(|_| ())
        .and_then(|k| IdempotencyService::key(caller, &path, &k).map_err(|_| ()))
    {
        Ok(key) => key,
        Err(()) => {
            return Start::Answered(Err(ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
            )));
        }
    };
    let body = match json_body_bytes(req, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return Start::Answered(Err(e)),
    };
    let hash = IdempotencyService::request_hash("POST", &path_and_query, &body);
    match service.reserve(&key, &hash).await {
        Ok(Reservation::Fresh) => Start::Reserved(key),
        Ok(Reservation::Replay(answer)) => Start::Answered(Ok(Reply {
            status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
            body: answer.body.into_bytes().into(),
            etag: answer.etag,
            allow: None,
            replayed: true,
            content_type: crate::reply::JSON,
            headers: Vec::new(),
        })),
        Ok(Reservation::Conflict { in_flight }) => Start::Answered(Err(ApiError::new(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_CONFLICT",
            if in_flight {
                "a request with this Idempotency-Key is still running; retry later"
            } else {
                "this Idempotency-Key was used for a different request"
            },
        ))),
        Err(e) => Start::Answered(Err(e.into())),
    }
}

/// Keeps the answer of a reserved request (2xx, 4xx) or frees its key (5xx).
pub async fn finish(state: &AppState, key: &IdempotencyKey, outcome: &Result<Reply, ApiError>) {
    let Some(service) = &state.idempotency else {
        return;
    };
    let (status, body, etag) = match outcome {
        Ok(reply) => (
            reply.status,
            String::from_utf8_lossy(&reply.body).into_owned(),
            reply.etag.clone(),
        ),
        Err(error) => (
            error.status,
            String::from_utf8_lossy(&error.body()).into_owned(),
            None,
        ),
    };
    if status.is_server_error() {
        service.release(key).await;
    } else {
        service
            .complete(
                key,
                &StoredAnswer {
                    status: status.as_u16(),
                    body,
                    etag,
                },
            )
            .await;
    }
}
