-- Delivery of the push outbox (issue 6, second part): the young people's FCM device tokens, and
-- what the delivery workers keep on each notification row. Same semantics on both backends;
-- instants are Unix milliseconds (0 = never), ids text. See docs/notifications.md.

-- One row per app installation (an FCM registration token). A token belongs to the last account
-- that registered it; `last_seen_at` is refreshed each time the app registers it again, and tokens
-- not seen for a long time are pruned.
CREATE TABLE device_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    platform TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX device_tokens_user ON device_tokens (user_id);
CREATE INDEX device_tokens_seen ON device_tokens (last_seen_at);

-- The workers' bookkeeping on the outbox (the status values are unchanged: 'pending', 'sent',
-- 'dead', 'dropped'). A pending push row is due when `not_before`, `next_attempt_at` (the retry
-- backoff) and `claimed_until` (a worker's lease) have all passed. A worker claims rows by
-- setting `claimed_until` and `claimed_by`; if it dies before settling them, they are due again
-- once the lease is over.
ALTER TABLE notifications ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN last_error TEXT;
ALTER TABLE notifications ADD COLUMN sent_at BIGINT;
