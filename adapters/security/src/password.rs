//! `PasswordHasher` with argon2id. Parameters: OWASP's first choice, m = 19 MiB, t = 2,
//! p = 1 (the argon2 crate's defaults), a fresh 16-byte salt per hash, PHC strings stored.

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use moon_domain::RepoError;
use moon_domain::ports::PasswordHasher;

/// argon2id with configurable cost (cheap costs are for tests only).
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
}

impl Argon2Hasher {
    /// OWASP's recommended argon2id parameters (m = 19456 KiB, t = 2, p = 1).
    #[must_use]
    pub fn recommended() -> Self {
        Self {
            params: Params::default(),
        }
    }

    /// Minimal cost, for tests that hash many passwords.
    #[must_use]
    pub fn fast_for_tests() -> Self {
        Self {
            params: Params::new(256, 1, 1, None).unwrap_or_default(),
        }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, RepoError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| RepoError::Internal(format!("password hashing failed: {e}")))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|parsed| {
            self.argon()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hasher = Argon2Hasher::fast_for_tests();
        let hash = hasher.hash("Secret123").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify("Secret123", &hash));
        assert!(!hasher.verify("secret123", &hash));
        assert!(!hasher.verify("Secret123", "not a hash"));
    }
}
