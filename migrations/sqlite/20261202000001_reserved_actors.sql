-- Automerge actors no user may sign with: each plan's genesis actor (the young person's UUID
-- bytes, written at creation) and the actor of each server process's compensating changes.
CREATE TABLE reserved_actors (
    actor_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('genesis', 'server')),
    created_at BIGINT NOT NULL
);

-- The plans created before this table: their genesis actor is the young person's id as hex.
INSERT INTO reserved_actors (actor_id, reason, created_at)
SELECT lower(replace(id, '-', '')), 'genesis', created_at FROM users WHERE role = 'young_person';

-- A genesis actor someone had already claimed goes back to nobody.
DELETE FROM actor_bindings WHERE actor_id IN (SELECT actor_id FROM reserved_actors);
