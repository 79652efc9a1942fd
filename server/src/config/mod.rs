//! The one typed configuration: command-line flags and environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod auth;
mod http;
mod push;
mod retention;
mod sync;
mod web;

pub use auth::{Argon2Config, AuthLimitsConfig};
pub use http::HttpConfig;
pub use push::{DeliveryConfig, FcmConfig, WebPushConfig};
pub use retention::RetentionConfig;
pub use sync::SyncConfig;
pub use web::WebConfig;

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

/// `--doc-cache-mib` unless set: MiB of (estimated) memory for loaded plans.
pub const DEFAULT_DOC_CACHE_MIB: usize = 256;

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
    /// Budget of the in-memory cache of loaded plans, in MiB of memory (estimated: a loaded plan
    /// holds about 50 times its saved bytes, 18 KiB at least).
    #[arg(long, env = "PASS_EMPLOI_DOC_CACHE_MIB", default_value_t = DEFAULT_DOC_CACHE_MIB, global = true)]
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

impl Config {
    /// A configuration for tests and tools: SQLite in `data_dir`, cheap argon2.
    pub fn for_tests(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fcm: FcmConfig::default(),
            delivery: DeliveryConfig::default(),
            data_dir,
            database_url,
            doc_cache_mib: DEFAULT_DOC_CACHE_MIB,
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
