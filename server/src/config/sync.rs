//! The sync gateway's limits.

use clap::Args;

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
    /// A plan's stored chunks are compacted into one snapshot when a write would make this many.
    #[arg(
        long = "sync-compact-every-chunks",
        env = "PASS_EMPLOI_SYNC_COMPACT_EVERY_CHUNKS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(2..),
        global = true
    )]
    pub compact_every_chunks: u32,
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
            compact_every_chunks: 64,
        }
    }
}
