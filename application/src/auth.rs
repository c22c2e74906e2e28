//! Authentication: login with lockout, access tokens bound to sessions, single-use refresh
//! tokens (reuse ends the session), API keys; the current user and session are checked on
//! every request (cached in memory, invalidated by every change made here).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use moon_domain::ports::{AuthRepository, Clock, LoginFailureLog, PasswordHasher, TokenIssuer};
use moon_domain::{AccessClaims, ApiKey, Principal, Session, User};

use crate::error::AppError;
use crate::hashing::{HashingLimits, HashingPool};
use crate::lockout::LoginLockout;
use crate::secrets::{constant_time_eq, random_token, sha256_hex};

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
const MAX_VERIFIED_TOKENS: usize = 10_000;

/// An API key in the cache, with when it was last used (Unix seconds; 0 = not since the
/// last flush).
struct CachedKey {
    key: ApiKey,
    last_used: AtomicI64,
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

fn unauthorized() -> AppError {
    AppError::Unauthorized("missing, invalid or expired credentials".to_owned())
}

/// The session id a refresh token starts with: a ULID, or the token is no token of ours
/// (and never reaches the database, which may refuse what it holds, as NUL).
fn session_id_of(raw: &str) -> Result<&str, AppError> {
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

    /// Who a bearer credential belongs to, checked against the current user, session or key.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] for anything that is not a live credential.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AppError> {
        if bearer.starts_with(API_KEY_PREFIX) {
            let cached = self.keys.get(bearer).map(|entry| Arc::clone(&entry));
            let entry = match cached {
                Some(entry) => entry,
                None => {
                    let hash = sha256_hex(bearer.as_bytes());
                    let key = self
                        .repo
                        .key_by_hash(&hash)
                        .await?
                        .ok_or_else(unauthorized)?;
                    let entry = Arc::new(CachedKey {
                        key,
                        last_used: AtomicI64::new(0),
                    });
                    self.keys.insert(bearer.to_owned(), Arc::clone(&entry));
                    entry
                }
            };
            entry
                .last_used
                .store(self.clock.now().timestamp(), Ordering::Relaxed);
            return Ok(Principal::ApiKey(entry.key.clone()));
        }
        let claims = self.verified(bearer)?;
        let session = self
            .session(&claims.session_id)
            .await?
            .ok_or_else(unauthorized)?;
        if session.revoked || session.user_id != claims.user_id {
            return Err(unauthorized());
        }
        let user = self.user(&claims.user_id).await?.ok_or_else(unauthorized)?;
        Ok(Principal::User {
            user: (*user).clone(),
            session_id: session.id.clone(),
        })
    }

    /// The claims of a JWT: checked once (signature, algorithm, expiry), then remembered
    /// until it expires, so a token's later requests skip the HMAC and JSON work.
    fn verified(&self, token: &str) -> Result<AccessClaims, AppError> {
        let now = self.clock.now().timestamp();
        if let Some(claims) = self.verified_tokens.get(token)
            && claims.expires_at > now
        {
            return Ok(claims.clone());
        }
        let claims = self.tokens.verify(token).ok_or_else(unauthorized)?;
        if self.verified_tokens.len() >= MAX_VERIFIED_TOKENS {
            self.verified_tokens.retain(|_, c| c.expires_at > now);
        }
        if self.verified_tokens.len() < MAX_VERIFIED_TOKENS {
            self.verified_tokens
                .insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }

    pub(crate) async fn user(&self, id: &str) -> Result<Option<Arc<User>>, AppError> {
        if let Some(user) = self.users.get(id) {
            return Ok(Some(Arc::clone(&user)));
        }
        let Some(user) = self.repo.user(id).await? else {
            return Ok(None);
        };
        let user = Arc::new(user);
        self.users.insert(id.to_owned(), Arc::clone(&user));
        Ok(Some(user))
    }

    async fn session(&self, id: &str) -> Result<Option<Arc<Session>>, AppError> {
        if let Some(session) = self.sessions.get(id) {
            return Ok(Some(Arc::clone(&session)));
        }
        let Some(session) = self.repo.session(id).await? else {
            return Ok(None);
        };
        let session = Arc::new(session);
        self.sessions.insert(id.to_owned(), Arc::clone(&session));
        Ok(Some(session))
    }

    /// Forgets cached state after a change to a user (role, rights, deletion), here and,
    /// through the auth epoch, in every other process.
    pub(crate) async fn forget_user(&self, id: &str) {
        self.users.remove(id);
        self.announce_change().await;
    }

    /// Forgets cached sessions (after revocations), here and in every other process.
    pub(crate) async fn forget_sessions(&self, ids: &[String]) {
        for id in ids {
            self.sessions.remove(id);
        }
        self.announce_change().await;
    }

    /// Forgets every cached API key (after a key changed or went), here and elsewhere.
    pub(crate) async fn forget_keys(&self) {
        self.keys.clear();
        self.announce_change().await;
    }

    async fn announce_change(&self) {
        if let Err(e) = self.repo.bump_auth_epoch().await {
            tracing::warn!(error = %e, "cannot tell other instances of an auth change");
        }
    }

    /// Drops every cached user, session, key and verified token when another process
    /// changed any of them: `seen` is the auth epoch last seen (updated here). Returns
    /// whether the caches were dropped.
    ///
    /// # Errors
    /// A database failure.
    pub async fn refresh_from_database(&self, seen: &AtomicI64) -> Result<bool, AppError> {
        let epoch = self.repo.auth_epoch().await?;
        let last = seen.swap(epoch, Ordering::SeqCst);
        if last == epoch || last < 0 {
            return Ok(false);
        }
        self.users.clear();
        self.sessions.clear();
        self.verified_tokens.clear();
        // Keys keep their unflushed usage stamps: write them first.
        self.flush_key_usage().await;
        self.keys.clear();
        Ok(true)
    }

    /// Writes the `last_used_at` of the API keys used since the last call (no database
    /// write on the request path: each use only stamps an atomic in the cache).
    pub async fn flush_key_usage(&self) {
        let used: Vec<(String, i64)> = self
            .keys
            .iter()
            .filter_map(|entry| {
                let at = entry.last_used.swap(0, Ordering::Relaxed);
                (at > 0).then(|| (entry.key.id.clone(), at))
            })
            .collect();
        for (id, at) in used {
            match self.repo.key(&id).await {
                Ok(Some(mut key)) => {
                    key.last_used_at = DateTime::<Utc>::from_timestamp(at, 0);
                    if let Err(e) = self.repo.save_key(&key, false).await {
                        tracing::warn!(error = %e, "cannot record API key use");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot record API key use"),
            }
        }
    }

    /// Logs in; repeated failures per IP and username lock the pair for the window.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] (same for unknown users and wrong passwords) or
    /// [`AppError::RateLimited`] while locked.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: &str,
    ) -> Result<TokenPair, AppError> {
        // No user has such a name: refused before anything is remembered or hashed.
        if username.chars().count() > moon_domain::auth::MAX_USERNAME_CHARS {
            return Err(AppError::Unauthorized(
                "invalid username or password".to_owned(),
            ));
        }
        let lock_key = format!("{ip}|{}", username.to_ascii_lowercase());
        let attempt = self.lockout.begin(&lock_key).await?;
        // A name no user can have is looked up nowhere (it may hold what SQL refuses, as NUL).
        let user = if moon_domain::auth::valid_username(username) {
            self.repo.user_by_name(username).await?
        } else {
            None
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let candidate = password.to_owned();
        // Verified even for unknown users, at the same cost, so timing tells nothing.
        let matched = self
            .hashing
            .run(move |hasher| match hash {
                Some(hash) => hasher.verify(&candidate, &hash),
                None => {
                    hasher.verify_unknown_user(&candidate);
                    false
                }
            })
            .await?;
        let Some(user) = user.filter(|_| matched) else {
            attempt.failed().await;
            return Err(AppError::Unauthorized(
                "invalid username or password".to_owned(),
            ));
        };
        attempt.succeeded().await;
        self.start_session(user).await
    }

    async fn start_session(&self, user: User) -> Result<TokenPair, AppError> {
        let now = self.clock.now();
        let session_id = ulid::Ulid::new().to_string();
        let secret = random_token(48);
        let session = Session {
            id: session_id.clone(),
            user_id: user.id.clone(),
            refresh_hash: sha256_hex(secret.as_bytes()),
            expires_at: now
                + chrono::Duration::from_std(self.policy.refresh_ttl).unwrap_or_default(),
            revoked: false,
        };
        self.repo.save_session(&session).await?;
        self.sessions.insert(session_id.clone(), Arc::new(session));
        self.pair(user, &session_id, &secret)
    }

    fn pair(&self, user: User, session_id: &str, secret: &str) -> Result<TokenPair, AppError> {
        let expires_at = self.clock.now()
            + chrono::Duration::from_std(self.policy.access_ttl).unwrap_or_default();
        let access_token = self.tokens.issue(&AccessClaims {
            user_id: user.id.clone(),
            session_id: session_id.to_owned(),
            expires_at: expires_at.timestamp(),
        })?;
        Ok(TokenPair {
            access_token,
            refresh_token: format!("{session_id}.{secret}"),
            expires_at,
            user,
        })
    }

    /// Trades a refresh token for a new pair; each works once, and reusing one ends its
    /// session.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] for an unknown, used, expired or revoked token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AppError> {
        let (session_id, secret) = refresh_token.split_once('.').ok_or_else(unauthorized)?;
        let session_id = session_id_of(session_id)?;
        let mut session = self
            .repo
            .session(session_id)
            .await?
            .ok_or_else(unauthorized)?;
        if session.revoked || session.expires_at <= self.clock.now() {
            return Err(unauthorized());
        }
        if !constant_time_eq(
            sha256_hex(secret.as_bytes()).as_bytes(),
            session.refresh_hash.as_bytes(),
        ) {
            // A token that was already traded: someone holds a copy. End the session.
            session.revoked = true;
            self.repo.save_session(&session).await?;
            self.forget_sessions(&[session.id]).await;
            return Err(AppError::Unauthorized(
                "refresh token already used; the session has ended".to_owned(),
            ));
        }
        let user = self
            .repo
            .user(&session.user_id)
            .await?
            .ok_or_else(unauthorized)?;
        let secret = random_token(48);
        let next = sha256_hex(secret.as_bytes());
        // One step in the database: of two refreshes with one token, exactly one wins; the
        // other is a reuse and ends the session.
        if !self
            .repo
            .rotate_refresh(&session.id, &session.refresh_hash, &next)
            .await?
        {
            session.revoked = true;
            self.repo.save_session(&session).await?;
            self.forget_sessions(&[session.id]).await;
            return Err(AppError::Unauthorized(
                "refresh token already used; the session has ended".to_owned(),
            ));
        }
        session.refresh_hash = next;
        self.sessions
            .insert(session.id.clone(), Arc::new(session.clone()));
        self.pair(user, &session.id, &secret)
    }

    /// Ends the session a refresh token belongs to (the caller's own).
    ///
    /// # Errors
    /// [`AppError::Unauthorized`] for a token that is not one of the caller's sessions.
    pub async fn logout(&self, principal: &Principal, refresh_token: &str) -> Result<(), AppError> {
        let Principal::User { user, .. } = principal else {
            return Err(AppError::Forbidden("API keys have no sessions".to_owned()));
        };
        let session_id = session_id_of(
            refresh_token
                .split_once('.')
                .map_or(refresh_token, |(id, _)| id),
        )?;
        let mut session = self
            .repo
            .session(session_id)
            .await?
            .ok_or_else(unauthorized)?;
        if session.user_id != user.id {
            return Err(unauthorized());
        }
        session.revoked = true;
        self.repo.save_session(&session).await?;
        self.forget_sessions(&[session.id]).await;
        Ok(())
    }

    /// Ends every session of `user_id` but `keep`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn end_sessions(&self, user_id: &str, keep: Option<&str>) -> Result<(), AppError> {
        let ended = self.repo.revoke_sessions(user_id, keep).await?;
        self.forget_sessions(&ended).await;
        Ok(())
    }
}
