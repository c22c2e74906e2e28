//! The operations on accounts: `/auth:*`, `/users:*` and `/apikeys:*`.

use serde_json::json;

use super::op::{Op, by_id, made, object, op};
use crate::docs::openapi::reference;
use crate::docs::openapi::shapes::{or_null, password, text};
use crate::routes::{AdminAction, AuthAction};

pub(super) fn auth(action: AuthAction, method: &str) -> Op {
    let secret = text(1000);
    match (action, method) {
        (AuthAction::Login, _) => op("Log in", "200", reference("TokenPair"))
            .body(object(json!({"username": text(100), "password": text(1000)}), &["username", "password"]))
            .errors(&["401", "429", "503"]),
        (AuthAction::Refresh, _) => op("Trade a refresh token for a new pair", "200", reference("TokenPair"))
            .body(object(json!({"refresh_token": secret}), &["refresh_token"]))
            .errors(&["401", "429", "503"]),
        (AuthAction::Logout, _) => op("End the session of a refresh token", "200", reference("Message"))
            .body(object(json!({"refresh_token": secret}), &["refresh_token"])),
        (AuthAction::Me, "get") => op("The caller", "200", reference("UserAnswer")),
        (AuthAction::Me, _) => op("Change the caller's email or password", "200", reference("UserAnswer"))
            .body(json!({"oneOf": [
                object(json!({"email": {"type": ["string", "null"], "format": "email", "maxLength": 255}}), &["email"]),
                object(json!({"old_password": text(1000), "password": password()}), &["old_password", "password"])]}))
            .errors(&["409"]),
    }
}

pub(super) fn users(action: AdminAction) -> Op {
    let role = or_null(json!({"type": "string", "enum": ["admin", "user", "readonly"]}));
    let username = json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,32}$"});
    let password = password();
    let email = json!({"type": ["string", "null"], "format": "email", "maxLength": 255});
    let can_write = or_null(json!({"type": "boolean"}));
    match action {
        AdminAction::List => op("Users", "200", reference("UserList")).paged(),
        AdminAction::Get => by_id(op("One user", "200", reference("UserAnswer")), "user"),
        AdminAction::Create => op("Create a user", "201", reference("UserAnswer"))
            .body(object(json!({"username": username, "password": password, "email": email, "role": role, "can_write": can_write}), &["username", "password"]))
            .errors(&["409"])
            .links(made("users", "id", "/user/id")),
        AdminAction::Update => by_id(op("Change a user, reset their password or end their sessions", "200", reference("UserAnswer")), "user")
            .body(json!({"oneOf": [
                json!({"type": "object", "additionalProperties": false,
                    "properties": {"email": email, "role": role, "can_write": can_write, "password": password, "action": {"type": "null"}}}),
                object(json!({"action": {"const": "reset_password"}, "new_password": password}), &["action", "new_password"]),
                object(json!({"action": {"const": "revoke_sessions"}}), &["action"])]}))
            .errors(&["409"]),
        AdminAction::Destroy => by_id(op("Delete a user", "200", reference("Message")), "user"),
    }
}

pub(super) fn api_keys(action: AdminAction) -> Op {
    let role = or_null(json!({"type": "string", "enum": ["admin", "user", "readonly"]}));
    let name =
        json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000]+$"});
    let about = or_null(json!({"type": "string", "pattern": "^[^\\u0000]*$"}));
    let can_write = or_null(json!({"type": "boolean"}));
    match action {
        AdminAction::List => op("API keys", "200", reference("ApiKeyList")).paged(),
        AdminAction::Get => by_id(op("One API key", "200", reference("ApiKeyAnswer")), "key"),
        AdminAction::Create => op("Create an API key (shown once)", "201", reference("ApiKeyAnswer"))
            .body(object(json!({"name": name, "description": about, "role": role, "can_write": can_write}), &["name"]))
            .links(made("apikeys", "id", "/apikey/id")),
        AdminAction::Update => by_id(op("Change an API key's metadata or rotate it", "200", reference("ApiKeyAnswer")), "key")
            .body(json!({"oneOf": [
                json!({"type": "object", "additionalProperties": false,
                    "properties": {"name": name, "description": about, "role": role, "can_write": can_write, "action": {"type": "null"}}}),
                object(json!({"action": {"const": "rotate"}}), &["action"])]})),
        AdminAction::Destroy => by_id(op("Delete an API key", "200", reference("Message")), "key"),
    }
}
