//! The advisers' web app's settings (issue 11).

use std::path::PathBuf;

use clap::Args;

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
