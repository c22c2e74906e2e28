//! The operations on the schema and on the documentation itself: `/collections:*`, the
//! OpenAPI document, the docs page and the reference for agents.

use serde_json::json;

use super::op::{Op, by_name, made, object, op, text_page};
use crate::docs::DocsRoute;
use crate::docs::llms::Format;
use crate::docs::openapi::reference;
use crate::docs::openapi::shapes::{collection_name, column_name};
use crate::routes::CollectionsAction;

pub(super) fn docs(page: DocsRoute) -> Op {
    match page {
        DocsRoute::OpenApi => op("This OpenAPI document", "200", json!({"type": "object"})).other(
            "304",
            "not modified (If-None-Match)",
            None,
        ),
        DocsRoute::Ui => text_page("Interactive API docs", "text/html"),
        DocsRoute::Asset(file) => {
            let kind = if file.ends_with(".css") {
                "text/css"
            } else {
                "application/javascript"
            };
            text_page("An asset of the docs page", kind)
        }
        DocsRoute::DocRoot => text_page("Redirects to /doc/", "text/plain").moved(),
        DocsRoute::Doc(format) => {
            let kind = match format {
                Format::Html => "text/html",
                Format::Markdown => "text/markdown",
                Format::Text => "text/plain",
                Format::Json => "application/json",
            };
            let page = if kind == "application/json" {
                op(
                    "Reference for people and AI agents",
                    "200",
                    json!({"type": "object"}),
                )
            } else {
                text_page("Reference for people and AI agents", kind)
            };
            page.other("304", "not modified (If-None-Match)", None)
        }
    }
}

pub(super) fn collections(action: CollectionsAction) -> Op {
    let columns = json!({"type": "array", "items": reference("ColumnDefinition"), "minItems": 1, "maxItems": 100});
    let indexes = json!({"type": "array", "items": reference("IndexDefinition"),
        "maxItems": moon_domain::index::MAX_INDEXES});
    match action {
        CollectionsAction::List => op("Every collection", "200", reference("CollectionList")),
        CollectionsAction::Get => by_name(
            op(
                "One collection's schema",
                "200",
                reference("CollectionAnswer"),
            ),
            "collection",
        ),
        CollectionsAction::Create => {
            op("Create a collection", "201", reference("CollectionAnswer"))
                .body(object(
                    json!({"name": collection_name(), "columns": columns, "indexes": indexes}),
                    &["name", "columns"],
                ))
                .errors(&["409"])
                .links(made("collections", "name", "/collection/name"))
        }
        CollectionsAction::Update => {
            let rename = json!({"type": "array", "items": object(json!({"old_name": column_name(), "new_name": column_name()}), &["old_name", "new_name"])});
            op(
                "Change a collection's columns, all or nothing",
                "200",
                json!({"oneOf": [reference("CollectionAnswer"), reference("DryRun")]}),
            )
            .param(
                "dry_run",
                json!({"type": "boolean"}),
                false,
                "report the plan, change nothing",
            )
            .body(object(
                json!({"name": collection_name(), "rename_columns": rename,
                    "modify_columns": columns, "add_columns": columns,
                    "remove_columns": {"type": "array", "items": column_name()},
                    "add_indexes": indexes, "remove_indexes": {"type": "array", "items": column_name()}}),
                &["name"],
            ))
            .errors(&["404", "409"])
        }
        CollectionsAction::Destroy => op(
            "Drop a collection and its records",
            "200",
            reference("Message"),
        )
        .body(object(json!({"name": collection_name()}), &["name"]))
        .errors(&["404"]),
    }
}
