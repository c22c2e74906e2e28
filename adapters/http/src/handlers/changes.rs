//! `GET /{collection}:changes`: the change feed as Server-Sent Events (API.md §10), resumed
//! from `Last-Event-ID` or `?after=`, ended when the caller's credential stops working.

use std::sync::Arc;
use std::time::Duration;

use moon_application::{AuthService, FeedEnd, FeedItem, Subscription};
use moon_domain::Change;
use salvo::sse::{SseEvent, SseKeepAlive};
use salvo::{Request, Response};

use crate::AppState;
use crate::error::ApiError;

/// Heartbeat comments keep proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Query parameters the feed reads itself; the rest are `:list` filters.
const OWN_PARAMS: [&str; 2] = ["after", "access_token"];

/// The credential a stream keeps checking (`None` with authentication off).
struct Credential {
    auth: Arc<AuthService>,
    token: String,
}

/// Opens the stream on `res`, or says why not.
///
/// # Errors
/// 404 for an unknown collection, 400 for a bad filter or position, 503 without a feed.
pub async fn changes(
    state: &AppState,
    req: &Request,
    res: &mut Response,
    name: &str,
    token: Option<String>,
) -> Result<(), ApiError> {
    let feed = state.feed.as_ref().ok_or_else(ApiError::not_found)?;
    let params: Vec<(String, String)> = req
        .queries()
        .iter_all()
        .filter(|(k, _)| !OWN_PARAMS.contains(&k.as_str()))
        .flat_map(|(k, values)| values.iter().map(move |v| (k.clone(), v.clone())))
        .collect();
    // The browser's reconnect says where it stopped; it wins over the URL it reuses.
    let after = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.query::<String>("after"));
    let subscription = feed.subscribe(name, &params, after.as_deref()).await?;
    let credential = match (&state.auth, token) {
        (Some(auth), Some(token)) => Some(Credential {
            auth: Arc::clone(auth),
            token,
        }),
        _ => None,
    };
    let events =
        futures_util::stream::unfold(Some((subscription, credential)), |state| async move {
            let (mut subscription, credential) = state?;
            let event = next_event(&mut subscription, credential.as_ref()).await?;
            Some((
                Ok::<_, std::convert::Infallible>(event),
                Some((subscription, credential)),
            ))
        });
    res.headers_mut().insert(
        "x-accel-buffering",
        salvo::http::HeaderValue::from_static("no"),
    );
    SseKeepAlive::new(events)
        .max_interval(HEARTBEAT)
        .stream(res);
    Ok(())
}

/// The next event to send; `None` ends the stream.
async fn next_event(
    subscription: &mut Subscription,
    credential: Option<&Credential>,
) -> Option<SseEvent> {
    loop {
        match subscription.next().await {
            Ok(FeedItem::Change(change)) => return Some(event(&change)),
            Ok(FeedItem::Reset { head }) => {
                return Some(
                    SseEvent::default()
                        .name("reset")
                        .id(head.to_string())
                        .text(format!("{{\"seq\":{head}}}")),
                );
            }
            Ok(FeedItem::Recheck) => {
                if let Some(c) = credential
                    && c.auth.authenticate(&c.token).await.is_err()
                {
                    return None;
                }
            }
            Err(FeedEnd::Failed(e)) => {
                tracing::warn!(error = %e, "change feed ended: cannot read the log");
                return None;
            }
            Err(FeedEnd::TooSlow | FeedEnd::Dropped | FeedEnd::Stopping) => return None,
        }
    }
}

/// `id: <seq>`, `event: <kind>`, `data: <the change's data>` (API.md §10).
fn event(change: &Change) -> SseEvent {
    SseEvent::default()
        .name(change.kind.name())
        .id(change.seq.to_string())
        .text(change.data_json())
}
