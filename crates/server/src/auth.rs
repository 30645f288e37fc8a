//! Credentials: argon2id password hashes, and opaque random secrets for sessions and API tokens
//! of which only a SHA-256 is stored.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::{OsRng, RngCore};
use registrar_domain::text::Password;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

use crate::error::ApiError;

/// Every secret we hand out starts with this, so secret scanners and people can recognise one.
pub const SECRET_PREFIX: &str = "rgr_";

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes on a blocking thread: argon2id is deliberately slow and must not stall the reactor.
pub async fn hash_password(password: Password) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task failed: {e}")))?
}

/// A hash of a password nobody knows, verified against when the user does not exist so that a
/// login for an unknown account takes as long as one with a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(new_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn verify_password(candidate: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DECOY_HASH.clone());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::Internal(format!("stored password hash unreadable: {e}")))?;
        Ok(known
            && argon2()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check task failed: {e}")))?
}

/// A fresh 256-bit secret, hex-encoded behind the prefix.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex(&bytes))
}

/// What the database keeps of a secret. A fast hash is right here: the secret has 256 bits of
/// entropy, so there is nothing to brute-force.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password(Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(
            !verify_password("anything at all".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(a.len(), SECRET_PREFIX.len() + 64);
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
