-- Notifications (issue 6, first part): the outbox rows produced from domain events, per-kind
-- preferences, the notification centre and reminders scheduled as rows. Same semantics on both
-- backends; instants are Unix milliseconds, ids text. See docs/notifications.md.

-- What the reminders need from the action projection: when it was created (weekly nudge) and
-- whether its reminder is on (1 = on).
ALTER TABLE action_rows ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE action_rows ADD COLUMN reminder BIGINT NOT NULL DEFAULT 1;
CREATE INDEX action_rows_created ON action_rows (created_by, created_at);

-- One row per (recipient, channel). 'mobile' and 'web' rows are the push outbox (delivered by the
-- workers, later); 'in_app' rows are the notification centre (stored = delivered: status 'sent').
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('mobile', 'web', 'in_app')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'dropped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    read_at BIGINT
);
CREATE INDEX notifications_due ON notifications (status, channel, not_before);
CREATE INDEX notifications_recipient ON notifications (recipient_id, channel, created_at);
CREATE INDEX notifications_created ON notifications (created_at);

-- Only what differs from the default (every kind on).
CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Reminders waiting for their time. 'pending' until released (turned into notifications) or
-- dropped (stale); re-arming deletes the pending ones of an entity and inserts the new ones.
CREATE TABLE reminders (
    id TEXT PRIMARY KEY,
    young_person_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('appointment_7d', 'appointment_1d', 'action_due_3d', 'weekly_nudge')),
    entity_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'released', 'dropped')),
    created_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE INDEX reminders_due ON reminders (status, due_at);
CREATE INDEX reminders_entity ON reminders (young_person_id, entity_id, status);
