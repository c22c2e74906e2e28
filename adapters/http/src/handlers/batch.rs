//! Batch answers: an atomic batch as `{"data":[...],"message"}`, a best-effort one as `207`
//! with one result per item and a summary.

use moon_application::{AppError, BatchKind, BatchReport};
use moon_domain::BatchOutcome;
use salvo::http::StatusCode;
use serde_json::{Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::reply::Reply;

/// The items of a batch body (`[...]` or `{"data":[...]}`), or `None` for a single write.
///
/// # Errors
/// `UNKNOWN_FIELD` for other keys beside `data` in a batch object.
pub fn items(body: &mut Json) -> Result<Option<Vec<Json>>, ApiError> {
    match body {
        Json::Array(items) => Ok(Some(std::mem::take(items))),
        Json::Object(map) if matches!(map.get("data"), Some(Json::Array(_))) => {
            if let Some(key) = map.keys().find(|k| *k != "data") {
                return Err(ApiError::unknown_field(
                    key,
                    format!("unknown field '{key}' in a batch; send {{\"data\": [...]}}"),
                ));
            }
            match map.remove("data") {
                Some(Json::Array(items)) => Ok(Some(items)),
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// Runs the batch and shapes its answer.
pub async fn run(
    state: &AppState,
    name: &str,
    kind: BatchKind,
    items: Vec<Json>,
    atomic: bool,
) -> Result<Reply, ApiError> {
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|item| match item {
            Json::String(id) => Some(id.clone()),
            Json::Object(map) => map.get("id").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        })
        .collect();
    match state.records.batch(name, kind, items, atomic).await? {
        BatchReport::Committed(outcomes) => {
            let data: Vec<Json> = outcomes.iter().map(outcome_data).collect();
            let (status, verb) = match kind {
                BatchKind::Create => (StatusCode::CREATED, "created"),
                BatchKind::Update => (StatusCode::OK, "updated"),
                BatchKind::Destroy => (StatusCode::OK, "deleted"),
            };
            let message = format!("{} records {verb}", data.len());
            Ok(Reply::json(
                status,
                &json!({ "data": data, "message": message }),
            ))
        }
        BatchReport::Items(results) => {
            let total = results.len();
            let succeeded = results.iter().filter(|r| r.is_ok()).count();
            let results: Vec<Json> = results
                .into_iter()
                .enumerate()
                .map(|(index, result)| {
                    item_result(index, result, ids.get(index).cloned().flatten())
                })
                .collect();
            Ok(Reply::json(
                StatusCode::MULTI_STATUS,
                &json!({
                    "results": results,
                    "summary": { "total": total, "succeeded": succeeded, "failed": total - succeeded },
                }),
            ))
        }
    }
}

fn outcome_data(outcome: &BatchOutcome) -> Json {
    match outcome {
        BatchOutcome::Created(record) | BatchOutcome::Updated(record) => {
            serde_json::to_value(record).unwrap_or_default()
        }
        BatchOutcome::Deleted(id) => Json::String(id.to_string()),
    }
}

fn item_result(
    index: usize,
    result: Result<BatchOutcome, AppError>,
    given_id: Option<String>,
) -> Json {
    match result {
        Ok(outcome) => {
            let (status, id) = match &outcome {
                BatchOutcome::Created(r) => ("created", r.id),
                BatchOutcome::Updated(r) => ("updated", r.id),
                BatchOutcome::Deleted(id) => ("deleted", *id),
            };
            let mut item = json!({ "index": index, "status": status, "id": id.to_string() });
            if !matches!(outcome, BatchOutcome::Deleted(_)) {
                item["data"] = outcome_data(&outcome);
            }
            item
        }
        Err(error) => {
            let not_found = matches!(error, AppError::RecordNotFound(_));
            let api = ApiError::from(error);
            let mut item = json!({
                "index": index,
                "status": if not_found { "not_found" } else { "failed" },
                "error_code": api.code,
                "error_message": api.message,
            });
            if let Some(id) = given_id {
                item["id"] = Json::String(id);
            }
            item
        }
    }
}
