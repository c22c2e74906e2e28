//! Authentication: login with lockout, access tokens bound to sessions, single-use refresh
//! tokens (reuse ends the session), API keys; the current user and session are checked on
//! every request (cached in memory, invalidated by every change made here).

mod check;
mod sessions;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use moon_domain::ports::{AuthRepository, Clock, LoginFailureLog, PasswordHasher, TokenIssuer};
use moon_domain::{AccessClaims, ApiKey, Session, User};

use crate::error::AppError;
use crate::hashing::{HashingLimits, HashingPool};
use crate::lockout::LoginLockout;

/// The prefix that tells an API key from a JWT.
pub const API_KEY_PREFIX: &str = "moon_live_";

/// Token lifetimes, the login lock and the hashing bounds.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Failed logins per IP and username before the lock (0 = no lock).
    pub login_max_failures: u32,
    pub login_window: Duration,
    pub hashing: HashingLimits,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            hashing: HashingLimits::default(),
        }
    }
}

/// JWTs remembered as verified, at most (expired ones are dropped when full).
pub(super) const MAX_VERIFIED_TOKENS: usize = 10_000;

/// An API key in the cache, with when it was last used (Unix seconds; 0 = not since the
/// last flush).
pub(super) struct CachedKey {
    pub(super) key: ApiKey,
    pub(super) last_used: AtomicI64,
}

/// A successful login or refresh.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Authentication use cases and the caches behind every request's check.
pub struct AuthService {
    pub(crate) repo: Arc<dyn AuthRepository>,
    pub(crate) hashing: HashingPool,
    tokens: Arc<dyn TokenIssuer>,
    pub(crate) clock: Arc<dyn Clock>,
    policy: AuthPolicy,
    users: DashMap<String, Arc<User>>,
    sessions: DashMap<String, Arc<Session>>,
    /// API keys by their full bearer text.
    keys: DashMap<String, Arc<CachedKey>>,
    /// JWTs already verified, with their claims (expiry still checked on every use).
    verified_tokens: DashMap<String, AccessClaims>,
    lockout: LoginLockout,
}

pub(super) fn unauthorized() -> AppError {
    AppError::Unauthorized("missing, invalid or expired credentials".to_owned())
}

/// The session id a refresh token starts with: a ULID, or the token is no token of ours
/// (and never reaches the database, which may refuse what it holds, as NUL).
pub(super) fn session_id_of(raw: &str) -> Result<&str, AppError> {
    ulid::Ulid::from_string(raw)
        .map(|_| raw)
        .map_err(|_| unauthorized())
}

impl AuthService {
    #[must_use]
    pub fn new(
        repo: Arc<dyn AuthRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        policy: AuthPolicy,
    ) -> Self {
        Self {
            repo,
            hashing: HashingPool::new(hasher, policy.hashing),
            tokens,
            clock: Arc::clone(&clock),
            policy,
            users: DashMap::new(),
            sessions: DashMap::new(),
            keys: DashMap::new(),
            verified_tokens: DashMap::new(),
            lockout: LoginLockout::new(
                policy.login_max_failures,
                policy.login_window,
                Arc::clone(&clock),
            ),
        }
    }

    /// Keeps login failures in `log` as well, so every instance over the database shares
    /// the lockouts.
    #[must_use]
    pub fn with_failure_log(mut self, log: Arc<dyn LoginFailureLog>) -> Self {
        self.lockout = self.lockout.with_log(log);
        self
    }

    /// Deletes shared login failures whose window has passed.
    pub async fn sweep_lockouts(&self) {
        self.lockout.sweep_shared().await;
    }

    /// Password hashing jobs admitted now (running and waiting), and the limits.
    #[must_use]
    pub fn hashing_load(&self) -> (usize, crate::HashingLimits) {
        self.hashing.load()
    }

    /// Login-lock entries held in memory now (bounded; for tests and metrics).
    #[must_use]
    pub fn lockout_entries(&self) -> usize {
        self.lockout.len()
    }
}
