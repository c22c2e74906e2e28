//! `TokenIssuer` with HS256 JWTs: only HS256 is accepted (no `none`, no other algorithms),
//! `exp` is required and checked with no leeway.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use moon_domain::ports::TokenIssuer;
use moon_domain::{AccessClaims, RepoError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    exp: i64,
}

/// Signs and checks HS256 access tokens with one secret.
pub struct JwtIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtIssuer { secret: *** }")
    }
}

impl JwtIssuer {
    /// An issuer for `secret`.
    ///
    /// # Errors
    /// [`RepoError::Internal`] when the secret is unusable (empty).
    pub fn new(secret: &[u8]) -> Result<Self, RepoError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let invalid = |e: jsonwebtoken::errors::Error| {
            RepoError::Internal(format!("unusable JWT secret: {e}"))
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(invalid)?,
            decoding: DecodingKey::from_secret(secret).map_err(invalid)?,
            validation,
        })
    }
}

impl TokenIssuer for JwtIssuer {
    fn issue(&self, claims: &AccessClaims) -> Result<String, RepoError> {
        let claims = Claims {
            sub: claims.user_id.clone(),
            sid: claims.session_id.clone(),
            exp: claims.expires_at,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| RepoError::Internal(format!("token signing failed: {e}")))
    }

    fn verify(&self, token: &str) -> Option<AccessClaims> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(AccessClaims {
            user_id: data.claims.sub,
            session_id: data.claims.sid,
            expires_at: data.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: i64) -> AccessClaims {
        AccessClaims {
            user_id: "u1".into(),
            session_id: "s1".into(),
            expires_at,
        }
    }

    fn far() -> i64 {
        4_000_000_000
    }

    #[test]
    fn tokens_verify_only_with_their_secret_and_before_expiry() {
        let issuer = JwtIssuer::new(b"secret-one").unwrap_or_else(|e| panic!("{e}"));
        let token = issuer.issue(&claims(far())).unwrap_or_default();
        assert_eq!(issuer.verify(&token), Some(claims(far())));
        let other = JwtIssuer::new(b"secret-two").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.verify(&token), None, "another secret");
        let expired = issuer.issue(&claims(1_000)).unwrap_or_default();
        assert_eq!(issuer.verify(&expired), None, "expired");
    }

    #[test]
    fn alg_none_and_edited_tokens_are_refused() {
        use base64_like::encode_segment;
        let issuer = JwtIssuer::new(b"secret-one").unwrap_or_else(|e| panic!("{e}"));
        let payload = encode_segment(br#"{"sub":"u1","sid":"s1","exp":4000000000}"#);
        let none = format!(
            "{}.{payload}.",
            encode_segment(br#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(issuer.verify(&none), None);
        let token = issuer.issue(&claims(far())).unwrap_or_default();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = encode_segment(br#"{"sub":"admin","sid":"s1","exp":4000000000}"#);
        parts[1] = &forged;
        assert_eq!(issuer.verify(&parts.join(".")), None);
    }

    /// Minimal base64url without padding, for building hostile tokens by hand.
    mod base64_like {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        pub fn encode_segment(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
