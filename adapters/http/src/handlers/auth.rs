//! `/auth:login|refresh|logout|me`.

use chrono::SecondsFormat;
use moon_application::{AppError, TokenPair};
use moon_domain::Principal;
use salvo::Request;
use serde_json::{Value as Json, json};

use crate::AppState;
use crate::access::Caller;
use crate::error::ApiError;
use crate::handlers::accounts::user_view;
use crate::input::{json_body, object, optional, query_params, required};
use crate::reply::Reply;

fn auth_service(state: &AppState) -> Result<&moon_application::AuthService, ApiError> {
    state.auth.as_deref().ok_or_else(ApiError::not_found)
}

fn pair_view(pair: &TokenPair) -> Json {
    json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_at": pair.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "user": {
            "id": pair.user.id,
            "username": pair.user.username,
            "email": pair.user.email,
            "role": pair.user.role.as_str(),
            "can_write": pair.user.can_write,
        },
    })
}

pub async fn login(state: &AppState, req: &mut Request) -> Result<Reply, ApiError> {
    let auth = auth_service(state)?;
    query_params(req, &[])?;
    let ip = req.remote_addr().to_string();
    let ip = ip
        .rsplit_once(':')
        .map_or(ip.as_str(), |(host, _)| host)
        .to_owned();
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &["username", "password"],
        "",
    )?;
    let username: String = required(&mut body, "username", "", "a string")?;
    let password: String = required(&mut body, "password", "", "a string")?;
    let pair = auth.login(&username, &password, &ip).await?;
    Ok(Reply::ok(&pair_view(&pair)))
}

pub async fn refresh(state: &AppState, req: &mut Request) -> Result<Reply, ApiError> {
    let auth = auth_service(state)?;
    query_params(req, &[])?;
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &["refresh_token"],
        "",
    )?;
    let token: String = required(&mut body, "refresh_token", "", "a string")?;
    let pair = auth.refresh(&token).await?;
    Ok(Reply::ok(&pair_view(&pair)))
}

fn principal(caller: &Caller) -> Result<&Principal, ApiError> {
    caller
        .principal
        .as_ref()
        .ok_or_else(|| ApiError::unauthorized("authentication required"))
}

pub async fn logout(
    state: &AppState,
    req: &mut Request,
    caller: &Caller,
) -> Result<Reply, ApiError> {
    let auth = auth_service(state)?;
    query_params(req, &[])?;
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &["refresh_token"],
        "",
    )?;
    let token: String = required(&mut body, "refresh_token", "", "a string")?;
    auth.logout(principal(caller)?, &token).await?;
    Ok(Reply::ok(&json!({ "message": "Logged out" })))
}

pub async fn me(state: &AppState, req: &mut Request, caller: &Caller) -> Result<Reply, ApiError> {
    let auth = auth_service(state)?;
    query_params(req, &[])?;
    let principal = principal(caller)?;
    let Principal::User { user, .. } = principal else {
        return Err(AppError::Forbidden("auth:me is for users, not API keys".to_owned()).into());
    };
    if req.method() != salvo::http::Method::POST {
        let current = auth.get_user(&user.id).await?;
        return Ok(Reply::ok(&json!({ "user": user_view(&current) })));
    }
    let mut body = object(
        json_body(req, state.max_body_bytes).await?,
        &["email", "old_password", "password"],
        "",
    )?;
    let email = match body.remove("email") {
        None => None,
        Some(Json::Null) => Some(None),
        Some(Json::String(e)) => Some(Some(e)),
        Some(_) => return Err(ApiError::invalid("email", "email must be a string or null")),
    };
    let old: Option<String> = optional(&mut body, "old_password", "", "a string")?;
    let new: Option<String> = optional(&mut body, "password", "", "a string")?;
    let password = match (old, new) {
        (Some(old), Some(new)) => Some((old, new)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "old_password",
                "a password change needs old_password and password",
            ));
        }
    };
    if email.is_none() && password.is_none() {
        return Err(ApiError::invalid(
            "email",
            "give email, or old_password and password",
        ));
    }
    let updated = auth.update_me(principal, email, password).await?;
    Ok(Reply::ok(
        &json!({ "user": user_view(&updated), "message": "Account updated" }),
    ))
}
