//! The doors of API.md §5–6 closed on every engine: login bursts, refresh races, the last
//! admin under concurrent deletion and demotion, idempotency only on authenticated
//! collection and record writes, usernames no user can have, and the HTML pages' headers.

use std::sync::Arc;

use moon_application::{AuthPolicy, AuthService};
use moon_domain::ports::SystemClock;
use moon_security::{Argon2Hasher, JwtIssuer};
use moon_sql::{PoolOptions, SqlAuthRepository, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{Answer, call_as as call, on_every_engine, sql_app_secured};
use salvo::Service;
use serde_json::json;

struct World {
    app: Arc<Service>,
    auth: Arc<AuthService>,
    db: TestDatabase,
}

async fn world(engine: Engine) -> World {
    let db = TestDatabase::create(engine).await;
    let sql = SqlDatabase::connect(&db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = SqlAuthRepository::open(sql.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = Arc::new(AuthService::new(
        Arc::new(repo),
        Arc::new(Argon2Hasher::fast_for_tests()),
        Arc::new(JwtIssuer::new(b"doors-test-secret").unwrap_or_else(|e| panic!("{e}"))),
        Arc::new(SystemClock),
        AuthPolicy::default(),
    ));
    auth.bootstrap_admin("admin", "Admin12345")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app_secured(
        &sql,
        vec![],
        Some(Arc::clone(&auth)),
        moon_http::RateLimiter::new(0, 0),
    )
    .await;
    World {
        app: Arc::new(app),
        auth,
        db,
    }
}

async fn login(app: &Service, username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    call(app, "/auth:login", Some(&body), None, &[]).await
}

async fn token(app: &Service, username: &str, password: &str) -> String {
    let answer = login(app, username, password).await;
    assert_eq!(answer.status, 200, "{username}: {:?}", answer.body);
    answer.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn bursts_on(engine: Engine) {
    let w = world(engine).await;
    let root = token(&w.app, "admin", "Admin12345").await;
    let ada = json!({"username": "ada", "password": "Lovelace1815", "role": "user"});
    let made = call(&w.app, "/users:create", Some(&ada), Some(&root), &[]).await;
    assert_eq!(made.status, 201, "{engine:?}: {:?}", made.body);
    // 24 wrong passwords at once for one user: 5 are checked, the rest are locked out.
    let wrong = (0..24).map(|_| {
        let app = Arc::clone(&w.app);
        async move { login(&app, "admin", "Wrong12345").await.status }
    });
    let statuses = futures_util::future::join_all(wrong).await;
    assert_eq!(
        (
            statuses.iter().filter(|s| **s == 401).count(),
            statuses.iter().filter(|s| **s == 429).count()
        ),
        (5, 19),
        "{engine:?}: {statuses:?}"
    );
    // 16 correct logins at once for another user all get in (they wait their turn).
    let right = (0..16).map(|_| {
        let app = Arc::clone(&w.app);
        async move { login(&app, "ada", "Lovelace1815").await.status }
    });
    let statuses = futures_util::future::join_all(right).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{engine:?}: {statuses:?}"
    );
    w.db.drop_database().await;
}

async fn refresh_race_on(engine: Engine) {
    let w = world(engine).await;
    for trial in 0..6 {
        let pair = login(&w.app, "admin", "Admin12345").await;
        let refresh = pair.body["refresh_token"].clone();
        let racers = (0..2).map(|_| {
            let app = Arc::clone(&w.app);
            let body = json!({ "refresh_token": refresh });
            async move {
                call(&app, "/auth:refresh", Some(&body), None, &[])
                    .await
                    .status
            }
        });
        let mut statuses = futures_util::future::join_all(racers).await;
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "{engine:?} trial {trial}");
    }
    w.db.drop_database().await;
}

async fn last_admin_on(engine: Engine) {
    for trial in 0..4 {
        let w = world(engine).await;
        // Two admins, who delete (or demote) each other at the same moment.
        let root = token(&w.app, "admin", "Admin12345").await;
        let ann = json!({"username": "ann", "password": "Passw0rd1x", "role": "admin"});
        let made = call(&w.app, "/users:create", Some(&ann), Some(&root), &[]).await;
        assert_eq!(made.status, 201, "{engine:?}: {:?}", made.body);
        let ann_id = made.body["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ann_token = token(&w.app, "ann", "Passw0rd1x").await;
        let me = call(&w.app, "/auth:me", None, Some(&root), &[]).await;
        let root_id = me.body["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let demote = trial % 2 == 1;
        let moves = [
            (root.clone(), ann_id.clone()),
            (ann_token.clone(), root_id.clone()),
        ]
        .map(|(actor, target)| {
            let app = Arc::clone(&w.app);
            async move {
                let (path, body) = if demote {
                    (
                        format!("/users:update?id={target}"),
                        json!({"role": "user"}),
                    )
                } else {
                    ("/users:destroy".to_owned(), json!({ "id": target }))
                };
                call(&app, &path, Some(&body), Some(&actor), &[])
                    .await
                    .status
            }
        });
        let mut statuses = futures_util::future::join_all(moves).await;
        statuses.sort_unstable();
        // One move wins; the other is refused: the last admin (400), or its actor is no
        // longer an admin (403) or no longer exists (401).
        assert_eq!(statuses[0], 200, "{engine:?} trial {trial}: {statuses:?}");
        assert!(
            matches!(statuses[1], 400 | 401 | 403),
            "{engine:?}: {statuses:?}"
        );
        let mut admins = None;
        for t in [&root, &ann_token] {
            let listed = call(&w.app, "/users:list", None, Some(t), &[]).await;
            if listed.status == 200 {
                let users = listed.body["users"].as_array().cloned().unwrap_or_default();
                admins = Some(users.iter().filter(|u| u["role"] == "admin").count());
            }
        }
        assert_eq!(
            admins,
            Some(1),
            "{engine:?} trial {trial}: exactly one admin is left"
        );
        w.db.drop_database().await;
    }
}

async fn idempotency_and_names_on(engine: Engine) {
    let w = world(engine).await;
    // Logins are never replayed (their answers hold tokens) nor stored.
    let key = [("idempotency-key", "login-1")];
    let body = json!({"username": "admin", "password": "Admin12345"});
    let first = call(&w.app, "/auth:login", Some(&body), None, &key).await;
    let second = call(&w.app, "/auth:login", Some(&body), None, &key).await;
    assert_eq!((first.status, second.status), (200, 200), "{engine:?}");
    assert_ne!(first.body["access_token"], second.body["access_token"]);
    assert!(second.header("idempotent-replayed").is_none());
    // Authenticated record writes still are.
    let root = first.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let schema = json!({"name": "notes", "columns": [{"name": "text", "type": "string"}]});
    let made = call(
        &w.app,
        "/collections:create",
        Some(&schema),
        Some(&root),
        &[],
    )
    .await;
    assert_eq!(made.status, 201, "{engine:?}: {:?}", made.body);
    let note = json!({"data": {"text": "hi"}});
    let key = [("idempotency-key", "note-1")];
    let a = call(&w.app, "/notes:create", Some(&note), Some(&root), &key).await;
    let b = call(&w.app, "/notes:create", Some(&note), Some(&root), &key).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.body["data"]["id"], b.body["data"]["id"]);

    // A username no user can have is refused and not remembered; one that could exist is.
    let before = w.auth.lockout_entries();
    let huge = "u".repeat(1_000_000);
    let refused = login(&w.app, &huge, "whatever1A").await;
    assert_eq!(refused.status, 413, "{engine:?}: login bodies are small");
    let refused = login(&w.app, &"w".repeat(10_000), "whatever1A").await;
    assert_eq!(refused.status, 401, "{engine:?}");
    let refused = login(&w.app, &"v".repeat(33), "whatever1A").await;
    assert_eq!(refused.status, 401, "{engine:?}");
    assert_eq!(
        w.auth.lockout_entries(),
        before,
        "{engine:?}: nothing remembered"
    );
    assert_eq!(login(&w.app, "nobody", "whatever1A").await.status, 401);
    assert_eq!(w.auth.lockout_entries(), before + 1, "{engine:?}");

    // The HTML pages carry their security headers.
    for page in ["/docs", "/doc/"] {
        let answer = call(&w.app, page, None, None, &[]).await;
        assert_eq!(answer.status, 200, "{page}");
        let csp = answer.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{page}: {csp}"
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert!(answer.header("referrer-policy").is_some(), "{page}");
    }
    w.db.drop_database().await;
}

on_every_engine! {
    login_bursts_are_counted_before_they_are_checked => bursts_on,
    two_refreshes_with_one_token_one_wins => refresh_race_on,
    the_last_admin_survives_concurrent_removal => last_admin_on,
    idempotency_is_only_for_authenticated_writes => idempotency_and_names_on,
}
