//! The headers of the document: what every answer carries (`X-Request-Id`, the rate-limit
//! trio), the shared error answers with theirs (`Retry-After` on 429 and 503), and the
//! request headers of conditional and keyed writes (`If-Match`, `Idempotency-Key`).

use serde_json::{Map, Value as Json, json};

/// Every error status an operation may list; each is one shared answer in
/// `components/responses`.
pub(super) const ERROR_STATUSES: [&str; 12] = [
    "400", "401", "403", "404", "409", "412", "413", "414", "415", "429", "431", "503",
];

/// What any request may be answered, whatever its operation: a request target over 16 KiB
/// (`414`) or headers over 32 KiB (`431`), refused before routing.
const ANY_REQUEST: [&str; 2] = ["414", "431"];

fn header(name: &str) -> Json {
    json!({"$ref": format!("#/components/headers/{name}")})
}

/// `components/headers`.
pub(super) fn components() -> Map<String, Json> {
    let integer = json!({"type": "integer", "minimum": 0});
    let entries = [
        (
            "RequestId",
            true,
            "the request's id (the one sent, when it was 1-64 visible ASCII characters)",
            json!({"type": "string", "minLength": 1}),
        ),
        (
            "RateLimitLimit",
            false,
            "requests the caller may make per window (authenticated callers under a limit)",
            integer.clone(),
        ),
        (
            "RateLimitRemaining",
            false,
            "requests left in the current window",
            integer.clone(),
        ),
        (
            "RateLimitReset",
            false,
            "when the window ends, in Unix seconds",
            integer.clone(),
        ),
        (
            "RetryAfter",
            false,
            "seconds to wait before trying again",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "RetryAfterRequired",
            true,
            "seconds to wait before trying again",
            json!({"type": "integer", "minimum": 1}),
        ),
        (
            "ETag",
            false,
            "the record's version, for If-Match and If-None-Match (absent on batches and projections)",
            json!({"type": "string", "pattern": "^\"[^\"]*\"$"}),
        ),
        (
            "IdempotentReplayed",
            false,
            "true when the answer is a replay of an earlier request with the same Idempotency-Key",
            json!({"type": "string", "enum": ["true"]}),
        ),
    ];
    entries
        .into_iter()
        .map(|(name, required, about, schema)| {
            (
                name.to_owned(),
                json!({"description": about, "required": required, "schema": schema}),
            )
        })
        .collect()
}

/// The headers every answer may carry.
fn common(secured: bool) -> Map<String, Json> {
    let mut headers = Map::new();
    headers.insert("X-Request-Id".into(), header("RequestId"));
    if secured {
        headers.insert("X-RateLimit-Limit".into(), header("RateLimitLimit"));
        headers.insert("X-RateLimit-Remaining".into(), header("RateLimitRemaining"));
        headers.insert("X-RateLimit-Reset".into(), header("RateLimitReset"));
    }
    headers
}

/// `components/responses`: one error answer per status, with its headers.
pub(super) fn error_answers() -> Map<String, Json> {
    ERROR_STATUSES
        .into_iter()
        .map(|status| {
            let mut headers = common(true);
            match status {
                "429" => {
                    headers.insert("Retry-After".into(), header("RetryAfterRequired"));
                }
                "503" => {
                    headers.insert("Retry-After".into(), header("RetryAfter"));
                }
                _ => {
                    headers.insert("Idempotent-Replayed".into(), header("IdempotentReplayed"));
                }
            }
            let answer = json!({"description": "error", "headers": headers,
                "content": {"application/json": {"schema": super::reference("Error")}}});
            (format!("Error{status}"), answer)
        })
        .collect()
}

/// A reference to the shared error answer of `status`.
pub(super) fn error_answer(status: &str) -> Json {
    debug_assert!(
        ERROR_STATUSES.contains(&status),
        "undocumented error {status}"
    );
    json!({"$ref": format!("#/components/responses/Error{status}")})
}

/// Adds the answers any request may get (414, 431) to `operation`, and the common headers to
/// each answer written in place (the shared error answers have theirs); `extra` adds more to
/// the answers of `statuses`.
pub(super) fn annotate(operation: &mut Json, extra: &[AnswerHeader]) {
    let secured = operation.get("security") != Some(&json!([]));
    let Some(responses) = operation.get_mut("responses").and_then(Json::as_object_mut) else {
        return;
    };
    for status in ANY_REQUEST {
        responses.insert(status.to_owned(), error_answer(status));
    }
    for (status, answer) in responses.iter_mut() {
        let Some(answer) = answer.as_object_mut() else {
            continue;
        };
        if answer.contains_key("$ref") {
            continue;
        }
        let mut headers = common(secured);
        for extra in extra {
            if extra.statuses.contains(&status.as_str()) {
                headers.insert(extra.name.to_owned(), header(extra.component));
            }
        }
        answer.insert("headers".into(), Json::Object(headers));
    }
}

/// A header some operations answer with: its name, its `components/headers` entry, and the
/// statuses that carry it.
pub(super) struct AnswerHeader {
    name: &'static str,
    component: &'static str,
    statuses: &'static [&'static str],
}

/// The `ETag` of a record (or a cached document) answer.
pub(super) const ETAG: AnswerHeader = AnswerHeader {
    name: "ETag",
    component: "ETag",
    statuses: &["200", "201", "304"],
};

/// The `Idempotent-Replayed` of a keyed write's success.
pub(super) const REPLAYED: AnswerHeader = AnswerHeader {
    name: "Idempotent-Replayed",
    component: "IdempotentReplayed",
    statuses: &["200", "201", "202", "207"],
};

/// `components/parameters` for the request headers.
pub(super) fn parameters() -> Map<String, Json> {
    let entries = [
        (
            "IdempotencyKey",
            "Idempotency-Key",
            "retry-safe writes: the same key and request replay the first answer, another request with it is a 409 (kept 24 h)",
            json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}),
        ),
        (
            "IfMatch",
            "If-Match",
            "write only if the record's ETag is still this one (412 otherwise)",
            json!({"type": "string"}),
        ),
        (
            "IfNoneMatch",
            "If-None-Match",
            "answer 304 when the record's ETag is one of these",
            json!({"type": "string"}),
        ),
    ];
    entries
        .into_iter()
        .map(|(key, name, about, schema)| {
            (key.to_owned(), json!({"name": name, "in": "header", "required": false, "description": about, "schema": schema}))
        })
        .collect()
}

/// A reference to a request-header parameter of [`parameters`].
pub(super) fn parameter(key: &str) -> Json {
    json!({"$ref": format!("#/components/parameters/{key}")})
}
