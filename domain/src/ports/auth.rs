//! Ports for authentication: users, sessions, keys, settings, password hashing, tokens.

use async_trait::async_trait;

use crate::auth::{AccessClaims, ApiKey, Role, Session, User};
use crate::error::RepoError;

/// What a guarded user deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRemoval {
    Deleted,
    Missing,
    /// Refused: the user is the last admin.
    LastAdmin,
}

/// Failed logins per lock key (IP and username), kept in the database so that every instance
/// over it counts the same failures. Times are Unix milliseconds.
#[async_trait]
pub trait LoginFailureLog: Send + Sync {
    /// The failures of `key` in a window begun at or after `window_start`, with when it began.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn failures(&self, key: &str, window_start: i64)
    -> Result<Option<(u32, i64)>, RepoError>;

    /// Counts one failure of `key` at `at`; a window begun before `window_start` restarts
    /// at `at` with this failure.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn record_failure(&self, key: &str, at: i64, window_start: i64) -> Result<(), RepoError>;

    /// Forgets the failures of `key` (it logged in).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn forget(&self, key: &str) -> Result<(), RepoError>;

    /// Deletes the windows begun before `window_start`; returns how many.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn sweep(&self, window_start: i64) -> Result<u64, RepoError>;
}

/// Users, their sessions and API keys, and server settings such as the JWT secret.
#[async_trait]
pub trait AuthRepository: Send + Sync {
    /// Every user, in id order, after `after` (an id), at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>, RepoError>;
    /// The user with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn user(&self, id: &str) -> Result<Option<User>, RepoError>;
    /// The user called `username`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, RepoError>;
    /// How many users hold `role`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn count_role(&self, role: Role) -> Result<u64, RepoError>;
    /// Inserts or replaces a user (by id).
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] naming `username` or `email`.
    async fn save_user(&self, user: &User, insert: bool) -> Result<(), RepoError>;
    /// Saves an existing user unless that leaves no admin (decided by the database, so two
    /// concurrent demotions cannot both pass); `false` when refused.
    ///
    /// # Errors
    /// [`RepoError::Duplicate`] naming `username` or `email`.
    async fn save_user_keeping_an_admin(&self, user: &User) -> Result<bool, RepoError>;
    /// Deletes a user and their sessions unless they are the last admin (decided by the
    /// database, so two admins deleting each other at once leave one).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_user_keeping_an_admin(&self, id: &str) -> Result<UserRemoval, RepoError>;

    /// The session with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn session(&self, id: &str) -> Result<Option<Session>, RepoError>;
    /// Replaces a live session's refresh hash `expected` by `next` in one step; `false` when
    /// it no longer holds `expected` (another refresh won, or the session ended).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn rotate_refresh(
        &self,
        session_id: &str,
        expected: &str,
        next: &str,
    ) -> Result<bool, RepoError>;
    /// Inserts or replaces a session (by id).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn save_session(&self, session: &Session) -> Result<(), RepoError>;
    /// Revokes every session of `user_id` except `keep`; returns the revoked ids.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, RepoError>;

    /// Every API key, in id order, after `after`, at most `limit`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn list_keys(&self, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>, RepoError>;
    /// The key with `id`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn key(&self, id: &str) -> Result<Option<ApiKey>, RepoError>;
    /// The key whose hash is `key_hash`.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, RepoError>;
    /// Inserts or replaces a key (by id).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn save_key(&self, key: &ApiKey, insert: bool) -> Result<(), RepoError>;
    /// Deletes a key.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn delete_key(&self, id: &str) -> Result<bool, RepoError>;

    /// A number bumped by every change that ends sessions or changes users or keys, in any
    /// process: other processes poll it and drop their caches when it moves.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn auth_epoch(&self) -> Result<i64, RepoError>;
    /// Bumps [`Self::auth_epoch`].
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn bump_auth_epoch(&self) -> Result<(), RepoError>;

    /// A server setting.
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn setting(&self, name: &str) -> Result<Option<String>, RepoError>;
    /// Stores a setting unless one is there; returns the stored value (first writer wins).
    ///
    /// # Errors
    /// [`RepoError`] when the database fails.
    async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, RepoError>;
}

/// Password hashing (argon2id); slow on purpose: call it off the async threads.
pub trait PasswordHasher: Send + Sync {
    /// A PHC hash string of `password`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when hashing fails.
    fn hash(&self, password: &str) -> Result<String, RepoError>;
    /// Whether `password` matches `hash` (constant time).
    fn verify(&self, password: &str, hash: &str) -> bool;
    /// Spends what verifying `password` against a real hash of this hasher's parameters
    /// costs, for a login of an unknown user (so timing does not tell who exists).
    fn verify_unknown_user(&self, password: &str);
    /// Gives back memory kept between hashes; called when no hash is running or waiting.
    fn release_memory(&self) {}
}

/// Signs and checks access tokens (JWT, HS256).
pub trait TokenIssuer: Send + Sync {
    /// A signed token for `claims`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when signing fails.
    fn issue(&self, claims: &AccessClaims) -> Result<String, RepoError>;
    /// The claims of a valid, unexpired token signed with our secret; `None` otherwise
    /// (any algorithm but HS256, a bad signature, a modified or expired token).
    fn verify(&self, token: &str) -> Option<AccessClaims>;
}
