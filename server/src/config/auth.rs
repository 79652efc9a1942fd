//! Passwords (argon2id) and the throttling of the credential endpoints.

use clap::Args;

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
