//! Who may call what: the bearer credential is authenticated (API key or JWT, told apart by
//! prefix), counted against the caller's rate limit, and checked against the route's role
//! rule (API.md §1, §3–§5). Public routes need nothing.

use moon_domain::{Principal, Role};
use salvo::Request;
use salvo::http::Method;

use crate::AppState;
use crate::error::ApiError;
use crate::rate_limit::RateHeaders;
use crate::routes::{AuthAction, Route};

/// The authenticated caller of a request, if authentication is on and the route needs one.
#[derive(Debug, Default)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub rate: Option<RateHeaders>,
}

/// Routes anyone may call.
fn is_public(route: &Route<'_>) -> bool {
    matches!(
        route,
        Route::Health
            | Route::Docs(_)
            | Route::Hook(_)
            | Route::Auth(AuthAction::Login | AuthAction::Refresh)
    )
}

/// Authenticates the request when its route needs it.
///
/// # Errors
/// 401 without a live credential, 429 (with the headers) when the caller's limit is spent.
pub async fn authenticate(
    state: &AppState,
    req: &Request,
    route: Option<&Route<'_>>,
) -> Result<Caller, (ApiError, Option<RateHeaders>)> {
    let Some(auth) = &state.auth else {
        return Ok(Caller::default());
    };
    if matches!(route, Some(Route::Docs(_))) {
        // Public, but a valid credential shows the collections too.
        let bearer = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let principal = match bearer {
            Some(token) => auth.authenticate(token.trim()).await.ok(),
            None => None,
        };
        return Ok(Caller {
            principal,
            rate: None,
        });
    }
    let open_metrics = state.metrics_public && matches!(route, Some(Route::Metrics));
    let needs_caller = route.is_some_and(|r| !is_public(r)) && !open_metrics;
    if !needs_caller || req.method() == Method::OPTIONS {
        return Ok(Caller::default());
    }
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            (
                ApiError::unauthorized(
                    "authentication required: send Authorization: Bearer <token>",
                ),
                None,
            )
        })?;
    let principal = auth
        .authenticate(bearer)
        .await
        .map_err(|e| (ApiError::from(e), None))?;
    let rate = match state.rate_limiter.check(&principal) {
        None => None,
        Some(Ok(headers)) => Some(headers),
        Some(Err(headers)) => {
            let retry = headers.reset.saturating_sub(now_secs()).max(1);
            return Err((ApiError::rate_limited(retry), Some(headers)));
        }
    };
    Ok(Caller {
        principal: Some(principal),
        rate,
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Admins only (no-op when authentication is off).
///
/// # Errors
/// 403 for anyone else.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    match &caller.principal {
        Some(p) if p.role() != Role::Admin => Err(ApiError::forbidden("this needs the admin role")),
        _ => Ok(()),
    }
}

/// Record writers only: admins, and users (or keys) with `can_write`.
///
/// # Errors
/// 403 for anyone else.
pub fn require_record_write(caller: &Caller) -> Result<(), ApiError> {
    match &caller.principal {
        Some(p) if !p.can_write_records() => {
            Err(ApiError::forbidden("your role may not write records"))
        }
        _ => Ok(()),
    }
}
