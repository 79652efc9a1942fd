//! Notifications, first part (issue 6): what to tell whom, written as rows.
//!
//! - [`outbox`]: the notification rows that a plan's domain events produce, stored in the same
//!   transaction as the change (`PlanWrite::notifications`), one row per (recipient, channel),
//!   insert-or-ignore by a dedup key built from the event's own key.
//! - [`preferences`]: which kinds a young person receives on their phone.
//! - [`quiet_hours`]: 21:00–08:00 in the recipient's IANA zone; a push waits until 08:00.
//! - [`reminders`]: reminders as rows, armed from the projections in the same transaction as the
//!   change, released into notification rows by [`reminders::release_due_reminders`].
//! - [`centre`]: the notification centre (the `in_app` rows), kept 30 days.
//!
//! - [`delivery`]: the workers that send the push rows (`mobile`, `web`) through a
//!   [`push::PushChannel`] with retries, dead letters and TTL drops, and the scheduler that
//!   releases reminders; [`fcm`]: the FCM HTTP v1 channel ([`fcm_fake`]: its fake, for tests).
//!
//! See docs/notifications.md.

use chrono::Duration;

pub mod centre;
pub mod delivery;
pub mod fcm;
pub mod fcm_fake;
pub mod outbox;
pub mod preferences;
pub mod push;
pub mod quiet_hours;
pub mod reminders;
pub mod webpush;

/// Every kind of notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    // To the young person (mobile push + centre; preferences apply to the push).
    ActionCreated,
    ActionCommented,
    AppointmentScheduled,
    AppointmentRescheduled,
    AppointmentCanceled,
    AppointmentReminder7d,
    AppointmentReminder1d,
    ActionDueSoon,
    WeeklyNudge,
    // To the advisers (web push + centre).
    ActionCompleted,
    TaskCompleted,
    CommentAdded,
    AppointmentAnswered,
    // To the author of undone offline edits (centre only).
    EditsUndone,
    // A new message of the conversation: to the young person (mobile + centre; their `messages`
    // preference) or to their advisers (web + centre).
    Messages,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::ActionCreated,
        Kind::ActionCommented,
        Kind::AppointmentScheduled,
        Kind::AppointmentRescheduled,
        Kind::AppointmentCanceled,
        Kind::AppointmentReminder7d,
        Kind::AppointmentReminder1d,
        Kind::ActionDueSoon,
        Kind::WeeklyNudge,
        Kind::ActionCompleted,
        Kind::TaskCompleted,
        Kind::CommentAdded,
        Kind::AppointmentAnswered,
        Kind::EditsUndone,
        Kind::Messages,
    ];

    /// The kinds a young person receives on their phone, hence the kinds of their preferences.
    pub const YOUNG_PERSON: [Kind; 10] = [
        Kind::ActionCreated,
        Kind::ActionCommented,
        Kind::AppointmentScheduled,
        Kind::AppointmentRescheduled,
        Kind::AppointmentCanceled,
        Kind::AppointmentReminder7d,
        Kind::AppointmentReminder1d,
        Kind::ActionDueSoon,
        Kind::WeeklyNudge,
        Kind::Messages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ActionCreated => "action_created",
            Kind::ActionCommented => "action_commented",
            Kind::AppointmentScheduled => "appointment_scheduled",
            Kind::AppointmentRescheduled => "appointment_rescheduled",
            Kind::AppointmentCanceled => "appointment_canceled",
            Kind::AppointmentReminder7d => "appointment_reminder_7d",
            Kind::AppointmentReminder1d => "appointment_reminder_1d",
            Kind::ActionDueSoon => "action_due_soon",
            Kind::WeeklyNudge => "weekly_nudge",
            Kind::ActionCompleted => "action_completed",
            Kind::TaskCompleted => "task_completed",
            Kind::CommentAdded => "comment_added",
            Kind::AppointmentAnswered => "appointment_answered",
            Kind::EditsUndone => "edits_undone",
            Kind::Messages => "messages",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How long a push of this kind stays worth delivering after it may go out (`not_before`).
    /// Appointment kinds are also cut at the appointment's start (see the callers).
    pub fn ttl(self) -> Duration {
        match self {
            Kind::ActionCreated | Kind::ActionCommented => Duration::days(7),
            Kind::AppointmentScheduled | Kind::AppointmentRescheduled | Kind::AppointmentCanceled => Duration::days(2),
            Kind::AppointmentReminder7d => Duration::hours(24),
            Kind::AppointmentReminder1d => Duration::hours(12),
            Kind::ActionDueSoon => Duration::hours(24),
            Kind::WeeklyNudge => Duration::hours(11),
            Kind::ActionCompleted | Kind::TaskCompleted | Kind::CommentAdded | Kind::AppointmentAnswered => {
                Duration::days(3)
            }
            Kind::EditsUndone => CENTRE_RETENTION,
            Kind::Messages => Duration::days(7),
        }
    }
}

/// Where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The young person's phone (FCM, later).
    Mobile,
    /// The adviser's browser (Web Push, later).
    Web,
    /// The notification centre: stored is delivered.
    InApp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mobile => "mobile",
            Channel::Web => "web",
            Channel::InApp => "in_app",
        }
    }
}

/// How long the centre keeps an entry (and how far back it lists).
pub const CENTRE_RETENTION: Duration = Duration::days(30);

/// Parses an IANA zone, falling back to Europe/Paris (the accounts' default) for an unknown one.
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Paris)
}
