-- An adviser's saved broadcast lists (« listes de diffusion », issue 13): a title and the young
-- people one broadcast reaches.
CREATE TABLE broadcast_lists (
    id TEXT PRIMARY KEY,
    adviser_id TEXT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX broadcast_lists_adviser ON broadcast_lists (adviser_id);

CREATE TABLE broadcast_list_members (
    list_id TEXT NOT NULL REFERENCES broadcast_lists (id),
    young_person_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (list_id, young_person_id)
);
CREATE INDEX broadcast_list_members_young_person ON broadcast_list_members (young_person_id);
