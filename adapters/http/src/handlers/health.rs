//! `GET /health`: always 200, saying whether the database answers.

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::AppState;
use crate::reply::Reply;

pub async fn health(state: &AppState) -> Reply {
    let database_ok = state.health.database_ok().await;
    Reply::ok(&json!({
        "status": if database_ok { "ok" } else { "degraded" },
        "database": if database_ok { "ok" } else { "error" },
        "version": state.version,
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    }))
}
