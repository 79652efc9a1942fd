//! How long the service keeps what it holds (issue 14).

use clap::Args;

/// How long the service keeps what it holds (see `crate::lifecycle::retention`); printed at
/// start-up. Device tokens: `--device-token-stale-days`.
#[derive(Clone, Debug, Args, PartialEq)]
pub struct RetentionConfig {
    /// A young person who has not signed in (password or token refresh) for this many days is
    /// archived with the reason « Inactivité ».
    #[arg(
        long = "inactive-account-days",
        env = "PASS_EMPLOI_INACTIVE_ACCOUNT_DAYS",
        default_value_t = 730,
        global = true
    )]
    pub inactive_account_days: i64,
    /// An archive is readable by its structure for this many days, then deleted.
    #[arg(
        long = "archive-retention-days",
        env = "PASS_EMPLOI_ARCHIVE_RETENTION_DAYS",
        default_value_t = 730,
        global = true
    )]
    pub archive_days: i64,
    /// Notification centre entries (and delivered pushes, settled reminders) older than this many
    /// days are deleted.
    #[arg(
        long = "centre-retention-days",
        env = "PASS_EMPLOI_CENTRE_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub centre_days: i64,
    /// Dead-letter push rows older than this many days are deleted.
    #[arg(long = "dead-letter-days", env = "PASS_EMPLOI_DEAD_LETTER_DAYS", default_value_t = 30, global = true)]
    pub dead_letter_days: i64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { inactive_account_days: 730, archive_days: 730, centre_days: 30, dead_letter_days: 30 }
    }
}
