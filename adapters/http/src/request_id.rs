//! Gives every request an id: in the `X-Request-Id` response header and on every log line
//! the request causes (a tracing span around the rest of the chain).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use salvo::http::header::HeaderValue;
use salvo::{Depot, FlowCtrl, Handler, Request, Response, async_trait};
use tracing::Instrument;

/// The request-id middleware.
pub struct RequestId {
    /// Ids are this process's start stamp plus a counter: unique, cheap, sortable.
    stamp: String,
    next: AtomicU64,
}

impl RequestId {
    #[must_use]
    pub fn new() -> Self {
        Self {
            stamp: ulid::Ulid::new().to_string()[..10].to_owned(),
            next: AtomicU64::new(1),
        }
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Handler for RequestId {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let id = match req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
        {
            Some(given)
                if !given.is_empty()
                    && given.len() <= 64
                    && given.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                given.to_owned()
            }
            _ => format!(
                "{}-{}",
                self.stamp,
                self.next.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
        let started = Instant::now();
        ctrl.call_next(req, depot, res)
            .instrument(span.clone())
            .await;
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert("x-request-id", value);
        }
        let status = res.status_code.map_or(200, |s| s.as_u16());
        let _enter = span.enter();
        tracing::debug!(
            status,
            micros = started.elapsed().as_micros() as u64,
            "served"
        );
    }
}
