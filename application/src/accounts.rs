//! User management (admin) and the caller's own account: every rule of API.md §5 and §8
//! for users (last admin, own role, password rules); API keys are in `api_keys`.

use moon_domain::auth::{check_password, valid_username};
use moon_domain::ports::UserRemoval;
use moon_domain::{Principal, Role, User};

use crate::auth::AuthService;
use crate::error::AppError;

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub role: Role,
    pub can_write: Option<bool>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub can_write: Option<bool>,
    pub password: Option<String>,
}

pub(crate) fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!("{what} not found"))
}

fn check_email(email: Option<&String>) -> Result<(), AppError> {
    match email {
        Some(e)
            if e.len() > 255
                || !e.contains('@')
                || e.starts_with('@')
                || e.ends_with('@')
                || e.contains('\0') =>
        {
            Err(AppError::invalid("email", "not an email address"))
        }
        _ => Ok(()),
    }
}

impl AuthService {
    async fn hash_password(&self, password: &str, field: &str) -> Result<String, AppError> {
        check_password(password).map_err(|m| AppError::invalid(field, m))?;
        self.hash_unchecked(password).await
    }

    async fn hash_unchecked(&self, password: &str) -> Result<String, AppError> {
        let password = password.to_owned();
        self.hashing
            .run(move |hasher| hasher.hash(&password))
            .await?
            .map_err(AppError::from)
    }

    /// Creates the first admin when there are no users at all; returns it. The operator's
    /// configured password is taken as given (a weak one is logged, not refused: refusing
    /// would leave a fresh install with no way in).
    ///
    /// # Errors
    /// A bad username, an empty password, or a database failure.
    pub async fn bootstrap_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, AppError> {
        if !self.repo.list_users(None, 1).await?.is_empty() {
            return Ok(None);
        }
        if !valid_username(username) {
            return Err(AppError::invalid(
                "username",
                "usernames are 3-32 of letters, digits, '_', '.' and '-'",
            ));
        }
        if password.is_empty() {
            return Err(AppError::invalid(
                "password",
                "the admin password may not be empty",
            ));
        }
        if let Err(rule) = check_password(password) {
            tracing::warn!(
                "the configured admin password is weak ({rule}); change it with POST /auth:me"
            );
        }
        let now = self.clock.now();
        let user = User {
            id: ulid::Ulid::new().to_string(),
            username: username.to_owned(),
            email: None,
            role: Role::Admin,
            can_write: false,
            password_hash: self.hash_unchecked(password).await?,
            created_at: now,
            updated_at: now,
        };
        self.repo.save_user(&user, true).await?;
        Ok(Some(user))
    }

    /// A page of users after `after`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, AppError> {
        Ok(self.repo.list_users(after, limit).await?)
    }

    /// One user.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get_user(&self, id: &str) -> Result<User, AppError> {
        self.repo.user(id).await?.ok_or_else(|| not_found("user"))
    }

    /// Creates a user.
    ///
    /// # Errors
    /// Bad fields, or a duplicate username or email (`DUPLICATE_VALUE`).
    pub async fn create_user(&self, new: NewUser) -> Result<User, AppError> {
        if !valid_username(&new.username) {
            return Err(AppError::invalid(
                "username",
                "usernames are 3-32 of letters, digits, '_', '.' and '-'",
            ));
        }
        check_email(new.email.as_ref())?;
        let password_hash = self.hash_password(&new.password, "password").await?;
        let now = self.clock.now();
        let user = User {
            id: ulid::Ulid::new().to_string(),
            username: new.username,
            email: new.email,
            role: new.role,
            can_write: new.role == Role::User && new.can_write.unwrap_or(true),
            password_hash,
            created_at: now,
            updated_at: now,
        };
        self.repo.save_user(&user, true).await?;
        Ok(user)
    }

    /// Changes a user; `actor` is the admin doing it.
    ///
    /// # Errors
    /// Not found, the last-admin and own-role rules, bad fields, duplicates.
    pub async fn update_user(
        &self,
        actor: &Principal,
        id: &str,
        changes: UserChanges,
    ) -> Result<User, AppError> {
        let mut user = self.get_user(id).await?;
        if let Some(role) = changes.role
            && role != user.role
        {
            if matches!(actor, Principal::User { user: me, .. } if me.id == user.id) {
                return Err(AppError::invalid(
                    "role",
                    "an admin cannot change their own role",
                ));
            }
            user.role = role;
        }
        if let Some(email) = changes.email {
            check_email(email.as_ref())?;
            user.email = email;
        }
        if let Some(can_write) = changes.can_write {
            user.can_write = can_write;
        }
        user.can_write = user.role == Role::User && user.can_write;
        let new_password = changes.password.is_some();
        if let Some(password) = changes.password {
            user.password_hash = self.hash_password(&password, "password").await?;
        }
        user.updated_at = self.clock.now();
        // The last-admin rule is the database's to decide, with the admins locked: two
        // concurrent demotions cannot both pass.
        if !self.repo.save_user_keeping_an_admin(&user).await? {
            return Err(AppError::invalid(
                "role",
                "the last admin cannot be demoted",
            ));
        }
        self.forget_user(&user.id).await;
        if new_password {
            self.end_sessions(&user.id, None).await?;
        }
        Ok(user)
    }

    /// Deletes a user and ends their sessions.
    ///
    /// # Errors
    /// Not found, or the last admin.
    pub async fn delete_user(&self, id: &str) -> Result<(), AppError> {
        let user = self.get_user(id).await?;
        match self.repo.delete_user_keeping_an_admin(&user.id).await? {
            UserRemoval::LastAdmin => {
                return Err(AppError::invalid("id", "the last admin cannot be deleted"));
            }
            UserRemoval::Missing => return Err(not_found("user")),
            UserRemoval::Deleted => {}
        }
        self.end_sessions(id, None).await?;
        self.forget_user(id).await;
        Ok(())
    }

    /// The caller changes their own email, or their password (ending every other session).
    ///
    /// # Errors
    /// API keys (403), a wrong old password (400), bad fields.
    pub async fn update_me(
        &self,
        caller: &Principal,
        email: Option<Option<String>>,
        password: Option<(String, String)>,
    ) -> Result<User, AppError> {
        let Principal::User { user, session_id } = caller else {
            return Err(AppError::Forbidden(
                "auth:me is for users, not API keys".to_owned(),
            ));
        };
        let mut me = self.get_user(&user.id).await?;
        if let Some(email) = email {
            check_email(email.as_ref())?;
            me.email = email;
        }
        let changed_password = password.is_some();
        if let Some((old, new)) = password {
            let hash = me.password_hash.clone();
            let matches = self
                .hashing
                .run(move |hasher| hasher.verify(&old, &hash))
                .await?;
            if !matches {
                return Err(AppError::invalid(
                    "old_password",
                    "the old password is wrong",
                ));
            }
            me.password_hash = self.hash_password(&new, "password").await?;
        }
        me.updated_at = self.clock.now();
        self.repo.save_user(&me, false).await?;
        self.forget_user(&me.id).await;
        if changed_password {
            self.end_sessions(&me.id, Some(session_id)).await?;
        }
        Ok(me)
    }
}
