//! `/subscriptions:*` (API.md §10): outbound webhook subscriptions, checked before they are
//! stored (a reachable public URL, known collections and events, a secret), their deliveries
//! and replays.

use std::net::IpAddr;
use std::sync::Arc;

use moon_domain::ports::{ChangeLog, Clock, SchemaRegistry, SubscriptionRepository};
use moon_domain::{
    ChangeKind, Delivery, DeliveryStatus, FieldError, WebhookSubscription, is_private,
};

use crate::error::AppError;

/// A subscription as given by the admin (every field of a create; an update's missing ones
/// keep their values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionInput {
    pub name: Option<String>,
    pub url: Option<String>,
    pub collections: Option<Vec<String>>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
}

/// The subscriptions' use cases.
pub struct SubscriptionService {
    repo: Arc<dyn SubscriptionRepository>,
    log: Arc<dyn ChangeLog>,
    registry: Arc<dyn SchemaRegistry>,
    clock: Arc<dyn Clock>,
    allow_private: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::invalid(field, message)])
}

impl SubscriptionService {
    #[must_use]
    pub fn new(
        repo: Arc<dyn SubscriptionRepository>,
        log: Arc<dyn ChangeLog>,
        registry: Arc<dyn SchemaRegistry>,
        clock: Arc<dyn Clock>,
        allow_private: bool,
    ) -> Self {
        Self {
            repo,
            log,
            registry,
            clock,
            allow_private,
        }
    }

    /// # Errors
    /// A 400 naming the bad field, 409 for a taken name.
    pub async fn create(&self, input: SubscriptionInput) -> Result<WebhookSubscription, AppError> {
        let name = input
            .name
            .as_deref()
            .ok_or_else(|| invalid("name", "required"))?;
        check_name(name)?;
        let events = input
            .events
            .clone()
            .unwrap_or_else(|| vec!["create".into(), "update".into(), "destroy".into()]);
        let subscription = WebhookSubscription {
            name: name.to_owned(),
            url: self.check_url(
                input
                    .url
                    .as_deref()
                    .ok_or_else(|| invalid("url", "required"))?,
            )?,
            collections: self.check_collections(
                input
                    .collections
                    .ok_or_else(|| invalid("collections", "required: names, or [\"*\"]"))?,
            )?,
            events: check_events(&events)?,
            secret: check_secret(
                input
                    .secret
                    .as_deref()
                    .ok_or_else(|| invalid("secret", "required"))?,
            )?,
            created_at: self.clock.now(),
            // Changes committed from now on; replay with `after` to send older ones.
            cursor: {
                self.log.sequence().await?;
                self.log.bounds().await?.head
            },
        };
        self.repo.create(&subscription).await.map_err(|e| match e {
            moon_domain::RepoError::Duplicate { .. } => {
                AppError::Conflict(format!("a subscription named '{name}' exists"))
            }
            e => e.into(),
        })?;
        Ok(subscription)
    }

    /// # Errors
    /// A 400 naming the bad field, 404 for an unknown name.
    pub async fn update(&self, input: SubscriptionInput) -> Result<WebhookSubscription, AppError> {
        let name = input
            .name
            .as_deref()
            .ok_or_else(|| invalid("name", "required"))?;
        let mut current = self.get(name).await?;
        if let Some(url) = input.url.as_deref() {
            current.url = self.check_url(url)?;
        }
        if let Some(collections) = input.collections {
            current.collections = self.check_collections(collections)?;
        }
        if let Some(events) = input.events.as_deref() {
            current.events = check_events(events)?;
        }
        if let Some(secret) = input.secret.as_deref() {
            current.secret = check_secret(secret)?;
        }
        if !self.repo.update(&current).await? {
            return Err(not_found(name));
        }
        Ok(current)
    }

    /// # Errors
    /// 404 for an unknown name.
    pub async fn get(&self, name: &str) -> Result<WebhookSubscription, AppError> {
        self.repo.get(name).await?.ok_or_else(|| not_found(name))
    }

    /// # Errors
    /// A database failure.
    pub async fn list(&self) -> Result<Vec<WebhookSubscription>, AppError> {
        Ok(self.repo.list().await?)
    }

    /// # Errors
    /// 404 for an unknown name.
    pub async fn destroy(&self, name: &str) -> Result<(), AppError> {
        if self.repo.delete(name).await? {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// The newest deliveries, of one subscription and status when given.
    ///
    /// # Errors
    /// A bad status, or a database failure.
    pub async fn deliveries(
        &self,
        name: Option<&str>,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Delivery>, AppError> {
        let status = status
            .map(|s| {
                DeliveryStatus::parse(s)
                    .ok_or_else(|| invalid("status", "one of pending, delivered, dead"))
            })
            .transpose()?;
        Ok(self.repo.deliveries(name, status, limit).await?)
    }

    /// Sends one delivery again, or every matching change after `after` for `name`.
    ///
    /// # Errors
    /// 404 for an unknown delivery or subscription.
    pub async fn replay(
        &self,
        id: Option<&str>,
        name: Option<&str>,
        after: Option<u64>,
    ) -> Result<(), AppError> {
        match (id, name, after) {
            (Some(id), None, None) => {
                let now = self.clock.now().timestamp_millis();
                if self.repo.replay(id, now).await? {
                    Ok(())
                } else {
                    Err(AppError::NotFound(format!("delivery '{id}' not found")))
                }
            }
            (None, Some(name), Some(after)) => {
                if self.repo.rewind(name, after).await? {
                    Ok(())
                } else {
                    Err(not_found(name))
                }
            }
            _ => Err(invalid(
                "id",
                "give {\"id\"} of a delivery, or {\"name\",\"after\":<seq>}",
            )),
        }
    }

    fn check_url(&self, raw: &str) -> Result<String, AppError> {
        let url =
            url::Url::parse(raw.trim()).map_err(|e| invalid("url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("url", "must be http:// or https://"));
        }
        let private = match url.host() {
            None => return Err(invalid("url", "needs a host")),
            Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
            Some(url::Host::Domain(host)) => {
                let host = host.to_ascii_lowercase();
                host == "localhost" || host.ends_with(".localhost")
            }
        };
        if private && !self.allow_private {
            return Err(invalid(
                "url",
                "loopback, link-local and private addresses are refused (set MOON_SUBSCRIPTIONS_ALLOW_PRIVATE=true to allow them)",
            ));
        }
        Ok(url.to_string())
    }

    fn check_collections(&self, collections: Vec<String>) -> Result<Vec<String>, AppError> {
        if collections.is_empty() {
            return Err(invalid("collections", "name at least one, or [\"*\"]"));
        }
        let mut checked = Vec::with_capacity(collections.len());
        for name in collections {
            let name = name.to_ascii_lowercase();
            if name != "*" && self.registry.get(&name).is_none() {
                return Err(AppError::CollectionNotFound(name));
            }
            if !checked.contains(&name) {
                checked.push(name);
            }
        }
        Ok(checked)
    }

    /// Whether MOON_SUBSCRIPTIONS_ALLOW_PRIVATE is on (the transport checks resolved
    /// addresses by the same rule).
    #[must_use]
    pub const fn allows_private(&self) -> bool {
        self.allow_private
    }
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!("subscription '{name}' not found"))
}

fn check_name(name: &str) -> Result<(), AppError> {
    let ok = (2..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            "2-63 characters: a lowercase letter, then lowercase letters, digits, '_' or '-'",
        ))
    }
}

fn check_events(events: &[String]) -> Result<Vec<ChangeKind>, AppError> {
    if events.is_empty() {
        return Err(invalid(
            "events",
            "name at least one of create, update, destroy",
        ));
    }
    let mut kinds = Vec::new();
    for event in events {
        let kind = match ChangeKind::parse(event) {
            Some(k @ (ChangeKind::Create | ChangeKind::Update | ChangeKind::Destroy)) => k,
            _ => {
                return Err(invalid(
                    "events",
                    format!("'{event}' is not create, update or destroy"),
                ));
            }
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

fn check_secret(secret: &str) -> Result<String, AppError> {
    if secret.is_empty() || secret.len() > 256 || secret.contains('\0') {
        return Err(invalid("secret", "1-256 characters, no NUL"));
    }
    Ok(secret.to_owned())
}
