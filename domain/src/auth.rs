//! Who is calling: users with sessions, API keys, their roles, and what each role may do.

use chrono::{DateTime, Utc};

/// A caller's role (API.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    User,
    Readonly,
}

impl Role {
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            "readonly" => Some(Self::Readonly),
            _ => None,
        }
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
            Self::Readonly => "readonly",
        }
    }
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// A ULID.
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    /// Meaningful for `user` only: whether records may be written.
    pub can_write: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A login session: the refresh token (stored hashed) and whether it was ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    /// SHA-256 hex of the current refresh token.
    pub refresh_hash: String,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// A machine credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub description: String,
    pub role: Role,
    pub can_write: bool,
    /// SHA-256 hex of the key.
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { user: User, session_id: String },
    ApiKey(ApiKey),
}

impl Principal {
    #[must_use]
    pub const fn role(&self) -> Role {
        match self {
            Self::User { user, .. } => user.role,
            Self::ApiKey(key) => key.role,
        }
    }

    /// Whether records may be written: admins always, users with `can_write`.
    #[must_use]
    pub const fn can_write_records(&self) -> bool {
        match (self.role(), self) {
            (Role::Admin, _) => true,
            (Role::User, Self::User { user, .. }) => user.can_write,
            (Role::User, Self::ApiKey(key)) => key.can_write,
            (Role::Readonly, _) => false,
        }
    }

    /// A stable name for rate limits and idempotency scopes.
    #[must_use]
    pub fn scope(&self) -> String {
        match self {
            Self::User { user, .. } => format!("user:{}", user.id),
            Self::ApiKey(key) => format!("key:{}", key.id),
        }
    }
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: String,
    pub session_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The rules for passwords: at least 8 characters with an upper, a lower and a digit.
///
/// # Errors
/// A message naming the missing rule.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 8 {
        return Err("passwords need at least 8 characters");
    }
    let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
    if !has(char::is_ascii_uppercase)
        || !has(char::is_ascii_lowercase)
        || !has(char::is_ascii_digit)
    {
        return Err("passwords need an upper-case letter, a lower-case letter and a digit");
    }
    Ok(())
}

/// The longest username.
pub const MAX_USERNAME_CHARS: usize = 32;

/// Usernames: 3–32 of `[A-Za-z0-9_.-]`.
#[must_use]
pub fn valid_username(raw: &str) -> bool {
    (3..=MAX_USERNAME_CHARS).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_username_rules() {
        assert!(check_password("Secret123").is_ok());
        assert!(check_password("short1A").is_err());
        assert!(check_password("alllower123").is_err());
        assert!(check_password("NoDigitsHere").is_err());
        assert!(valid_username("ada.l-o_v"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("has space"));
    }
}
