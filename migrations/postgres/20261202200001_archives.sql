-- Issue 14: archives of young people who left, and when each account last signed in.

-- The frozen record of an archived young person: what their structure may read for the archive
-- period (`--archive-retention-days`), then deleted by the retention pass. No foreign key: the
-- account it is about is deleted when the archive is written.
CREATE TABLE archives (
    id TEXT PRIMARY KEY,
    young_person_id TEXT NOT NULL,
    structure_id TEXT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- A code of `crate::lifecycle::ArchiveReason`.
    reason TEXT NOT NULL,
    ended_on TEXT,
    comment TEXT,
    -- The adviser who archived; NULL when the retention pass did (inactivity).
    archived_by TEXT,
    archived_at BIGINT NOT NULL,
    -- The young person's export (JSON text, `docs/api.md`).
    export TEXT NOT NULL
);
CREATE INDEX archives_structure ON archives (structure_id, archived_at);
CREATE INDEX archives_age ON archives (archived_at);

-- A password sign-in or a token refresh; NULL: never since this column exists (the account's
-- creation counts then).
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
CREATE INDEX users_last_sign_in ON users (role, last_sign_in_at);
