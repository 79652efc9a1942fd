-- The last time a young person themself changed their plan (a REST write or a sync of theirs),
-- set by each such write; NULL until their first one. The advisers' portfolio shows it.
ALTER TABLE users ADD COLUMN last_activity_at BIGINT;
