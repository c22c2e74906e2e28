//! The one handler behind every path: strips the prefix, parses the route, checks the
//! method (405 with `Allow`, `OPTIONS` → 204), calls the route's handler, writes the answer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use moon_application::AppError;

use salvo::http::Method;
use salvo::http::header::{ALLOW, CONTENT_TYPE, ETAG, HeaderValue};
use salvo::{Depot, FlowCtrl, Handler, Request, Response, async_trait};

use crate::AppState;
use crate::access::{self, Caller};
use crate::error::ApiError;
use crate::handlers::{
    accounts, auth, changes, collections, health, records, subscriptions, webhooks,
};
use crate::idempotent;
use crate::rate_limit::RateHeaders;
use crate::reply::Reply;
use crate::routes::{AuthAction, CollectionsAction, Kind, RecordsAction, Route};

/// Serves every request of the API.
pub struct Dispatcher {
    pub(crate) state: Arc<AppState>,
}

#[async_trait]
impl Handler for Dispatcher {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let state = &*self.state;
        let origin = req
            .headers()
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let preflight = req.method() == Method::OPTIONS;
        let started = std::time::Instant::now();
        state.metrics.started();
        let route = self.serve(req, res).await;
        state.cors.apply(origin.as_deref(), preflight, res);
        let status = res.status_code.map_or(200, |s| s.as_u16());
        let seconds = started.elapsed().as_secs_f64();
        state.metrics.finished(route, req.method(), status, seconds);
    }
}

impl Dispatcher {
    /// Answers the request; the route kind it was counted under.
    async fn serve(&self, req: &mut Request, res: &mut Response) -> &'static str {
        let state = &*self.state;
        if let Err(error) = crate::body::check_head(req) {
            write(res, Err(error), None);
            return "unknown";
        }
        let path = req.uri().path().to_owned();
        let route = strip_prefix(&path, &state.prefix).and_then(Route::parse);
        let label = crate::metrics::route_label(route.as_ref());
        self.serve_route(req, res, route).await;
        label
    }

    async fn serve_route(&self, req: &mut Request, res: &mut Response, route: Option<Route<'_>>) {
        let state = &*self.state;
        let caller = match access::authenticate(state, req, route.as_ref()).await {
            Ok(caller) => caller,
            Err((error, rate)) => {
                write(res, Err(error), rate);
                return;
            }
        };
        if let Err(error) = crate::body::prefetch(state, req, route.as_ref()).await {
            // The rest of a body that never came is not waited for.
            res.headers_mut().insert(
                salvo::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
            write(res, Err(error), caller.rate);
            return;
        }
        if let Some(
            route @ Route::Records {
                action: "changes", ..
            },
        ) = route
        {
            // A stream, not one answer: written here, never stored for idempotency.
            match self.open_feed(req, res, route, &caller).await {
                Ok(None) => rate_headers(res, caller.rate),
                Ok(Some(reply)) => write(res, Ok(reply), caller.rate),
                Err(error) => write(res, Err(error), caller.rate),
            }
            return;
        }
        // Idempotency is for authenticated writes; with auth off (benchmarks), one scope.
        let scope = match (&caller.principal, &state.auth) {
            (Some(principal), _) => Some(principal.scope()),
            (None, None) => Some("anonymous".to_owned()),
            (None, Some(_)) => None,
        };
        let reserved = match idempotent::start(state, req, route.as_ref(), scope.as_deref()).await {
            idempotent::Start::Plain => None,
            idempotent::Start::Reserved(key) => Some(key),
            idempotent::Start::Answered(outcome) => {
                write(res, outcome, caller.rate);
                return;
            }
        };
        // A bug must never take the connection down without an answer: a panic becomes a
        // JSON 500 (and a log line with the request id).
        let outcome = match AssertUnwindSafe(self.route(req, route, &caller))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(AppError::Internal(format!("handler panicked: {detail}")).into())
            }
        };
        if let Some(key) = &reserved {
            idempotent::finish(state, key, &outcome).await;
        }
        write(res, outcome, caller.rate);
    }

    /// `:changes`: the checks [`Self::route`] makes, then the stream (`None`) or the
    /// preflight answer.
    async fn open_feed(
        &self,
        req: &Request,
        res: &mut Response,
        route: Route<'_>,
        caller: &Caller,
    ) -> Result<Option<Reply>, ApiError> {
        let state = &*self.state;
        let Route::Records { collection, .. } = route else {
            return Err(ApiError::not_found());
        };
        state.records.collection(collection)?;
        if let Some(preflight) = check_method(req, route.kind())? {
            return Ok(Some(preflight));
        }
        access::permit(caller, route.access(state.metrics_public))?;
        let token = access::bearer(req, Some(&route));
        changes::changes(state, req, res, collection, token).await?;
        Ok(None)
    }

    async fn route(
        &self,
        req: &mut Request,
        route: Option<Route<'_>>,
        caller: &Caller,
    ) -> Result<Reply, ApiError> {
        let state = &*self.state;
        let route = route.ok_or_else(ApiError::not_found)?;
        if let Route::Records { collection, action } = route {
            // A missing collection wins over a bad action (API.md §8).
            state.records.collection(collection)?;
            RecordsAction::parse(action).ok_or_else(ApiError::not_found)?;
        }
        if let Some(preflight) = check_method(req, route.kind())? {
            return Ok(preflight);
        }
        access::permit(caller, route.access(state.metrics_public))?;
        match route {
            Route::Health => Ok(health::health(state).await),
            Route::Metrics => Ok(state.metrics.render(state).await),
            Route::Docs(page) => crate::docs::serve(state, req, caller, page).await,
            Route::Auth(action) => match action {
                AuthAction::Login => auth::login(state, req).await,
                AuthAction::Refresh => auth::refresh(state, req).await,
                AuthAction::Logout => auth::logout(state, req, caller).await,
                AuthAction::Me => auth::me(state, req, caller).await,
            },
            Route::Users(action) => accounts::users(state, req, caller, action).await,
            Route::ApiKeys(action) => accounts::apikeys(state, req, action).await,
            Route::Webhooks(action) => webhooks::admin(state, req, action).await,
            Route::Subscriptions(action) => subscriptions::admin(state, req, action).await,
            Route::Hook(name) => webhooks::ingest(state, req, name).await,
            Route::Collections(action) => match action {
                CollectionsAction::List => collections::list(state, req).await,
                CollectionsAction::Get => collections::get(state, req),
                CollectionsAction::Create => collections::create(state, req).await,
                CollectionsAction::Update => collections::update(state, req).await,
                CollectionsAction::Destroy => collections::destroy(state, req).await,
            },
            Route::Records {
                collection,
                action: name,
            } => {
                let action = RecordsAction::parse(name).ok_or_else(ApiError::not_found)?;
                match action {
                    RecordsAction::List => records::list(state, req, collection).await,
                    RecordsAction::Get => records::get(state, req, collection).await,
                    RecordsAction::Schema => records::schema(state, req, collection).await,
                    RecordsAction::Aggregate => {
                        records::aggregate(state, req, collection, name).await
                    }
                    // Served by `open_feed` before any answer is stored.
                    RecordsAction::Changes => Err(ApiError::not_found()),
                    RecordsAction::Create => records::create(state, req, collection).await,
                    RecordsAction::Update => records::update(state, req, collection).await,
                    RecordsAction::Destroy => records::destroy(state, req, collection).await,
                }
            }
        }
    }
}

/// The path under `prefix`, or `None` when it is outside it.
fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(path);
    }
    path.strip_prefix(prefix)
        .filter(|rest| rest.starts_with('/'))
}

/// `OPTIONS` is answered at once (204 with `Allow`); a method the route does not take is 405.
fn check_method(req: &Request, kind: Kind) -> Result<Option<Reply>, ApiError> {
    let method = req.method();
    let allowed = match kind {
        Kind::Read => method == Method::GET || method == Method::HEAD,
        Kind::Write => method == Method::POST,
        Kind::ReadWrite => {
            method == Method::GET || method == Method::HEAD || method == Method::POST
        }
    };
    if allowed {
        Ok(None)
    } else if method == Method::OPTIONS {
        Ok(Some(Reply::no_content().with_allow(kind.allow())))
    } else {
        Err(ApiError::method_not_allowed(kind.allow()))
    }
}

/// JSON bodies end with a newline, so shell users see one answer per line (cached documents
/// already do, and go out without a copy).
fn with_newline(body: bytes::Bytes) -> bytes::Bytes {
    if body.last() == Some(&b'\n') {
        return body;
    }
    let mut owned = Vec::with_capacity(body.len() + 1);
    owned.extend_from_slice(&body);
    owned.push(b'\n');
    owned.into()
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

fn rate_headers(res: &mut Response, rate: Option<RateHeaders>) {
    if let Some(rate) = rate {
        let headers = res.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(rate.reset));
    }
}

fn write(res: &mut Response, outcome: Result<Reply, ApiError>, rate: Option<RateHeaders>) {
    rate_headers(res, rate);
    match outcome {
        Ok(reply) => {
            res.status_code(reply.status);
            if let Some(tag) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
                res.headers_mut().insert(ETAG, tag);
            }
            if reply.replayed {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            if let Some(allow) = reply.allow {
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            for (name, value) in &reply.headers {
                if let Ok(value) = HeaderValue::from_str(value) {
                    res.headers_mut().insert(*name, value);
                }
            }
            if !reply.body.is_empty() {
                let json = reply.content_type == crate::reply::JSON;
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
                let _ = res.write_body(if json {
                    with_newline(reply.body)
                } else {
                    reply.body
                });
            }
        }
        Err(error) => {
            res.status_code(error.status);
            if let Some(allow) = error.allow {
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            if let Some(retry) = error.retry_after {
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from(retry));
            }
            res.headers_mut().insert(CONTENT_TYPE, JSON);
            let _ = res.write_body(with_newline(error.body().into()));
        }
    }
}
