//! End to end: no secret ever reaches the logs.

mod common;

use common::{ADMIN, Moon};
use serde_json::json;

#[tokio::test]
async fn logs_never_carry_passwords_tokens_or_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let moon = Moon::start_with(
        dir.path(),
        None,
        &[
            ("MOON_LOG", "debug"),
            ("MOON_JWT_SECRET", "jwt-secret-that-must-not-leak"),
        ],
    );
    let mut secrets = vec![
        ADMIN.1.to_owned(),
        moon.token.clone(),
        "jwt-secret-that-must-not-leak".to_owned(),
    ];
    let (status, login) = moon
        .post(
            "/auth:login",
            &json!({"username": "admin", "password": ADMIN.1}),
        )
        .await;
    assert_eq!(status, 200);
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    secrets.push(
        login["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let (_, renewed) = moon
        .post("/auth:refresh", &json!({"refresh_token": refresh}))
        .await;
    secrets.push(refresh.clone());
    secrets.push(
        renewed["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let (status, _) = moon
        .post("/auth:refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 401, "reuse");
    let (_, created) = moon
        .post(
            "/apikeys:create",
            &json!({"name": "scanner", "role": "readonly"}),
        )
        .await;
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    secrets.push(key.clone());
    let res = moon
        .http
        .get(format!("{}/collections:list", moon.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = moon
        .post(
            "/users:create",
            &json!({"username": "ada", "password": "Lovelace1815"}),
        )
        .await;
    assert_eq!(status, 201);
    secrets.push("Lovelace1815".to_owned());
    let (status, body) = moon
        .post(
            "/auth:login",
            &json!({"username": "ada", "password": "WrongPass99"}),
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        !body.to_string().contains("WrongPass99"),
        "not in error bodies either"
    );
    secrets.push("WrongPass99".to_owned());
    let status = moon.stop_and_keep_logs();
    let logs = status.1;
    assert!(
        logs.contains("request"),
        "debug logs were captured:\n{logs}"
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs"
        );
    }
}
