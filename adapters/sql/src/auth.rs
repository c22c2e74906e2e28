//! `AuthRepository` over SQL: `moon_users`, `moon_sessions`, `moon_apikeys` and
//! `moon_settings`, created at start-up, never reachable through the collection routes.

use async_trait::async_trait;
use moon_domain::ports::{AuthRepository, UserRemoval};
use moon_domain::{ApiKey, RepoError, Role, Session, User};
use sea_orm::{ConnectionTrait, QueryResult};
use sea_query::{
    ColumnDef, Expr, ExprTrait, Func, Order, Query, SimpleExpr, Table, TableCreateStatement,
    UpdateStatement,
};

use crate::auth_guards;
use crate::connect::SqlDatabase;
use crate::dialect::{Backend, get};
use crate::error::{classify, internal};
use crate::system_table::{ident as a, varchar};

const USERS: &str = "moon_users";
const SESSIONS: &str = "moon_sessions";
const KEYS: &str = "moon_apikeys";
const SETTINGS: &str = "moon_settings";

const USER_COLUMNS: [&str; 8] = [
    "id",
    "username",
    "email",
    "role",
    "can_write",
    "password_hash",
    "created_at",
    "updated_at",
];
const SESSION_COLUMNS: [&str; 5] = ["id", "user_id", "refresh_hash", "expires_at", "revoked"];
const KEY_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "description",
    "role",
    "can_write",
    "key_hash",
    "created_at",
    "last_used_at",
];

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
        let backend = db.backend;
        let datetime = || backend.column_type(moon_domain::FieldType::Datetime);
        let tables: [TableCreateStatement; 4] = [
            Table::create()
                .table(a(USERS))
                .if_not_exists()
                .col(varchar("id", 26).not_null().primary_key())
                .col(varchar("username", 32).not_null().unique_key())
                .col(varchar("email", 255).null().unique_key())
                .col(varchar("role", 16).not_null())
                .col(ColumnDef::new(a("can_write")).boolean().not_null())
                .col(ColumnDef::new(a("password_hash")).text().not_null())
                .col(ColumnDef::new_with_type(a("created_at"), datetime()).not_null())
                .col(ColumnDef::new_with_type(a("updated_at"), datetime()).not_null())
                .to_owned(),
            Table::create()
                .table(a(SESSIONS))
                .if_not_exists()
                .col(varchar("id", 26).not_null().primary_key())
                .col(varchar("user_id", 26).not_null())
                .col(varchar("refresh_hash", 64).not_null())
                .col(ColumnDef::new_with_type(a("expires_at"), datetime()).not_null())
                .col(ColumnDef::new(a("revoked")).boolean().not_null())
                .to_owned(),
            Table::create()
                .table(a(KEYS))
                .if_not_exists()
                .col(varchar("id", 26).not_null().primary_key())
                .col(varchar("name", 100).not_null())
                .col(ColumnDef::new(a("description")).text().not_null())
                .col(varchar("role", 16).not_null())
                .col(ColumnDef::new(a("can_write")).boolean().not_null())
                .col(varchar("key_hash", 64).not_null().unique_key())
                .col(ColumnDef::new_with_type(a("created_at"), datetime()).not_null())
                .col(ColumnDef::new_with_type(a("last_used_at"), datetime()).null())
                .to_owned(),
            Table::create()
                .table(a(SETTINGS))
                .if_not_exists()
                .col(varchar("name", 63).not_null().primary_key())
                .col(ColumnDef::new(a("value")).text().not_null())
                .to_owned(),
        ];
        for table in &tables {
            db.writer.execute(table).await.map_err(|e| classify(&e))?;
        }
        Ok(Self { db })
    }

    fn backend(&self) -> Backend {
        self.db.backend
    }

    fn user_from(&self, row: &QueryResult) -> Result<User, RepoError> {
        let b = self.backend();
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

    fn user_values(&self, user: &User) -> Vec<SimpleExpr> {
        let b = self.backend();
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

    fn key_from(&self, row: &QueryResult) -> Result<ApiKey, RepoError> {
        let b = self.backend();
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

    async fn rows(
        &self,
        table: &str,
        columns: &[&str],
        filter: Option<(&str, String)>,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<QueryResult>, RepoError> {
        let mut select = Query::select();
        select.columns(columns.iter().map(|c| a(c))).from(a(table));
        if let Some((column, value)) = filter {
            select.and_where(Expr::col(a(column)).eq(value));
        }
        if let Some(after) = after {
            select.and_where(Expr::col(a("id")).gt(after));
        }
        if let Some(limit) = limit {
            select.order_by(a("id"), Order::Asc).limit(u64::from(limit));
        }
        self.db
            .writer
            .query_all(&select)
            .await
            .map_err(|e| classify(&e))
    }

    async fn upsert(
        &self,
        table: &str,
        columns: &[&str],
        values: Vec<SimpleExpr>,
        insert: bool,
    ) -> Result<(), RepoError> {
        if insert {
            let stmt = Query::insert()
                .into_table(a(table))
                .columns(columns.iter().map(|c| a(c)))
                .values(values)
                .map_err(internal)?
                .to_owned();
            self.db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?;
        } else {
            let stmt = update_statement(table, columns, values)?;
            self.db
                .writer
                .execute(&stmt)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(())
    }

    async fn delete_where(&self, table: &str, column: &str, value: &str) -> Result<u64, RepoError> {
        let stmt = Query::delete()
            .from_table(a(table))
            .and_where(Expr::col(a(column)).eq(value))
            .to_owned();
        Ok(self
            .db
            .writer
            .execute(&stmt)
            .await
            .map_err(|e| classify(&e))?
            .rows_affected())
    }
}

/// `UPDATE table SET columns = values WHERE id = <the "id" value>`.
fn update_statement(
    table: &str,
    columns: &[&str],
    values: Vec<SimpleExpr>,
) -> Result<UpdateStatement, RepoError> {
    let mut stmt = Query::update();
    stmt.table(a(table));
    let mut id = None;
    for (column, value) in columns.iter().zip(values) {
        if *column == "id" {
            id = Some(value);
        } else {
            stmt.value(a(column), value);
        }
    }
    let id = id.ok_or_else(|| internal("update without id"))?;
    stmt.and_where(Expr::col(a("id")).eq(id));
    Ok(stmt)
}

fn role(raw: Option<String>) -> Result<Role, RepoError> {
    let raw = raw.unwrap_or_default();
    Role::parse(&raw).ok_or_else(|| internal(format!("unknown role '{raw}'")))
}

#[async_trait]
impl AuthRepository for SqlAuthRepository {
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, RepoError> {
        let rows = self
            .rows(USERS, &USER_COLUMNS, None, after, Some(limit))
            .await?;
        rows.iter().map(|r| self.user_from(r)).collect()
    }

    async fn user(&self, id: &str) -> Result<Option<User>, RepoError> {
        let rows = self
            .rows(
                USERS,
                &USER_COLUMNS,
                Some(("id", id.to_owned())),
                None,
                None,
            )
            .await?;
        rows.first().map(|r| self.user_from(r)).transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>, RepoError> {
        let rows = self
            .rows(
                USERS,
                &USER_COLUMNS,
                Some(("username", username.to_owned())),
                None,
                None,
            )
            .await?;
        rows.first().map(|r| self.user_from(r)).transpose()
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
        self.upsert(USERS, &USER_COLUMNS, self.user_values(user), insert)
            .await
    }

    async fn save_user_keeping_an_admin(&self, user: &User) -> Result<bool, RepoError> {
        let update = update_statement(USERS, &USER_COLUMNS, self.user_values(user))?;
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
        let rows = self
            .rows(
                SESSIONS,
                &SESSION_COLUMNS,
                Some(("id", id.to_owned())),
                None,
                None,
            )
            .await?;
        rows.first()
            .map(|row| {
                Ok(Session {
                    id: get::<String>(row, 0)?.unwrap_or_default(),
                    user_id: get::<String>(row, 1)?.unwrap_or_default(),
                    refresh_hash: get::<String>(row, 2)?.unwrap_or_default(),
                    expires_at: self.backend().decode_datetime(row, 3)?.unwrap_or_default(),
                    revoked: get::<bool>(row, 4)?.unwrap_or(true),
                })
            })
            .transpose()
    }

    async fn save_session(&self, session: &Session) -> Result<(), RepoError> {
        let exists = self.session(&session.id).await?.is_some();
        let values: Vec<SimpleExpr> = vec![
            session.id.clone().into(),
            session.user_id.clone().into(),
            session.refresh_hash.clone().into(),
            Expr::val(self.backend().bind_datetime(&session.expires_at)),
            session.revoked.into(),
        ];
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
        rows.iter().map(|r| self.key_from(r)).collect()
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, RepoError> {
        let rows = self
            .rows(KEYS, &KEY_COLUMNS, Some(("id", id.to_owned())), None, None)
            .await?;
        rows.first().map(|r| self.key_from(r)).transpose()
    }

    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, RepoError> {
        let rows = self
            .rows(
                KEYS,
                &KEY_COLUMNS,
                Some(("key_hash", key_hash.to_owned())),
                None,
                None,
            )
            .await?;
        rows.first().map(|r| self.key_from(r)).transpose()
    }

    async fn save_key(&self, key: &ApiKey, insert: bool) -> Result<(), RepoError> {
        let b = self.backend();
        let values: Vec<SimpleExpr> = vec![
            key.id.clone().into(),
            key.name.clone().into(),
            key.description.clone().into(),
            key.role.as_str().into(),
            key.can_write.into(),
            key.key_hash.clone().into(),
            Expr::val(b.bind_datetime(&key.created_at)),
            Expr::val(key.last_used_at.map_or_else(
                || b.bind(&moon_domain::Value::Null, moon_domain::FieldType::Datetime),
                |t| b.bind_datetime(&t),
            )),
        ];
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
        let rows = self
            .rows(
                SETTINGS,
                &["value"],
                Some(("name", name.to_owned())),
                None,
                None,
            )
            .await?;
        rows.first()
            .map(|r| get::<String>(r, 0).map(Option::unwrap_or_default))
            .transpose()
    }

    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, RepoError> {
        let insert = Query::insert()
            .into_table(a(SETTINGS))
            .columns([a("name"), a("value")])
            .values_panic([name.into(), value.into()])
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
