//! The one typed configuration: command-line flags and environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "pass-emploi-server", version, about = "Pass emploi: accounts, plans and their REST API")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the service (the default).
    Serve {
        /// Seeds a demonstration structure on an empty database and prints its logins.
        #[arg(long)]
        demo: bool,
    },
    /// Runs the database migrations and exits.
    Migrate,
    /// Manages accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Web Push to the advisers' browsers.
    #[command(subcommand)]
    WebPush(WebPushCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebPushCommand {
    /// Sends a test notification to every browser a user subscribed (checks the set-up end to end).
    Test {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a user and prints their id.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        email: String,
        /// Reads the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// The structure's name (created if it does not exist).
        #[arg(long)]
        structure: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RoleArg {
    YoungPerson,
    Adviser,
    Supervisor,
    Admin,
}

#[derive(Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PASS_EMPLOI_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,
    /// Directory holding the SQLite database (when DATABASE_URL is not a postgres:// URL).
    #[arg(long, env = "PASS_EMPLOI_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// A postgres:// URL switches to PostgreSQL.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    // --- delivery (issue 6) ---
    #[command(flatten)]
    pub fcm: FcmConfig,
    #[command(flatten)]
    pub delivery: DeliveryConfig,
    /// Budget of the in-memory cache of loaded plans, in MiB of saved bytes.
    #[arg(long, env = "PASS_EMPLOI_DOC_CACHE_MIB", default_value_t = 64, global = true)]
    pub doc_cache_mib: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PASS_EMPLOI_BODY_LIMIT", default_value_t = 64 * 1024, global = true)]
    pub body_limit: usize,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "PASS_EMPLOI_ACCESS_TTL_SECS", default_value_t = 15 * 60, global = true)]
    pub access_ttl_secs: i64,
    /// Lifetime of a refresh token, in days.
    #[arg(long, env = "PASS_EMPLOI_REFRESH_TTL_DAYS", default_value_t = 30, global = true)]
    pub refresh_ttl_days: i64,
    #[command(flatten)]
    pub argon2: Argon2Config,
    #[command(flatten)]
    pub auth_limits: AuthLimitsConfig,
    #[command(flatten)]
    pub sync: SyncConfig,
    // --- web push (issue 6) ---
    #[command(flatten)]
    pub web_push: WebPushConfig,
    // --- edges (issue 10) ---
    #[command(flatten)]
    pub http: HttpConfig,
    // --- the advisers' web app (issue 11) ---
    #[command(flatten)]
    pub web: WebConfig,
    // --- archiving, deletion and retention (issue 14) ---
    #[command(flatten)]
    pub retention: RetentionConfig,
    /// When set, `GET /metrics` requires `Authorization: Bearer <token>`; set it in every deployment.
    #[arg(long = "metrics-token", env = "PASS_EMPLOI_METRICS_TOKEN", global = true)]
    pub metrics_token: Option<String>,
}

// --- the advisers' web app (issue 11) ---

/// The advisers' web app: its browser sessions and where the design system's files are.
#[derive(Clone, Debug, Args, PartialEq)]
pub struct WebConfig {
    /// Lifetime of an adviser's browser session, in hours (a working day by default).
    #[arg(long = "web-session-hours", env = "PASS_EMPLOI_WEB_SESSION_HOURS", default_value_t = 10, global = true)]
    pub session_hours: i64,
    /// Mark the session cookie `Secure`: set it whenever the app is served over https (behind a
    /// reverse proxy, `--trust-forwarded-for` with `X-Forwarded-Proto: https` does it per request).
    #[arg(long = "web-secure-cookies", env = "PASS_EMPLOI_WEB_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,
    /// The `dist/` folder of the npm package `@gouvfr/dsfr` (default: `server/web/node_modules/…`
    /// of the source tree, where `npm ci` in `server/web` puts it).
    #[arg(long = "web-dsfr-dir", env = "PASS_EMPLOI_WEB_DSFR_DIR", global = true)]
    pub dsfr_dir: Option<PathBuf>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { session_hours: 10, secure_cookies: false, dsfr_dir: None }
    }
}

// --- archiving, deletion and retention (issue 14) ---

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

// --- edges (issue 10) ---

/// The connections `serve` accepts: timeouts and a cap (see `crate::listener`).
#[derive(Clone, Debug, Args, PartialEq)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers, and the longest an idle keep-alive
    /// connection waits for its next request.
    #[arg(
        long = "http-header-timeout-secs",
        env = "PASS_EMPLOI_HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a whole request body (408 after).
    #[arg(
        long = "http-body-timeout-secs",
        env = "PASS_EMPLOI_HTTP_BODY_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub body_timeout_secs: u64,
    /// Connections served at once (WebSocket sessions included); more wait in the listen queue.
    /// Keep it below the file-descriptor limit (`ulimit -n`) minus the database pool.
    #[arg(
        long = "http-max-connections",
        env = "PASS_EMPLOI_HTTP_MAX_CONNECTIONS",
        default_value_t = 768,
        global = true
    )]
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { header_timeout_secs: 10, body_timeout_secs: 60, max_connections: 768 }
    }
}

// --- web push (issue 6) ---

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

// --- end web push ---

/// Limits of the sync gateway (WebSocket sessions and HTTP sync).
#[derive(Clone, Debug, Args, PartialEq)]
pub struct SyncConfig {
    /// Largest WebSocket frame (and HTTP sync body), in bytes.
    #[arg(long = "sync-max-frame-bytes", env = "PASS_EMPLOI_SYNC_MAX_FRAME_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub max_frame_bytes: usize,
    /// Largest saved plan a sync may grow, in bytes.
    #[arg(long = "sync-max-document-bytes", env = "PASS_EMPLOI_SYNC_MAX_DOCUMENT_BYTES", default_value_t = 32 * 1024 * 1024, global = true)]
    pub max_document_bytes: usize,
    /// WebSocket sessions one user may hold at once.
    #[arg(
        long = "sync-sessions-per-user",
        env = "PASS_EMPLOI_SYNC_SESSIONS_PER_USER",
        default_value_t = 8,
        global = true
    )]
    pub sessions_per_user: usize,
    /// Frames per second a session may send on average (twice that in a burst).
    #[arg(
        long = "sync-messages-per-second",
        env = "PASS_EMPLOI_SYNC_MESSAGES_PER_SECOND",
        default_value_t = 50.0,
        global = true
    )]
    pub messages_per_second: f64,
    /// Seconds between pings.
    #[arg(long = "sync-ping-secs", env = "PASS_EMPLOI_SYNC_PING_SECS", default_value_t = 20, global = true)]
    pub ping_secs: u64,
    /// A session that sends nothing (not even a pong) for this many seconds is closed.
    #[arg(long = "sync-idle-secs", env = "PASS_EMPLOI_SYNC_IDLE_SECS", default_value_t = 60, global = true)]
    pub idle_secs: u64,
    /// Seconds between two checks of an open session's token and of its access to each plan (what
    /// another instance revoked or transferred without this one hearing of it).
    #[arg(
        long = "sync-revalidate-secs",
        env = "PASS_EMPLOI_SYNC_REVALIDATE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub revalidate_secs: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            max_frame_bytes: 8 * 1024 * 1024,
            max_document_bytes: 32 * 1024 * 1024,
            sessions_per_user: 8,
            messages_per_second: 50.0,
            ping_secs: 20,
            idle_secs: 60,
            revalidate_secs: 30,
        }
    }
}

/// argon2id parameters. The defaults are OWASP's (19 MiB, 2 passes, 1 lane); tests lower them.
#[derive(Clone, Copy, Debug, Args, PartialEq, Eq)]
pub struct Argon2Config {
    #[arg(long = "argon2-memory-kib", env = "PASS_EMPLOI_ARGON2_MEMORY_KIB", default_value_t = 19_456, global = true)]
    pub memory_kib: u32,
    #[arg(long = "argon2-iterations", env = "PASS_EMPLOI_ARGON2_ITERATIONS", default_value_t = 2, global = true)]
    pub iterations: u32,
    #[arg(long = "argon2-parallelism", env = "PASS_EMPLOI_ARGON2_PARALLELISM", default_value_t = 1, global = true)]
    pub parallelism: u32,
    /// argon2 computations (sign-ins, activations) run at once; by default one per core.
    #[arg(long = "argon2-max-concurrent", env = "PASS_EMPLOI_ARGON2_MAX_CONCURRENT", global = true)]
    pub max_concurrent: Option<usize>,
    /// How long a sign-in or activation waits for its argon2 turn before a 503, in milliseconds.
    #[arg(
        long = "argon2-queue-timeout-ms",
        env = "PASS_EMPLOI_ARGON2_QUEUE_TIMEOUT_MS",
        default_value_t = 2_000,
        global = true
    )]
    pub queue_timeout_ms: u64,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Argon2Config {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: None,
            queue_timeout_ms: 2_000,
        }
    }
}

impl Argon2Config {
    /// Cheap parameters for tests only.
    pub fn for_tests() -> Self {
        Argon2Config { memory_kib: 256, iterations: 1, parallelism: 1, ..Argon2Config::default() }
    }

    /// `max_concurrent`, or the number of cores.
    pub fn permits(&self) -> usize {
        self.max_concurrent
            .unwrap_or_else(|| std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1))
    }
}

/// Throttling of `/auth/login`, `/auth/activate` and `/auth/refresh` (see `auth::throttle`).
#[derive(Clone, Copy, Debug, Args, PartialEq, Eq)]
pub struct AuthLimitsConfig {
    /// Failed attempts on one account (email, refresh token) before it is locked.
    #[arg(
        long = "auth-account-failures",
        env = "PASS_EMPLOI_AUTH_ACCOUNT_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub account_failures: u32,
    /// First lockout, in seconds; doubled at each further failure.
    #[arg(
        long = "auth-lockout-base-secs",
        env = "PASS_EMPLOI_AUTH_LOCKOUT_BASE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub lockout_base_secs: u64,
    /// Longest lockout, in seconds.
    #[arg(
        long = "auth-lockout-max-secs",
        env = "PASS_EMPLOI_AUTH_LOCKOUT_MAX_SECS",
        default_value_t = 900,
        global = true
    )]
    pub lockout_max_secs: u64,
    /// An account's failures are forgotten after this many seconds without one (and no lockout).
    #[arg(
        long = "auth-failure-window-secs",
        env = "PASS_EMPLOI_AUTH_FAILURE_WINDOW_SECS",
        default_value_t = 900,
        global = true
    )]
    pub failure_window_secs: u64,
    /// Attempts per minute from one client address (an IPv6 /64 counts as one address); 0 turns
    /// the per-address limit off.
    #[arg(
        long = "auth-address-per-minute",
        env = "PASS_EMPLOI_AUTH_ADDRESS_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub address_per_minute: u32,
    /// Accounts and addresses remembered (each table; the least recently seen are forgotten first).
    #[arg(
        long = "auth-throttle-capacity",
        env = "PASS_EMPLOI_AUTH_THROTTLE_CAPACITY",
        default_value_t = 65_536,
        global = true
    )]
    pub capacity: usize,
    /// Takes the client address from the last `X-Forwarded-For` entry: only behind a reverse proxy
    /// that sets it (otherwise any client can pick its address).
    #[arg(long = "trust-forwarded-for", env = "PASS_EMPLOI_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: bool,
}

impl Default for AuthLimitsConfig {
    fn default() -> Self {
        AuthLimitsConfig {
            account_failures: 5,
            lockout_base_secs: 30,
            lockout_max_secs: 900,
            failure_window_secs: 900,
            address_per_minute: 30,
            capacity: 65_536,
            trust_forwarded_for: false,
        }
    }
}

// --- delivery (issue 6) ---

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

impl Config {
    /// A configuration for tests and tools: SQLite in `data_dir`, cheap argon2.
    pub fn for_tests(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fcm: FcmConfig::default(),
            delivery: DeliveryConfig::default(),
            data_dir,
            database_url,
            doc_cache_mib: 64,
            body_limit: 64 * 1024,
            access_ttl_secs: 15 * 60,
            refresh_ttl_days: 30,
            argon2: Argon2Config::for_tests(),
            auth_limits: AuthLimitsConfig::default(),
            sync: SyncConfig::default(),
            web_push: WebPushConfig::default(),
            http: HttpConfig::default(),
            web: WebConfig::default(),
            retention: RetentionConfig::default(),
            metrics_token: None,
        }
    }
}

/// Hides the password of a database URL: in its userinfo (`user:secret@`) and in any query
/// parameter whose name contains `password` (`?password=`, `&sslpassword=`).
pub fn redact_url(url: &str) -> String {
    // The userinfo first (a password may hold a raw `?`), then the query of what follows it.
    let (mut out, rest) = match url.find("://") {
        Some(scheme) => match url.rfind('@') {
            Some(at) if at > scheme => {
                let userinfo = &url[scheme + 3..at];
                let shown = match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***"),
                    None => userinfo.to_owned(),
                };
                (format!("{}{shown}@", &url[..scheme + 3]), &url[at + 1..])
            }
            _ => (url[..scheme + 3].to_owned(), &url[scheme + 3..]),
        },
        None => (String::new(), url),
    };
    match rest.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => format!("{key}=***"),
                    _ => param.to_owned(),
                })
                .collect();
            out.push_str(path);
            out.push('?');
            out.push_str(&params.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("fcm", &self.fcm)
            .field("delivery", &self.delivery)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("doc_cache_mib", &self.doc_cache_mib)
            .field("body_limit", &self.body_limit)
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_days", &self.refresh_ttl_days)
            .field("argon2", &self.argon2)
            .field("sync", &self.sync)
            .field("auth_limits", &self.auth_limits)
            .field("web_push", &self.web_push)
            .field("http", &self.http)
            .field("web", &self.web)
            .field("retention", &self.retention)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_its_own_name() {
        // clap checks this only when parsing in debug builds: two flags of the same field name
        // (say, two `timeout_secs`) would make the binary panic at start-up.
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn the_database_password_is_never_printed() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/pe"), "postgres://app:***@db:5432/pe");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
        let config = Config::for_tests("d".into(), Some("postgres://u:pw@h/db".into()));
        assert!(!format!("{config:?}").contains("pw"));
    }
}
