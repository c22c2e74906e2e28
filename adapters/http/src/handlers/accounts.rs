//! `/users:*` and `/apikeys:*` (admin): addressed with `?id=`, wrapped by kind, listed with
//! a cursor (API.md §8).

use chrono::SecondsFormat;
use moon_application::{AuthService, KeyChanges, NewUser, UserChanges};
use moon_domain::{ApiKey, Role, User};
use salvo::Request;
use salvo::http::StatusCode;
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::access::Caller;
use crate::error::ApiError;
use crate::input::{json_body, object, optional, optional_object, query_params, required};
use crate::reply::Reply;

const DEFAULT_PAGE: u32 = 50;

/// A user as the API shows it (never the password hash).
#[must_use]
pub fn user_view(user: &User) -> Json {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role.as_str(),
        "can_write": user.can_write,
        "created_at": user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "updated_at": user.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

fn key_view(key: &ApiKey) -> Json {
    json!({
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "role": key.role.as_str(),
        "can_write": key.can_write,
        "created_at": key.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "last_used_at": key.last_used_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
    })
}

fn service(state: &AppState) -> Result<&AuthService, ApiError> {
    state.auth.as_deref().ok_or_else(ApiError::not_found)
}

fn role(body: &mut Map<String, Json>) -> Result<Option<Role>, ApiError> {
    let raw: Option<String> = optional(body, "role", "", "admin, user or readonly")?;
    raw.map(|r| {
        Role::parse(&r)
            .ok_or_else(|| ApiError::invalid("role", "role must be admin, user or readonly"))
    })
    .transpose()
}

/// `(limit, after)` of an admin list.
fn page(req: &Request) -> Result<(u32, Option<String>), ApiError> {
    let params = query_params(req, &["limit", "after"])?;
    let limit = match params.get("limit") {
        None => DEFAULT_PAGE,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "limit must be a whole number from 1 to 200",
                ));
            }
        },
    };
    Ok((limit, params.get("after").map(str::to_owned)))
}

/// The `id` of the addressed item: `?id=`, or `"id"` in the body.
fn id_of(req: &Request, body: Option<&mut Map<String, Json>>) -> Result<String, ApiError> {
    if let Some(id) = req.queries().get("id") {
        return Ok(id.clone());
    }
    body.and_then(|b| b.remove("id"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::invalid("id", "give the id as ?id="))
}

pub async fn users(
    state: &AppState,
    req: &mut Request,
    caller: &Caller,
    action: crate::routes::AdminAction,
) -> Result<Reply, ApiError> {
    use crate::routes::AdminAction as A;
    let auth = service(state)?;
    match action {
        A::List => {
            let (limit, after) = page(req)?;
            let users = auth.list_users(after.as_deref(), limit).await?;
            let next = (users.len() == limit as usize)
                .then(|| users.last().map(|u| u.id.clone()))
                .flatten();
            let views: Vec<Json> = users.iter().map(user_view).collect();
            Ok(Reply::ok(&json!({ "users": views, "next_cursor": next })))
        }
        A::Get => {
            query_params(req, &["id"])?;
            let user = auth.get_user(&id_of(req, None)?).await?;
            Ok(Reply::ok(&json!({ "user": user_view(&user) })))
        }
        A::Create => {
            query_params(req, &[])?;
            let mut body = object(
                json_body(req, state.max_body_bytes).await?,
                &["username", "password", "email", "role", "can_write"],
                "",
            )?;
            let new = NewUser {
                username: required(&mut body, "username", "", "a string")?,
                password: required(&mut body, "password", "", "a string")?,
                email: optional(&mut body, "email", "", "a string")?,
                role: role(&mut body)?.unwrap_or(Role::User),
                can_write: optional(&mut body, "can_write", "", "true or false")?,
            };
            let user = auth.create_user(new).await?;
            Ok(Reply::json(
                StatusCode::CREATED,
                &json!({ "user": user_view(&user), "message": "User created" }),
            ))
        }
        A::Update => {
            query_params(req, &["id"])?;
            let mut body = object(
                json_body(req, state.max_body_bytes).await?,
                &[
                    "id",
                    "email",
                    "role",
                    "can_write",
                    "password",
                    "action",
                    "new_password",
                ],
                "",
            )?;
            let id = id_of(req, Some(&mut body))?;
            let principal = caller
                .principal
                .clone()
                .ok_or_else(|| ApiError::unauthorized("authentication required"))?;
            let action: Option<String> = optional(&mut body, "action", "", "a string")?;
            let user = match action.as_deref() {
                Some("reset_password") => {
                    let password: String = required(&mut body, "new_password", "", "a string")?;
                    auth.update_user(
                        &principal,
                        &id,
                        UserChanges {
                            password: Some(password),
                            ..UserChanges::default()
                        },
                    )
                    .await?
                }
                Some("revoke_sessions") => {
                    let user = auth.get_user(&id).await?;
                    auth.end_sessions(&id, None).await?;
                    user
                }
                Some(other) => {
                    return Err(ApiError::invalid(
                        "action",
                        format!("unknown action '{other}'; use reset_password or revoke_sessions"),
                    ));
                }
                None if body.contains_key("new_password") => {
                    return Err(ApiError::invalid(
                        "new_password",
                        "new_password goes with \"action\": \"reset_password\"",
                    ));
                }
                None => {
                    let email = match body.remove("email") {
                        None => None,
                        Some(Json::Null) => Some(None),
                        Some(Json::String(e)) => Some(Some(e)),
                        Some(_) => {
                            return Err(ApiError::invalid(
                                "email",
                                "email must be a string or null",
                            ));
                        }
                    };
                    let changes = UserChanges {
                        email,
                        role: role(&mut body)?,
                        can_write: optional(&mut body, "can_write", "", "true or false")?,
                        password: optional(&mut body, "password", "", "a string")?,
                    };
                    auth.update_user(&principal, &id, changes).await?
                }
            };
            Ok(Reply::ok(
                &json!({ "user": user_view(&user), "message": "User updated" }),
            ))
        }
        A::Destroy => {
            query_params(req, &["id"])?;
            let mut body = optional_object(req, state.max_body_bytes, &["id"]).await?;
            let id = id_of(req, body.as_mut())?;
            auth.delete_user(&id).await?;
            Ok(Reply::ok(&json!({ "message": "User deleted" })))
        }
    }
}

pub async fn apikeys(
    state: &AppState,
    req: &mut Request,
    action: crate::routes::AdminAction,
) -> Result<Reply, ApiError> {
    use crate::routes::AdminAction as A;
    let auth = service(state)?;
    match action {
        A::List => {
            let (limit, after) = page(req)?;
            let keys = auth.list_keys(after.as_deref(), limit).await?;
            let next = (keys.len() == limit as usize)
                .then(|| keys.last().map(|k| k.id.clone()))
                .flatten();
            let views: Vec<Json> = keys.iter().map(key_view).collect();
            Ok(Reply::ok(&json!({ "apikeys": views, "next_cursor": next })))
        }
        A::Get => {
            query_params(req, &["id"])?;
            let key = auth.get_key(&id_of(req, None)?).await?;
            Ok(Reply::ok(&json!({ "apikey": key_view(&key) })))
        }
        A::Create => {
            query_params(req, &[])?;
            let mut body = object(
                json_body(req, state.max_body_bytes).await?,
                &["name", "description", "role", "can_write"],
                "",
            )?;
            let name: String = required(&mut body, "name", "", "a string")?;
            let description: Option<String> = optional(&mut body, "description", "", "a string")?;
            let role = role(&mut body)?.unwrap_or(Role::User);
            let can_write: Option<bool> = optional(&mut body, "can_write", "", "true or false")?;
            let (key, secret) = auth
                .create_key(name, description.unwrap_or_default(), role, can_write)
                .await?;
            Ok(Reply::json(
                StatusCode::CREATED,
                &json!({ "apikey": key_view(&key), "key": secret, "message": "API key created; the key is shown only now" }),
            ))
        }
        A::Update => {
            query_params(req, &["id"])?;
            let mut body = object(
                json_body(req, state.max_body_bytes).await?,
                &["id", "name", "description", "role", "can_write", "action"],
                "",
            )?;
            let id = id_of(req, Some(&mut body))?;
            let action: Option<String> = optional(&mut body, "action", "", "a string")?;
            match action.as_deref() {
                Some("rotate") => {
                    let (key, secret) = auth.rotate_key(&id).await?;
                    Ok(Reply::ok(
                        &json!({ "apikey": key_view(&key), "key": secret, "message": "API key rotated" }),
                    ))
                }
                Some(other) => Err(ApiError::invalid(
                    "action",
                    format!("unknown action '{other}'; use rotate"),
                )),
                None => {
                    let changes = KeyChanges {
                        name: optional(&mut body, "name", "", "a string")?,
                        description: optional(&mut body, "description", "", "a string")?,
                        role: role(&mut body)?,
                        can_write: optional(&mut body, "can_write", "", "true or false")?,
                    };
                    let key = auth.update_key(&id, changes).await?;
                    Ok(Reply::ok(
                        &json!({ "apikey": key_view(&key), "message": "API key updated" }),
                    ))
                }
            }
        }
        A::Destroy => {
            query_params(req, &["id"])?;
            let mut body = optional_object(req, state.max_body_bytes, &["id"]).await?;
            let id = id_of(req, body.as_mut())?;
            auth.delete_key(&id).await?;
            Ok(Reply::ok(&json!({ "message": "API key deleted" })))
        }
    }
}
