//! Rows of the account tables to domain values and back, in the column order of `tables`.

use moon_domain::{ApiKey, FieldType, RepoError, Role, Session, User, Value};
use sea_orm::QueryResult;
use sea_query::{Expr, SimpleExpr};

use crate::dialect::{Backend, get};
use crate::error::internal;

pub(super) fn user_from(b: Backend, row: &QueryResult) -> Result<User, RepoError> {
    Ok(User {
        id: get::<String>(row, 0)?.unwrap_or_default(),
        username: get::<String>(row, 1)?.unwrap_or_default(),
        email: get::<String>(row, 2)?,
        role: role(get::<String>(row, 3)?)?,
        can_write: get::<bool>(row, 4)?.unwrap_or(false),
        password_hash: get::<String>(row, 5)?.unwrap_or_default(),
        created_at: b.decode_datetime(row, 6)?.unwrap_or_default(),
        updated_at: b.decode_datetime(row, 7)?.unwrap_or_default(),
    })
}

pub(super) fn user_values(b: Backend, user: &User) -> Vec<SimpleExpr> {
    vec![
        user.id.clone().into(),
        user.username.clone().into(),
        user.email.clone().into(),
        user.role.as_str().into(),
        user.can_write.into(),
        user.password_hash.clone().into(),
        Expr::val(b.bind_datetime(&user.created_at)),
        Expr::val(b.bind_datetime(&user.updated_at)),
    ]
}

pub(super) fn session_from(b: Backend, row: &QueryResult) -> Result<Session, RepoError> {
    Ok(Session {
        id: get::<String>(row, 0)?.unwrap_or_default(),
        user_id: get::<String>(row, 1)?.unwrap_or_default(),
        refresh_hash: get::<String>(row, 2)?.unwrap_or_default(),
        expires_at: b.decode_datetime(row, 3)?.unwrap_or_default(),
        revoked: get::<bool>(row, 4)?.unwrap_or(true),
    })
}

pub(super) fn session_values(b: Backend, session: &Session) -> Vec<SimpleExpr> {
    vec![
        session.id.clone().into(),
        session.user_id.clone().into(),
        session.refresh_hash.clone().into(),
        Expr::val(b.bind_datetime(&session.expires_at)),
        session.revoked.into(),
    ]
}

pub(super) fn key_from(b: Backend, row: &QueryResult) -> Result<ApiKey, RepoError> {
    Ok(ApiKey {
        id: get::<String>(row, 0)?.unwrap_or_default(),
        name: get::<String>(row, 1)?.unwrap_or_default(),
        description: get::<String>(row, 2)?.unwrap_or_default(),
        role: role(get::<String>(row, 3)?)?,
        can_write: get::<bool>(row, 4)?.unwrap_or(false),
        key_hash: get::<String>(row, 5)?.unwrap_or_default(),
        created_at: b.decode_datetime(row, 6)?.unwrap_or_default(),
        last_used_at: b.decode_datetime(row, 7)?,
    })
}

pub(super) fn key_values(b: Backend, key: &ApiKey) -> Vec<SimpleExpr> {
    vec![
        key.id.clone().into(),
        key.name.clone().into(),
        key.description.clone().into(),
        key.role.as_str().into(),
        key.can_write.into(),
        key.key_hash.clone().into(),
        Expr::val(b.bind_datetime(&key.created_at)),
        Expr::val(key.last_used_at.map_or_else(
            || b.bind(&Value::Null, FieldType::Datetime),
            |t| b.bind_datetime(&t),
        )),
    ]
}

fn role(raw: Option<String>) -> Result<Role, RepoError> {
    let raw = raw.unwrap_or_default();
    Role::parse(&raw).ok_or_else(|| internal(format!("unknown role '{raw}'")))
}
