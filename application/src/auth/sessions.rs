//! Sessions: login with lockout, the token pair, single-use refresh tokens (reuse ends the
//! session), logout and ending a user's sessions.

use std::sync::Arc;

use moon_domain::{AccessClaims, Principal, Session, User};

use super::{AuthService, TokenPair, session_id_of, unauthorized};
use crate::error::AppError;
use crate::secrets::{constant_time_eq, random_token, sha256_hex};

impl AuthService {
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
