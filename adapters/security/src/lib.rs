//! Moon's crypto adapters: argon2id password hashing and HS256 JWT access tokens.
#![forbid(unsafe_code)]

mod jwt;
mod password;

pub use jwt::JwtIssuer;
pub use password::Argon2Hasher;
