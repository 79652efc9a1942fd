//! What a loaded plan holds in memory, as the plan cache counts it against `--doc-cache-mib`.
//!
//! Automerge does not say how much memory a document holds, and a loaded plan holds far more than
//! its saved bytes: from 18 KiB for a new plan of 238 saved bytes to ~50 times the saved bytes of
//! a long one (`sync-loadgen --plan-memory`, figures in `docs/performance.md`). The estimate is
//! that envelope, so that the cache's budget bounds the process's memory rather than the bytes on
//! disk; the plan's peers' sync states, the changes waiting for dependencies and its cached
//! notification context are added.

use crate::store::NotificationContext;

/// What any loaded plan holds, however small (its op set's columns, indexes and caches).
const PLAN_BASE_BYTES: usize = 18 * 1024;

/// Memory per saved byte of a loaded plan (the saved form is compressed columns).
const MEMORY_PER_SAVED_BYTE: usize = 50;

/// A cached notification context with empty strings and lists.
const CONTEXT_BASE_BYTES: usize = 256;

/// A loaded plan of `saved_bytes`, with `waiting_bytes` of changes held back for dependencies and
/// sync states of `peer_state_bytes`.
pub(crate) fn loaded_plan(saved_bytes: usize, waiting_bytes: usize, peer_state_bytes: usize) -> usize {
    PLAN_BASE_BYTES
        .saturating_add(saved_bytes.saturating_mul(MEMORY_PER_SAVED_BYTE))
        .saturating_add(waiting_bytes.saturating_mul(2))
        .saturating_add(peer_state_bytes)
}

pub(super) fn context(context: &NotificationContext) -> usize {
    let strings = context.first_name.len()
        + context.timezone.len()
        + context.followers.iter().map(|(_, tz)| 16 + 24 + tz.len()).sum::<usize>()
        + context.disabled.iter().map(|kind| 24 + kind.len()).sum::<usize>();
    CONTEXT_BASE_BYTES + strings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope covers every figure of `sync-loadgen --plan-memory` (history, saved bytes,
    /// RSS per loaded plan): 0 changes 238 B → 18.0 KiB; 100, 2,191 B → 58.6 KiB; 1,000,
    /// 9,801 B → 374.5 KiB; 5,000, 45,453 B → 1,927.8 KiB; 20,000, 179,944 B → 8,816.6 KiB.
    #[test]
    fn the_estimate_covers_the_measured_plans() {
        for (saved, measured_kib) in [(238, 18.0), (2_191, 58.6), (9_801, 374.5), (45_453, 1_927.8), (179_944, 8_816.6)]
        {
            let estimate = loaded_plan(saved, 0, 0) as f64 / 1024.0;
            assert!(estimate >= measured_kib * 0.99, "{saved} saved bytes: {estimate:.1} KiB < {measured_kib} KiB");
            assert!(estimate <= measured_kib * 2.5, "{saved} saved bytes: {estimate:.1} KiB, far over {measured_kib}");
        }
    }
}
