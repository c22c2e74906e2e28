//! A successful answer: status, JSON body, and the few headers handlers set.

use bytes::Bytes;
use salvo::http::StatusCode;
use serde::Serialize;

/// The default media type.
pub const JSON: &str = "application/json";

/// What a handler answers when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    /// The body (shared, never copied: a cached document is sent as is); empty for 304.
    pub body: Bytes,
    pub etag: Option<String>,
    /// The `Allow` header, for `OPTIONS`.
    pub allow: Option<&'static str>,
    /// A stored answer replayed for a repeated `Idempotency-Key`.
    pub replayed: bool,
    /// The body's media type (JSON unless a page or asset says otherwise).
    pub content_type: &'static str,
    /// Further headers (`Cache-Control`, `Location`, ...).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_vec(body).unwrap_or_default().into(),
            etag: None,
            allow: None,
            replayed: false,
            content_type: JSON,
            headers: Vec::new(),
        }
    }

    /// `200` with a JSON body.
    pub fn ok(body: &impl Serialize) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// `304 Not Modified` for a tag the client already holds.
    #[must_use]
    pub fn not_modified(etag: String) -> Self {
        Self {
            status: StatusCode::NOT_MODIFIED,
            body: Bytes::new(),
            etag: Some(etag),
            allow: None,
            replayed: false,
            content_type: JSON,
            headers: Vec::new(),
        }
    }

    /// `204 No Content`.
    #[must_use]
    pub const fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: Bytes::new(),
            etag: None,
            allow: None,
            replayed: false,
            content_type: JSON,
            headers: Vec::new(),
        }
    }

    /// A non-JSON body (a page, an asset, Markdown).
    #[must_use]
    pub fn raw(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let mut reply = Self::no_content();
        reply.status = status;
        reply.content_type = content_type;
        reply.body = body.into();
        reply
    }

    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    #[must_use]
    pub const fn with_allow(mut self, allow: &'static str) -> Self {
        self.allow = Some(allow);
        self
    }

    #[must_use]
    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}
