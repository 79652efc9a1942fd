//! Delivery of the push outbox, and the scheduler that feeds it.
//!
//! **Workers** (one task per worker and channel): claim a batch of due rows of their channel
//! (`pending`, `not_before`, `next_attempt_at` and any earlier lease passed; PostgreSQL
//! `FOR UPDATE SKIP LOCKED`), lease them for `lease`, send them concurrently through the
//! channel's [`PushChannel`], and settle each one under their claim:
//!
//! - past `expires_at` → `dropped` (never sent late);
//! - [`Delivery::Sent`] → `sent`; [`Delivery::NoTarget`] → `dropped` (`no_target`);
//! - [`Delivery::Failed`] → `dead`;
//! - [`Delivery::Retry`] → `next_attempt_at` = now + max(`Retry-After`, exponential backoff with
//!   full jitter, capped); `dead` once `max_attempts` attempts are spent; `dropped` when the next
//!   attempt would come after `expires_at`.
//!
//! A worker that dies between claim and settle leaves its rows leased: they are due again when
//! the lease runs out, and delivered then (at least once; exactly once unless the worker died
//! after FCM accepted the message and before the row was marked, the usual outbox window).
//!
//! **Scheduler** (one task): every `scheduler_secs`, arms the weekly nudges, releases the due
//! reminders and drops the expired pending rows no worker holds (channels without a sender
//! included); once a day, runs the retention rules (`crate::lifecycle::retention`).
//!
//! Every function takes `now` (or a [`Clock`]) so tests control time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::push::{Delivery, PushChannel};
use super::reminders;
use crate::config::DeliveryConfig;
use crate::store::{DynStore, NotificationRow, PushOutcome, Store, StoreResult};

/// Where the workers and the scheduler read the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock the tests set by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_else(|_| Utc::now())
    }
}

/// The workers' and the scheduler's settings (from [`DeliveryConfig`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Workers per channel.
    pub workers: usize,
    pub batch: i64,
    pub max_attempts: i64,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub lease: Duration,
    pub poll: Duration,
    pub scheduler_every: Duration,
    pub device_token_stale: chrono::Duration,
    /// The periods of the daily retention rules (the defaults; `with_retention` sets them).
    pub retention: crate::lifecycle::retention::Periods,
}

impl Settings {
    /// The configuration's settings; SQLite always gets one worker per channel.
    pub fn new(config: &DeliveryConfig, backend: &str) -> Self {
        let workers = if backend == "postgres" { config.workers.unwrap_or(4).max(1) } else { 1 };
        Settings {
            workers,
            batch: config.batch.clamp(1, 1_000),
            max_attempts: config.max_attempts.max(1),
            backoff_base: Duration::from_millis(config.backoff_base_ms.max(1)),
            backoff_cap: Duration::from_secs(config.backoff_cap_secs.max(1)),
            lease: Duration::from_secs(config.lease_secs.max(1)),
            poll: Duration::from_millis(config.poll_ms.max(10)),
            scheduler_every: Duration::from_secs(config.scheduler_secs.max(1)),
            device_token_stale: chrono::Duration::days(config.device_token_stale_days.max(1)),
            retention: crate::lifecycle::retention::Periods::new(
                &crate::config::RetentionConfig::default(),
                config.device_token_stale_days,
            ),
        }
    }

    /// The retention periods of the configuration.
    pub fn with_retention(mut self, config: &crate::config::RetentionConfig) -> Self {
        self.retention = crate::lifecycle::retention::Periods::new(config, self.device_token_stale.num_days());
        self
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones: full jitter over
/// `min(cap, base · 2^(attempts-1))`, at least a second; `jitter` in [0, 1).
pub fn backoff(settings: &Settings, attempts: i64, jitter: f64) -> Duration {
    let policy = sync_core::backoff::Backoff { base: settings.backoff_base, cap: settings.backoff_cap };
    policy.delay(u32::try_from(attempts.max(0)).unwrap_or(u32::MAX), jitter).max(Duration::from_secs(1))
}

/// How a delivery settles a row that has had `row.attempts` attempts before this one.
pub fn outcome(
    settings: &Settings,
    row: &NotificationRow,
    delivery: Delivery,
    now: DateTime<Utc>,
    jitter: f64,
) -> PushOutcome {
    match delivery {
        Delivery::Sent => PushOutcome::Sent { at: now },
        Delivery::NoTarget => PushOutcome::Dropped { reason: "no_target".into() },
        Delivery::Failed { reason } => PushOutcome::Dead { error: reason },
        Delivery::Retry { after, reason } => {
            let attempts = row.attempts + 1;
            if attempts >= settings.max_attempts {
                return PushOutcome::Dead { error: format!("{reason} (after {attempts} attempts)") };
            }
            let delay = backoff(settings, attempts, jitter).max(after.unwrap_or(Duration::ZERO));
            let next_attempt_at = now.checked_add_signed(chrono(delay)).unwrap_or(row.expires_at);
            if next_attempt_at >= row.expires_at {
                PushOutcome::Dropped { reason: format!("expired before a retry: {reason}") }
            } else {
                PushOutcome::Retry { next_attempt_at, error: reason }
            }
        }
    }
}

/// What one round of a worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    pub dropped: usize,
    /// Rows whose claim had been taken over before they were settled (nothing recorded).
    pub lost: usize,
}

impl Round {
    fn add(&mut self, outcome: &PushOutcome, settled: bool) {
        if !settled {
            self.lost += 1;
            return;
        }
        match outcome {
            PushOutcome::Sent { .. } => self.sent += 1,
            PushOutcome::Retry { .. } => self.retried += 1,
            PushOutcome::Dead { .. } => self.dead += 1,
            PushOutcome::Dropped { .. } => self.dropped += 1,
        }
    }
}

/// Sends one row and settles it under `claim`.
async fn deliver_one(
    store: &dyn Store,
    channel: &dyn PushChannel,
    settings: &Settings,
    row: &NotificationRow,
    claim: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<(PushOutcome, bool)> {
    let outcome = if row.expires_at <= now {
        PushOutcome::Dropped { reason: "expired".into() }
    } else {
        let delivery = channel.deliver(store, row, now).await;
        outcome(settings, row, delivery, now, rand::random::<f64>())
    };
    match &outcome {
        PushOutcome::Dead { error } => {
            tracing::warn!(notification = %row.id, kind = %row.kind, %error, "push: dead letter")
        }
        PushOutcome::Retry { error, next_attempt_at } => {
            tracing::debug!(notification = %row.id, %error, %next_attempt_at, "push: retry")
        }
        _ => {}
    }
    let settled = store.settle_push_notification(row.id, claim, &outcome).await?;
    Ok((outcome, settled))
}

/// Claims the rows due at `now` for `claim` (leased until `now + lease`); returns them. The
/// worker loop sends them with [`deliver_claimed`]; the tests call both to stop in between.
pub async fn claim(
    store: &dyn Store,
    channel: &dyn PushChannel,
    settings: &Settings,
    claim: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Vec<NotificationRow>> {
    store
        .claim_push_notifications(channel.channel().as_str(), now, now + chrono(settings.lease), claim, settings.batch)
        .await
}

/// Sends and settles claimed rows, all at once.
pub async fn deliver_claimed(
    store: &DynStore,
    channel: &Arc<dyn PushChannel>,
    settings: &Settings,
    rows: Vec<NotificationRow>,
    claim: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Round> {
    let mut round = Round { claimed: rows.len(), ..Round::default() };
    let mut tasks = tokio::task::JoinSet::new();
    for row in rows {
        let (store, channel, settings) = (store.clone(), channel.clone(), settings.clone());
        tasks.spawn(async move { deliver_one(store.as_ref(), channel.as_ref(), &settings, &row, claim, now).await });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((outcome, settled))) => round.add(&outcome, settled),
            Ok(Err(e)) => {
                // Left leased: due again after the lease.
                round.lost += 1;
                first_error.get_or_insert(e);
            }
            Err(e) => {
                round.lost += 1;
                tracing::error!(error = %e, "push: a delivery task failed");
            }
        }
    }
    match first_error {
        Some(e) if round.lost == round.claimed => Err(e),
        Some(e) => {
            tracing::warn!(error = %e, "push: some rows could not be settled (due again after the lease)");
            Ok(round)
        }
        None => Ok(round),
    }
}

/// One round of a worker: claim what is due at `now`, send, settle.
pub async fn deliver_due(
    store: &DynStore,
    channel: &Arc<dyn PushChannel>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> StoreResult<Round> {
    let claim_id = Uuid::new_v4();
    let rows = claim(store.as_ref(), channel.as_ref(), settings, claim_id, now).await?;
    if rows.is_empty() {
        return Ok(Round::default());
    }
    deliver_claimed(store, channel, settings, rows, claim_id, now).await
}

/// What one scheduler pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scheduled {
    pub nudges_armed: u64,
    pub reminders_released: u64,
    pub reminders_dropped: u64,
    pub expired: u64,
}

/// One scheduler pass at `now`: weekly nudges, due reminders (every batch of them), expired rows.
pub async fn schedule(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<Scheduled> {
    let mut out = Scheduled { nudges_armed: reminders::due_weekly_nudges(store, now).await?, ..Scheduled::default() };
    // Each call takes at most one batch; a backlog (a stopped scheduler) takes a few passes.
    for _ in 0..100 {
        let released = reminders::release_due_reminders(store, now).await?;
        out.reminders_released += released.released;
        out.reminders_dropped += released.dropped;
        if released.released + released.dropped < u64::try_from(reminders::BATCH).unwrap_or(0) {
            break;
        }
    }
    out.expired = store.drop_expired_notifications(now).await?;
    Ok(out)
}

/// The running workers and scheduler.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Asks every task to stop after its current round, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Sleeps `d`, or less if asked to stop; true when asked to stop.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        changed = stop.changed() => changed.is_err() || *stop.borrow(),
    }
}

async fn worker(
    store: DynStore,
    channel: Arc<dyn PushChannel>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = match deliver_due(&store, &channel, &settings, clock.now()).await {
            // A full batch: there may be more right away.
            Ok(round) if i64::try_from(round.claimed).unwrap_or(0) >= settings.batch => Duration::ZERO,
            Ok(_) => settings.poll,
            Err(e) => {
                tracing::warn!(channel = channel.channel().as_str(), error = %e, "push worker: round failed");
                settings.poll
            }
        };
        if !wait.is_zero() && pause(&mut stop, wait).await {
            break;
        }
    }
}

async fn scheduler(store: DynStore, settings: Settings, clock: Arc<dyn Clock>, mut stop: watch::Receiver<bool>) {
    let mut last_housekeeping: Option<DateTime<Utc>> = None;
    loop {
        let now = clock.now();
        match schedule(store.as_ref(), now).await {
            Ok(s) if s != Scheduled::default() => tracing::info!(?s, "scheduler"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler: pass failed"),
        }
        if last_housekeeping.is_none_or(|at| now - at >= chrono::Duration::days(1)) {
            let report = crate::lifecycle::retention::run(store.as_ref(), &settings.retention, now).await;
            tracing::info!(?report, "retention: daily pass");
            // A failed rule is tried again at the next pass rather than the next day.
            if report.failures == 0 {
                last_housekeeping = Some(now);
            }
        }
        if pause(&mut stop, settings.scheduler_every).await {
            break;
        }
    }
}

/// Starts `settings.workers` workers per channel and the scheduler.
pub fn start(
    store: DynStore,
    channels: Vec<Arc<dyn PushChannel>>,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> Running {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for channel in channels {
        tracing::info!(channel = channel.channel().as_str(), workers = settings.workers, "push workers started");
        for _ in 0..settings.workers {
            tasks.push(tokio::spawn(worker(
                store.clone(),
                channel.clone(),
                settings.clone(),
                clock.clone(),
                stopped.clone(),
            )));
        }
    }
    tasks.push(tokio::spawn(scheduler(store, settings, clock, stopped)));
    Running { stop, tasks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::new(&DeliveryConfig::default(), "postgres")
    }

    fn row(attempts: i64, expires_in: chrono::Duration, now: DateTime<Utc>) -> NotificationRow {
        NotificationRow {
            id: Uuid::new_v4(),
            recipient_id: Uuid::new_v4(),
            kind: "action_created".into(),
            channel: "mobile".into(),
            title: "t".into(),
            body: "b".into(),
            payload: "{}".into(),
            dedup_key: "k".into(),
            created_at: now,
            not_before: now,
            expires_at: now + expires_in,
            status: "pending".into(),
            attempts,
            read_at: None,
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_cap() {
        let s = settings();
        assert_eq!(backoff(&s, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&s, 1, 0.999_999).as_secs(), 4); // under 5 s
        assert_eq!(backoff(&s, 3, 0.5), Duration::from_secs(10)); // half of 20 s
        assert_eq!(backoff(&s, 40, 1.0), s.backoff_cap);
    }

    #[test]
    fn retry_honours_retry_after_and_ends_dead_or_dropped() {
        let s = settings();
        let now = Utc::now();
        let retry = |after| Delivery::Retry { after, reason: "FCM 429".into() };
        match outcome(&s, &row(0, chrono::Duration::days(1), now), retry(Some(Duration::from_secs(600))), now, 0.5) {
            PushOutcome::Retry { next_attempt_at, .. } => {
                assert_eq!(next_attempt_at, now + chrono::Duration::seconds(600))
            }
            other => panic!("{other:?}"),
        }
        let last = row(s.max_attempts - 1, chrono::Duration::days(1), now);
        assert!(matches!(outcome(&s, &last, retry(None), now, 0.5), PushOutcome::Dead { .. }));
        let never = retry(Some(Duration::MAX));
        assert!(matches!(
            outcome(&s, &row(0, chrono::Duration::days(1), now), never, now, 0.5),
            PushOutcome::Dropped { .. }
        ));
        let short = row(0, chrono::Duration::seconds(30), now);
        assert!(matches!(
            outcome(&s, &short, retry(Some(Duration::from_secs(60))), now, 0.5),
            PushOutcome::Dropped { .. }
        ));
    }

    #[test]
    fn sqlite_gets_one_worker() {
        let config = DeliveryConfig { workers: Some(8), ..DeliveryConfig::default() };
        assert_eq!(Settings::new(&config, "sqlite").workers, 1);
        assert_eq!(Settings::new(&config, "postgres").workers, 8);
    }
}
