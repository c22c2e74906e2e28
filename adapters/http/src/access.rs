//! Who may call what: the bearer credential is authenticated (API key or JWT, told apart by
//! prefix), counted against the caller's rate limit, and checked against the route's role
//! rule (API.md §1, §3–§5). Public routes need nothing.

use moon_domain::{Principal, Role};
use salvo::Request;
use salvo::http::Method;

use crate::AppState;
use crate::error::ApiError;
use crate::rate_limit::RateHeaders;
use crate::routes::{AuthAction, Kind, RecordsAction, Route};

/// The authenticated caller of a request, if authentication is on and the route needs one.
#[derive(Debug, Default)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub rate: Option<RateHeaders>,
}

/// Who may call a route: the one rule the dispatcher enforces and the OpenAPI document
/// states (its `security` and `403` answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no credential read.
    Public,
    /// Anyone; a valid credential shows more (the docs list the collections).
    Optional,
    /// Any authenticated caller.
    Caller,
    /// Authenticated callers whose role may write records.
    RecordWriter,
    /// Admins.
    Admin,
}

impl Access {
    /// Whether the route needs a credential at all.
    #[must_use]
    pub const fn needs_credential(self) -> bool {
        matches!(self, Self::Caller | Self::RecordWriter | Self::Admin)
    }
}

impl Route<'_> {
    /// Who may call this route; `/metrics` is public only with `metrics_public`.
    #[must_use]
    pub fn access(&self, metrics_public: bool) -> Access {
        match self {
            Self::Health | Self::Hook(_) | Self::Auth(AuthAction::Login | AuthAction::Refresh) => {
                Access::Public
            }
            Self::Docs(_) => Access::Optional,
            Self::Metrics if metrics_public => Access::Public,
            Self::Metrics
            | Self::Users(_)
            | Self::ApiKeys(_)
            | Self::Webhooks(_)
            | Self::Subscriptions(_) => Access::Admin,
            Self::Auth(AuthAction::Logout | AuthAction::Me) => Access::Caller,
            Self::Collections(action) => match action.kind() {
                Kind::Write => Access::Admin,
                Kind::Read | Kind::ReadWrite => Access::Caller,
            },
            Self::Records { action, .. } => {
                match RecordsAction::parse(action).map(RecordsAction::kind) {
                    Some(Kind::Write) => Access::RecordWriter,
                    _ => Access::Caller,
                }
            }
        }
    }
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
    let access = route.map_or(Access::Public, |r| r.access(state.metrics_public));
    if access == Access::Optional {
        // Public, but a valid credential shows the collections too.
        let principal = match bearer(req, route) {
            Some(token) => auth.authenticate(&token).await.ok(),
            None => None,
        };
        return Ok(Caller {
            principal,
            rate: None,
        });
    }
    if !access.needs_credential() || req.method() == Method::OPTIONS {
        return Ok(Caller::default());
    }
    let bearer = bearer(req, route).ok_or_else(|| {
        (
            ApiError::unauthorized("authentication required: send Authorization: Bearer <token>"),
            None,
        )
    })?;
    let principal = auth
        .authenticate(&bearer)
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

/// The request's bearer credential: the `Authorization` header, or for the change feed
/// (browsers' `EventSource` cannot send headers) the `access_token` query parameter.
#[must_use]
pub fn bearer(req: &Request, route: Option<&Route<'_>>) -> Option<String> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = header {
        return Some(token.to_owned());
    }
    let feed = matches!(
        route,
        Some(Route::Records {
            action: "changes",
            ..
        })
    );
    feed.then(|| req.query::<String>("access_token"))
        .flatten()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks an authenticated caller against the route's rule (no-op when authentication is
/// off, or for routes that need no credential).
///
/// # Errors
/// 403 when the caller's role does not reach the rule.
pub fn permit(caller: &Caller, access: Access) -> Result<(), ApiError> {
    let Some(principal) = &caller.principal else {
        return Ok(());
    };
    match access {
        Access::Admin if principal.role() != Role::Admin => {
            Err(ApiError::forbidden("this needs the admin role"))
        }
        Access::RecordWriter if !principal.can_write_records() => {
            Err(ApiError::forbidden("your role may not write records"))
        }
        _ => Ok(()),
    }
}
