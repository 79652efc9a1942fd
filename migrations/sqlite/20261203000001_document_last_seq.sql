-- The seq of a document's last stored chunk: every write checks it (compare-and-set) before
-- appending, so two instances never collide on a seq and a compaction never deletes a chunk it
-- did not fold into its snapshot.
ALTER TABLE documents ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 1;
UPDATE documents SET last_seq = COALESCE(
    (SELECT MAX(seq) FROM document_chunks c WHERE c.document_id = documents.id), 1);
