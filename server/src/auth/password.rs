//! argon2id password hashes. An unknown email is checked against a dummy hash made with the same
//! parameters, so it costs the same time as a wrong password.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Argon2Config;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing task failed")]
    Join,
}

/// Hashes and verifies passwords off the async threads.
#[derive(Clone)]
pub struct Passwords {
    params: Argon2Config,
    dummy: String,
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

impl Passwords {
    pub fn new(params: Argon2Config) -> Result<Self, PasswordError> {
        let dummy = hash_sync(params, "dummy password for unknown emails")?;
        Ok(Passwords { params, dummy })
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let params = self.params;
        tokio::task::spawn_blocking(move || hash_sync(params, &password)).await.map_err(|_| PasswordError::Join)?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is none (unknown
    /// user, account not yet activated): same cost either way, and then always false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

fn hash_sync(params: Argon2Config, password: &str) -> Result<String, PasswordError> {
    let params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
        .map_err(|e| PasswordError::Argon2(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| PasswordError::Argon2(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(Argon2Config::for_tests()).unwrap();
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(p.verify("correct horse".into(), Some(h.clone())).await);
        assert!(!p.verify("wrong".into(), Some(h)).await);
        assert!(!p.verify("dummy password for unknown emails".into(), None).await);
    }

    #[test]
    fn production_parameters_are_owasp() {
        let h = hash_sync(Argon2Config::default(), "x").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }
}
