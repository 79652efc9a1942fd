//! How long to wait before trying again: exponential, capped, with full jitter so that a thousand
//! phones coming back with the network (or a thousand pushes refused at once) do not retry at the
//! same instant. Used by the phones' reconnection and the server's delivery workers.

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (1 for the first retry): uniform in
    /// `[0, min(cap, base × 2^(attempt-1))]`, `unit` being a uniform draw in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exp.min(self.cap).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// [`Self::delay`] with a random draw.
    #[cfg(feature = "client")]
    pub fn random_delay(&self, attempt: u32) -> Duration {
        let mut bytes = [0u8; 8];
        rand::fill(&mut bytes);
        let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        self.delay(attempt, unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_doubles_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.999_999), Duration::from_millis(500).mul_f64(0.999_999));
        assert_eq!(b.delay(2, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(4, 1.0), Duration::from_secs(4));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(3, 0.0), Duration::ZERO);
    }

    #[test]
    #[cfg(feature = "client")]
    fn draws_are_spread_over_the_window() {
        let b = Backoff::default();
        let draws: Vec<Duration> = (0..200).map(|_| b.random_delay(8)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(60)));
        let low = draws.iter().filter(|d| **d < Duration::from_secs(30)).count();
        assert!((40..=160).contains(&low), "{low} of 200 in the lower half");
    }
}
