//! CORS: which browser origins may call Moon, with which headers and whether with
//! credentials; preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here.

use salvo::Response;
use salvo::http::header::{ALLOW, HeaderValue};

/// Allowed origins: none (CORS off), any, or a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origins {
    #[default]
    None,
    Any,
    List(Vec<String>),
}

/// The CORS policy.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    pub origins: Origins,
    /// Request headers a browser may send (`Access-Control-Allow-Headers`).
    pub headers: String,
    pub credentials: bool,
}

/// Response headers a browser script may read.
const EXPOSED: &str = "ETag, X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Idempotent-Replayed";
/// Request headers allowed when none are configured.
pub const DEFAULT_HEADERS: &str =
    "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match";

impl Cors {
    /// Parses `*` or a comma list of origins (empty: CORS off).
    #[must_use]
    pub fn new(origins: &str, headers: &str, credentials: bool) -> Self {
        let origins = match origins.trim() {
            "" => Origins::None,
            "*" => Origins::Any,
            list => Origins::List(
                list.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        };
        let headers = if headers.trim().is_empty() {
            DEFAULT_HEADERS.to_owned()
        } else {
            headers.to_owned()
        };
        Self {
            origins,
            headers,
            credentials,
        }
    }

    fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::None => false,
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o == origin),
        }
    }

    /// Adds the CORS headers for a request from `origin`; `preflight` adds the
    /// `Access-Control-Allow-Methods`/`-Headers`/`-Max-Age` of an `OPTIONS` answer.
    pub fn apply(&self, origin: Option<&str>, preflight: bool, res: &mut Response) {
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return;
        };
        let allow_origin = if self.origins == Origins::Any && !self.credentials {
            "*"
        } else {
            origin
        };
        let headers = res.headers_mut();
        if let Ok(value) = HeaderValue::from_str(allow_origin) {
            headers.insert("access-control-allow-origin", value);
        }
        headers.append("vary", HeaderValue::from_static("Origin"));
        if self.credentials {
            headers.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
        if preflight {
            if let Some(allow) = headers.get(ALLOW).cloned() {
                headers.insert("access-control-allow-methods", allow);
            }
            if let Ok(value) = HeaderValue::from_str(&self.headers) {
                headers.insert("access-control-allow-headers", value);
            }
            headers.insert("access-control-max-age", HeaderValue::from_static("600"));
        } else {
            headers.insert(
                "access-control-expose-headers",
                HeaderValue::from_static(EXPOSED),
            );
        }
    }
}
