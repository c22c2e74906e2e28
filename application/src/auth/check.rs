//! Every request's check of a credential against the current user, session or key, the
//! caches that make it cheap, and their invalidation here and in every other instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use moon_domain::{AccessClaims, Principal, Session, User};

use super::{API_KEY_PREFIX, AuthService, CachedKey, MAX_VERIFIED_TOKENS, unauthorized};
use crate::error::AppError;
use crate::secrets::sha256_hex;

impl AuthService {
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
}
