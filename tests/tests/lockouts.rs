//! Login lockouts shared through the database, on every engine: two auth services over one
//! database (as two Moon instances are) count the same failures, a success on either
//! forgets them, the lock ends with its window, and expired windows are swept.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use moon_application::{AppError, AuthPolicy, AuthService};
use moon_domain::ports::{Clock, LoginFailureLog};
use moon_security::{Argon2Hasher, JwtIssuer};
use moon_sql::{PoolOptions, SqlAuthRepository, SqlDatabase, SqlLoginFailureLog};
use moon_tests::engines::{Engine, TestDatabase};

struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

impl ManualClock {
    fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

/// An auth service over `url`, as one instance has it.
async fn instance(url: &str, clock: Arc<ManualClock>) -> (Arc<AuthService>, SqlLoginFailureLog) {
    let db = SqlDatabase::connect(url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = SqlAuthRepository::open(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let log = SqlLoginFailureLog::open(db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tokens = JwtIssuer::new(b"lockout-test-secret").unwrap_or_else(|e| panic!("{e}"));
    let auth = AuthService::new(
        Arc::new(repo),
        Arc::new(Argon2Hasher::fast_for_tests()),
        Arc::new(tokens),
        clock,
        AuthPolicy::default(),
    )
    .with_failure_log(Arc::new(log.clone()));
    (Arc::new(auth), log)
}

fn outcome(result: &Result<moon_application::TokenPair, AppError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AppError::Unauthorized(_)) => "401",
        Err(AppError::RateLimited { .. }) => "429",
        Err(_) => "other",
    }
}

async fn shared_on(engine: Engine) {
    let test_db = TestDatabase::create(engine).await;
    let clock = Arc::new(ManualClock(Mutex::new(Utc::now())));
    let (a, log) = instance(&test_db.url, Arc::clone(&clock)).await;
    let (b, _) = instance(&test_db.url, Arc::clone(&clock)).await;
    a.bootstrap_admin("admin", "Admin12345")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (i, service) in [&a, &b, &a, &b, &a].iter().enumerate() {
        let tried = service.login("admin", "wrong", "10.0.0.1").await;
        assert_eq!(outcome(&tried), "401", "{engine:?}: failure {i}");
    }
    // B made two of the five itself but learns of all five from the database.
    let locked = b.login("admin", "Admin12345", "10.0.0.1").await;
    assert_eq!(outcome(&locked), "429", "{engine:?}: locked on B");
    let (_, c) = (
        a.clone(),
        instance(&test_db.url, Arc::clone(&clock)).await.0,
    );
    let locked = c.login("admin", "Admin12345", "10.0.0.1").await;
    assert_eq!(
        outcome(&locked),
        "429",
        "{engine:?}: and on an instance started since"
    );
    let other_ip = b.login("admin", "Admin12345", "10.0.0.2").await;
    assert_eq!(
        outcome(&other_ip),
        "ok",
        "{engine:?}: the lock is per IP and username"
    );

    // Four failures, a success on the other instance, then five more are needed again.
    for service in [&a, &b, &a, &b] {
        let tried = service.login("admin", "wrong", "10.0.0.3").await;
        assert_eq!(outcome(&tried), "401", "{engine:?}");
    }
    assert_eq!(
        outcome(&a.login("admin", "Admin12345", "10.0.0.3").await),
        "ok"
    );
    for _ in 0..4 {
        let tried = b.login("admin", "wrong", "10.0.0.3").await;
        assert_eq!(
            outcome(&tried),
            "401",
            "{engine:?}: the success forgot them"
        );
    }

    clock.advance(chrono::Duration::minutes(16));
    let later = b.login("admin", "Admin12345", "10.0.0.1").await;
    assert_eq!(
        outcome(&later),
        "ok",
        "{engine:?}: the lock ends with its window"
    );
    clock.advance(chrono::Duration::minutes(16));
    let window_start = (clock.now() - chrono::Duration::minutes(15)).timestamp_millis();
    let swept = log
        .sweep(window_start)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        swept >= 1,
        "{engine:?}: the 10.0.0.3 window was swept ({swept})"
    );
    let left = log
        .failures("10.0.0.3|admin", 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, None, "{engine:?}");
    test_db.drop_database().await;
}

#[tokio::test]
async fn lockouts_are_shared_by_every_instance_over_the_database() {
    for engine in Engine::configured() {
        shared_on(engine).await;
    }
}
