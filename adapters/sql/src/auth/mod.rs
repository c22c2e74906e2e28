//! `AuthRepository` over SQL: `moon_users`, `moon_sessions`, `moon_apikeys` and
//! `moon_settings`, created at start-up, never reachable through the collection routes.

mod access;
mod codec;
mod tables;

use async_trait::async_trait;
use moon_domain::ports::{AuthRepository, UserRemoval};
use moon_domain::{ApiKey, RepoError, Role, Session, User};
use sea_orm::ConnectionTrait;
use sea_query::{Expr, ExprTrait, Func, Query};

use crate::auth_guards;
use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::{classify, internal};
use crate::system_table::ident as a;
use access::update_statement;
use tables::{KEY_COLUMNS, KEYS, SESSION_COLUMNS, SESSIONS, SETTINGS, USER_COLUMNS, USERS};

/// Users, sessions, keys and settings on a SQL database.
#[derive(Debug, Clone)]
pub struct SqlAuthRepository {
    db: SqlDatabase,
}

impl SqlAuthRepository {
    /// The repository, creating its tables when missing.
    ///
    /// # Errors
    /// [`RepoError`] when a table cannot be created.
    pub async fn open(db: SqlDatabase) -> Result<Self, RepoError> {
        for table in &tables::create_statements(db.backend) {
            db.writer.execute(table).await.map_err(|e| classify(&e))?;
        }
        Ok(Self { db })
    }

    const fn backend(&self) -> Backend {
        self.db.backend
    }
}

#[async_trait]
impl AuthRepository for SqlAuthRepository {
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, RepoError> {
        let rows = self
            .rows(USERS, &USER_COLUMNS, None, after, Some(limit))
            .await?;
        rows.iter()
            .map(|r| codec::user_from(self.backend(), r))
            .collect()
    }

    async fn user(&self, id: &str) -> Result<Option<User>, RepoError> {
        let row = self.row_where(USERS, &USER_COLUMNS, "id", id).await?;
        row.as_ref()
            .map(|r| codec::user_from(self.backend(), r))
            .transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>, RepoError> {
        let row = self
            .row_where(USERS, &USER_COLUMNS, "username", username)
            .await?;
        row.as_ref()
            .map(|r| codec::user_from(self.backend(), r))
            .transpose()
    }

    async fn count_role(&self, role: Role) -> Result<u64, RepoError> {
        let select = Query::select()
            .expr(Func::count(Expr::cust("*")))
            .from(a(USERS))
            .and_where(Expr::col(a("role")).eq(role.as_str()))
            .to_owned();
        let row = self
            .db
            .writer
            .query_one(&select)
            .await
            .map_err(|e| classify(&e))?;
        let n = row
            .map(|r| get::<i64>(&r, 0))
            .transpose()?
            .flatten()
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn save_user(&self, user: &User, insert: bool) -> Result<(), RepoError> {
        let values = codec::user_values(self.backend(), user);
        self.upsert(USERS, &USER_COLUMNS, values, insert).await
    }

    async fn save_user_keeping_an_admin(&self, user: &User) -> Result<bool, RepoError> {
        let values = codec::user_values(self.backend(), user);
        let update = update_statement(USERS, &USER_COLUMNS, values)?;
        auth_guards::update_keeping_an_admin(&self.db, USERS, user, &update).await
    }

    async fn delete_user_keeping_an_admin(&self, id: &str) -> Result<UserRemoval, RepoError> {
        auth_guards::delete_user_keeping_an_admin(&self.db, USERS, SESSIONS, id).await
    }

    async fn rotate_refresh(
        &self,
        session_id: &str,
        expected: &str,
        next: &str,
    ) -> Result<bool, RepoError> {
        auth_guards::rotate_refresh(&self.db, SESSIONS, session_id, expected, next).await
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, RepoError> {
        let row = self.row_where(SESSIONS, &SESSION_COLUMNS, "id", id).await?;
        row.as_ref()
            .map(|row| codec::session_from(self.backend(), row))
            .transpose()
    }

    async fn save_session(&self, session: &Session) -> Result<(), RepoError> {
        let exists = self.session(&session.id).await?.is_some();
        let values = codec::session_values(self.backend(), session);
        self.upsert(SESSIONS, &SESSION_COLUMNS, values, !exists)
            .await
    }

    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, RepoError> {
        let rows = self
            .rows(
                SESSIONS,
                &["id"],
                Some(("user_id", user_id.to_owned())),
                None,
                None,
            )
            .await?;
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| get::<String>(r, 0).ok().flatten())
            .filter(|id| Some(id.as_str()) != keep)
            .collect();
        for id in &ids {
            let stmt = Query::update()
                .table(a(SESSIONS))
                .value(a("revoked"), true)
                .and_where(Expr::col(a("id")).eq(id.as_str()))
                .to_owned();
            self.db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(ids)
    }

    async fn list_keys(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, RepoError> {
        let rows = self
            .rows(KEYS, &KEY_COLUMNS, None, after, Some(limit))
            .await?;
        rows.iter()
            .map(|r| codec::key_from(self.backend(), r))
            .collect()
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, RepoError> {
        let row = self.row_where(KEYS, &KEY_COLUMNS, "id", id).await?;
        row.as_ref()
            .map(|r| codec::key_from(self.backend(), r))
            .transpose()
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, RepoError> {
        let row = self
            .row_where(KEYS, &KEY_COLUMNS, "key_hash", key_hash)
            .await?;
        row.as_ref()
            .map(|r| codec::key_from(self.backend(), r))
            .transpose()
    }

    async fn save_key(&self, key: &ApiKey, insert: bool) -> Result<(), RepoError> {
        let values = codec::key_values(self.backend(), key);
        self.upsert(KEYS, &KEY_COLUMNS, values, insert).await
    }

    async fn delete_key(&self, id: &str) -> Result<bool, RepoError> {
        Ok(self.delete_where(KEYS, "id", id).await? > 0)
    }

    async fn auth_epoch(&self) -> Result<i64, RepoError> {
        crate::epochs::read(&self.db, crate::epochs::Epoch::Auth).await
    }

    async fn bump_auth_epoch(&self) -> Result<(), RepoError> {
        crate::epochs::bump(&self.db.writer, crate::epochs::Epoch::Auth).await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, RepoError> {
        let row = self.row_where(SETTINGS, &["value"], "name", name).await?;
        row.as_ref()
            .map(|r| get::<String>(r, 0).map(Option::unwrap_or_default))
            .transpose()
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, RepoError> {
        let insert = Query::insert()
            .into_table(a(SETTINGS))
            .columns([a("name"), a("value")])
            .values([name.into(), value.into()])
            .map_err(internal)?
            .to_owned();
        match self
            .db
            .writer
            .execute(&insert)
            .await
            .map_err(|e| classify(&e))
        {
            Ok(_) | Err(RepoError::Duplicate { .. }) => {}
            Err(e) => return Err(e),
        }
        self.setting(name)
            .await?
            .ok_or_else(|| internal(format!("setting '{name}' vanished")))
    }
}
