//! Authentication and access over HTTP (SQLite, in-process): the permission matrix, token
//! attacks, session rules, rate limits and the login lock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use moon_application::{AuthPolicy, AuthService};
use moon_domain::AccessClaims;
use moon_domain::ports::{Clock, TokenIssuer};
use moon_security::{Argon2Hasher, JwtIssuer};
use moon_sql::{PoolOptions, SqlAuthRepository, SqlDatabase};
use moon_tests::engines::{Engine, TestDatabase};
use moon_tests::{Answer, BASE, sql_app_secured};
use salvo::Service;
use salvo::test::{ResponseExt, TestClient};
use serde_json::{Value as Json, json};

const SECRET: &[u8] = b"test-secret-for-moon-auth-tests";

/// A clock the test moves by hand.
struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_default()
    }
}

struct World {
    app: Service,
    auth: Arc<AuthService>,
    clock: Arc<ManualClock>,
    _db: TestDatabase,
}

impl World {
    /// Drops the test database (PostgreSQL, MySQL; SQLite's directory goes on its own).
    async fn finish(self) {
        self._db.drop_database().await;
    }
}

async fn world(per_user: u32, per_key: u32) -> World {
    world_on(Engine::Sqlite, per_user, per_key).await
}

async fn world_on(engine: Engine, per_user: u32, per_key: u32) -> World {
    let test_db = TestDatabase::create(engine).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = SqlAuthRepository::open(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock(Mutex::new(Utc::now())));
    let tokens = JwtIssuer::new(SECRET).unwrap_or_else(|e| panic!("{e}"));
    let auth = Arc::new(AuthService::new(
        Arc::new(repo),
        Arc::new(Argon2Hasher::fast_for_tests()),
        Arc::new(tokens),
        clock.clone(),
        AuthPolicy::default(),
    ));
    auth.bootstrap_admin("admin", "Admin12345")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = sql_app_secured(
        &db,
        vec![],
        Some(auth.clone()),
        moon_http::RateLimiter::new(per_user, per_key),
    )
    .await;
    World {
        app,
        auth,
        clock,
        _db: test_db,
    }
}

async fn call(
    app: &Service,
    method: &str,
    path: &str,
    body: Option<&Json>,
    token: Option<&str>,
) -> Answer {
    let url = format!("{BASE}{path}");
    let mut request = if method == "GET" {
        TestClient::get(url)
    } else {
        TestClient::post(url)
    };
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token.to_owned());
    }
    let mut res = request.send(app).await;
    let status = res.status_code.map_or(200, |s| s.as_u16());
    let headers = res.headers().clone();
    let text = res.take_string().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Json::Null),
        headers,
    }
}

async fn login(app: &Service, username: &str, password: &str) -> Answer {
    call(
        app,
        "POST",
        "/auth:login",
        Some(&json!({"username": username, "password": password})),
        None,
    )
    .await
}

async fn token(app: &Service, username: &str, password: &str) -> String {
    let answer = login(app, username, password).await;
    assert_eq!(answer.status, 200, "login {username}: {:?}", answer.body);
    answer.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn make_user(
    app: &Service,
    admin: &str,
    username: &str,
    role: &str,
    can_write: bool,
) -> String {
    let body = json!({"username": username, "password": "Passw0rdX", "role": role, "can_write": can_write});
    let created = call(app, "POST", "/users:create", Some(&body), Some(admin)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    token(app, username, "Passw0rdX").await
}

async fn make_key(app: &Service, admin: &str, role: &str) -> (String, String) {
    let created = call(
        app,
        "POST",
        "/apikeys:create",
        Some(&json!({"name": format!("{role} key"), "role": role})),
        Some(admin),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let key = created.body["key"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with("moon_live_") && key.len() == 74, "{key}");
    (
        key,
        created.body["apikey"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A caller and the statuses it must get: read, admin-only, record write, auth:me.
type Expectation<'a> = (&'a str, Option<&'a str>, u16, u16, u16, u16);

async fn role_table_on(engine: Engine) {
    let w = world_on(engine, 0, 0).await;
    let admin = token(&w.app, "admin", "Admin12345").await;
    let setup = call(
        &w.app,
        "POST",
        "/collections:create",
        Some(&json!({"name": "items", "columns": [{"name": "title", "type": "string"}]})),
        Some(&admin),
    )
    .await;
    assert_eq!(setup.status, 201);
    let readonly = make_user(&w.app, &admin, "reader", "readonly", false).await;
    let no_write = make_user(&w.app, &admin, "viewer", "user", false).await;
    let writer = make_user(&w.app, &admin, "writer", "user", true).await;
    let (key_ro, _) = make_key(&w.app, &admin, "readonly").await;
    let (key_user, _) = make_key(&w.app, &admin, "user").await;
    let (key_admin, _) = make_key(&w.app, &admin, "admin").await;
    let expired = JwtIssuer::new(SECRET)
        .and_then(|i| {
            i.issue(&AccessClaims {
                user_id: "x".into(),
                session_id: "y".into(),
                expires_at: 1_000,
            })
        })
        .unwrap_or_default();

    // caller → (read, admin-only, record write, auth:me)
    let callers: Vec<Expectation<'_>> = vec![
        ("no token", None, 401, 401, 401, 401),
        ("bad token", Some("garbage"), 401, 401, 401, 401),
        ("expired", Some(&expired), 401, 401, 401, 401),
        ("readonly", Some(&readonly), 200, 403, 403, 200),
        (
            "user without can_write",
            Some(&no_write),
            200,
            403,
            403,
            200,
        ),
        ("user", Some(&writer), 200, 403, 201, 200),
        ("readonly key", Some(&key_ro), 200, 403, 403, 403),
        ("user key", Some(&key_user), 200, 403, 201, 403),
        ("admin key", Some(&key_admin), 200, 200, 201, 403),
        ("admin", Some(&admin), 200, 200, 201, 200),
    ];
    for (who, token, read, admin_only, write, me) in callers {
        assert_eq!(
            call(&w.app, "GET", "/health", None, token).await.status,
            200,
            "{who}: health is public"
        );
        for path in [
            "/collections:list",
            "/items:list",
            "/items:schema",
            "/items:count",
            "/collections:get?name=items",
        ] {
            assert_eq!(
                call(&w.app, "GET", path, None, token).await.status,
                read,
                "{who} GET {path}"
            );
        }
        for path in ["/users:list", "/apikeys:list"] {
            assert_eq!(
                call(&w.app, "GET", path, None, token).await.status,
                admin_only,
                "{who} GET {path}"
            );
        }
        let schema_write = call(
            &w.app,
            "POST",
            "/collections:update?dry_run=true",
            Some(&json!({"name": "items", "add_columns": [{"name": "note", "type": "string"}]})),
            token,
        )
        .await;
        assert_eq!(schema_write.status, admin_only, "{who} collections:update");
        let created = call(
            &w.app,
            "POST",
            "/items:create",
            Some(&json!({"data": {"title": who}})),
            token,
        )
        .await;
        assert_eq!(
            created.status, write,
            "{who} items:create {:?}",
            created.body
        );
        assert_eq!(
            call(&w.app, "GET", "/auth:me", None, token).await.status,
            me,
            "{who} auth:me"
        );
        let missing = call(&w.app, "GET", "/ghosts:list", None, token)
            .await
            .status;
        assert_eq!(
            missing,
            if read == 200 { 404 } else { 401 },
            "{who}: 401 before 404"
        );
    }
    assert_eq!(login(&w.app, "admin", "wrong").await.code(), "UNAUTHORIZED");
    assert_eq!(
        login(&w.app, "nobody", "wrong").await.body["error"],
        login(&w.app, "admin", "wrong").await.body["error"],
        "same message either way"
    );
    w.finish().await;
}

async fn attacks_on(engine: Engine) {
    let w = world_on(engine, 0, 0).await;
    let admin = token(&w.app, "admin", "Admin12345").await;
    let me = |t: String| {
        let app = &w.app;
        async move {
            call(app, "GET", "/collections:list", None, Some(&t))
                .await
                .status
        }
    };
    // alg:none and a token signed with another secret.
    let payload = admin.split('.').nth(1).unwrap_or_default().to_owned();
    assert_eq!(
        me(format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")).await,
        401
    );
    let other = JwtIssuer::new(b"another-secret")
        .and_then(|i| {
            i.issue(&AccessClaims {
                user_id: "u".into(),
                session_id: "s".into(),
                expires_at: 4_000_000_000,
            })
        })
        .unwrap_or_default();
    assert_eq!(me(other).await, 401);
    // Modified claims (signature no longer matches).
    let mut parts: Vec<String> = admin.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert_eq!(me(parts.join(".")).await, 401);

    // Refresh tokens work once; reuse ends the session, access token included.
    let first = login(&w.app, "admin", "Admin12345").await;
    let (access, refresh) = (
        first.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        first.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let renewed = call(
        &w.app,
        "POST",
        "/auth:refresh",
        Some(&json!({"refresh_token": refresh})),
        None,
    )
    .await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    let new_access = renewed.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let new_refresh = renewed.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(me(new_access.clone()).await, 200);
    let reused = call(
        &w.app,
        "POST",
        "/auth:refresh",
        Some(&json!({"refresh_token": refresh})),
        None,
    )
    .await;
    assert_eq!(reused.status, 401);
    assert_eq!(me(new_access).await, 401, "reuse revoked the whole session");
    assert_eq!(me(access).await, 401);
    assert_eq!(
        call(
            &w.app,
            "POST",
            "/auth:refresh",
            Some(&json!({"refresh_token": new_refresh})),
            None
        )
        .await
        .status,
        401
    );

    // Logout ends that session at once.
    let session = login(&w.app, "admin", "Admin12345").await;
    let (access, refresh) = (
        session.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        session.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    assert_eq!(
        call(
            &w.app,
            "POST",
            "/auth:logout",
            Some(&json!({"refresh_token": refresh})),
            Some(&access)
        )
        .await
        .status,
        200
    );
    assert_eq!(me(access).await, 401);

    // A rotated key stops working at once; the new one works.
    let (key, id) = make_key(&w.app, &admin, "user").await;
    assert_eq!(me(key.clone()).await, 200);
    let rotated = call(
        &w.app,
        "POST",
        &format!("/apikeys:update?id={id}"),
        Some(&json!({"action": "rotate"})),
        Some(&admin),
    )
    .await;
    assert_eq!(rotated.status, 200);
    assert_eq!(me(key).await, 401);
    assert_eq!(
        me(rotated.body["key"].as_str().unwrap_or_default().to_owned()).await,
        200
    );

    // A deleted user's token, a demoted user's rights, a changed password.
    let temp = make_user(&w.app, &admin, "temp", "user", true).await;
    let user_id = call(&w.app, "GET", "/auth:me", None, Some(&temp))
        .await
        .body["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let demoted = call(
        &w.app,
        "POST",
        &format!("/users:update?id={user_id}"),
        Some(&json!({"role": "readonly"})),
        Some(&admin),
    )
    .await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    let write = call(
        &w.app,
        "POST",
        "/collections:create",
        Some(&json!({"name": "nope", "columns": [{"name": "title", "type": "string"}]})),
        Some(&temp),
    )
    .await;
    assert_eq!(write.status, 403);
    assert_eq!(
        call(
            &w.app,
            "POST",
            &format!("/users:destroy?id={user_id}"),
            None,
            Some(&admin)
        )
        .await
        .status,
        200
    );
    assert_eq!(me(temp).await, 401);

    let other_session = token(&w.app, "admin", "Admin12345").await;
    let changed = call(
        &w.app,
        "POST",
        "/auth:me",
        Some(&json!({"old_password": "Admin12345", "password": "Admin67890"})),
        Some(&admin),
    )
    .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(
        me(other_session).await,
        401,
        "a password change ends every other session"
    );
    assert_eq!(me(admin.clone()).await, 200, "but not the caller's own");
    let wrong_old = call(
        &w.app,
        "POST",
        "/auth:me",
        Some(&json!({"old_password": "nope", "password": "Admin67890"})),
        Some(&admin),
    )
    .await;
    assert_eq!(
        (wrong_old.status, wrong_old.code()),
        (400, "VALIDATION_ERROR")
    );
    w.finish().await;
}

#[tokio::test]
async fn admin_rules_hold() {
    let w = world(0, 0).await;
    let admin = token(&w.app, "admin", "Admin12345").await;
    let me_id = call(&w.app, "GET", "/auth:me", None, Some(&admin))
        .await
        .body["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let own_role = call(
        &w.app,
        "POST",
        &format!("/users:update?id={me_id}"),
        Some(&json!({"role": "user"})),
        Some(&admin),
    )
    .await;
    assert_eq!(
        (own_role.status, own_role.code()),
        (400, "VALIDATION_ERROR")
    );
    let last = call(
        &w.app,
        "POST",
        &format!("/users:destroy?id={me_id}"),
        None,
        Some(&admin),
    )
    .await;
    assert_eq!((last.status, last.code()), (400, "VALIDATION_ERROR"));
    let weak = call(
        &w.app,
        "POST",
        "/users:create",
        Some(&json!({"username": "weak", "password": "password"})),
        Some(&admin),
    )
    .await;
    assert_eq!(
        (weak.status, weak.body["details"]["field"].as_str()),
        (400, Some("password"))
    );
    let dup = call(
        &w.app,
        "POST",
        "/users:create",
        Some(&json!({"username": "admin", "password": "Passw0rdX"})),
        Some(&admin),
    )
    .await;
    assert_eq!((dup.status, dup.code()), (409, "DUPLICATE_VALUE"));
    let list = call(&w.app, "GET", "/users:list", None, Some(&admin)).await;
    assert_eq!(list.body["users"].as_array().map(Vec::len), Some(1));
    assert!(list.body["users"][0].get("password_hash").is_none());
    let unknown = call(&w.app, "GET", "/users:get?id=nope", None, Some(&admin)).await;
    assert_eq!((unknown.status, unknown.code()), (404, "NOT_FOUND"));
    // API key use is recorded in the background, not on the request path.
    let (key, id) = make_key(&w.app, &admin, "readonly").await;
    let fresh = call(
        &w.app,
        "GET",
        &format!("/apikeys:get?id={id}"),
        None,
        Some(&admin),
    )
    .await;
    assert_eq!(fresh.body["apikey"]["last_used_at"], Json::Null);
    assert_eq!(
        call(&w.app, "GET", "/collections:list", None, Some(&key))
            .await
            .status,
        200
    );
    w.auth.flush_key_usage().await;
    let used = call(
        &w.app,
        "GET",
        &format!("/apikeys:get?id={id}"),
        None,
        Some(&admin),
    )
    .await;
    assert!(
        used.body["apikey"]["last_used_at"].is_string(),
        "{:?}",
        used.body
    );
    assert!(
        used.body["apikey"].get("key").is_none() && used.body["apikey"].get("key_hash").is_none()
    );
}

#[tokio::test]
async fn rate_limits_send_headers_and_429_with_retry_after() {
    let w = world(3, 0).await;
    let admin = token(&w.app, "admin", "Admin12345").await;
    // The window is the wall-clock minute: if one turns over mid-test, start again.
    let limited = loop {
        let mut resets = Vec::new();
        for remaining in ["2", "1", "0"] {
            let ok = call(&w.app, "GET", "/collections:list", None, Some(&admin)).await;
            assert_eq!(ok.status, 200);
            resets.push(
                ok.header("x-ratelimit-reset")
                    .and_then(|r| r.parse::<u64>().ok()),
            );
            if resets[0] == resets[resets.len() - 1] {
                assert_eq!(
                    (
                        ok.header("x-ratelimit-limit"),
                        ok.header("x-ratelimit-remaining")
                    ),
                    (Some("3"), Some(remaining))
                );
            }
        }
        let limited = call(&w.app, "GET", "/collections:list", None, Some(&admin)).await;
        let reset = limited
            .header("x-ratelimit-reset")
            .and_then(|r| r.parse::<u64>().ok());
        if resets.iter().all(|r| *r == reset) {
            break limited;
        }
        tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    };
    assert_eq!(
        (limited.status, limited.code()),
        (429, "RATE_LIMIT_EXCEEDED")
    );
    assert!(
        limited
            .header("retry-after")
            .and_then(|r| r.parse::<u64>().ok())
            .is_some_and(|s| (1..=60).contains(&s))
    );
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        call(&w.app, "GET", "/health", None, None).await.status,
        200,
        "public routes are not counted"
    );
}

#[tokio::test]
async fn repeated_login_failures_lock_the_pair_until_the_window_passes() {
    let w = world(0, 0).await;
    for _ in 0..5 {
        assert_eq!(login(&w.app, "admin", "wrong").await.status, 401);
    }
    let locked = login(&w.app, "admin", "Admin12345").await;
    assert_eq!(
        (locked.status, locked.code()),
        (429, "RATE_LIMIT_EXCEEDED"),
        "even the right password"
    );
    assert!(locked.header("retry-after").is_some());
    for _ in 0..5 {
        assert_eq!(login(&w.app, "ghost", "wrong").await.status, 401);
    }
    assert_eq!(
        login(&w.app, "ghost", "wrong").await.status,
        429,
        "unknown usernames are counted too"
    );
    if let Ok(mut now) = w.clock.0.lock() {
        *now += chrono::Duration::minutes(16);
    }
    assert_eq!(
        login(&w.app, "admin", "Admin12345").await.status,
        200,
        "the lock ends with its window"
    );
}

/// NUL cannot be stored by PostgreSQL: every engine refuses it in account fields with the
/// same 400 (API.md §2), and a login with it is an ordinary 401.
async fn nul_in_accounts_on(engine: Engine) {
    let w = world_on(engine, 0, 0).await;
    let admin = token(&w.app, "admin", "Admin12345").await;
    let cases = [
        (
            "/users:create",
            json!({"username": "ada", "password": "Lovelace1815", "email": "a\u{0}@x.io"}),
            "email",
        ),
        (
            "/apikeys:create",
            json!({"name": "k\u{0}ey", "role": "user"}),
            "name",
        ),
        (
            "/apikeys:create",
            json!({"name": "key", "description": "d\u{0}", "role": "user"}),
            "description",
        ),
    ];
    for (path, body, field) in cases {
        let answer = call(&w.app, "POST", path, Some(&body), Some(&admin)).await;
        assert_eq!(
            (answer.status, answer.body["details"]["field"].as_str()),
            (400, Some(field)),
            "{engine:?} {path}: {:?}",
            answer.body
        );
    }
    let nul_login = login(&w.app, "ad\u{0}min", "Admin12345").await;
    assert_eq!(nul_login.status, 401, "{engine:?} {:?}", nul_login.body);
    // A refresh token that is no token of ours is 401, whatever it holds (schemathesis found
    // PostgreSQL answering 500 to NUL in one).
    for token in [
        "\u{0}",
        "\u{0}.x",
        "01M8RX5K6P\u{0}.secret",
        "not-a-session.secret",
    ] {
        let body = json!({"refresh_token": token});
        for path in ["/auth:refresh", "/auth:logout"] {
            let answer = call(&w.app, "POST", path, Some(&body), Some(&admin)).await;
            assert_eq!(
                answer.status, 401,
                "{engine:?} {path} {token:?}: {:?}",
                answer.body
            );
        }
    }
    let users = call(&w.app, "GET", "/users:list", None, Some(&admin)).await;
    assert_eq!(
        users.body["users"].as_array().map(Vec::len),
        Some(1),
        "nothing stored"
    );
    w.finish().await;
}

moon_tests::on_every_engine! {
    every_route_answers_each_caller_as_the_role_table_says => role_table_on,
    forged_stale_and_ended_credentials_are_401 => attacks_on,
    nul_in_account_fields_is_400 => nul_in_accounts_on,
}

#[tokio::test]
async fn a_weak_configured_admin_password_is_taken_with_a_warning_not_refused() {
    let test_db = TestDatabase::create(Engine::Sqlite).await;
    let db = SqlDatabase::connect(&test_db.url, PoolOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = SqlAuthRepository::open(db.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = Arc::new(AuthService::new(
        Arc::new(repo),
        Arc::new(Argon2Hasher::fast_for_tests()),
        Arc::new(JwtIssuer::new(SECRET).unwrap_or_else(|e| panic!("{e}"))),
        Arc::new(ManualClock(Mutex::new(Utc::now()))),
        AuthPolicy::default(),
    ));
    let admin = auth
        .bootstrap_admin("root", "admin123")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(admin.map(|u| u.username), Some("root".to_owned()));
    assert!(
        auth.bootstrap_admin("other", "Admin12345")
            .await
            .ok()
            .flatten()
            .is_none(),
        "only when there are no users"
    );
    assert!(
        auth.bootstrap_admin("root", "").await.is_ok(),
        "a no-op once users exist"
    );
    let app = sql_app_secured(&db, vec![], Some(auth), moon_http::RateLimiter::new(0, 0)).await;
    assert_eq!(login(&app, "root", "admin123").await.status, 200);
    // Users created through the API still follow the password rules.
    let token = token(&app, "root", "admin123").await;
    let weak = call(
        &app,
        "POST",
        "/users:create",
        Some(&json!({"username": "ada", "password": "admin123"})),
        Some(&token),
    )
    .await;
    assert_eq!(weak.status, 400);
}
