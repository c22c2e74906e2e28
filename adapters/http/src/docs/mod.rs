//! Live documentation: `/openapi.json` (cached until the schema changes), the interactive
//! `/docs` page with its assets served by Moon itself, and `/doc/` references for people and
//! AI agents (`llms.md`, `llms.txt`, `llms.json`) with `ETag` and `304`.

mod llms;
pub mod openapi;

use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use moon_domain::Collection;
use salvo::Request;
use salvo::http::StatusCode;

use crate::AppState;
use crate::access::Caller;
use crate::error::ApiError;
use crate::reply::Reply;

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
    /// The documentation route a path names, if any.
    #[must_use]
    pub fn parse(path: &str) -> Option<Self> {
        Some(match path {
            "/openapi.json" => Self::OpenApi,
            "/docs" | "/docs/" => Self::Ui,
            "/docs/assets/swagger-ui-bundle.js" => Self::Asset("swagger-ui-bundle.js"),
            "/docs/assets/swagger-ui.css" => Self::Asset("swagger-ui.css"),
            "/doc" => Self::DocRoot,
            "/doc/" => Self::Doc(llms::Format::Html),
            "/doc/llms.md" => Self::Doc(llms::Format::Markdown),
            "/doc/llms.txt" => Self::Doc(llms::Format::Text),
            "/doc/llms.json" => Self::Doc(llms::Format::Json),
            _ => return None,
        })
    }
}

/// Built documents, kept until the schema (or the audience) changes.
#[derive(Debug, Default)]
pub struct DocsCache {
    entries: RwLock<Vec<(u64, Arc<Vec<u8>>)>>,
}

impl DocsCache {
    /// The document for `key`, built by `build` only when not cached.
    fn get_or_build(&self, key: u64, build: impl FnOnce() -> Vec<u8>) -> Arc<Vec<u8>> {
        if let Ok(entries) = self.entries.read()
            && let Some((_, doc)) = entries.iter().find(|(k, _)| *k == key)
        {
            return Arc::clone(doc);
        }
        let doc = Arc::new(build());
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= 16 {
                entries.remove(0);
            }
            entries.push((key, Arc::clone(&doc)));
        }
        doc
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

fn etag_of(body: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

const SWAGGER_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// Serves a documentation route.
///
/// # Errors
/// None in practice; the signature matches the other handlers.
pub fn serve(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    route: DocsRoute,
) -> Result<Reply, ApiError> {
    match route {
        DocsRoute::OpenApi => {
            let collections = visible(state, caller);
            let key = cache_key("openapi", &collections);
            let body = state.docs.get_or_build(key, || {
                serde_json::to_vec(&openapi::document(
                    state.version,
                    &state.prefix,
                    &collections,
                ))
                .unwrap_or_default()
            });
            conditional(req, (*body).clone(), crate::reply::JSON)
        }
        DocsRoute::Ui => Ok(Reply::raw(
            StatusCode::OK,
            "text/html; charset=utf-8",
            ui_page(&state.prefix).into_bytes(),
        )
        .with_header("cache-control", "no-cache")),
        DocsRoute::Asset(name) => {
            let (body, content_type) = if name.ends_with(".css") {
                (SWAGGER_CSS, "text/css; charset=utf-8")
            } else {
                (SWAGGER_JS, "application/javascript; charset=utf-8")
            };
            Ok(Reply::raw(StatusCode::OK, content_type, body.to_vec())
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
            let body = state
                .docs
                .get_or_build(key, || llms::render(format, state, &collections));
            conditional(req, (*body).clone(), format.content_type())
        }
    }
}

/// `ETag` + `Cache-Control: no-cache`, and `304` when the client holds this version.
fn conditional(
    req: &Request,
    body: Vec<u8>,
    content_type: &'static str,
) -> Result<Reply, ApiError> {
    let tag = etag_of(&body);
    let held = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok());
    if held.is_some_and(|h| h.split(',').any(|t| t.trim() == tag)) {
        return Ok(Reply::not_modified(tag).with_header("cache-control", "no-cache"));
    }
    Ok(Reply::raw(StatusCode::OK, content_type, body)
        .with_etag(tag)
        .with_header("cache-control", "no-cache"))
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
<script>
  // Collections appear once you authorize: the spec is fetched with your token.
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
</script>
</body>
</html>
"##
    )
}
