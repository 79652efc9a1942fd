//! The connections `serve` accepts (issue 10).

use clap::Args;

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
