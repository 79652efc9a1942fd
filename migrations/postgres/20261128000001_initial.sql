-- Accounts, portfolios, tokens, plan documents, projections and the events outbox.
-- Instants are Unix milliseconds (BIGINT), calendar dates 'YYYY-MM-DD' text, ids UUID text.
CREATE TABLE structures (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('young_person', 'adviser', 'supervisor', 'admin')),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'Europe/Paris',
    structure_id TEXT REFERENCES structures (id),
    activation_code_hash TEXT UNIQUE,
    activation_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX users_structure ON users (structure_id, role);

CREATE TABLE portfolio (
    young_person_id TEXT NOT NULL REFERENCES users (id),
    adviser_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('definitive', 'temporary')),
    since BIGINT NOT NULL,
    PRIMARY KEY (young_person_id, adviser_id)
);
CREATE INDEX portfolio_adviser ON portfolio (adviser_id);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    family_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    family_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    young_person_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE document_chunks (
    document_id TEXT NOT NULL REFERENCES documents (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'changes')),
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, seq)
);

CREATE TABLE actor_bindings (
    actor_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE action_rows (
    young_person_id TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    due_date TEXT,
    completed_at BIGINT,
    qualification_code TEXT,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (young_person_id, id)
);
CREATE INDEX action_rows_status ON action_rows (young_person_id, status, due_date);

CREATE TABLE appointment_rows (
    young_person_id TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    status TEXT NOT NULL,
    presence TEXT,
    response TEXT,
    adviser_id TEXT NOT NULL,
    PRIMARY KEY (young_person_id, id)
);
CREATE INDEX appointment_rows_start ON appointment_rows (young_person_id, status, starts_at);

CREATE TABLE task_rows (
    young_person_id TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    due_date TEXT,
    PRIMARY KEY (young_person_id, id)
);

CREATE TABLE domain_events (
    id BIGSERIAL PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    young_person_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL, -- JSON as text: both backends share one SQL text
    created_at BIGINT NOT NULL
);
