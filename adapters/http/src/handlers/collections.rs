//! `/collections:{list,get,create,update,destroy}`: schema management.

use moon_application::AlterOutcome;
use moon_domain::{ColumnRename, SchemaChange};
use salvo::Request;
use salvo::http::StatusCode;
use serde_json::{Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::input::{json_body, object, optional, query_params, required};
use crate::reply::Reply;
use crate::schema_dto::{
    collection_name, collection_view, column_name, columns, index_name, indexes,
};

const UPDATE_KEYS: [&str; 7] = [
    "name",
    "rename_columns",
    "modify_columns",
    "add_columns",
    "remove_columns",
    "add_indexes",
    "remove_indexes",
];

pub async fn list(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    query_params(req, &[])?;
    let summaries = state.collections.list().await?;
    let items: Vec<Json> = summaries
        .iter()
        .map(|s| json!({ "name": s.name, "records": s.records }))
        .collect();
    Ok(Reply::ok(
        &json!({ "collections": items, "count": items.len() }),
    ))
}

pub fn get(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let params = query_params(req, &["name"])?;
    let raw = params
        .get("name")
        .ok_or_else(|| ApiError::invalid("name", "the query parameter 'name' is required"))?;
    let name = collection_name(raw, "name")?;
    let collection = state.collections.get(&name)?;
    Ok(Reply::ok(
        &json!({ "collection": collection_view(&collection) }),
    ))
}

pub async fn create(state: &AppState, req: &mut Request) -> Result<Reply, ApiError> {
    query_params(req, &[])?;
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &["name", "columns", "indexes"],
        "",
    )?;
    let raw: String = required(&mut body, "name", "", "a string")?;
    let name = collection_name(&raw, "name")?;
    let columns = columns(body.remove("columns"), "columns")?;
    let indexes = indexes(body.remove("indexes"), "indexes")?;
    let collection = state.collections.create(name, columns, indexes).await?;
    Ok(Reply::json(
        StatusCode::CREATED,
        &json!({
            "collection": collection_view(&collection),
            "message": format!("Collection '{}' created", collection.name),
        }),
    ))
}

pub async fn update(state: &AppState, req: &mut Request) -> Result<Reply, ApiError> {
    let dry_run = query_params(req, &["dry_run"])?.flag("dry_run")?;
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &UPDATE_KEYS,
        "",
    )?;
    let raw: String = required(&mut body, "name", "", "a string")?;
    let name = collection_name(&raw, "name")?;
    let change = SchemaChange {
        rename: renames(body.remove("rename_columns"))?,
        modify: columns(body.remove("modify_columns"), "modify_columns")?,
        add: columns(body.remove("add_columns"), "add_columns")?,
        remove: removals(
            &mut body,
            "remove_columns",
            "an array of column names",
            column_name,
        )?,
        add_indexes: indexes(body.remove("add_indexes"), "add_indexes")?,
        remove_indexes: removals(
            &mut body,
            "remove_indexes",
            "an array of index names",
            index_name,
        )?,
    };
    match state.collections.update(&name, &change, dry_run).await? {
        AlterOutcome::Applied(collection) => Ok(Reply::ok(&json!({
            "collection": collection_view(&collection),
            "message": format!("Collection '{}' updated", collection.name),
        }))),
        AlterOutcome::DryRun {
            statements,
            problems,
        } => Ok(Reply::ok(
            &json!({ "statements": statements, "problems": problems }),
        )),
    }
}

pub async fn destroy(state: &AppState, req: &mut Request) -> Result<Reply, ApiError> {
    query_params(req, &[])?;
    let mut body = object(json_body(req, state.max_body_bytes).await?, &["name"], "")?;
    let raw: String = required(&mut body, "name", "", "a string")?;
    let name = collection_name(&raw, "name")?;
    state.collections.destroy(&name).await?;
    Ok(Reply::ok(
        &json!({ "message": format!("Collection '{name}' destroyed") }),
    ))
}

fn renames(json: Option<Json>) -> Result<Vec<ColumnRename>, ApiError> {
    let items = match json {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid(
                "rename_columns",
                "rename_columns must be an array",
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = format!("rename_columns[{i}].");
            let mut map = object(item, &["old_name", "new_name"], &prefix)?;
            let from: String = required(&mut map, "old_name", &prefix, "a string")?;
            let to: String = required(&mut map, "new_name", &prefix, "a string")?;
            Ok(ColumnRename {
                from: column_name(&from, &format!("{prefix}old_name"))?,
                to: column_name(&to, &format!("{prefix}new_name"))?,
            })
        })
        .collect()
}

/// The names listed at `key` (`remove_columns`, `remove_indexes`), each parsed by `parse`
/// with its position as the field.
fn removals<T>(
    body: &mut serde_json::Map<String, Json>,
    key: &str,
    expected: &str,
    parse: fn(&str, &str) -> Result<T, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let names: Vec<String> = optional(body, key, "", expected)?.unwrap_or_default();
    names
        .iter()
        .enumerate()
        .map(|(i, raw)| parse(raw, &format!("{key}[{i}]")))
        .collect()
}
