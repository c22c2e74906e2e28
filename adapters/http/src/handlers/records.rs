//! `/{collection}:{list,get,schema,create,update,destroy}`: records of one collection.

use moon_domain::{Collection, Record};
use salvo::Request;
use salvo::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use moon_application::BatchKind;

use crate::AppState;
use crate::error::ApiError;
use crate::handlers::batch;
use crate::input::{json_body, object, query_params, required};
use crate::record_view::{RecordView, RecordsView};
use crate::reply::Reply;
use crate::schema_dto::{indexes_view, schema_fields};

#[derive(Serialize)]
struct DataReply<'a, T: Serialize> {
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct ListReply<'a> {
    data: RecordsView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    next_cursor: Option<&'a str>,
    limit: u32,
}

/// Every query parameter, in order (a repeated name appears once per value).
fn all_params(req: &Request) -> Vec<(String, String)> {
    req.queries()
        .iter_all()
        .flat_map(|(k, values)| values.iter().map(move |v| (k.clone(), v.clone())))
        .collect()
}

/// The strong ETag of a record: `"<record version>.<schema version>"`.
fn etag(record: &Record, collection: &Collection) -> String {
    format!("\"{}.{}\"", record.version, collection.version)
}

pub async fn list(state: &AppState, req: &Request, name: &str) -> Result<Reply, ApiError> {
    let page = state.records.list(name, &all_params(req)).await?;
    Ok(Reply::ok(&ListReply {
        data: RecordsView {
            records: &page.records,
            fields: page.fields.as_deref(),
        },
        total: page.total,
        next_cursor: page.next_cursor.as_deref(),
        limit: page.limit,
    }))
}

pub async fn aggregate(
    state: &AppState,
    req: &Request,
    name: &str,
    action: &str,
) -> Result<Reply, ApiError> {
    let value = state
        .records
        .aggregate(name, action, &all_params(req))
        .await?;
    Ok(Reply::ok(&json!({ "value": value })))
}

pub async fn get(state: &AppState, req: &Request, name: &str) -> Result<Reply, ApiError> {
    let params = query_params(req, &["id", "fields"])?;
    let id = params
        .get("id")
        .ok_or_else(|| ApiError::invalid("id", "the query parameter 'id' is required"))?;
    let collection = state.records.collection(name)?;
    let fields = params
        .get("fields")
        .map(|raw| state.records.projection(name, raw))
        .transpose()?;
    let record = state.records.get(name, id).await?;
    if let Some(fields) = &fields {
        // A projection is not the whole representation: no ETag (API.md §8).
        let view = RecordView {
            record: &record,
            fields: Some(fields),
        };
        return Ok(Reply::ok(&json!({ "data": view })));
    }
    let tag = etag(&record, &collection);
    let held = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok());
    if held.is_some_and(|h| h.split(',').any(|t| t.trim() == tag || t.trim() == "*")) {
        return Ok(Reply::not_modified(tag));
    }
    Ok(Reply::ok(&DataReply {
        data: &record,
        message: None,
    })
    .with_etag(tag))
}

pub async fn schema(state: &AppState, req: &Request, name: &str) -> Result<Reply, ApiError> {
    query_params(req, &[])?;
    let (collection, total) = state.records.schema(name).await?;
    Ok(Reply::ok(&json!({
        "collection": collection.name,
        "fields": schema_fields(&collection),
        "indexes": indexes_view(&collection),
        "total": total,
    })))
}

pub async fn create(state: &AppState, req: &mut Request, name: &str) -> Result<Reply, ApiError> {
    let atomic = query_params(req, &["atomic"])?.flag("atomic")?;
    let collection = state.records.collection(name)?;
    let mut body = json_body(req, state.max_body_bytes).await?;
    if let Some(items) = batch::items(&mut body)? {
        return batch::run(state, name, BatchKind::Create, items, atomic).await;
    }
    let mut body = object(body, &["data"], "")?;
    let data = data_object(&mut body)?;
    let record = state.records.create(name, data).await?;
    let tag = etag(&record, &collection);
    Ok(Reply::json(
        StatusCode::CREATED,
        &DataReply {
            data: &record,
            message: Some("Record created"),
        },
    )
    .with_etag(tag))
}

pub async fn update(state: &AppState, req: &mut Request, name: &str) -> Result<Reply, ApiError> {
    let atomic = query_params(req, &["atomic"])?.flag("atomic")?;
    let collection = state.records.collection(name)?;
    let mut body = json_body(req, state.max_body_bytes).await?;
    if let Some(items) = batch::items(&mut body)? {
        return batch::run(state, name, BatchKind::Update, items, atomic).await;
    }
    let mut body = object(body, &["id", "data"], "")?;
    let id: String = required(&mut body, "id", "", "a record id string")?;
    let data = data_object(&mut body)?;
    let record = state.records.update(name, &id, data, if_match(req)).await?;
    let tag = etag(&record, &collection);
    Ok(Reply::ok(&DataReply {
        data: &record,
        message: Some("Record updated"),
    })
    .with_etag(tag))
}

pub async fn destroy(state: &AppState, req: &mut Request, name: &str) -> Result<Reply, ApiError> {
    let atomic = query_params(req, &["atomic"])?.flag("atomic")?;
    state.records.collection(name)?;
    let mut body = json_body(req, state.max_body_bytes).await?;
    if let Some(items) = batch::items(&mut body)? {
        return batch::run(state, name, BatchKind::Destroy, items, atomic).await;
    }
    let mut body = object(body, &["id"], "")?;
    let id: String = required(&mut body, "id", "", "a record id string")?;
    state.records.destroy(name, &id, if_match(req)).await?;
    Ok(Reply::ok(&json!({ "message": "Record deleted" })))
}

fn if_match(req: &Request) -> Option<&str> {
    req.headers().get("if-match").and_then(|v| v.to_str().ok())
}

fn data_object(body: &mut Map<String, Json>) -> Result<Map<String, Json>, ApiError> {
    match body.remove("data") {
        Some(Json::Object(map)) => Ok(map),
        None | Some(Json::Null) => Err(ApiError::invalid(
            "data",
            "data is required: an object of field values",
        )),

        Some(_) => Err(ApiError::invalid(
            "data",
            "data must be an object of field values",
        )),
    }
}
