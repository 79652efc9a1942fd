-- Conversations (issue 13): one Automerge document per young person beside their plan, its
-- chunks (the same compare-and-set on last_seq as the plans' documents), and the projections the
-- search, the unread counts and the web app read.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    young_person_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
);

CREATE TABLE conversation_chunks (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'changes')),
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- One row per message; text is NULL once the message is deleted. `search` is the French
-- full-text vector of the text (stemmed: « entretiens » finds « entretien »).
CREATE TABLE message_rows (
    young_person_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_role TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    text TEXT,
    edited_at BIGINT,
    deleted_at BIGINT,
    search tsvector GENERATED ALWAYS AS (to_tsvector('french', coalesce(text, ''))) STORED,
    PRIMARY KEY (young_person_id, message_id)
);
CREATE INDEX message_rows_sent ON message_rows (young_person_id, sent_at);
CREATE INDEX message_rows_search ON message_rows USING GIN (search);

-- Per participant, the sent_at of the last message read.
CREATE TABLE read_marker_rows (
    young_person_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    read_until BIGINT NOT NULL,
    PRIMARY KEY (young_person_id, user_id)
);
