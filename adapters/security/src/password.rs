//! `PasswordHasher` with argon2id. Parameters: OWASP's first choice, m = 19 MiB, t = 2,
//! p = 1 (the argon2 crate's defaults), a fresh 16-byte salt per hash, PHC strings stored.
//! The 19 MiB of argon2 state are kept between hashes and given back when the hashing pool
//! goes idle, so a storm of logins reuses a few buffers instead of allocating one per login.

use std::sync::Mutex;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use moon_domain::RepoError;
use moon_domain::ports::PasswordHasher;

/// argon2id with configurable cost (cheap costs are for tests only).
#[derive(Debug)]
pub struct Argon2Hasher {
    params: Params,
    /// argon2 state buffers not in use, each `params.block_count()` blocks.
    spare: Mutex<Vec<Vec<Block>>>,
    /// A PHC string with the real parameters and no password behind it: unknown users are
    /// verified against it, at the very cost of a real verification.
    dummy: String,
}

impl Argon2Hasher {
    /// OWASP's recommended argon2id parameters (m = 19456 KiB, t = 2, p = 1).
    #[must_use]
    pub fn recommended() -> Self {
        Self::with_params(Params::default())
    }

    /// Minimal cost, for tests that hash many passwords.
    #[must_use]
    pub fn fast_for_tests() -> Self {
        Self::with_params(Params::new(256, 1, 1, None).unwrap_or_default())
    }

    fn with_params(params: Params) -> Self {
        let dummy = dummy_phc(&params);
        Self {
            params,
            spare: Mutex::new(Vec::new()),
            dummy,
        }
    }

    /// Runs argon2 with `params` into `out`, on a spare state buffer when one fits.
    fn compute(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let blocks = params.block_count();
        let reusable = blocks == self.params.block_count();
        let mut memory = reusable
            .then(|| self.spare.lock().ok().and_then(|mut s| s.pop()))
            .flatten()
            .unwrap_or_else(|| state_buffer(blocks));
        let outcome = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut memory,
        );
        if reusable && let Ok(mut spare) = self.spare.lock() {
            spare.push(memory);
        }
        outcome
    }
}

/// Bytes above glibc's largest dynamic mmap threshold (32 MiB on 64-bit): an allocation this
/// big is always its own mapping, unmapped when freed, and never moves the threshold up (a
/// freed 19 MiB mapping would, after which every later buffer stays in a thread's arena for
/// good: 16 concurrent logins once held 2.2 GB).
const MAPPED_BYTES: usize = 33 * 1024 * 1024;

/// argon2 state of `blocks` blocks. Its capacity is at least [`MAPPED_BYTES`]; only the
/// blocks in use are written, so the rest is never resident.
fn state_buffer(blocks: usize) -> Vec<Block> {
    let capacity = blocks.max(MAPPED_BYTES / std::mem::size_of::<Block>() + 1);
    let mut memory = Vec::with_capacity(capacity);
    memory.resize(blocks, Block::default());
    memory
}

/// A PHC string with `params`, a random salt and 32 random bytes as the hash: no password
/// is known to give it.
fn dummy_phc(params: &Params) -> String {
    let bytes: [u8; 32] = rand::random();
    Output::new(&bytes)
        .map(|output| phc(params, &SaltString::generate(&mut OsRng), &output))
        .unwrap_or_default()
}

fn phc(params: &Params, salt: &SaltString, output: &Output) -> String {
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).unwrap_or_default(),
        salt: Some(salt.as_salt()),
        hash: Some(*output),
    }
    .to_string()
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, RepoError> {
        let failed = |e: &dyn std::fmt::Display| {
            RepoError::Internal(format!("password hashing failed: {e}"))
        };
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0_u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
        let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
            password.as_bytes(),
            salt_raw,
            &mut out,
        )
        .map_err(|e| failed(&e))?;
        let output = Output::new(&out).map_err(|e| failed(&e))?;
        Ok(phc(&self.params, &salt, &output))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .unwrap_or(Version::V0x13);
        let mut salt_bytes = [0_u8; 64];
        let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        let mut out = vec![0_u8; expected.len()];
        if self
            .compute(
                algorithm,
                version,
                params,
                password.as_bytes(),
                salt_raw,
                &mut out,
            )
            .is_err()
        {
            return false;
        }
        // Output's equality is constant-time.
        Output::new(&out).is_ok_and(|computed| computed == expected)
    }

    fn verify_unknown_user(&self, password: &str) {
        let _ = self.verify(password, &self.dummy);
    }

    fn release_memory(&self) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.clear();
            spare.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hasher = Argon2Hasher::fast_for_tests();
        let hash = hasher.hash("Secret123").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        assert!(hasher.verify("Secret123", &hash));
        assert!(!hasher.verify("secret123", &hash));
        assert!(!hasher.verify("Secret123", "not a hash"));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let params = Params::new(512, 2, 1, None).unwrap_or_default();
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"Secret123", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        let hasher = Argon2Hasher::fast_for_tests();
        assert!(hasher.verify("Secret123", &theirs));
        assert!(!hasher.verify("Secret124", &theirs));
    }

    #[test]
    fn state_buffers_are_reused_then_given_back() {
        let hasher = Argon2Hasher::fast_for_tests();
        let hash = hasher.hash("Secret123").unwrap_or_default();
        assert!(hasher.verify("Secret123", &hash));
        assert_eq!(
            hasher.spare.lock().map(|s| s.len()).unwrap_or(9),
            1,
            "one buffer serves both"
        );
        hasher.release_memory();
        assert_eq!(hasher.spare.lock().map(|s| s.len()).unwrap_or(9), 0);
    }

    #[test]
    fn the_dummy_hash_has_the_real_parameters() {
        let hasher = Argon2Hasher::recommended();
        assert!(
            hasher.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hasher.dummy
        );
        assert!(!hasher.verify("", &hasher.dummy));
    }
}
