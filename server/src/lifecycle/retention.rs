//! The retention rules, run once a day by the scheduler (`crate::notifications::delivery`).
//!
//! Each rule deletes (or archives) what its period has made too old at `now` and nothing else, so
//! running it twice changes nothing the second time; each logs how many rows it took. A rule that
//! fails is logged and the others still run.
//!
//! | rule | what goes | default |
//! |---|---|---|
//! | `inactive_accounts` | young people without a sign-in (password or token refresh; the account's creation if none) are archived « Inactivité » | 730 days |
//! | `archives` | archives, after the period their structure may read them | 730 days |
//! | `notifications` | centre entries, delivered or dropped pushes, settled reminders | 30 days |
//! | `dead_letters` | push rows that died (`dead`) | 30 days |
//! | `devices` | device tokens not registered again; browser subscriptions not posted again | 60 days; `webpush::STALE_AFTER` |
//! | `activation_codes` | activation codes spent or expired | at their expiry |
//! | `token_families` | access and refresh tokens of a family whose every token expired | at their expiry |

use chrono::{DateTime, Duration, Utc};

use super::{Actor, ArchiveReason, ArchiveRequest};
use crate::config::RetentionConfig;
use crate::store::{Store, StoreError};

/// The most accounts one pass archives (a backlog takes a few days).
pub const ARCHIVES_PER_PASS: i64 = 500;

/// The periods of the rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Periods {
    pub inactive_account: Duration,
    pub archive: Duration,
    pub notifications: Duration,
    pub dead_letters: Duration,
    pub device_tokens: Duration,
}

impl Periods {
    pub fn new(config: &RetentionConfig, device_token_stale_days: i64) -> Self {
        let days = |d: i64| Duration::days(d.max(1));
        Periods {
            inactive_account: days(config.inactive_account_days),
            archive: days(config.archive_days),
            notifications: days(config.centre_days),
            dead_letters: days(config.dead_letter_days),
            device_tokens: days(device_token_stale_days),
        }
    }

    /// One line for the start-up output.
    pub fn describe(&self) -> String {
        format!(
            "retention: inactive accounts archived after {} days, archives kept {} days, notifications {} days, \
             dead letters {} days, device tokens {} days",
            self.inactive_account.num_days(),
            self.archive.num_days(),
            self.notifications.num_days(),
            self.dead_letters.num_days(),
            self.device_tokens.num_days()
        )
    }
}

impl Default for Periods {
    fn default() -> Self {
        Periods::new(&RetentionConfig::default(), crate::config::DeliveryConfig::default().device_token_stale_days)
    }
}

/// What one pass did, rule by rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub inactive_accounts: u64,
    pub archives: u64,
    pub notifications: u64,
    pub dead_letters: u64,
    pub devices: u64,
    pub activation_codes: u64,
    pub token_families: u64,
    /// Rules that failed (an account the first rule could not archive is only logged).
    pub failures: u64,
}

/// Runs every rule at `now`.
pub async fn run(store: &dyn Store, periods: &Periods, now: DateTime<Utc>) -> Report {
    let mut report = Report::default();
    let inactive = archive_inactive(store, now - periods.inactive_account, now).await;
    report.inactive_accounts = logged("inactive_accounts", inactive, &mut report.failures);
    report.archives =
        logged("archives", store.delete_archives_before(now - periods.archive).await, &mut report.failures);
    report.notifications =
        logged("notifications", store.prune_notifications(now - periods.notifications).await, &mut report.failures);
    report.dead_letters = logged(
        "dead_letters",
        store.delete_dead_letters_before(now - periods.dead_letters).await,
        &mut report.failures,
    );
    let devices = async {
        let tokens = store.prune_device_tokens(now - periods.device_tokens).await?;
        Ok(tokens + crate::notifications::webpush::prune_stale(store, now).await?)
    };
    report.devices = logged("devices", devices.await, &mut report.failures);
    report.activation_codes =
        logged("activation_codes", store.clear_spent_activation_codes(now).await, &mut report.failures);
    report.token_families =
        logged("token_families", store.delete_expired_token_families(now).await, &mut report.failures);
    report
}

fn logged(rule: &'static str, outcome: Result<u64, StoreError>, failures: &mut u64) -> u64 {
    match outcome {
        Ok(count) => {
            tracing::info!(rule, count, "retention");
            count
        }
        Err(e) => {
            tracing::warn!(rule, error = %e, "retention: rule failed");
            *failures += 1;
            0
        }
    }
}

/// Archives (« Inactivité ») the young people without a sign-in since `before`.
async fn archive_inactive(store: &dyn Store, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let request = ArchiveRequest { reason: ArchiveReason::Inactivity, ended_on: None, comment: None };
    let mut archived = 0;
    for young_person_id in store.inactive_young_people(before, ARCHIVES_PER_PASS).await? {
        match super::archive(store, young_person_id, &request, Actor::Retention, now.date_naive(), now).await {
            Ok(_) => archived += 1,
            // One account that cannot be archived now (its plan being written, a corrupt plan)
            // does not stop the others; it is tried again at the next pass.
            Err(e) => tracing::warn!(%young_person_id, error = %e, "retention: archiving an inactive account"),
        }
    }
    Ok(archived)
}
