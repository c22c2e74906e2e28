//! Live documentation: `/openapi.json` (cached until the schema changes), the interactive
//! `/docs` page with its assets served by Moon itself, and `/doc/` references for people and
//! AI agents (`llms.md`, `llms.txt`, `llms.json`) with `ETag` and `304`.

mod cache;
mod llms;
pub mod openapi;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;

use moon_domain::Collection;
use salvo::Request;
use salvo::http::StatusCode;

use crate::AppState;
use crate::access::Caller;
use crate::error::ApiError;
use crate::reply::Reply;

use cache::Built;
pub use cache::DocsCache;

/// A documentation page or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocsRoute {
    OpenApi,
    Ui,
    Asset(&'static str),
    /// `/doc` (redirects to `/doc/`).
    DocRoot,
    Doc(llms::Format),
}

impl DocsRoute {
    /// Every documentation route (`/doc` only redirects).
    pub const ALL: [Self; 10] = [
        Self::OpenApi,
        Self::Ui,
        Self::Asset("swagger-ui-bundle.js"),
        Self::Asset("swagger-ui.css"),
        Self::Asset("moon-docs.js"),
        Self::DocRoot,
        Self::Doc(llms::Format::Html),
        Self::Doc(llms::Format::Markdown),
        Self::Doc(llms::Format::Text),
        Self::Doc(llms::Format::Json),
    ];

    /// The path of this route.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::OpenApi => "/openapi.json",
            Self::Ui => "/docs",
            Self::Asset("swagger-ui.css") => "/docs/assets/swagger-ui.css",
            Self::Asset("moon-docs.js") => "/docs/assets/moon-docs.js",
            Self::Asset(_) => "/docs/assets/swagger-ui-bundle.js",
            Self::DocRoot => "/doc",
            Self::Doc(llms::Format::Html) => "/doc/",
            Self::Doc(llms::Format::Markdown) => "/doc/llms.md",
            Self::Doc(llms::Format::Text) => "/doc/llms.txt",
            Self::Doc(llms::Format::Json) => "/doc/llms.json",
        }
    }

    /// The documentation route a path names, if any.
    #[must_use]
    pub fn parse(path: &str) -> Option<Self> {
        Some(match path {
            "/openapi.json" => Self::OpenApi,
            "/docs" | "/docs/" => Self::Ui,
            "/docs/assets/swagger-ui-bundle.js" => Self::Asset("swagger-ui-bundle.js"),
            "/docs/assets/swagger-ui.css" => Self::Asset("swagger-ui.css"),
            "/docs/assets/moon-docs.js" => Self::Asset("moon-docs.js"),
            "/doc" => Self::DocRoot,
            "/doc/" => Self::Doc(llms::Format::Html),
            "/doc/llms.md" => Self::Doc(llms::Format::Markdown),
            "/doc/llms.txt" => Self::Doc(llms::Format::Text),
            "/doc/llms.json" => Self::Doc(llms::Format::Json),
            _ => return None,
        })
    }
}

/// Which collections the caller may see documented.
fn visible(state: &AppState, caller: &Caller) -> Vec<Arc<Collection>> {
    if caller.principal.is_some() || state.auth.is_none() || state.docs_public {
        state.collections.schemas()
    } else {
        Vec::new()
    }
}

/// A key naming the schema state and the document kind.
fn cache_key(kind: &str, collections: &[Arc<Collection>]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut hasher);
    for c in collections {
        c.name.as_str().hash(&mut hasher);
        c.version.hash(&mut hasher);
    }
    hasher.finish()
}

const SWAGGER_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// Serves a documentation route.
///
/// # Errors
/// None in practice; the signature matches the other handlers.
pub async fn serve(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    route: DocsRoute,
) -> Result<Reply, ApiError> {
    match route {
        DocsRoute::OpenApi => {
            let collections = visible(state, caller);
            let slot = if collections.is_empty() {
                "openapi"
            } else {
                "openapi+collections"
            };
            let key = cache_key("openapi", &collections);
            let (version, prefix) = (state.version, state.prefix.clone());
            let limits = state.records.limits();
            let built = state
                .docs
                .get_or_build(slot, key, move || {
                    openapi::document(version, &prefix, &collections, &limits)
                })
                .await;
            conditional(req, built, crate::reply::JSON)
        }
        DocsRoute::Ui => Ok(page(
            Reply::raw(
                StatusCode::OK,
                "text/html; charset=utf-8",
                ui_page(&state.prefix).into_bytes(),
            )
            .with_header("cache-control", "no-cache"),
        )),
        DocsRoute::Asset(name) => {
            let (body, content_type) = match name {
                "swagger-ui.css" => (Bytes::from_static(SWAGGER_CSS), "text/css; charset=utf-8"),
                "moon-docs.js" => (
                    Bytes::from(docs_script(&state.prefix)),
                    "application/javascript; charset=utf-8",
                ),
                _ => (
                    Bytes::from_static(SWAGGER_JS),
                    "application/javascript; charset=utf-8",
                ),
            };
            Ok(Reply::raw(StatusCode::OK, content_type, body)
                .with_header("x-content-type-options", "nosniff")
                .with_header("cache-control", "public, max-age=86400"))
        }
        DocsRoute::DocRoot => Ok(Reply::raw(
            StatusCode::MOVED_PERMANENTLY,
            "text/plain; charset=utf-8",
            b"see /doc/\n".to_vec(),
        )
        .with_header("location", format!("{}/doc/", state.prefix))),
        DocsRoute::Doc(format) => {
            let collections = visible(state, caller);
            let key = cache_key(format.name(), &collections);
            let slot = match (format, collections.is_empty()) {
                (llms::Format::Html, true) => "html",
                (llms::Format::Html, false) => "html+collections",
                (llms::Format::Markdown, true) => "md",
                (llms::Format::Markdown, false) => "md+collections",
                (llms::Format::Text, true) => "txt",
                (llms::Format::Text, false) => "txt+collections",
                (llms::Format::Json, true) => "json",
                (llms::Format::Json, false) => "json+collections",
            };
            let (version, prefix) = (state.version, state.prefix.clone());
            let built = state
                .docs
                .get_or_build(slot, key, move || {
                    llms::render(format, version, &prefix, &collections)
                })
                .await;
            let reply = conditional(req, built, format.content_type())?;
            Ok(if format == llms::Format::Html {
                page(reply)
            } else {
                reply.with_header("x-content-type-options", "nosniff")
            })
        }
    }
}

/// `ETag` + `Cache-Control: no-cache`, and `304` when the client holds this version.
fn conditional(req: &Request, built: Built, content_type: &'static str) -> Result<Reply, ApiError> {
    let held = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok());
    if held.is_some_and(|h| h.split(',').any(|t| t.trim() == built.etag)) {
        return Ok(Reply::not_modified(built.etag).with_header("cache-control", "no-cache"));
    }
    Ok(Reply::raw(StatusCode::OK, content_type, built.body)
        .with_etag(built.etag)
        .with_header("cache-control", "no-cache"))
}

/// The headers of an HTML page: scripts and styles from Moon only (no inline script), never
/// framed, no referrer, no type sniffing. Swagger UI keeps the token in localStorage, so no
/// foreign script may ever run beside it.
fn page(reply: Reply) -> Reply {
    reply
        .with_header(
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        )
        .with_header("x-content-type-options", "nosniff")
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
}

fn ui_page(prefix: &str) -> String {
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moon API</title>
<link rel="stylesheet" href="{prefix}/docs/assets/swagger-ui.css">
</head>
<body>
<div id="moon-docs"></div>
<script src="{prefix}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs/assets/moon-docs.js"></script>
</body>
</html>
"##
    )
}

/// The page's own script, served as a file so the page's policy allows no inline script.
fn docs_script(prefix: &str) -> String {
    format!(
        r##"// Collections appear once you authorize: the spec is fetched with your token.
const token = () => window.localStorage.getItem("moon_token") || "";
window.ui = SwaggerUIBundle({{
  url: "{prefix}/openapi.json",
  dom_id: "#moon-docs",
  persistAuthorization: true,
  tryItOutEnabled: true,
  requestInterceptor: (req) => {{
    if (!req.headers.Authorization && token()) {{ req.headers.Authorization = "Bearer " + token(); }}
    return req;
  }},
  onComplete: () => {{
    if (token()) {{ window.ui.preauthorizeApiKey("bearer", token()); }}
  }},
}});
"##
    )
}
