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
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- One row per message; text is NULL once the message is deleted.
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
    PRIMARY KEY (young_person_id, message_id)
);
CREATE INDEX message_rows_sent ON message_rows (young_person_id, sent_at);

-- Per participant, the sent_at of the last message read.
CREATE TABLE read_marker_rows (
    young_person_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    read_until BIGINT NOT NULL,
    PRIMARY KEY (young_person_id, user_id)
);

-- Full-text search of the messages (SQLite FTS5; accents folded, words matched by prefix), kept
-- in step with message_rows by the triggers below.
CREATE VIRTUAL TABLE message_search USING fts5(
    text,
    young_person_id UNINDEXED,
    message_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER message_rows_search_insert AFTER INSERT ON message_rows WHEN new.text IS NOT NULL BEGIN
    INSERT INTO message_search (text, young_person_id, message_id)
    VALUES (new.text, new.young_person_id, new.message_id);
END;

CREATE TRIGGER message_rows_search_update AFTER UPDATE ON message_rows BEGIN
    DELETE FROM message_search WHERE young_person_id = old.young_person_id AND message_id = old.message_id;
    INSERT INTO message_search (text, young_person_id, message_id)
    SELECT new.text, new.young_person_id, new.message_id WHERE new.text IS NOT NULL;
END;

CREATE TRIGGER message_rows_search_delete AFTER DELETE ON message_rows BEGIN
    DELETE FROM message_search WHERE young_person_id = old.young_person_id AND message_id = old.message_id;
END;
