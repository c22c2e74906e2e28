//! Wiring of authentication: the JWT secret (configured, or generated once and kept in the
//! database), argon2id, the auth service, and the first admin.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use moon_application::secrets::random_token;
use moon_application::{AuthPolicy, AuthService, HashingLimits};
use moon_domain::ports::{AuthRepository, SystemClock};
use moon_security::{Argon2Hasher, JwtIssuer};
use moon_sql::{SqlAuthRepository, SqlDatabase, SqlLoginFailureLog};

use crate::config::Config;

/// The auth service for `config`, with the first admin created if there are no users.
///
/// # Errors
/// When the auth tables, the secret or the admin cannot be set up.
pub async fn auth_service(db: &SqlDatabase, config: &Config) -> anyhow::Result<Arc<AuthService>> {
    let repo = Arc::new(
        SqlAuthRepository::open(db.clone())
            .await
            .context("cannot prepare the auth tables")?,
    );
    let secret = if config.jwt_secret.is_empty() {
        repo.setting_or_insert("jwt_secret", &random_token(64))
            .await
            .context("cannot keep the JWT secret")?
    } else {
        config.jwt_secret.clone()
    };
    let tokens = JwtIssuer::new(secret.as_bytes()).context("cannot use the JWT secret")?;
    let policy = AuthPolicy {
        access_ttl: Duration::from_secs(config.access_ttl_secs.max(1)),
        refresh_ttl: Duration::from_secs(config.refresh_ttl_secs.max(1)),
        login_max_failures: config.login_max_failures,
        hashing: HashingLimits {
            concurrent: if config.hash_concurrency == 0 {
                HashingLimits::default().concurrent
            } else {
                config.hash_concurrency
            },
            waiting: config.hash_queue,
        },
        ..AuthPolicy::default()
    };
    let failures = SqlLoginFailureLog::open(db.clone())
        .await
        .context("cannot prepare the login failures table")?;
    let auth = Arc::new(
        AuthService::new(
            repo,
            Arc::new(Argon2Hasher::recommended()),
            Arc::new(tokens),
            Arc::new(SystemClock),
            policy,
        )
        .with_failure_log(Arc::new(failures)),
    );
    let generated = config.admin_password.is_empty();
    let password = if generated {
        format!("{}A1", random_token(18))
    } else {
        config.admin_password.clone()
    };
    match auth
        .bootstrap_admin(&config.admin_username, &password)
        .await
    {
        Ok(Some(admin)) if generated => {
            // Shown once, on the terminal that started Moon; never logged.
            eprintln!(
                "\nMoon created the first admin.\n  username: {}\n  password: {password}\nKeep it now: it is not shown again (set MOON_ADMIN_PASSWORD to choose one).\n",
                admin.username
            );
        }
        Ok(Some(admin)) => {
            tracing::info!(username = %admin.username, "created the first admin from the configuration")
        }
        Ok(None) => {}
        Err(e) => anyhow::bail!(
            "cannot create the first admin '{}': {e}",
            config.admin_username
        ),
    }
    Ok(auth)
}
