//! One operation of the document as it is built: a summary, parameters, a body, the success
//! answer and the errors, with the builders every system route's description shares.

use serde_json::{Value as Json, json};

use crate::docs::openapi::query;
use crate::docs::openapi::shapes::{collection_name, ulid};

/// One operation being described.
pub(super) struct Op {
    pub(super) summary: String,
    pub(super) params: Vec<Json>,
    pub(super) body: Option<Json>,
    pub(super) answer: (&'static str, &'static str, Json),
    pub(super) errors: Vec<&'static str>,
    /// Other answers with their own description (and schema, when they have a body).
    pub(super) others: Vec<(&'static str, &'static str, Option<Json>)>,
    /// OpenAPI links from the success answer to the operations on what it made.
    pub(super) links: Option<Json>,
}

pub(super) fn op(summary: impl Into<String>, status: &'static str, answer: Json) -> Op {
    Op {
        summary: summary.into(),
        params: Vec::new(),
        body: None,
        answer: (status, "application/json", answer),
        errors: Vec::new(),
        others: Vec::new(),
        links: None,
    }
}

/// Links from a create answer to get, update and destroy by the key it returned: `key` is
/// the query parameter, `pointer` where the answer holds it.
pub(super) fn made(resource: &str, key: &str, pointer: &str) -> Json {
    let value = format!("$response.body#{pointer}");
    let by_key = |action: &str, method: &str| json!({"operationId": format!("{resource}_{action}_{method}"), "parameters": {key: value}});
    let mut links = json!({"get": by_key("get", "get"), "destroy": by_key("destroy", "post")});
    if resource != "collections" {
        links["update"] = by_key("update", "post");
    } else {
        links["destroy"] =
            json!({"operationId": "collections_destroy_post", "requestBody": {key: value}});
    }
    links
}

impl Op {
    pub(super) fn param(mut self, name: &str, schema: Json, required: bool, about: &str) -> Self {
        self.params.push(query(name, about, schema, required));
        self
    }

    pub(super) fn body(mut self, schema: Json) -> Self {
        self.body = Some(schema);
        self.errors.extend(["400", "413", "415"]);
        self
    }

    pub(super) fn errors(mut self, codes: &[&'static str]) -> Self {
        self.errors.extend(codes);
        self
    }

    /// A redirect instead of a page.
    pub(super) fn moved(mut self) -> Self {
        self.answer.0 = "301";
        self
    }

    pub(super) fn links(mut self, links: Json) -> Self {
        self.links = Some(links);
        self
    }

    pub(super) fn other(
        mut self,
        status: &'static str,
        about: &'static str,
        schema: Option<Json>,
    ) -> Self {
        self.others.push((status, about, schema));
        self
    }

    pub(super) fn text(mut self, content_type: &'static str) -> Self {
        self.answer.1 = content_type;
        self
    }

    pub(super) fn paged(self) -> Self {
        self.param(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
            false,
            "page size (default 50)",
        )
        .param(
            "after",
            json!({"type": "string"}),
            false,
            "next_cursor of the previous page",
        )
    }
}

pub(super) fn object(properties: Json, required: &[&str]) -> Json {
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": required})
}

pub(super) fn by_id(op: Op, what: &str) -> Op {
    op.param("id", ulid(), true, &format!("the {what}'s id"))
        .errors(&["404"])
}

pub(super) fn by_name(op: Op, what: &str) -> Op {
    op.param(
        "name",
        collection_name(),
        true,
        &format!("the {what}'s name"),
    )
    .errors(&["404"])
}

pub(super) fn text_page(summary: &str, content_type: &'static str) -> Op {
    op(summary, "200", json!({"type": "string"})).text(content_type)
}
