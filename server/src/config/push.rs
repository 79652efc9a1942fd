//! Push to the advisers' browsers (Web Push) and to the phones (FCM), and the delivery workers
//! (issue 6).

use std::path::PathBuf;

use clap::Args;

/// The push services that browsers' subscription endpoints may point at, by default: Google (Chrome,
/// Edge's Chromium builds use FCM too), Mozilla, Apple (Safari) and Microsoft (WNS).
pub const DEFAULT_WEB_PUSH_HOSTS: [&str; 5] = [
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
    "web.push.apple.com",
];

/// Web Push (VAPID, aes128gcm) to the advisers' browsers.
#[derive(Clone, Debug, Args, PartialEq)]
pub struct WebPushConfig {
    /// The VAPID contact (`sub` claim): a `mailto:` or `https:` URL the push services can reach.
    #[arg(
        id = "web_push_subject",
        value_name = "SUBJECT",
        long = "web-push-subject",
        env = "PASS_EMPLOI_WEB_PUSH_SUBJECT",
        default_value = "mailto:support@pass-emploi.beta.gouv.fr",
        global = true
    )]
    pub subject: String,
    /// Hosts that subscription endpoints may name, comma-separated; `*.example.com` allows its
    /// subdomains. Endpoints must be https (port 443), except a loopback host listed explicitly
    /// (127.0.0.1, ::1 or localhost), which may use http: for tests only.
    #[arg(
        id = "web_push_allowed_hosts",
        value_name = "HOSTS",
        long = "web-push-allowed-hosts",
        env = "PASS_EMPLOI_WEB_PUSH_ALLOWED_HOSTS",
        value_delimiter = ',',
        default_values_t = DEFAULT_WEB_PUSH_HOSTS.map(String::from),
        global = true
    )]
    pub allowed_hosts: Vec<String>,
    /// Timeout of one request to a push service, in seconds.
    #[arg(
        id = "web_push_timeout_secs",
        value_name = "SECS",
        long = "web-push-timeout-secs",
        env = "PASS_EMPLOI_WEB_PUSH_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub timeout_secs: u64,
    /// Subscriptions kept per user (the most recently seen).
    #[arg(
        id = "web_push_subscriptions_per_user",
        value_name = "N",
        long = "web-push-subscriptions-per-user",
        env = "PASS_EMPLOI_WEB_PUSH_SUBSCRIPTIONS_PER_USER",
        default_value_t = 10,
        global = true
    )]
    pub subscriptions_per_user: i64,
}

impl Default for WebPushConfig {
    fn default() -> Self {
        WebPushConfig {
            subject: "mailto:support@pass-emploi.beta.gouv.fr".into(),
            allowed_hosts: DEFAULT_WEB_PUSH_HOSTS.map(String::from).to_vec(),
            timeout_secs: 10,
            subscriptions_per_user: 10,
        }
    }
}

/// FCM HTTP v1, for the young people's phones. Without a service-account key the server runs
/// without phone pushes: `mobile` rows wait and are dropped when their TTL runs out.
#[derive(Clone, Debug, Args, PartialEq)]
pub struct FcmConfig {
    /// The Firebase service-account key (JSON: project_id, client_email, private_key, token_uri).
    #[arg(long = "fcm-credentials", env = "PASS_EMPLOI_FCM_CREDENTIALS", global = true)]
    pub credentials: Option<PathBuf>,
    /// Where `/v1/projects/{project}/messages:send` is served.
    #[arg(
        long = "fcm-base-url",
        env = "PASS_EMPLOI_FCM_BASE_URL",
        default_value = "https://fcm.googleapis.com",
        global = true
    )]
    pub base_url: String,
    /// The OAuth2 token endpoint; by default the key file's `token_uri`.
    #[arg(long = "fcm-token-uri", env = "PASS_EMPLOI_FCM_TOKEN_URI", global = true)]
    pub token_uri: Option<String>,
    /// Timeout of one request to FCM or to the token endpoint, in seconds (Google advises ≥ 10).
    #[arg(long = "fcm-timeout-secs", env = "PASS_EMPLOI_FCM_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub timeout_secs: u64,
}

impl Default for FcmConfig {
    fn default() -> Self {
        FcmConfig {
            credentials: None,
            base_url: "https://fcm.googleapis.com".into(),
            token_uri: None,
            timeout_secs: 10,
        }
    }
}

/// The outbox's delivery workers and the notification scheduler.
#[derive(Clone, Debug, Args, PartialEq)]
pub struct DeliveryConfig {
    /// Delivery workers per push channel (default 4 on PostgreSQL; always 1 on SQLite).
    #[arg(long = "delivery-workers", env = "PASS_EMPLOI_DELIVERY_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Rows one worker claims (and sends concurrently) per round.
    #[arg(long = "delivery-batch", env = "PASS_EMPLOI_DELIVERY_BATCH", default_value_t = 50, global = true)]
    pub batch: i64,
    /// Attempts before a row goes to the dead letters.
    #[arg(
        long = "delivery-max-attempts",
        env = "PASS_EMPLOI_DELIVERY_MAX_ATTEMPTS",
        default_value_t = 10,
        global = true
    )]
    pub max_attempts: i64,
    /// First retry delay bound, in milliseconds (doubled per attempt, full jitter).
    #[arg(
        long = "delivery-backoff-base-ms",
        env = "PASS_EMPLOI_DELIVERY_BACKOFF_BASE_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub backoff_base_ms: u64,
    /// Largest retry delay bound, in seconds (a longer `Retry-After` is still honoured).
    #[arg(
        long = "delivery-backoff-cap-secs",
        env = "PASS_EMPLOI_DELIVERY_BACKOFF_CAP_SECS",
        default_value_t = 1_800,
        global = true
    )]
    pub backoff_cap_secs: u64,
    /// How long a claimed row is reserved for its worker; a worker that dies leaves it due again after.
    #[arg(long = "delivery-lease-secs", env = "PASS_EMPLOI_DELIVERY_LEASE_SECS", default_value_t = 120, global = true)]
    pub lease_secs: u64,
    /// Pause of an idle worker before it looks for due rows again, in milliseconds.
    #[arg(long = "delivery-poll-ms", env = "PASS_EMPLOI_DELIVERY_POLL_MS", default_value_t = 1_000, global = true)]
    pub poll_ms: u64,
    /// Period of the scheduler (reminders, weekly nudges, expired rows), in seconds.
    #[arg(long = "scheduler-secs", env = "PASS_EMPLOI_SCHEDULER_SECS", default_value_t = 60, global = true)]
    pub scheduler_secs: u64,
    /// Device tokens kept per user (the most recently registered); a new one replaces the least
    /// recently seen.
    #[arg(
        long = "device-tokens-per-user",
        env = "PASS_EMPLOI_DEVICE_TOKENS_PER_USER",
        default_value_t = 10,
        global = true
    )]
    pub device_tokens_per_user: i64,
    /// Device tokens not registered again for this many days are deleted.
    #[arg(
        long = "device-token-stale-days",
        env = "PASS_EMPLOI_DEVICE_TOKEN_STALE_DAYS",
        default_value_t = 60,
        global = true
    )]
    pub device_token_stale_days: i64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            workers: None,
            batch: 50,
            max_attempts: 10,
            backoff_base_ms: 5_000,
            backoff_cap_secs: 1_800,
            lease_secs: 120,
            poll_ms: 1_000,
            scheduler_secs: 60,
            device_tokens_per_user: 10,
            device_token_stale_days: 60,
        }
    }
}
