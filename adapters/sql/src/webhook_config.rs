//! How a webhook endpoint is kept in `moon_webhooks`: one JSON document per endpoint, so
//! new settings need no schema change.

use moon_domain::{CollectionName, ColumnName, RepoError, SignatureScheme, WebhookEndpoint};
use serde_json::{Value as Json, json};

use crate::error::internal;

/// The stored form of an endpoint (the name is the row's key).
#[must_use]
pub fn encode_endpoint(e: &WebhookEndpoint) -> String {
    let (scheme, header, prefix) = match &e.signature {
        SignatureScheme::HmacSha256 { header, prefix } => {
            ("hmac-sha256", header.as_str(), prefix.as_str())
        }
        SignatureScheme::GitHub => ("github", "X-Hub-Signature-256", ""),
        SignatureScheme::Stripe => ("stripe", "Stripe-Signature", ""),
    };
    let mapping: serde_json::Map<String, Json> = e
        .mapping
        .iter()
        .map(|(c, p)| (c.to_string(), json!(p)))
        .collect();
    json!({
        "collection": e.collection.as_str(), "secret": e.secret, "scheme": scheme, "header": header, "prefix": prefix,
        "event_id": e.event_id, "mapping": mapping, "created_at": e.created_at.timestamp_micros(),
    })
    .to_string()
}

/// An endpoint read back from its stored form.
///
/// # Errors
/// [`RepoError::Internal`] when the stored document does not decode.
pub fn decode_endpoint(name: &str, config: &str) -> Result<WebhookEndpoint, RepoError> {
    let bad = |why: &str| internal(format!("webhook '{name}': {why}"));
    let v: Json = serde_json::from_str(config).map_err(|e| bad(&e.to_string()))?;
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let signature = match v["scheme"].as_str() {
        Some("github") => SignatureScheme::GitHub,
        Some("stripe") => SignatureScheme::Stripe,
        _ => SignatureScheme::HmacSha256 {
            header: text("header"),
            prefix: text("prefix"),
        },
    };
    let mapping = v["mapping"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, p)| {
            Ok((
                ColumnName::parse(k).map_err(|e| bad(&e.to_string()))?,
                p.as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(WebhookEndpoint {
        name: CollectionName::parse(name).map_err(|e| bad(&e.to_string()))?,
        collection: CollectionName::parse(&text("collection")).map_err(|e| bad(&e.to_string()))?,
        secret: text("secret"),
        signature,
        event_id: v["event_id"].as_str().map(str::to_owned),
        mapping,
        created_at: chrono::DateTime::from_timestamp_micros(v["created_at"].as_i64().unwrap_or(0))
            .unwrap_or_default(),
    })
}
