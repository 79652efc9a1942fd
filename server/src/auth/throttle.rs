//! Throttling of the credential endpoints (`/auth/login`, `/auth/activate`, `/auth/refresh`), in
//! memory, per account and per client address.
//!
//! - **Per account** (the normalised email, the activation code's hash, the refresh token's hash):
//!   after `account_failures` failures the account is locked for `lockout_base_secs`, doubled at
//!   each further failure up to `lockout_max_secs`; a success forgets its failures. The key is what
//!   the client sent, whether or not an account exists behind it: an unknown email is throttled
//!   exactly like a known one, and the answer (429, `Retry-After`) is the same.
//!   Attempts in flight count too: a burst of concurrent guesses gets no more than the
//!   failures left before the lockout.
//! - **Per client address** (an IPv6 /64 counts as one): a token bucket of `address_per_minute`
//!   attempts, refilled continuously. Sign-ins and activations (argon2) take a token each;
//!   refreshes only when they fail (phones behind one carrier NAT refresh often and cheaply).
//!
//! Memory is bounded: each table is a fixed set-associative array of fingerprints (64-bit keyed
//! hashes, never the keys themselves) allocated once; a new key replaces, in its set of 8, an
//! empty or idle entry, else an unlocked one (the least recently seen), else a locked one. Invented emails and
//! addresses therefore cost nothing beyond the table, and evicting a victim's entry takes many
//! attempts, which the per-address limit slows down.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::AuthLimitsConfig;

/// Where the throttle reads the time (monotonic).
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// An attempt refused: retry after this many seconds (at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub retry_after_secs: u64,
}

impl Refused {
    fn after(wait: Duration) -> Refused {
        Refused { retry_after_secs: u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX).max(1) }
    }
}

/// What an attempt costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// argon2 work (sign-in, activation): every attempt takes an address token, attempts in
    /// flight count against the account.
    Costly,
    /// A refresh: only failures count.
    Cheap,
}

/// The key of a sign-in: the email as the store compares it.
pub fn email_key(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    in_flight: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Throttle {
    config: AuthLimitsConfig,
    clock: Arc<dyn Clock>,
    hasher: std::collections::hash_map::RandomState,
    accounts: Mutex<Table<Failures>>,
    addresses: Mutex<Table<Bucket>>,
}

impl Throttle {
    pub fn new(config: AuthLimitsConfig) -> Self {
        Throttle::with_clock(config, Arc::new(MonotonicClock))
    }

    pub fn with_clock(config: AuthLimitsConfig, clock: Arc<dyn Clock>) -> Self {
        Throttle {
            config,
            clock,
            hasher: Default::default(),
            accounts: Mutex::new(Table::new(config.capacity)),
            addresses: Mutex::new(Table::new(config.capacity)),
        }
    }

    pub fn config(&self) -> &AuthLimitsConfig {
        &self.config
    }

    /// Starts an attempt on `account` from `address` (`None` when the transport gives none, as
    /// in-process tests: no per-address limit then). End it with [`Attempt::succeeded`] or
    /// [`Attempt::failed`]; dropped unfinished (the client went away, the server was busy), it
    /// counts as neither.
    pub fn begin(&self, account: &str, address: Option<IpAddr>, cost: Cost) -> Result<Attempt<'_>, Refused> {
        let now = self.clock.now();
        let address = address.map(|ip| self.hasher.hash_one(normalise(ip)));
        if let Some(addr) = address {
            self.take_token(addr, now, cost == Cost::Costly)?;
        }
        let key = self.hasher.hash_one(account);
        let mut accounts = lock(&self.accounts);
        let window = Duration::from_secs(self.config.failure_window_secs);
        let keep = move |f: &Failures, now: Instant| worth(f, now, window);
        let entry = match cost {
            Cost::Costly => Some(accounts.entry(key, now, keep, || Failures {
                count: 0,
                in_flight: 0,
                last_failure: now,
                locked_until: None,
            })),
            Cost::Cheap => accounts.get_mut(key, now),
        };
        if let Some(f) = entry {
            if let Some(until) = f.locked_until.filter(|until| *until > now) {
                return Err(Refused::after(until - now));
            }
            if is_idle(f, now, window) {
                f.count = 0;
            }
            if cost == Cost::Costly {
                // After a lockout, one attempt at a time.
                let left = self.config.account_failures.saturating_sub(f.count).max(1);
                if f.in_flight >= left {
                    return Err(Refused { retry_after_secs: 1 });
                }
                f.in_flight += 1;
            }
        }
        Ok(Attempt { throttle: self, key, address, cost, done: false })
    }

    fn take_token(&self, addr: u64, now: Instant, charge: bool) -> Result<(), Refused> {
        let per_minute = f64::from(self.config.address_per_minute);
        if per_minute <= 0.0 {
            return Ok(());
        }
        let rate = per_minute / 60.0;
        let keep = move |b: &Bucket, now: Instant| {
            u8::from(b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < per_minute)
        };
        let mut addresses = lock(&self.addresses);
        let bucket = addresses.entry(addr, now, keep, || Bucket { tokens: per_minute, at: now });
        bucket.tokens = (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate).min(per_minute);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(Refused::after(Duration::from_secs_f64((1.0 - bucket.tokens) / rate)));
        }
        if charge {
            bucket.tokens -= 1.0;
        }
        Ok(())
    }

    fn finish(&self, attempt: &Attempt<'_>, failed: Option<bool>) {
        let now = self.clock.now();
        if failed == Some(true)
            && attempt.cost == Cost::Cheap
            && let Some(addr) = attempt.address
        {
            // A failed refresh takes its address token now.
            let _ = self.take_token(addr, now, true);
        }
        let mut accounts = lock(&self.accounts);
        let window = Duration::from_secs(self.config.failure_window_secs);
        let entry = match (failed, attempt.cost) {
            (Some(true), _) => Some(accounts.entry(
                attempt.key,
                now,
                move |f, now| worth(f, now, window),
                || Failures { count: 0, in_flight: 0, last_failure: now, locked_until: None },
            )),
            _ => accounts.get_mut(attempt.key, now),
        };
        let Some(f) = entry else { return };
        if attempt.cost == Cost::Costly {
            f.in_flight = f.in_flight.saturating_sub(1);
        }
        match failed {
            Some(true) => {
                f.count = f.count.saturating_add(1);
                f.last_failure = now;
                if f.count >= self.config.account_failures {
                    let doublings = (f.count - self.config.account_failures).min(30);
                    let secs =
                        self.config.lockout_base_secs.saturating_mul(1 << doublings).min(self.config.lockout_max_secs);
                    // Settings too large for the clock lock for a day rather than panic.
                    f.locked_until = now
                        .checked_add(Duration::from_secs(secs))
                        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
                        .or(Some(now));
                }
            }
            Some(false) => {
                f.count = 0;
                f.locked_until = None;
            }
            None => {}
        }
    }
}

/// One attempt in progress.
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    key: u64,
    address: Option<u64>,
    cost: Cost,
    done: bool,
}

impl Attempt<'_> {
    /// The right credentials: the account's failures are forgotten.
    pub fn succeeded(mut self) {
        self.done = true;
        self.throttle.finish(&self, Some(false));
    }

    /// Wrong credentials (or an unknown account).
    pub fn failed(mut self) {
        self.done = true;
        self.throttle.finish(&self, Some(true));
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.throttle.finish(self, None);
        }
    }
}

/// What keeping an entry is worth: 0 idle (forgettable), 1 failures counting, 2 locked.
fn worth(f: &Failures, now: Instant, window: Duration) -> u8 {
    if is_idle(f, now, window) {
        0
    } else if f.locked_until.is_some_and(|until| until > now) {
        2
    } else {
        1
    }
}

fn is_idle(f: &Failures, now: Instant, window: Duration) -> bool {
    f.in_flight == 0
        && f.locked_until.is_none_or(|until| until <= now)
        && f.last_failure.checked_add(window).is_some_and(|forgotten| now >= forgotten)
}

/// IPv4 addresses as they are (an IPv4-mapped IPv6 address too); IPv6 by /64, what one host or
/// home usually gets.
fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const WAYS: usize = 8;

#[derive(Clone, Copy)]
struct Slot<V> {
    key: u64,
    last_seen: Instant,
    value: V,
}

/// A fixed-capacity set-associative map from fingerprints to `V`.
struct Table<V> {
    sets: Vec<[Option<Slot<V>>; WAYS]>,
}

impl<V: Copy> Table<V> {
    fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1);
        Table { sets: vec![[None; WAYS]; sets] }
    }

    fn set(&mut self, key: u64) -> &mut [Option<Slot<V>>; WAYS] {
        let n = self.sets.len() as u64;
        let i = usize::try_from(key % n).unwrap_or(0);
        &mut self.sets[i]
    }

    fn get_mut(&mut self, key: u64, now: Instant) -> Option<&mut V> {
        self.set(key).iter_mut().flatten().find(|s| s.key == key).map(|s| {
            s.last_seen = now;
            &mut s.value
        })
    }

    /// The entry of `key`, made with `fresh` in the set's least valuable slot when absent (empty,
    /// then the lowest `worth`, then the least recently seen).
    fn entry(
        &mut self,
        key: u64,
        now: Instant,
        worth: impl Fn(&V, Instant) -> u8,
        fresh: impl FnOnce() -> V,
    ) -> &mut V {
        let set = self.set(key);
        let index = match set.iter().position(|s| s.is_some_and(|s| s.key == key)) {
            Some(i) => i,
            None => {
                let rank = |s: &Option<Slot<V>>| match s {
                    None => (0, None),
                    Some(s) => (1 + worth(&s.value, now), Some(s.last_seen)),
                };
                let i = (0..WAYS).min_by_key(|i| rank(&set[*i])).unwrap_or(0);
                set[i] = None;
                i
            }
        };
        let slot = set[index].get_or_insert_with(|| Slot { key, last_seen: now, value: fresh() });
        slot.last_seen = now;
        &mut slot.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Instant);

    impl Clock for Fixed {
        fn now(&self) -> Instant {
            self.0
        }
    }

    #[test]
    fn invented_keys_do_not_grow_the_tables_nor_evict_a_lockout() {
        let config = AuthLimitsConfig { capacity: 64, address_per_minute: 0, ..AuthLimitsConfig::default() };
        let throttle = Throttle::with_clock(config, Arc::new(Fixed(Instant::now())));
        for _ in 0..5 {
            throttle.begin("email:victim@test.fr", None, Cost::Costly).unwrap().failed();
        }
        assert!(throttle.begin("email:victim@test.fr", None, Cost::Costly).is_err());
        for i in 0..10_000 {
            throttle.begin(&format!("email:n{i}@test.fr"), None, Cost::Costly).unwrap().failed();
        }
        assert_eq!(lock(&throttle.accounts).sets.len(), 8, "fixed size");
        // In a set of 8, the locked entry goes last: 10,000 single failures did not free the victim.
        assert_eq!(
            throttle.begin("email:victim@test.fr", None, Cost::Costly).err(),
            Some(Refused { retry_after_secs: 30 })
        );
    }

    #[test]
    fn concurrent_attempts_count_before_they_end_and_abandoned_ones_not_at_all() {
        let throttle = Throttle::with_clock(AuthLimitsConfig::default(), Arc::new(Fixed(Instant::now())));
        let flight: Vec<_> = (0..5).map(|_| throttle.begin("email:a@test.fr", None, Cost::Costly).unwrap()).collect();
        assert!(throttle.begin("email:a@test.fr", None, Cost::Costly).is_err(), "a sixth guess in flight");
        drop(flight); // client gone or server busy: neither success nor failure
        let ok = throttle.begin("email:a@test.fr", None, Cost::Costly).unwrap();
        ok.succeeded();
    }

    #[test]
    fn ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(normalise(a), normalise(b));
        assert_ne!(normalise(a), normalise(c));
        assert_eq!(normalise("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
