//! Wiring: open the database, load the registry, build the use cases and the HTTP
//! service, serve until SIGINT/SIGTERM, then drain and close.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use moon_application::{
    CollectionService, HealthService, IdempotencyService, InMemorySchemaRegistry, Limits,
    RecordService, RetryPolicy, SchemaGate, WebhookService,
};
use moon_domain::ports::{CollectionRepository, SystemClock};
use moon_http::{AppState, Cors, DocsCache, RateLimiter, normalise_prefix};
use moon_sql::{
    PoolOptions, SqlCollectionRepository, SqlDatabase, SqlDatabaseHealth, SqlIdempotencyStore,
    SqlRecordRepository, SqlWebhookRepository, StartupLock, redact,
};
use salvo::Server;
use salvo::conn::tcp::TcpAcceptor;
use salvo::fuse::FuseConfig;

use crate::config::Config;
use crate::instances;

/// How often expired idempotency answers are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// How long in-flight requests get to finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(10);

/// Runs Moon until a stop signal.
///
/// # Errors
/// When the database cannot be opened or the address cannot be bound.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let url = config.database_url();
    let pool = PoolOptions {
        max_connections: (config.pool_size > 0).then_some(config.pool_size),
        acquire_timeout: Duration::from_secs(config.db_timeout_secs.max(1)),
        statement_timeout: (config.statement_timeout_secs > 0)
            .then(|| Duration::from_secs(config.statement_timeout_secs)),
        sqlite_sync: config.sqlite_synchronous,
    };
    // Other instances starting now on the same database wait here until this one has made
    // the system tables, the JWT secret and the first admin (or found them made).
    let startup = StartupLock::acquire(&url, Duration::from_secs(60))
        .await
        .context("cannot start")?;
    let db = SqlDatabase::connect(&url, pool)
        .await
        .context("cannot start")?;
    let backend = db.backend();
    // Other instances' changes: PostgreSQL tells at once; the pollers look anyway.
    let signals = moon_sql::ChangeSignals {
        feed: db.feed_signal(),
        ..moon_sql::ChangeSignals::default()
    };
    if backend == moon_sql::Backend::Postgres && config.instance_listen {
        moon_sql::listen_for_changes(url.clone(), signals.clone());
    }
    let collections = Arc::new(SqlCollectionRepository::new(db.clone()));
    let loaded = collections
        .load_all()
        .await
        .context("cannot load the collections")?;
    tracing::info!(database = %redact(&url), engine = backend.name(), collections = loaded.len(), "database open");
    let registry = Arc::new(InMemorySchemaRegistry::with(loaded));
    let records = Arc::new(SqlRecordRepository::new(db.clone()));
    let limits = Limits {
        max_collections: config.max_collections,
        max_columns: config.max_columns,
        default_page_size: config.default_page_size,
        max_page_size: config.max_page_size,
        max_filters: config.max_filters,
        max_sort_fields: config.max_sort_fields,
        max_batch: config.max_batch,
    };
    let gate = Arc::new(SchemaGate::default());
    let webhooks = Arc::new(WebhookService::new(
        Arc::new(
            SqlWebhookRepository::open(db.clone())
                .await
                .context("cannot prepare the webhook tables")?,
        ),
        registry.clone(),
        Arc::new(SystemClock),
        gate.clone(),
        RetryPolicy::default(),
    ));
    // Only SQLite is sure to be the only process: over PostgreSQL or MySQL another instance
    // may hold live claims, so a crashed one's claims are taken over when their lease ends.
    let recovered = if backend == moon_sql::Backend::Sqlite {
        webhooks
            .recover()
            .await
            .context("cannot recover webhook events")?
    } else {
        0
    };
    if recovered > 0 {
        tracing::warn!(
            events = recovered,
            "webhook events claimed before a crash are pending again"
        );
    }
    let (stop_workers, workers_stop) = tokio::sync::watch::channel(false);
    let workers = webhooks.start_workers(config.webhook_workers, workers_stop);
    let idempotency = Arc::new(IdempotencyService::new(
        Arc::new(
            SqlIdempotencyStore::open(db.clone())
                .await
                .context("cannot prepare idempotency keys")?,
        ),
        Arc::new(SystemClock),
        Duration::from_secs(config.idempotency_ttl_secs.max(1)),
    ));
    let sweeper = Arc::clone(&idempotency);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.sweep().await;
        }
    });
    let auth = if config.auth {
        let auth = crate::security::auth_service(&db, &config).await?;
        if backend != moon_sql::Backend::Sqlite {
            instances::spawn_auth_refresh(
                Arc::clone(&auth),
                instances::poll_every(&config),
                Arc::clone(&signals.auth),
            );
        }
        let flusher = Arc::clone(&auth);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(30));
            loop {
                every.tick().await;
                flusher.flush_key_usage().await;
                flusher.sweep_lockouts().await;
            }
        });
        Some(auth)
    } else {
        tracing::warn!("authentication is OFF (auth = false): every route is open");
        None
    };
    let collection_service = Arc::new(CollectionService::new(
        registry.clone(),
        collections,
        records.clone(),
        limits,
        gate.clone(),
    ));
    if backend != moon_sql::Backend::Sqlite {
        instances::spawn_schema_refresh(
            Arc::clone(&collection_service),
            instances::poll_every(&config),
            Arc::clone(&signals.schema),
        );
    }
    let feed = moon_application::ChangeFeed::new(
        Arc::new(moon_sql::SqlChangeLog::new(db.clone())),
        registry.clone(),
        Arc::new(SystemClock),
        moon_application::FeedTiming {
            // MySQL hears nothing from other instances: it looks often enough for API.md
            // §10's 100 ms (only while someone subscribes).
            poll: match backend {
                moon_sql::Backend::MySql => Duration::from_millis(50),
                _ => Duration::from_secs(1),
            },
            sequence_every: Duration::from_secs(1),
            // PostgreSQL and MySQL number entries after commit: one pass per 20 ms keeps
            // that from costing the writers (SQLite only waits to read in bulk).
            gather: match backend {
                moon_sql::Backend::Sqlite => Duration::from_millis(5),
                _ => Duration::from_millis(20),
            },
            retention: config.changes_retention().map_err(anyhow::Error::msg)?,
            recheck: Duration::from_secs(1),
        },
        limits.query(),
    );
    let pump = feed.start(db.feed_signal());
    let change_log: Arc<dyn moon_domain::ports::ChangeLog> =
        Arc::new(moon_sql::SqlChangeLog::new(db.clone()));
    let subscription_repo = Arc::new(
        moon_sql::SqlSubscriptionRepository::open(db.clone())
            .await
            .context("cannot prepare the subscription tables")?,
    );
    if backend == moon_sql::Backend::Sqlite {
        // The only process: a crashed one's leases would hold delivery up for their length.
        subscription_repo
            .release_leases()
            .await
            .context("cannot release delivery leases")?;
    }
    let subscriptions = Arc::new(moon_application::SubscriptionService::new(
        subscription_repo.clone(),
        Arc::clone(&change_log),
        registry.clone(),
        Arc::new(SystemClock),
        config.subscriptions_allow_private,
    ));
    let deliverer = moon_application::Deliverer::new(
        subscription_repo,
        change_log,
        Arc::new(moon_http::HttpTransport::new(
            config.subscriptions_allow_private,
        )),
        Arc::new(SystemClock),
        moon_application::DeliveryPolicy::default(),
    );
    let delivering = deliverer.start(feed.advanced(), feed.stopping());
    let state = AppState {
        collections: collection_service,
        records: Arc::new(RecordService::new(
            registry,
            records,
            Arc::new(SystemClock),
            limits,
            gate,
        )),
        idempotency: Some(idempotency),
        feed: Some(Arc::clone(&feed)),
        subscriptions: Some(subscriptions),
        webhooks: Some(webhooks),
        auth,
        rate_limiter: RateLimiter::new(config.rate_limit_user, config.rate_limit_apikey),
        cors: Cors::new(
            &config.cors_origins,
            &config.cors_headers,
            config.cors_credentials,
        ),
        docs: DocsCache::default(),
        docs_public: config.docs_public,
        metrics: moon_http::Metrics::default(),
        metrics_public: config.metrics_public,
        health: Arc::new(HealthService::new(Arc::new(SqlDatabaseHealth::new(
            db.clone(),
        )))),
        version: env!("CARGO_PKG_VERSION"),
        prefix: normalise_prefix(&config.prefix),
        max_body_bytes: config.max_body_bytes,
        body_deadline: Duration::from_secs(config.body_timeout_secs.max(1)),
        max_page_size: config.max_page_size,
    };
    startup.release().await;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let acceptor = TcpAcceptor::try_from(listener).context("cannot use the listener")?;
    let max_connections = connection_cap(config.max_connections);
    tracing::info!(max_connections, "connections capped");
    let server = Server::new(acceptor)
        .fuse_config(
            // Slow heads (30 s, salvo's default), stalled bodies and idle keep-alives are cut
            // off; the whole-body deadline is the dispatcher's (`body_timeout_secs`).
            FuseConfig::default()
                .with_request_body_timeout(Duration::from_secs(10))
                .with_connection_idle_timeout(Duration::from_secs(75)),
        )
        .max_connections(max_connections);
    let handle = server.handle();
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!("stop signal received; draining requests");
        // Open feeds end now (clients resume from their last event elsewhere).
        feed.close();
        handle.stop_graceful(DRAIN);
    });
    tracing::info!(
        "Moon listening on http://{address}{}",
        normalise_prefix(&config.prefix)
    );
    server.serve(moon_http::service(state)).await;
    let _ = pump.await;
    let _ = tokio::time::timeout(DRAIN, delivering).await;
    // Workers finish the event in hand; unfinished claims are released by their lease.
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = tokio::time::timeout(DRAIN, worker).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// File descriptors kept free of connections: the database pool, logs, the listener.
const DESCRIPTOR_HEADROOM: usize = 256;

/// `wanted`, but never within [`DESCRIPTOR_HEADROOM`] of the process's open-file limit
/// (Linux: `/proc/self/limits`), so a connection flood cannot starve the database of sockets.
fn connection_cap(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft {
        Some(soft) => wanted.min(soft.saturating_sub(DESCRIPTOR_HEADROOM).max(16)),
        None => wanted,
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops Moon");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
