//! argon2id password hashes. An unknown email is checked against a dummy hash made with the same
//! parameters, so it costs the same time as a wrong password.
//!
//! Every hash and verification runs on the blocking pool behind one semaphore sized to the cores
//! (`--argon2-max-concurrent`): at most that many argon2 computations at once, each using the
//! configured memory. A request that waits longer than `--argon2-queue-timeout-ms` for its turn
//! gets [`PasswordError::Busy`] (answered 503 with `Retry-After`). The argon2 memory (19 MiB per
//! computation with the defaults) is reused: one buffer per permit, kept in a small pool, so the
//! process holds at most `permits × memory` for argon2 however many requests come (see
//! docs/decisions/2026-12-02-argon2-memory.md).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Config;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing task failed")]
    Join,
    /// No argon2 permit within the queue timeout.
    #[error("every argon2 permit is taken; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
}

/// Hashes and verifies passwords off the async threads, a bounded number at a time.
#[derive(Clone)]
pub struct Passwords {
    params: Argon2Config,
    dummy: Arc<str>,
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    /// argon2 memory blocks of finished computations, reused by the next ones (never more buffers
    /// than permits: a buffer is only out while its computation holds a permit).
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Stored hashes asking for more memory than this (1 GiB) are refused rather than computed.
const MAX_VERIFY_MEMORY_KIB: u32 = 1024 * 1024;

impl Passwords {
    pub fn new(params: Argon2Config) -> Result<Self, PasswordError> {
        let dummy = hash_with(params, "dummy password for unknown emails", &mut Vec::new())?;
        let permits = params.permits().min(Semaphore::MAX_PERMITS);
        Ok(Passwords {
            params,
            dummy: dummy.into(),
            permits: Arc::new(Semaphore::new(permits)),
            queue_timeout: Duration::from_millis(params.queue_timeout_ms),
            pool: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// How many argon2 computations may run at once.
    pub fn permits(&self) -> usize {
        self.params.permits()
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let params = self.params;
        self.run(move |blocks| hash_with(params, &password, blocks)).await?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is none (unknown
    /// user, account not yet activated): same cost either way, and then always false. `Busy` when
    /// no permit came in time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, PasswordError> {
        let (hash, real) = match hash {
            Some(h) => (Arc::from(h), true),
            None => (self.dummy.clone(), false),
        };
        let ok = self.run(move |blocks| verify_with(&password, &hash, blocks)).await?;
        Ok(ok && real)
    }

    /// Runs `f` on the blocking pool once a permit is free, with a reused memory buffer. The permit
    /// moves into the blocking task: a client that goes away does not free it before the work ends.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let busy =
            || PasswordError::Busy { retry_after_secs: self.queue_timeout.as_millis().div_ceil(1000).max(1) as u64 };
        let permit = match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // Timed out, or the semaphore was closed (never done).
            _ => return Err(busy()),
        };
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut blocks = pool.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
            let out = f(&mut blocks);
            pool.lock().unwrap_or_else(|e| e.into_inner()).push(blocks);
            out
        })
        .await
        .map_err(|_| PasswordError::Join)
    }
}

/// `blocks` resized to exactly what `params` needs (its capacity is kept for the next use).
fn memory<'a>(blocks: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    blocks.resize(params.block_count(), Block::new());
    blocks.as_mut_slice()
}

fn hash_with(config: Argon2Config, password: &str, blocks: &mut Vec<Block>) -> Result<String, PasswordError> {
    let err = |e: &dyn std::fmt::Display| PasswordError::Argon2(e.to_string());
    let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None).map_err(|e| err(&e))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory(blocks, &params))
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, computed in `blocks` (with the stored
/// hash's own algorithm and parameters). Constant-time comparison of the outputs.
fn verify_with(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_MEMORY_KIB {
        tracing::error!(m_cost = params.m_cost(), "stored password hash asks for too much memory: refused");
        return false;
    }
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    if argon.hash_password_into_with_memory(password.as_bytes(), salt, out, memory(blocks, &params)).is_err() {
        return false;
    }
    Output::new(out).is_ok_and(|computed| &computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(Argon2Config::for_tests()).unwrap();
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(p.verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!p.verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!p.verify("dummy password for unknown emails".into(), None).await.unwrap());
    }

    #[test]
    fn production_parameters_are_owasp() {
        let h = hash_with(Argon2Config::default(), "x", &mut Vec::new()).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn hashes_of_the_argon2_crate_still_verify() {
        // Hashes stored before the reused buffers were made by `PasswordHasher::hash_password`.
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(256, 1, 1, None).unwrap();
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        let mut blocks = Vec::new();
        assert!(verify_with("correct horse", &stored, &mut blocks));
        assert!(!verify_with("correct horsf", &stored, &mut blocks));
        // A bigger buffer left by an earlier computation is reused, not a problem.
        let mut big = vec![Block::new(); 4096];
        assert!(verify_with("correct horse", &stored, &mut big));
        assert!(!verify_with("x", "not a phc string", &mut big));
    }

    #[tokio::test]
    async fn no_permit_in_time_is_busy() {
        let p =
            Passwords::new(Argon2Config { max_concurrent: Some(0), queue_timeout_ms: 10, ..Argon2Config::for_tests() })
                .unwrap();
        assert!(matches!(p.hash("correct horse".into()).await, Err(PasswordError::Busy { retry_after_secs: 1 })));
        assert!(matches!(p.verify("x".into(), None).await, Err(PasswordError::Busy { .. })));
    }
}
