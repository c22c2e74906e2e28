//! Shared harness for Moon's cross-crate tests: the real router and use cases over
//! `moon-mock` doubles (DB-free), and helpers to send requests and read JSON answers.
#![forbid(unsafe_code)]

use std::sync::Arc;

use moon_application::{
    CollectionService, HealthService, InMemorySchemaRegistry, Limits, RecordService, SchemaGate,
};
use moon_domain::Collection;
use moon_domain::ports::{CollectionRepository, DatabaseHealth, RecordRepository};
use moon_http::AppState;
use moon_mock::{
    FixedClock, MockCollectionRepository, MockDatabaseHealth, MockRecordRepository, fixtures,
};
use salvo::Service;
use salvo::test::{ResponseExt, TestClient};
use serde_json::Value as Json;

/// The base URL test requests go to (TestClient never opens a socket).
pub const BASE: &str = "http://moon.test";

/// What a test configures before building the app.
pub struct Doubles {
    pub collections: MockCollectionRepository,
    pub records: MockRecordRepository,
    pub health: MockDatabaseHealth,
    pub registered: Vec<Collection>,
    pub limits: Limits,
    pub prefix: String,
    pub max_body_bytes: usize,
    /// CORS origins (`*`, a comma list, or empty for off).
    pub cors_origins: String,
}

impl Default for Doubles {
    fn default() -> Self {
        Self {
            collections: MockCollectionRepository::new(),
            records: MockRecordRepository::new(),
            health: MockDatabaseHealth::new(),
            registered: Vec::new(),
            limits: Limits::default(),
            prefix: String::new(),
            max_body_bytes: 2 * 1024 * 1024,
            cors_origins: String::new(),
        }
    }
}

impl Doubles {
    /// Doubles whose registry already holds `products` (see [`fixtures::products`]).
    #[must_use]
    pub fn with_products() -> Self {
        Self {
            registered: vec![fixtures::products()],
            ..Self::default()
        }
    }

    /// The real service over these doubles.
    #[must_use]
    pub fn service(self) -> Service {
        let registry = Arc::new(InMemorySchemaRegistry::with(self.registered));
        let collections: Arc<dyn CollectionRepository> = Arc::new(self.collections);
        let records: Arc<dyn RecordRepository> = Arc::new(self.records);
        let health: Arc<dyn DatabaseHealth> = Arc::new(self.health);
        let gate = Arc::new(SchemaGate::default());
        let state = AppState {
            collections: Arc::new(CollectionService::new(
                registry.clone(),
                collections,
                records.clone(),
                self.limits,
                gate.clone(),
            )),
            records: Arc::new(RecordService::new(
                registry,
                records,
                Arc::new(FixedClock(fixtures::instant())),
                self.limits,
                gate,
            )),
            health: Arc::new(HealthService::new(health)),
            idempotency: None,
            feed: None,
            subscriptions: None,
            webhooks: None,
            auth: None,
            rate_limiter: moon_http::RateLimiter::new(0, 0),
            cors: moon_http::Cors::new(&self.cors_origins, "", false),
            docs: moon_http::DocsCache::default(),
            docs_public: false,
            metrics: moon_http::Metrics::default(),
            metrics_public: false,
            version: "test",
            prefix: self.prefix,
            max_body_bytes: self.max_body_bytes,
            body_deadline: std::time::Duration::from_secs(30),
            max_page_size: self.limits.max_page_size,
        };
        moon_http::service(state)
    }
}

/// An answer: status, headers of interest, and the body parsed as JSON (`Null` if empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Json,
    pub headers: salvo::http::HeaderMap,
}

impl Answer {
    /// The error `code` of an error body.
    #[must_use]
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn answer(mut res: salvo::Response) -> Answer {
    let status = res.status_code.map_or(200, |s| s.as_u16());
    let headers = res.headers().clone();
    let text = res.take_string().await.unwrap_or_default();
    let body = if text.is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    Answer {
        status,
        body,
        headers,
    }
}

/// `GET {path}`.
pub async fn get(service: &Service, path: &str) -> Answer {
    answer(TestClient::get(format!("{BASE}{path}")).send(service).await).await
}

/// `POST {path}` with a raw body.
pub async fn post_raw(service: &Service, path: &str, body: &str) -> Answer {
    answer(
        TestClient::post(format!("{BASE}{path}"))
            .raw_json(body.to_owned())
            .send(service)
            .await,
    )
    .await
}

/// `POST {path}` with a JSON body.
pub async fn post(service: &Service, path: &str, body: &Json) -> Answer {
    post_raw(service, path, &body.to_string()).await
}

/// Any method on `path`.
pub async fn request(service: &Service, method: &str, path: &str) -> Answer {
    let url = format!("{BASE}{path}");
    let builder = match method {
        "PUT" => TestClient::put(url),
        "DELETE" => TestClient::delete(url),
        "PATCH" => TestClient::patch(url),
        "OPTIONS" => TestClient::options(url),
        "HEAD" => TestClient::head(url),
        "POST" => TestClient::post(url),
        _ => TestClient::get(url),
    };
    answer(builder.send(service).await).await
}

/// `GET path` (or `POST` with `body`) with an optional bearer `token` and extra headers; a
/// body that is not JSON (an HTML page) reads as `Null`.
pub async fn call_as(
    service: &Service,
    path: &str,
    body: Option<&Json>,
    token: Option<&str>,
    headers: &[(&'static str, &str)],
) -> Answer {
    let url = format!("{BASE}{path}");
    let mut request = match body {
        Some(body) => TestClient::post(url).json(body),
        None => TestClient::get(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token.to_owned());
    }
    for (name, value) in headers {
        request = request.add_header(*name, (*value).to_owned(), true);
    }
    let mut res = request.send(service).await;
    let status = res.status_code.map_or(200, |s| s.as_u16());
    let headers = res.headers().clone();
    let text = res.take_string().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Json::Null),
        headers,
    }
}

/// Defines one `#[tokio::test]` per engine for each `test_name => body_fn` pair: SQLite
/// always, PostgreSQL and MySQL when configured (see [`engines`]); `body_fn(Engine)` runs it.
#[macro_export]
macro_rules! on_every_engine {
    ($($name:ident => $body:ident,)*) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test] async fn $name() { $body($crate::engines::Engine::Sqlite).await; })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test] async fn $name() {
                if $crate::engines::Engine::configured().contains(&$crate::engines::Engine::Postgres) {
                    $body($crate::engines::Engine::Postgres).await;
                } else {
                    eprintln!("PostgreSQL not configured (MOON_TEST_POSTGRES_URL unset): not run");
                }
            })*
        }
        mod mysql {
            use super::*;
            $(#[tokio::test] async fn $name() {
                if $crate::engines::Engine::configured().contains(&$crate::engines::Engine::MySql) {
                    $body($crate::engines::Engine::MySql).await;
                } else {
                    eprintln!("MySQL not configured (MOON_TEST_MYSQL_URL unset): not run");
                }
            })*
        }
    };
}

pub mod contract;
pub mod engines;

/// The real use cases over a real database (for engine-generic tests below HTTP).
#[must_use]
pub fn sql_services(
    db: &moon_sql::SqlDatabase,
    loaded: Vec<Collection>,
) -> (CollectionService, RecordService) {
    let registry = Arc::new(InMemorySchemaRegistry::with(loaded));
    let records: Arc<dyn RecordRepository> =
        Arc::new(moon_sql::SqlRecordRepository::new(db.clone()));
    let collections: Arc<dyn CollectionRepository> =
        Arc::new(moon_sql::SqlCollectionRepository::new(db.clone()));
    let gate = Arc::new(SchemaGate::default());
    let limits = Limits::default();
    (
        CollectionService::new(
            registry.clone(),
            collections,
            records.clone(),
            limits,
            gate.clone(),
        ),
        RecordService::new(
            registry,
            records,
            Arc::new(moon_domain::ports::SystemClock),
            limits,
            gate,
        ),
    )
}

/// The real HTTP service over a real database (for engine-generic API tests in-process),
/// with authentication off.
///
/// # Panics
/// When the idempotency table cannot be created.
pub async fn sql_app(db: &moon_sql::SqlDatabase, loaded: Vec<Collection>) -> Service {
    sql_app_secured(db, loaded, None, moon_http::RateLimiter::new(0, 0)).await
}

/// The real HTTP service over a real database with `auth` (and its rate limits).
///
/// # Panics
/// When the idempotency table cannot be created.
pub async fn sql_app_secured(
    db: &moon_sql::SqlDatabase,
    loaded: Vec<Collection>,
    auth: Option<Arc<moon_application::AuthService>>,
    rate_limiter: moon_http::RateLimiter,
) -> Service {
    sql_app_parts(db, loaded, auth, rate_limiter).await.0
}

/// The real HTTP service over a real database, with its webhook service (whose
/// `work_once` tests call to process events deterministically).
///
/// # Panics
/// When a system table cannot be created.
pub async fn sql_app_parts(
    db: &moon_sql::SqlDatabase,
    loaded: Vec<Collection>,
    auth: Option<Arc<moon_application::AuthService>>,
    rate_limiter: moon_http::RateLimiter,
) -> (Service, Arc<moon_application::WebhookService>) {
    let registry = Arc::new(InMemorySchemaRegistry::with(loaded));
    let records_repo: Arc<dyn RecordRepository> =
        Arc::new(moon_sql::SqlRecordRepository::new(db.clone()));
    let collections_repo: Arc<dyn CollectionRepository> =
        Arc::new(moon_sql::SqlCollectionRepository::new(db.clone()));
    let gate = Arc::new(SchemaGate::default());
    let limits = Limits::default();
    let collections = CollectionService::new(
        registry.clone(),
        collections_repo,
        records_repo.clone(),
        limits,
        gate.clone(),
    );
    let records = RecordService::new(
        registry.clone(),
        records_repo,
        Arc::new(moon_domain::ports::SystemClock),
        limits,
        gate.clone(),
    );
    let hooks_repo = moon_sql::SqlWebhookRepository::open(db.clone())
        .await
        .unwrap_or_else(|e| panic!("webhook tables: {e}"));
    let webhooks = Arc::new(moon_application::WebhookService::new(
        Arc::new(hooks_repo),
        registry,
        Arc::new(moon_domain::ports::SystemClock),
        gate,
        moon_application::RetryPolicy {
            max_attempts: 3,
            first_backoff: std::time::Duration::ZERO,
            max_backoff: std::time::Duration::ZERO,
        },
    ));
    let store = moon_sql::SqlIdempotencyStore::open(db.clone())
        .await
        .unwrap_or_else(|e| panic!("idempotency store: {e}"));
    let idempotency = moon_application::IdempotencyService::new(
        Arc::new(store),
        Arc::new(moon_domain::ports::SystemClock),
        std::time::Duration::from_secs(60),
    );
    let health: Arc<dyn DatabaseHealth> = Arc::new(moon_sql::SqlDatabaseHealth::new(db.clone()));
    let webhooks_handle = Arc::clone(&webhooks);
    let service = moon_http::service(AppState {
        collections: Arc::new(collections),
        records: Arc::new(records),
        health: Arc::new(HealthService::new(health)),
        idempotency: Some(Arc::new(idempotency)),
        feed: None,
        subscriptions: None,
        webhooks: Some(Arc::clone(&webhooks)),
        auth,
        rate_limiter,
        cors: moon_http::Cors::default(),
        docs: moon_http::DocsCache::default(),
        docs_public: false,
        metrics: moon_http::Metrics::default(),
        metrics_public: false,
        version: "test",
        prefix: String::new(),
        max_body_bytes: 2 * 1024 * 1024,
        body_deadline: std::time::Duration::from_secs(30),
        max_page_size: limits.max_page_size,
    });
    (service, webhooks_handle)
}
