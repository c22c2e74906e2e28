//! `/doc/`: a concise reference of the live API for people (HTML) and AI agents (Markdown,
//! plain text, JSON), with copy-paste curl examples for each collection.

use std::fmt::Write as _;
use std::sync::Arc;

use moon_domain::Collection;
use serde_json::json;

/// The forms the reference comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Text,
    Json,
}

impl Format {
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Html => "doc-html",
            Self::Markdown => "doc-md",
            Self::Text => "doc-txt",
            Self::Json => "doc-json",
        }
    }

    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Text => "text/plain; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

fn markdown(state: &Site<'_>, collections: &[Arc<Collection>]) -> String {
    let p = &state.prefix;
    let mut out = String::new();
    let _ = writeln!(out, "# Moon API {}\n", state.version);
    let _ = writeln!(
        out,
        "Every URL is `{p}/{{resource}}:{{action}}`. Send `Authorization: Bearer <token>` (from `POST {p}/auth:login`) or `Bearer moon_live_...` (an API key). Bodies and answers are JSON; errors are `{{\"error\",\"code\",\"details\"}}`. Decimals are strings, datetimes RFC 3339 in UTC.\n"
    );
    let _ = writeln!(
        out,
        "## System\n\n- `GET {p}/health`\n- `POST {p}/auth:login` `{{\"username\",\"password\"}}` → tokens\n- `POST {p}/auth:refresh`, `POST {p}/auth:logout`, `GET {p}/auth:me`\n- `GET {p}/collections:list`, `GET {p}/collections:get?name=`, `POST {p}/collections:create|update|destroy` (admin; indexes: `\"indexes\":[{{\"name\":\"by_brand_price\",\"columns\":[\"brand\",\"-price\"]}}]` on create, `add_indexes`/`remove_indexes` on update)\n- `{p}/users:*`, `{p}/apikeys:*`, `{p}/webhooks:*` (inbound), `{p}/subscriptions:*` (outbound webhooks: signed POSTs of every change) (admin)\n- `GET {p}/{{collection}}:changes` — Server-Sent Events of every change in commit order; resume with `Last-Event-ID`; `:list` filters apply\n- `GET {p}/openapi.json` (OpenAPI 3.1), `GET {p}/docs` (interactive)\n"
    );
    let _ = writeln!(out, "## Collections\n");
    if collections.is_empty() {
        let _ = writeln!(
            out,
            "None visible (log in to see them, or none exist yet).\n"
        );
    }
    for c in collections {
        let name = c.name.as_str();
        let _ = writeln!(
            out,
            "### {name}\n\n| field | type | nullable | unique |\n|---|---|---|---|\n| id | string (ULID, read-only) | no | yes |"
        );
        for col in &c.columns {
            let ty = match col.field_type.scale() {
                Some(scale) => format!("decimal (scale {scale})"),
                None => col.field_type.wire_name().to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {ty} | {} | {} |",
                col.name,
                if col.nullable { "yes" } else { "no" },
                if col.unique { "yes" } else { "no" }
            );
        }
        let _ = writeln!(
            out,
            "| created_at, updated_at | datetime (read-only) | no | no |\n"
        );
        let example: serde_json::Map<String, serde_json::Value> = c
            .columns
            .iter()
            .map(|col| {
                let v = match col.field_type {
                    moon_domain::FieldType::String => json!("text"),
                    moon_domain::FieldType::Integer => json!(1),
                    moon_domain::FieldType::Decimal { .. } => json!("1.00"),
                    moon_domain::FieldType::Boolean => json!(true),
                    moon_domain::FieldType::Datetime => json!("2024-01-01T00:00:00Z"),
                    moon_domain::FieldType::Json => json!({}),
                };
                (col.name.to_string(), v)
            })
            .collect();
        let data = json!({ "data": example });
        let _ = writeln!(
            out,
            "```sh\ncurl -s -H \"Authorization: Bearer $TOKEN\" \"$MOON{p}/{name}:list?limit=20&sort=-created_at\"\ncurl -s -H \"Authorization: Bearer $TOKEN\" \"$MOON{p}/{name}:get?id=<id>\"\ncurl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \"$MOON{p}/{name}:create\" -d '{data}'\ncurl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \"$MOON{p}/{name}:update\" -d '{{\"id\":\"<id>\",\"data\":{{...}}}}'\ncurl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \"$MOON{p}/{name}:destroy\" -d '{{\"id\":\"<id>\"}}'\n```\n"
        );
    }
    let _ = writeln!(
        out,
        "## Listing\n\nFilters `col[op]=value` (eq ne gt gte lt lte like contains icontains startswith endswith in null notnull), `sort=-a,b`, `q=`, `fields=`, `limit=` (1-200), `after=<next_cursor>`, `count=none`. Aggregates: `:count`, `:sum|avg|min|max?field=`. Batches: send an array; `?atomic=true` for all or nothing. Retries: `Idempotency-Key`. Concurrency: `If-Match` with the ETag of `:get`."
    );
    out
}

fn html(state: &Site<'_>, collections: &[Arc<Collection>]) -> String {
    let md = markdown(state, collections);
    let escaped = md
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Moon API reference</title></head>\n<body><pre style=\"white-space: pre-wrap; font-family: ui-monospace, monospace\">{escaped}</pre>\n<p><a href=\"{p}/docs\">Interactive docs</a> · <a href=\"{p}/doc/llms.md\">llms.md</a> · <a href=\"{p}/doc/llms.txt\">llms.txt</a> · <a href=\"{p}/doc/llms.json\">llms.json</a> · <a href=\"{p}/openapi.json\">openapi.json</a></p></body></html>\n",
        p = state.prefix
    )
}

fn structured(state: &Site<'_>, collections: &[Arc<Collection>]) -> String {
    let items: Vec<serde_json::Value> = collections
        .iter()
        .map(|c| {
            let endpoints: Vec<String> = ["list", "get", "schema", "create", "update", "destroy", "count", "sum", "avg", "min", "max"]
                .iter()
                .map(|a| format!("{}/{}:{a}", state.prefix, c.name))
                .collect();
            let fields: Vec<serde_json::Value> = c
                .columns
                .iter()
                .map(|col| {
                    json!({
                        "name": col.name.as_str(), "type": col.field_type.wire_name(), "scale": col.field_type.scale(),
                        "nullable": col.nullable, "unique": col.unique
                    })
                })
                .collect();
            json!({ "name": c.name.as_str(), "endpoints": endpoints, "fields": fields })
        })
        .collect();
    json!({
        "name": "Moon",
        "version": state.version,
        "base_path": state.prefix,
        "auth": {"login": format!("{}/auth:login", state.prefix), "header": "Authorization: Bearer <token or moon_live_ key>"},
        "openapi": format!("{}/openapi.json", state.prefix),
        "collections": items,
    })
    .to_string()
}

/// The reference in `format`.
#[must_use]
pub fn render(
    format: Format,
    version: &str,
    prefix: &str,
    collections: &[Arc<Collection>],
) -> Vec<u8> {
    let site = Site { version, prefix };
    match format {
        Format::Html => html(&site, collections),
        Format::Markdown | Format::Text => markdown(&site, collections),
        Format::Json => structured(&site, collections),
    }
    .into_bytes()
}

/// What the reference says about the server itself.
struct Site<'a> {
    version: &'a str,
    prefix: &'a str,
}
