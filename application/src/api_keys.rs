//! API key management (admin): every rule of API.md §8 for keys (names, roles, secrets shown
//! once, rotation).

use moon_domain::{ApiKey, Role};

use crate::accounts::not_found;
use crate::auth::{API_KEY_PREFIX, AuthService};
use crate::error::AppError;
use crate::secrets::{random_token, sha256_hex};

/// Changes to an API key.
#[derive(Debug, Clone, Default)]
pub struct KeyChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub role: Option<Role>,
    pub can_write: Option<bool>,
}

/// A key's name: 1–100 characters, no NUL.
fn check_key_name(name: &str) -> Result<(), AppError> {
    if name.trim().is_empty() || name.len() > 100 || name.contains('\0') {
        return Err(AppError::invalid(
            "name",
            "a key needs a name of 1-100 characters without NUL",
        ));
    }
    Ok(())
}

/// A key's description: no NUL (not every engine can store it).
fn check_description(description: &str) -> Result<(), AppError> {
    if description.contains('\0') {
        return Err(AppError::invalid(
            "description",
            "may not contain NUL characters",
        ));
    }
    Ok(())
}

impl AuthService {
    /// A page of API keys after `after`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ApiKey>, AppError> {
        Ok(self.repo.list_keys(after, limit).await?)
    }

    /// One API key.
    ///
    /// # Errors
    /// [`AppError::NotFound`].
    pub async fn get_key(&self, id: &str) -> Result<ApiKey, AppError> {
        self.repo.key(id).await?.ok_or_else(|| not_found("API key"))
    }

    /// Creates an API key; the key itself is returned this once.
    ///
    /// # Errors
    /// A missing name or a database failure.
    pub async fn create_key(
        &self,
        name: String,
        description: String,
        role: Role,
        can_write: Option<bool>,
    ) -> Result<(ApiKey, String), AppError> {
        check_key_name(&name)?;
        check_description(&description)?;
        let secret = format!("{API_KEY_PREFIX}{}", random_token(64));
        let key = ApiKey {
            id: ulid::Ulid::new().to_string(),
            name,
            description,
            role,
            can_write: role == Role::User && can_write.unwrap_or(true),
            key_hash: sha256_hex(secret.as_bytes()),
            created_at: self.clock.now(),
            last_used_at: None,
        };
        self.repo.save_key(&key, true).await?;
        Ok((key, secret))
    }

    /// Changes a key's metadata.
    ///
    /// # Errors
    /// Not found or a database failure.
    pub async fn update_key(&self, id: &str, changes: KeyChanges) -> Result<ApiKey, AppError> {
        let mut key = self.get_key(id).await?;
        if let Some(name) = changes.name {
            check_key_name(&name)?;
            key.name = name;
        }
        if let Some(description) = changes.description {
            check_description(&description)?;
            key.description = description;
        }
        if let Some(role) = changes.role {
            key.role = role;
        }
        if let Some(can_write) = changes.can_write {
            key.can_write = can_write;
        }
        key.can_write = key.role == Role::User && key.can_write;
        self.repo.save_key(&key, false).await?;
        self.forget_keys().await;
        Ok(key)
    }

    /// Gives a key a new secret; the old one stops working at once.
    ///
    /// # Errors
    /// Not found or a database failure.
    pub async fn rotate_key(&self, id: &str) -> Result<(ApiKey, String), AppError> {
        let mut key = self.get_key(id).await?;
        let secret = format!("{API_KEY_PREFIX}{}", random_token(64));
        key.key_hash = sha256_hex(secret.as_bytes());
        self.repo.save_key(&key, false).await?;
        self.forget_keys().await;
        Ok((key, secret))
    }

    /// Deletes a key.
    ///
    /// # Errors
    /// Not found or a database failure.
    pub async fn delete_key(&self, id: &str) -> Result<(), AppError> {
        if !self.repo.delete_key(id).await? {
            return Err(not_found("API key"));
        }
        self.forget_keys().await;
        Ok(())
    }
}
